//! Hardening rules: each reads the model and the image knowledge and
//! returns findings, some with planned edits. No rule touches text.

mod cgroup_parent;
mod dangerous_capability;
mod default_capabilities;
mod docker_socket_mount;
mod flat_network;
mod host_namespace;
mod missing_healthcheck;
mod no_new_privileges;
mod privileged_container;
mod published_on_all_interfaces;
mod running_as_root;
mod secret_in_environment;
mod sensitive_host_mount;
mod shared_mount_propagation;
mod unbounded_resources;
mod unconfined_security_profile;
mod unpinned_image;
mod writable_root_fs;

use crate::knowledge::{ImageProfile, Knowledge};
use crate::model::{ComposeModel, Field, Origin, Service};
use crate::plan::{EditOp, NewValue, PlannedEdit};
use crate::source::SourceFile;
use crate::syntax::{NodeId, SyntaxTree};

pub use cgroup_parent::CgroupParent;
pub use dangerous_capability::DangerousCapability;
pub use default_capabilities::DefaultCapabilities;
pub use docker_socket_mount::DockerSocketMount;
pub use flat_network::FlatNetwork;
pub use host_namespace::HostNamespace;
pub use missing_healthcheck::MissingHealthcheck;
pub use no_new_privileges::NoNewPrivileges;
pub use privileged_container::PrivilegedContainer;
pub use published_on_all_interfaces::PublishedOnAllInterfaces;
pub use running_as_root::RunningAsRoot;
pub use secret_in_environment::{SecretInEnvironment, has_url_password, is_secret_name};
pub use sensitive_host_mount::SensitiveHostMount;
pub use shared_mount_propagation::SharedMountPropagation;
pub use unbounded_resources::UnboundedResources;
pub use unconfined_security_profile::UnconfinedSecurityProfile;
pub use unpinned_image::UnpinnedImage;
pub use writable_root_fs::WritableRootFs;

/// How a finding is shown in the log of what `harden` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// What a transform did.
    Note,
    /// A transform skipped or assumed something the user should check, or
    /// a hazard harden does not fix.
    Warning,
}

/// How bad a hazard is. Notices about harden's own work are `Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The score GitHub code scanning reads from SARIF rule properties
    /// (critical above 9.0, high 7.0 to 8.9, medium 4.0 to 6.9, low below).
    pub fn score(self) -> &'static str {
        match self {
            Severity::Info => "0.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// Whether a rule can fix what it finds, and whether that fix is applied
/// without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixSafety {
    /// Reported only: no edit keeps the service working in every case.
    None,
    /// Applied by default.
    Safe,
    /// Applied only with `--unsafe-fixes`: it can change how the stack is
    /// reached or run.
    Unsafe,
}

impl FixSafety {
    pub fn as_str(self) -> &'static str {
        match self {
            FixSafety::None => "none",
            FixSafety::Safe => "safe",
            FixSafety::Unsafe => "unsafe",
        }
    }
}

/// What a rule is, beside what it does.
#[derive(Debug)]
pub struct RuleMeta {
    /// Kebab-case, named after the hazard.
    pub id: &'static str,
    /// The hazard, in one line.
    pub summary: &'static str,
    pub severity: Severity,
    pub fix: FixSafety,
    /// Markdown with the sections What, Why, Bad, Fixed and References:
    /// the rule module's doc comment, read from `docs/rules/ID.md`.
    pub docs: &'static str,
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
    /// How bad the hazard is; `Info` for notices.
    pub severity: Severity,
    /// A notice about harden's own work, or an edit another finding needs,
    /// rather than a hazard: kept out of audit reports.
    pub notice: bool,
    pub level: Level,
    pub service: Option<String>,
    /// Byte offset the finding points at.
    pub at: usize,
    pub message: String,
    pub edits: Vec<PlannedEdit>,
    pub moved: Vec<MovedValue>,
    /// Edits of an unsafe fix the user did not ask for.
    pub withheld: Vec<PlannedEdit>,
}

impl Finding {
    /// A finding without edits.
    pub fn new(
        rule: &'static str,
        level: Level,
        service: Option<String>,
        at: usize,
        message: String,
    ) -> Finding {
        Finding {
            rule,
            severity: Severity::Info,
            notice: false,
            level,
            service,
            at,
            message,
            edits: Vec::new(),
            moved: Vec::new(),
            withheld: Vec::new(),
        }
    }

    /// What a rule says of a service it must leave alone
    /// ([`Service::unseen`]): a warning in the log; a notice when the
    /// definition continues in another file (what it lacks may be there),
    /// a hazard without a fix when it is whole here.
    pub fn unseen(rule: &'static str, service: &Service, at: usize, message: String) -> Finding {
        let finding = Finding::new(
            rule,
            Level::Warning,
            Some(service.name.clone()),
            at,
            message,
        );
        // Whole here but not to be changed: what it lacks is a hazard.
        Finding {
            notice: service.split(),
            ..finding
        }
    }

    /// A notice: shown in the log, never in audit reports.
    pub fn notice(
        rule: &'static str,
        level: Level,
        service: Option<String>,
        at: usize,
        message: String,
    ) -> Finding {
        Finding {
            notice: true,
            ..Finding::new(rule, level, service, at, message)
        }
    }

    /// Whether a fix exists, applied or withheld.
    pub fn fixable(&self) -> bool {
        !self.edits.is_empty() || !self.withheld.is_empty()
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
            (None, None) => "(none named here)".to_string(),
        }
    }

    /// A finding located at the service's name.
    pub fn finding(
        &self,
        rule: &'static str,
        level: Level,
        service: &Service,
        message: String,
    ) -> Finding {
        Finding::new(
            rule,
            level,
            Some(service.name.clone()),
            self.tree.node(service.key).start,
            message,
        )
    }
}

pub trait Rule {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, ctx: &Context) -> Vec<Finding>;

    fn id(&self) -> &'static str {
        self.meta().id
    }
}

/// Every rule, in the order they run and report.
pub fn registry() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(WritableRootFs),
        Box::new(UnboundedResources),
        Box::new(DefaultCapabilities),
        Box::new(NoNewPrivileges),
        Box::new(SecretInEnvironment),
        Box::new(FlatNetwork),
        Box::new(MissingHealthcheck),
        Box::new(PublishedOnAllInterfaces),
        // Reported only: no edit keeps every service working.
        Box::new(PrivilegedContainer),
        Box::new(DockerSocketMount),
        Box::new(HostNamespace),
        Box::new(SensitiveHostMount),
        Box::new(UnconfinedSecurityProfile),
        Box::new(DangerousCapability),
        Box::new(SharedMountPropagation),
        Box::new(RunningAsRoot),
        Box::new(UnpinnedImage),
        Box::new(CgroupParent),
    ]
}

/// Runs every rule and returns all findings in rule order, without those of
/// rules the user turned off for a service or the whole file. Hazards get
/// their rule's severity unless the rule set one; the edits of unsafe fixes
/// are withheld unless the user asked for them.
pub fn check_all(ctx: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in registry() {
        let meta = rule.meta();
        if !ctx.settings.selects(meta.id) {
            continue;
        }
        for mut finding in rule.check(ctx) {
            if ignored(ctx, &finding) {
                continue;
            }
            if !finding.notice && finding.severity == Severity::Info {
                finding.severity = meta.severity;
            }
            if meta.fix == FixSafety::Unsafe && !ctx.settings.unsafe_fixes {
                finding.withheld = std::mem::take(&mut finding.edits);
                finding.moved.clear();
            }
            findings.push(finding);
        }
    }
    findings
}

/// The metadata of every rule, in registry order.
pub fn metas() -> &'static [&'static RuleMeta] {
    // Reports look a rule up for every finding: list them once.
    static METAS: std::sync::OnceLock<Vec<&'static RuleMeta>> = std::sync::OnceLock::new();
    METAS.get_or_init(|| registry().iter().map(|r| r.meta()).collect())
}

/// The metadata of one rule.
pub fn meta(id: &str) -> Option<&'static RuleMeta> {
    metas().iter().copied().find(|m| m.id == id)
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

/// What each notice says, for `harden explain`.
pub fn notice_docs(id: &str) -> Option<&'static str> {
    Some(match id {
        "unknown-image" => {
            "The image is not in harden's table, so its fixes rest on assumptions: it writes only to /tmp, needs no capability after `cap_drop: [ALL]`, reads no `NAME_FILE` variable and fits generic limits. If it writes elsewhere, needs capabilities or reads secrets from files, say so under `x-harden` (`writable`, `cap_add`, `file_env`, `memory`) and check that the service starts."
        }
        "merged-service" => {
            "The service's mapping is an anchor that other services merge with `<<`, so keys harden adds to it reach them too, wherever they do not set their own."
        }
        "merged-services" => {
            "Services merged into `services` with `<<` live in their anchor; harden does not change them. Write them out as services to have them hardened."
        }
        "no-services" => "The file defines no services, so there is nothing to harden.",
        "include" => {
            "Services from files named under `include` are not read; run harden on each included file."
        }
        _ => return None,
    })
}

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

/// Where a finding about a service's value points, and a note on where an
/// inherited value comes from: the value's own line (`node`, a key or a
/// list item) when the service writes it, else the service's name, since
/// an anchor or a parent can be shared by many services.
pub fn site(ctx: &Context, service: &Service, field: &Field, node: NodeId) -> (usize, String) {
    match &field.origin {
        Origin::Own => (ctx.tree.node(node).start, String::new()),
        Origin::Merged { anchor: Some(a) } => (
            ctx.tree.node(service.key).start,
            format!(" (inherited from the anchor &{a})"),
        ),
        Origin::Merged { anchor: None } => (
            ctx.tree.node(service.key).start,
            " (inherited through `<<`)".to_string(),
        ),
        Origin::Extends { service: parent } => (
            ctx.tree.node(service.key).start,
            format!(" (inherited from `{parent}` through extends)"),
        ),
    }
}

/// Every service's field `key`, plus the lists Compose appends to it from
/// the services it extends in this file (as fields inherited through
/// extends, so [`site`] points at the service and says where they come
/// from).
pub fn fields_of<'m>(ctx: &Context<'m>, key: &str) -> Vec<(&'m Service, Field)> {
    let mut all = Vec::new();
    for service in &ctx.model.services {
        if let Some(field) = service.field(key) {
            all.push((service, field.clone()));
        }
        let parent = ctx.model.parent_of(service).map(|p| p.name.clone());
        for &node in service.extended_values.get(key).into_iter().flatten() {
            let origin = Origin::Extends {
                service: parent.clone().unwrap_or_default(),
            };
            all.push((
                service,
                Field {
                    key: None,
                    value: node,
                    origin,
                },
            ));
        }
    }
    all
}

/// A hazard a rule reports without a fix, at `at`.
pub fn hazard(rule: &'static str, service: &Service, at: usize, message: String) -> Finding {
    Finding::new(
        rule,
        Level::Warning,
        Some(service.name.clone()),
        at,
        message,
    )
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
    // Compose tells tmpfs mounts apart by target: `/tmp` and
    // `/tmp:mode=1777` are the same mount.
    let same = |a: &str, b: &str| {
        if key == "tmpfs" {
            a.split(':').next() == b.split(':').next()
        } else {
            a == b
        }
    };
    let in_child = |item: &String| {
        children.iter().any(|c| {
            c.field(key).is_some_and(|f| f.origin == Origin::Own)
                && c.strings(tree, key).iter().any(|x| same(x, item))
        })
    };
    // A layer merged over this file that lists the item already would
    // repeat it in the merged list.
    let layered = ctx.around.layer_items(&service.name, key);
    let missing: Vec<String> = items
        .iter()
        .filter(|i| {
            !existing.iter().any(|x| same(x, i))
                && !in_child(i)
                && !layered.iter().any(|x| same(x, i))
        })
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
            // Docker reads the uid as a number: `00` and `+0` are root too.
            name.is_empty() || name == "root" || name.parse::<u32>() == Ok(0)
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
        let Some(service) = services.get(i) else {
            continue;
        };
        let result = check(service, &done).filter(|f| !ignored(ctx, f));
        if let Some(slot) = done.get_mut(i) {
            *slot = result;
        }
    }
    done.into_iter().flatten().collect()
}

/// The nearest service this one extends (at any depth) that gets edits
/// from the same rule in this run, which then reach this one through
/// `extends`. `done` holds the results of the services checked before
/// (parents come first, see [`parents_first`]).
pub fn editing_ancestor<'m>(
    ctx: &Context<'m>,
    service: &Service,
    done: &[Option<Finding>],
) -> Option<&'m Service> {
    let mut next = extends_parent(ctx, service);
    while let Some(parent) = next {
        let edits = done
            .get(ctx.model.position(parent))
            .and_then(Option::as_ref)
            .is_some_and(|f| !f.edits.is_empty());
        if edits {
            return Some(parent);
        }
        next = extends_parent(ctx, parent).filter(|p| p.name != service.name);
    }
    None
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

    /// The YAML block under a docs heading.
    fn example<'d>(docs: &'d str, heading: &str) -> &'d str {
        let after = &docs[docs.find(heading).unwrap_or_else(|| panic!("no {heading}"))..];
        let start = after.find("```yaml\n").expect("a yaml block") + 8;
        let len = after[start..].find("```").expect("a closed block");
        &after[start..start + len]
    }

    fn hazards_of(id: &str, yaml: &str) -> usize {
        let src = SourceFile::new("example.yml", None, yaml.to_string());
        let outcome =
            crate::harden(src, &Default::default()).unwrap_or_else(|e| panic!("{id} example: {e}"));
        outcome
            .findings
            .iter()
            .filter(|f| f.rule == id && !f.notice)
            .count()
    }

    #[test]
    fn registry_ids_are_unique_kebab_case_with_fixtures_and_docs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let index = std::fs::read_to_string(root.join("docs/rules.md")).expect("docs/rules.md");
        let mut seen = HashSet::new();
        for meta in metas() {
            let id = meta.id;
            assert!(seen.insert(id), "{id} registered twice");
            assert!(
                id.split('-')
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                "{id} is not kebab-case"
            );
            assert!(!meta.summary.is_empty(), "{id} has no summary");
            assert!(
                meta.severity > Severity::Info,
                "{id} is a hazard, not a notice"
            );
            assert!(
                meta.docs
                    .starts_with(&format!("# `{id}`: {}\n", meta.summary)),
                "{id}: docs must start with `# `{id}`: <summary>`"
            );
            for section in [
                "## What",
                "## Why",
                "## Bad",
                "## Fixed",
                "## Fix",
                "## References",
            ] {
                assert!(
                    meta.docs.contains(&format!("\n{section}\n")),
                    "{id}: docs lack {section}"
                );
            }
            assert!(
                hazards_of(id, example(meta.docs, "## Bad")) > 0,
                "{id}: the Bad example is not flagged"
            );
            assert_eq!(
                hazards_of(id, example(meta.docs, "## Fixed")),
                0,
                "{id}: the Fixed example is flagged"
            );
            let fixtures = root.join("tests/fixtures").join(id);
            let count = std::fs::read_dir(&fixtures).map(|d| d.count()).unwrap_or(0);
            assert!(count >= 2, "{id} needs fixtures in {}", fixtures.display());
            assert!(
                index.contains(&format!("[`{id}`](rules/{id}.md)")),
                "{id} is missing from docs/rules.md"
            );
        }
    }

    #[test]
    fn notices_and_rules_do_not_share_ids() {
        let rules: HashSet<&str> = metas().iter().map(|m| m.id).collect();
        assert!(NOTICE_IDS.iter().all(|n| !rules.contains(n)));
    }
}
