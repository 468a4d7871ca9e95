//! What users tell harden: `harden.toml` beside the compose file (or
//! `--config`), `x-harden:` keys in the compose file (top level and per
//! service), and `# harden: ignore[rule-id]` comments on a service.
//!
//! ```toml
//! ignore = ["flat-network"]        # rules off for the whole file
//!
//! [services.api]
//! ignore = ["writable-root-fs"]    # rules off for one service
//! file_env = ["SMTP_PASSWORD"]     # the image reads SMTP_PASSWORD_FILE
//! writable = ["/var/cache/api"]    # more tmpfs paths under read_only
//! cap_add = ["NET_BIND_SERVICE"]   # capabilities it needs after cap_drop ALL
//! memory = "1G"                    # limits instead of the role's defaults
//! cpus = "2.0"
//! pids = 512
//! role = "backend"                 # or "edge": network placement
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::InputError;
use crate::model::ComposeModel;
use crate::source::SourceFile;
use crate::syntax::{NodeId, SyntaxTree};

/// Where a service belongs on the network, when the user says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// A datastore-like service: moved to the internal network.
    Backend,
    /// A service that talks to the outside: never made internal-only.
    Edge,
}

/// Per-service settings; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    #[serde(default)]
    pub ignore: BTreeSet<String>,
    #[serde(default)]
    pub file_env: Vec<String>,
    #[serde(default)]
    pub writable: Vec<String>,
    #[serde(default)]
    pub cap_add: Vec<String>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub pids: Option<u32>,
    pub role: Option<Placement>,
}

impl ServiceSettings {
    fn merge(&mut self, other: ServiceSettings) {
        self.ignore.extend(other.ignore);
        self.file_env.extend(other.file_env);
        self.writable.extend(other.writable);
        self.cap_add.extend(other.cap_add);
        self.memory = other.memory.or(self.memory.take());
        self.cpus = other.cpus.or(self.cpus.take());
        self.pids = other.pids.or(self.pids);
        self.role = other.role.or(self.role);
    }
}

/// The settings file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    ignore: BTreeSet<String>,
    #[serde(default)]
    services: BTreeMap<String, ServiceSettings>,
}

/// Everything the user said, merged: the compose file's `x-harden` wins
/// over `harden.toml` for single values, lists add up.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub ignore: BTreeSet<String>,
    pub services: BTreeMap<String, ServiceSettings>,
}

impl Settings {
    /// Reads a `harden.toml` text; `name` is used in error messages.
    pub fn from_toml(name: &str, text: &str, rule_ids: &[&str]) -> Result<Settings, InputError> {
        let parsed: SettingsFile = toml::from_str(text).map_err(|err| {
            let src = SourceFile::new(name, None, text.to_string());
            let (line, col) = err.span().map_or((1, 1), |span| src.line_col(span.start));
            InputError::syntax(&src, line, col, err.message().to_string())
        })?;
        let settings = Settings {
            ignore: parsed.ignore,
            services: parsed.services,
        };
        if let Some(bad) = settings.unknown_rule(rule_ids) {
            return Err(InputError::file(
                name,
                format!("unknown rule `{bad}` in ignore; see docs/rules.md for the ids"),
            ));
        }
        Ok(settings)
    }

    /// Adds the compose file's own `x-harden` keys and ignore comments.
    pub fn with_compose(
        mut self,
        src: &SourceFile,
        tree: &SyntaxTree,
        model: &ComposeModel,
        rule_ids: &[&str],
    ) -> Result<Settings, InputError> {
        if let Some(node) = tree.get(model.root, "x-harden") {
            let top = read_x_harden(src, tree, node, true)?;
            self.ignore.extend(top.ignore);
        }
        for service in &model.services {
            let mut own = ServiceSettings::default();
            if let Some(field) = service.field("x-harden") {
                own.merge(read_x_harden(src, tree, field.value, false)?);
            }
            own.ignore.extend(ignore_comment(src, tree, service.key));
            if own != ServiceSettings::default() {
                self.services
                    .entry(service.name.clone())
                    .or_default()
                    .merge(own);
            }
        }
        if let Some(bad) = self.unknown_rule(rule_ids) {
            return Err(InputError::file(
                &src.display_name,
                format!("unknown rule `{bad}` in an ignore list; see docs/rules.md for the ids"),
            ));
        }
        Ok(self)
    }

    fn unknown_rule(&self, rule_ids: &[&str]) -> Option<String> {
        self.ignore
            .iter()
            .chain(self.services.values().flat_map(|s| s.ignore.iter()))
            .find(|id| !rule_ids.contains(&id.as_str()))
            .cloned()
    }

    /// Whether `rule` is off for `service` (or for the whole file).
    pub fn ignores(&self, rule: &str, service: &str) -> bool {
        self.ignore.contains(rule)
            || self
                .services
                .get(service)
                .is_some_and(|s| s.ignore.contains(rule))
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSettings> {
        self.services.get(name)
    }
}

/// Reads an `x-harden` mapping; the top level only takes `ignore`.
fn read_x_harden(
    src: &SourceFile,
    tree: &SyntaxTree,
    node: NodeId,
    top: bool,
) -> Result<ServiceSettings, InputError> {
    let error = |at: NodeId, message: String| {
        let (line, col) = src.line_col(tree.node(at).start);
        InputError::syntax(src, line, col, message)
    };
    if !tree.is_mapping(node) {
        return Err(error(node, "`x-harden` must be a mapping".into()));
    }
    let strings = |value: NodeId, key: &str| -> Result<Vec<String>, InputError> {
        if let Some(s) = tree.scalar(value) {
            return Ok(vec![s.to_string()]);
        }
        tree.items(value)
            .iter()
            .map(|&item| {
                tree.scalar(item)
                    .map(str::to_string)
                    .ok_or_else(|| error(item, format!("`{key}` takes a list of strings")))
            })
            .collect()
    };
    let scalar = |value: NodeId, key: &str| -> Result<String, InputError> {
        tree.scalar(value)
            .map(str::to_string)
            .ok_or_else(|| error(value, format!("`{key}` takes a single value")))
    };
    let mut settings = ServiceSettings::default();
    for entry in tree.entries(node) {
        let key = tree.scalar(entry.key).unwrap_or_default();
        let value = entry.value;
        match key {
            "ignore" => settings.ignore.extend(strings(value, key)?),
            _ if top => {
                return Err(error(
                    entry.key,
                    format!("unknown key `{key}` in top-level x-harden (only `ignore`)"),
                ));
            }
            "file_env" => settings.file_env.extend(strings(value, key)?),
            "writable" => settings.writable.extend(strings(value, key)?),
            "cap_add" => settings.cap_add.extend(strings(value, key)?),
            "memory" => settings.memory = Some(scalar(value, key)?),
            "cpus" => settings.cpus = Some(scalar(value, key)?),
            "pids" => {
                let text = scalar(value, key)?;
                settings.pids = Some(text.parse().map_err(|_| {
                    error(
                        value,
                        format!("`pids` must be a whole number, not `{text}`"),
                    )
                })?);
            }
            "role" => {
                settings.role = Some(match scalar(value, key)?.as_str() {
                    "backend" => Placement::Backend,
                    "edge" => Placement::Edge,
                    other => {
                        return Err(error(
                            value,
                            format!("`role` is `backend` or `edge`, not `{other}`"),
                        ));
                    }
                });
            }
            other => {
                return Err(error(
                    entry.key,
                    format!("unknown key `{other}` in x-harden"),
                ));
            }
        }
    }
    for path in &settings.writable {
        if !path.starts_with('/') {
            return Err(error(
                node,
                format!("writable path `{path}` must be absolute"),
            ));
        }
    }
    Ok(settings)
}

/// Rule ids from a `# harden: ignore[a, b]` comment on the service's key
/// line or the line just above it.
fn ignore_comment(src: &SourceFile, tree: &SyntaxTree, key: NodeId) -> Vec<String> {
    let (line, _) = src.line_col(tree.node(key).start);
    let lines: Vec<&str> = src
        .text
        .lines()
        .skip(line.saturating_sub(2))
        .take(if line > 1 { 2 } else { 1 })
        .collect();
    let mut ids = Vec::new();
    for text in lines {
        let Some(at) = text.find("# harden: ignore[") else {
            continue;
        };
        let rest = &text[at + "# harden: ignore[".len()..];
        let Some(end) = rest.find(']') else { continue };
        ids.extend(
            rest[..end]
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &["writable-root-fs", "flat-network"];

    #[test]
    fn toml_settings_parse_and_reject_unknown_keys_with_a_line() {
        let ok = Settings::from_toml(
            "h.toml",
            "ignore = [\"flat-network\"]\n[services.api]\nmemory = \"1G\"\n",
            IDS,
        )
        .unwrap();
        assert!(ok.ignores("flat-network", "x"));
        assert_eq!(ok.service("api").unwrap().memory.as_deref(), Some("1G"));
        let err =
            Settings::from_toml("h.toml", "[services.api]\nmemroy = \"1G\"\n", IDS).unwrap_err();
        assert_eq!((err.line, err.file.as_str()), (2, "h.toml"));
        assert!(Settings::from_toml("h.toml", "ignore = [\"no-such-rule\"]\n", IDS).is_err());
    }

    #[test]
    fn x_harden_and_comments_are_read_from_the_compose_file() {
        let text = "x-harden:\n  ignore: [flat-network]\nservices:\n  # harden: ignore[writable-root-fs]\n  api:\n    image: x\n    x-harden:\n      cap_add: [NET_ADMIN]\n      role: backend\n";
        let src = SourceFile::new("c.yml", None, text.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        let model = ComposeModel::build(&src, &tree).unwrap();
        let settings = Settings::default()
            .with_compose(&src, &tree, &model, IDS)
            .unwrap();
        assert!(
            settings.ignores("flat-network", "api") && settings.ignores("writable-root-fs", "api")
        );
        let api = settings.service("api").unwrap();
        assert_eq!(api.cap_add, vec!["NET_ADMIN"]);
        assert_eq!(api.role, Some(Placement::Backend));
    }

    #[test]
    fn bad_x_harden_values_name_their_line() {
        let text = "services:\n  api:\n    image: x\n    x-harden:\n      role: database\n";
        let src = SourceFile::new("c.yml", None, text.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        let model = ComposeModel::build(&src, &tree).unwrap();
        let err = Settings::default()
            .with_compose(&src, &tree, &model, IDS)
            .unwrap_err();
        assert_eq!(err.line, 5);
    }
}
