//! Hardening rules: each reads the model and the image knowledge and
//! returns findings, some with planned edits. No rule touches text.

mod default_capabilities;
mod flat_network;
mod missing_healthcheck;
mod secret_in_environment;
mod unbounded_resources;
mod writable_root_fs;

use crate::knowledge::{ImageProfile, Knowledge};
use crate::model::{ComposeModel, Origin, Service};
use crate::plan::{EditOp, NewValue, PlannedEdit};
use crate::source::SourceFile;
use crate::syntax::{NodeId, SyntaxTree};

pub use default_capabilities::DefaultCapabilities;
pub use flat_network::FlatNetwork;
pub use missing_healthcheck::MissingHealthcheck;
pub use secret_in_environment::{SecretInEnvironment, has_url_password, is_secret_name};
pub use unbounded_resources::UnboundedResources;
pub use writable_root_fs::WritableRootFs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// What a transform did.
    Note,
    /// A transform skipped or assumed something the user should check.
    Warning,
}

/// A value moved out of the compose file, to be saved by `--write`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovedValue {
    /// A file secret: path relative to the compose file, and its content.
    SecretFile {
        path: String,
        value: String,
        reader_uid: Option<String>,
    },
    /// A variable for the `.env` file beside the compose file.
    EnvFile { name: String, value: String },
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub service: Option<String>,
    /// Byte offset the finding points at.
    pub at: usize,
    pub message: String,
    pub edits: Vec<PlannedEdit>,
    pub moved: Vec<MovedValue>,
}

impl Finding {
    /// A finding without edits.
    pub fn new(
        rule: &'static str,
        severity: Severity,
        service: Option<String>,
        at: usize,
        message: String,
    ) -> Finding {
        Finding {
            rule,
            severity,
            service,
            at,
            message,
            edits: Vec::new(),
            moved: Vec::new(),
        }
    }
}

/// What every rule reads.
pub struct Context<'a> {
    pub src: &'a SourceFile,
    pub tree: &'a SyntaxTree,
    pub model: &'a ComposeModel,
    pub knowledge: &'a Knowledge,
    /// The `.env` and `env_file`s beside the compose file.
    pub around: &'a crate::surroundings::Surroundings,
    /// What the user said: rules turned off, paths, capabilities, limits.
    pub settings: &'a crate::settings::Settings,
    /// Each service's image profile, by position, looked up once.
    profiles: Vec<Option<&'a ImageProfile>>,
}

impl<'a> Context<'a> {
    pub fn new(
        src: &'a SourceFile,
        tree: &'a SyntaxTree,
        model: &'a ComposeModel,
        knowledge: &'a Knowledge,
        around: &'a crate::surroundings::Surroundings,
        settings: &'a crate::settings::Settings,
    ) -> Context<'a> {
        let profiles = model
            .services
            .iter()
            .map(|s| s.image(tree).and_then(|image| knowledge.lookup(&image)))
            .collect();
        Context {
            src,
            tree,
            model,
            knowledge,
            around,
            settings,
            profiles,
        }
    }

    /// The user's settings for a service (empty when there are none).
    pub fn service_settings(&self, service: &Service) -> crate::settings::ServiceSettings {
        self.settings
            .service(&service.name)
            .cloned()
            .unwrap_or_default()
    }

    pub fn profile(&self, service: &Service) -> Option<&'a ImageProfile> {
        self.profiles
            .get(self.model.position(service))
            .copied()
            .flatten()
    }

    /// A short description of the image for messages.
    pub fn image_label(&self, service: &Service) -> String {
        match (service.scalar(self.tree, "image"), service.value("build")) {
            (Some(image), _) => image.to_string(),
            (None, Some(_)) => "built locally".to_string(),
            (None, None) => "no image".to_string(),
        }
    }

    /// A finding located at the service's name.
    pub fn finding(
        &self,
        rule: &'static str,
        severity: Severity,
        service: &Service,
        message: String,
    ) -> Finding {
        Finding::new(
            rule,
            severity,
            Some(service.name.clone()),
            self.tree.node(service.key).start,
            message,
        )
    }
}

pub trait Rule {
    fn id(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn check(&self, ctx: &Context) -> Vec<Finding>;
}

/// Every rule, in the order they run and report.
pub fn registry() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(WritableRootFs),
        Box::new(UnboundedResources),
        Box::new(DefaultCapabilities),
        Box::new(SecretInEnvironment),
        Box::new(FlatNetwork),
        Box::new(MissingHealthcheck),
    ]
}

/// Runs every rule and returns all findings in rule order.
/// Runs every rule and returns all findings in rule order, without those of
/// rules the user turned off for a service or the whole file.
pub fn check_all(ctx: &Context) -> Vec<Finding> {
    registry()
        .iter()
        .flat_map(|rule| rule.check(ctx))
        .filter(|f| !ignored(ctx, f))
        .collect()
}

/// Findings about the file as a whole rather than one rule's fix; they can
/// be silenced like rules.
pub const NOTICE_IDS: &[&str] = &[
    "unknown-image",
    "merged-service",
    "merged-services",
    "no-services",
    "include",
];

/// The ids users can name in ignore lists: every rule and every notice.
pub fn rule_ids() -> Vec<&'static str> {
    registry()
        .iter()
        .map(|r| r.id())
        .chain(NOTICE_IDS.iter().copied())
        .collect()
}

fn ignored(ctx: &Context, finding: &Finding) -> bool {
    let service = finding.service.as_deref().unwrap_or("");
    ctx.settings.ignores(finding.rule, service)
}

/// Why an edit to a service cannot be made without hiding inherited values.
#[derive(Debug)]
pub struct Refusal(pub String);

fn inherited_refusal(key: &str, origin: &Origin) -> Refusal {
    let from = match origin {
        Origin::Merged { anchor: Some(a) } => format!("the anchor &{a}"),
        _ => "a merge key".to_string(),
    };
    Refusal(format!(
        "`{key}` is inherited from {from} through `<<`; an own `{key}` would hide the inherited one"
    ))
}

/// Path of a service for plans and messages.
pub fn service_path(service: &Service) -> String {
    format!("services/{}", service.name)
}

/// Adds new keys to a service, whatever form its value has.
pub fn add_keys(ctx: &Context, service: &Service, entries: Vec<(String, NewValue)>) -> PlannedEdit {
    let node = ctx.tree.node(service.node);
    let op = if ctx.tree.is_mapping(service.node)
        && !matches!(node.kind, crate::syntax::NodeKind::Alias { .. })
    {
        EditOp::AddEntries {
            map: service.node,
            entries,
        }
    } else {
        EditOp::FillValue {
            value: service.node,
            entries,
        }
    };
    PlannedEdit {
        path: service_path(service),
        op,
    }
}

/// Adds `items` to the list under `key` (or creates the key), refusing
/// when the list is inherited through `<<`.
pub fn extend_list(
    ctx: &Context,
    service: &Service,
    key: &str,
    items: &[String],
) -> Result<Option<PlannedEdit>, Refusal> {
    let tree = ctx.tree;
    let existing = service.strings(tree, key);
    // An item a child already lists would appear twice in it once Compose
    // appends this service's list (Compose rejects duplicates).
    // Compose merges `cap_add`/`cap_drop` without duplicates itself, but
    // rejects repeated `security_opt` items and tmpfs targets.
    let children = if matches!(key, "security_opt" | "tmpfs") {
        extends_children(ctx, service)
    } else {
        Vec::new()
    };
    let in_child = |item: &String| {
        children.iter().any(|c| {
            c.field(key).is_some_and(|f| f.origin == Origin::Own)
                && c.strings(tree, key).contains(item)
        })
    };
    let missing: Vec<String> = items
        .iter()
        .filter(|i| !existing.contains(i) && !in_child(i))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let path = format!("{}/{key}", service_path(service));
    let values = NewValue::Seq(missing.iter().map(|s| NewValue::str(s.as_str())).collect());
    match service.field(key) {
        None => Ok(Some(add_keys(
            ctx,
            service,
            vec![(key.to_string(), values)],
        ))),
        Some(field) if matches!(field.origin, Origin::Extends { .. }) => {
            // Compose appends sequences of an extended service to its own.
            Ok(Some(add_keys(
                ctx,
                service,
                vec![(key.to_string(), values)],
            )))
        }
        Some(field) if field.origin != Origin::Own => Err(inherited_refusal(key, &field.origin)),
        Some(field) if tree.node(field.value).anchor.is_some() => Err(Refusal(format!(
            "`{key}` is anchored and may be shared with other services"
        ))),
        Some(field) if tree.node(field.value).tagged => Err(Refusal(format!(
            "`{key}` carries a tag such as !reset that harden leaves alone"
        ))),
        Some(field) => {
            let node = field.value;
            if tree.node(node).is_null() {
                return Ok(Some(PlannedEdit {
                    path,
                    op: EditOp::ReplaceScalar {
                        node,
                        value: values,
                    },
                }));
            }
            if tree.is_sequence(node) && !is_alias(tree, node) {
                let items = missing.into_iter().map(NewValue::Str).collect();
                return Ok(Some(PlannedEdit {
                    path,
                    op: EditOp::AppendItems { seq: node, items },
                }));
            }
            if tree.scalar(node).is_some() {
                let mut all: Vec<String> = existing;
                all.extend(missing);
                return Ok(Some(PlannedEdit {
                    path,
                    op: EditOp::ReplaceScalar {
                        node,
                        value: NewValue::Seq(all.into_iter().map(NewValue::Str).collect()),
                    },
                }));
            }
            Err(Refusal(format!("`{key}` is not a list harden can extend")))
        }
    }
}

pub fn is_alias(tree: &SyntaxTree, node: NodeId) -> bool {
    matches!(tree.node(node).kind, crate::syntax::NodeKind::Alias { .. })
}

/// The numeric `uid[:gid]` of a `user:` value, `None` for names or root.
pub fn numeric_user(user: &str) -> Option<(u32, Option<u32>)> {
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let uid: u32 = uid.parse().ok()?;
    let gid = gid.and_then(|g| g.parse().ok());
    Some((uid, gid))
}

/// Whether a `user:` value means root (or is unset).
pub fn runs_as_root(user: Option<&str>) -> bool {
    match user {
        None => true,
        Some(u) => {
            let name = u.split(':').next().unwrap_or(u).trim();
            name.is_empty() || name == "0" || name == "root"
        }
    }
}

/// Adds a top-level section entry, creating the section when needed.
pub fn add_top_level_entry(
    ctx: &Context,
    section: &str,
    name: &str,
    value: NewValue,
) -> Result<PlannedEdit, Refusal> {
    let tree = ctx.tree;
    let path = section.to_string();
    let entry = vec![(name.to_string(), value)];
    match ctx.model.section(tree, section) {
        None => Ok(PlannedEdit {
            path: String::new(),
            op: EditOp::AddSection {
                key: section.to_string(),
                value: NewValue::Map(entry),
            },
        }),
        Some(node) if tree.node(node).is_null() => Ok(PlannedEdit {
            path,
            op: EditOp::FillValue {
                value: node,
                entries: entry,
            },
        }),
        Some(node)
            if tree.is_mapping(node)
                && !is_alias(tree, node)
                && tree.node(node).anchor.is_none() =>
        {
            Ok(PlannedEdit {
                path,
                op: EditOp::AddEntries {
                    map: node,
                    entries: entry,
                },
            })
        }
        Some(_) => Err(Refusal(format!(
            "top-level `{section}` is not a mapping harden can extend"
        ))),
    }
}

/// The service named by a same-file `extends`, whose keys Compose merges
/// into this one.
pub fn extends_parent<'m>(ctx: &Context<'m>, service: &Service) -> Option<&'m Service> {
    ctx.model.parent_of(service)
}

/// Runs `check` over the services with every `extends` parent before its
/// children, handing each the results of the ones before; findings come
/// back in file order.
pub fn parents_first<'c>(
    ctx: &Context<'c>,
    mut check: impl FnMut(&Service, &[Option<Finding>]) -> Option<Finding>,
) -> Vec<Finding> {
    let services = &ctx.model.services;
    let mut done: Vec<Option<Finding>> = vec![None; services.len()];
    for i in ctx.model.parents_first() {
        done[i] = check(&services[i], &done).filter(|f| !ignored(ctx, f));
    }
    done.into_iter().flatten().collect()
}

/// Every service that extends `service` in this file, directly or through
/// others: Compose merges into them whatever `service` gets.
pub fn extends_children<'m>(ctx: &Context<'m>, service: &Service) -> Vec<&'m Service> {
    ctx.model.descendants_of(service)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::path::Path;

    #[test]
    fn registry_ids_are_unique_kebab_case_with_fixtures_and_docs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let docs = std::fs::read_to_string(root.join("docs/rules.md")).expect("docs/rules.md");
        let mut seen = HashSet::new();
        for rule in registry() {
            let id = rule.id();
            assert!(seen.insert(id), "{id} registered twice");
            assert!(
                id.split('-')
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                "{id} is not kebab-case"
            );
            assert!(!rule.summary().is_empty(), "{id} has no summary");
            let fixtures = root.join("tests/fixtures").join(id);
            let count = std::fs::read_dir(&fixtures).map(|d| d.count()).unwrap_or(0);
            assert!(count >= 2, "{id} needs fixtures in {}", fixtures.display());
            assert!(
                docs.contains(&format!("`{id}`")),
                "{id} is missing from docs/rules.md"
            );
        }
    }
}
