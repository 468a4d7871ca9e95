//! What harden knows about common images: writable paths, capabilities,
//! `_FILE` variables, role and limits. The facts live in `images.toml`,
//! compiled into the binary, each with its source and confidence.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::model::ImageRef;

/// `images.toml` as JSON, converted by `build.rs`.
const TABLE: &str = include_str!(concat!(env!("OUT_DIR"), "/images.json"));

/// What a service is for; decides limits and network placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Datastore,
    Cache,
    Queue,
    Search,
    Proxy,
    App,
    Admin,
    Agent,
    Dev,
}

impl Role {
    /// Datastores, caches, queues and search engines belong on an internal network.
    pub fn is_backend(self) -> bool {
        matches!(
            self,
            Role::Datastore | Role::Cache | Role::Queue | Role::Search
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadOnly {
    Yes,
    No,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartUser {
    Root,
    Nonroot,
}

/// One row of the knowledge table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageProfile {
    pub id: String,
    pub names: Vec<String>,
    #[serde(default)]
    pub tag_contains: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub read_only: Option<ReadOnly>,
    #[serde(default)]
    pub read_only_note: Option<String>,
    #[serde(default)]
    pub tmpfs: Vec<String>,
    #[serde(default)]
    pub tmpfs_exec: Vec<String>,
    #[serde(default)]
    pub data: Vec<String>,
    #[serde(default)]
    pub start_user: Option<StartUser>,
    #[serde(default)]
    pub steps_down_to: Option<String>,
    #[serde(default)]
    pub cap_add: Vec<String>,
    #[serde(default)]
    pub file_caps: Vec<String>,
    #[serde(default)]
    pub cap_free_user: Option<String>,
    #[serde(default)]
    pub secret_env: Vec<String>,
    #[serde(default)]
    pub file_env: Vec<String>,
    #[serde(default)]
    pub file_env_suffix: Option<String>,
    #[serde(default)]
    pub file_env_prefixes: Vec<String>,
    #[serde(default)]
    pub rejects_file_env: Vec<String>,
    /// The uid that reads `NAME_FILE` when it is not root (images whose
    /// entrypoint steps down before reading, or read it per request).
    #[serde(default)]
    pub file_env_read_as: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub cpus: Option<String>,
    #[serde(default)]
    pub pids: Option<u32>,
    #[serde(default)]
    pub healthcheck: Vec<String>,
    /// The check works only when the service's command or environment
    /// names one of these (traefik answers it only with `--ping`).
    #[serde(default)]
    pub healthcheck_needs: Vec<String>,
    /// The check fails when the command or environment names one of these
    /// (redis with `--requirepass` answers an anonymous ping with NOAUTH).
    #[serde(default)]
    pub healthcheck_fails_with: Vec<String>,
    /// Provenance: in `images.toml` for reviewers, empty in the binary
    /// (`build.rs` leaves it out).
    #[serde(default)]
    pub confidence: BTreeMap<String, String>,
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl ImageProfile {
    /// The variable name the image reads a file path from for `name`, if any.
    pub fn file_variant(&self, name: &str) -> Option<String> {
        if self.rejects_file_env.iter().any(|n| n == name) {
            return None;
        }
        let suffix = self.file_env_suffix.as_deref().unwrap_or("_FILE");
        let listed = self.file_env.iter().any(|n| n == name);
        let by_prefix = self
            .file_env_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()));
        (listed || by_prefix).then(|| format!("{name}{suffix}"))
    }

    pub fn starts_as_root(&self) -> bool {
        self.start_user != Some(StartUser::Nonroot)
    }
}

#[derive(Debug, Deserialize)]
struct Table {
    image: Vec<ImageProfile>,
}

/// The compiled-in table.
pub struct Knowledge {
    pub images: Vec<ImageProfile>,
}

impl Knowledge {
    pub fn builtin() -> &'static Knowledge {
        static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
        KNOWLEDGE.get_or_init(|| {
            // The table is part of the binary and checked by the tests below,
            // so a parse failure here is a build defect, not an input error.
            #[allow(
                clippy::panic,
                reason = "compiled-in data, tested; never input from a user"
            )]
            let table: Table =
                serde_json::from_str(TABLE).unwrap_or_else(|err| panic!("images.toml: {err}"));
            Knowledge {
                images: table.image,
            }
        })
    }

    /// The profile for an image reference: a row naming its repository
    /// (preferring one whose `tag_contains` matches the tag), else none.
    pub fn lookup(&self, image: &ImageRef) -> Option<&ImageProfile> {
        let mut candidates = self.images.iter().filter(|p| p.names.contains(&image.path));
        let tag = image.tag.as_deref().unwrap_or("");
        let all: Vec<&ImageProfile> = candidates.by_ref().collect();
        all.iter()
            .find(|p| p.tag_contains.as_deref().is_some_and(|t| tag.contains(t)))
            .or_else(|| all.iter().find(|p| p.tag_contains.is_none()))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_parses_with_unique_ids_and_names() {
        let k = Knowledge::builtin();
        assert!(k.images.len() >= 38, "only {} rows", k.images.len());
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for p in &k.images {
            assert!(ids.insert(p.id.clone()), "duplicate id {}", p.id);
            for n in &p.names {
                if p.tag_contains.is_none() {
                    assert!(names.insert(n.clone()), "name {n} in two rows");
                }
            }
        }
        // Provenance stays in the TOML, out of the binary.
        let table: Table = toml::from_str(include_str!("images.toml")).unwrap();
        assert_eq!(table.image.len(), k.images.len());
        for (p, row) in k.images.iter().zip(&table.image) {
            assert_eq!(p.id, row.id);
            assert!(!row.sources.is_empty(), "{} has no sources", p.id);
            assert!(p.sources.is_empty() && p.notes.is_none(), "{}", p.id);
        }
    }

    #[test]
    fn lookup_understands_references() {
        let k = Knowledge::builtin();
        let pg = k
            .lookup(&ImageRef::parse(
                "docker.io/library/postgres:16-alpine@sha256:0",
            ))
            .unwrap();
        assert_eq!(pg.role, Role::Datastore);
        assert_eq!(
            pg.file_variant("POSTGRES_PASSWORD").as_deref(),
            Some("POSTGRES_PASSWORD_FILE")
        );
        assert!(k.lookup(&ImageRef::parse("example/app:1")).is_none());
        let nginx = k.lookup(&ImageRef::parse("nginx:1.27")).unwrap();
        assert!(nginx.tmpfs.iter().any(|p| p == "/var/cache/nginx"));
        let caddy = k.lookup(&ImageRef::parse("caddy:2.8")).unwrap();
        assert!(caddy.file_caps.iter().any(|c| c == "NET_BIND_SERVICE"));
    }
}
