//! `writable-root-fs`: the container can write anywhere in its image.
//!
#![doc = include_str!("../../docs/rules/writable-root-fs.md")]

use super::{
    Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, extend_list, numeric_user,
    runs_as_root,
};
use crate::knowledge::{ReadOnly, StartUser};
use crate::model::Service;
use crate::plan::NewValue;

pub struct WritableRootFs;

const ID: &str = "writable-root-fs";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "the root filesystem is writable",
    severity: Severity::Medium,
    fix: FixSafety::Safe,
    docs: include_str!("../../docs/rules/writable-root-fs.md"),
};

/// Variables whose value names a scratch directory the process writes.
const SCRATCH_VARS: &[&str] = &["TMPDIR", "TMP", "TEMP", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"];

impl Rule for WritableRootFs {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        ctx.model
            .services
            .iter()
            .filter_map(|s| check_service(ctx, s))
            .collect()
    }
}

/// What the rule would do for a service, before any edit is planned.
enum Decision<'p> {
    Done,
    Skip(String),
    /// Part of the service is out of sight: a notice, not a hazard.
    Unseen(String),
    Add {
        paths: Vec<String>,
        specs: Vec<String>,
        profile: Option<&'p crate::knowledge::ImageProfile>,
    },
}

fn decide<'p>(ctx: &Context<'p>, service: &Service) -> Decision<'p> {
    let tree = ctx.tree;
    // Set (true, or a variable harden cannot judge); false is reported
    // before this.
    if service.field("read_only").is_some() {
        return Decision::Done;
    }
    if let Some(why) = service.unseen() {
        return Decision::Unseen(format!(
            "read_only not added: {why}, and it may need more writable paths"
        ));
    }
    // Root in a privileged container can remount `/` read-write, so
    // read_only protects nothing there, and such system tools (Docker in
    // Docker, node agents) write all over their image.
    if service.is_true(tree, "privileged") {
        return Decision::Skip(
            "read_only not added: the service is privileged, so it could remount its root filesystem anyway (see privileged-container)".into(),
        );
    }
    let profile = ctx.profile(service);
    if let Some(p) = profile
        && p.read_only == Some(ReadOnly::No)
    {
        let why = p
            .read_only_note
            .as_deref()
            .unwrap_or("the image writes outside known paths");
        return Decision::Skip(format!(
            "read_only not added: {} does not run with a read-only root filesystem ({why})",
            p.id
        ));
    }
    if let Some(step) = installs_at_start(&service.command_text(tree)) {
        return Decision::Skip(format!(
            "read_only not added: its command runs `{step}`, which writes into the image at every start; build that into the image first"
        ));
    }
    if let Some(source) = copied_in_source(ctx, service) {
        return Decision::Skip(format!(
            "read_only not added: {source} is copied into the container's root filesystem at start, which fails when it is read-only"
        ));
    }

    // Every image gets a scratch /tmp; known images add the paths they write.
    let mut paths: Vec<String> = vec!["/tmp".to_string()];
    for path in profile.map_or(&[][..], |p| &p.tmpfs) {
        if !paths.contains(path) {
            paths.push(path.clone());
        }
    }
    for path in ctx.service_settings(service).writable {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    for var in service.environment(tree) {
        if SCRATCH_VARS.contains(&var.name.as_str())
            && let Some(value) = var.value
            && value.starts_with('/')
            && !value.contains('$')
            && !paths.contains(&value)
        {
            paths.push(value);
        }
    }
    let mut mounts = service.mount_targets(tree);
    // A path a child mounts itself would be mounted twice in that child.
    for child in super::extends_children(ctx, service) {
        mounts.extend(child.mount_targets(tree));
    }
    paths.retain(|path| !mounts.iter().any(|(target, _)| covers(target, path)));

    let user = service.user(tree);
    let exec_paths: &[String] = profile.map_or(&[], |p| &p.tmpfs_exec);
    let specs = paths
        .iter()
        .map(|p| tmpfs_spec(p, user.as_deref(), exec_paths.contains(p)))
        .collect();
    Decision::Add {
        paths,
        specs,
        profile,
    }
}

fn check_service(ctx: &Context, service: &Service) -> Option<Finding> {
    if service.is_false(ctx.tree, "read_only") {
        let message =
            "read_only: false is set on purpose, so harden leaves the root filesystem writable"
                .to_string();
        let mut finding = ctx.finding(ID, Level::Note, service, message);
        if let Some(field) = service.field("read_only") {
            finding.at = super::site(ctx, service, field, field.key.unwrap_or(field.value)).0;
        }
        return Some(finding);
    }
    let (mut paths, mut specs, profile) = match decide(ctx, service) {
        Decision::Done => return None,
        Decision::Skip(message) => {
            return Some(ctx.finding(ID, Level::Warning, service, message));
        }
        Decision::Unseen(message) => {
            let at = ctx.tree.node(service.key).start;
            return Some(Finding::unseen(ID, service, at, message));
        }
        Decision::Add {
            paths,
            specs,
            profile,
        } => (paths, specs, profile),
    };
    let warn = |message: String| Some(ctx.finding(ID, Level::Warning, service, message));

    // A service that extends one in this file inherits the parent's new
    // read_only and tmpfs (Compose appends the lists), so it adds only
    // what the parent does not get.
    let parent = super::extends_parent(ctx, service).and_then(|p| match decide(ctx, p) {
        Decision::Add { paths, .. } => Some((p.name.clone(), paths)),
        _ => None,
    });
    let mut edits = Vec::new();
    if let Some((_, parent_paths)) = &parent {
        let keep: Vec<bool> = paths.iter().map(|p| !parent_paths.contains(p)).collect();
        let mut k = keep.iter();
        paths.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        specs.retain(|_| *k.next().unwrap_or(&true));
        if paths.is_empty() {
            return None;
        }
    } else {
        edits.push(super::add_keys(
            ctx,
            service,
            vec![("read_only".into(), NewValue::Raw("true".into()))],
        ));
    }
    if !specs.is_empty() {
        match extend_list(ctx, service, "tmpfs", &specs) {
            Ok(edit) => edits.extend(edit),
            Err(refusal) => return warn(format!("read_only not added: {}", refusal.0)),
        }
    }

    let shown = if paths.is_empty() {
        "no tmpfs needed".to_string()
    } else {
        format!("tmpfs {}", paths.join(", "))
    };
    let (severity, mut message) = match profile {
        Some(p) if p.read_only_note.is_some() || p.read_only.is_none() => {
            let care = p
                .read_only_note
                .as_deref()
                .unwrap_or("not verified for this image");
            // Generic classes and unverified rows are guesses; a known
            // image's note only names a condition worth knowing.
            let guess = p.read_only.is_none() || p.id.starts_with("generic-");
            let severity = if guess { Level::Warning } else { Level::Note };
            (
                severity,
                format!("read_only: true with {shown} ({}; {care})", p.id),
            )
        }
        Some(p) => (
            Level::Note,
            format!("read_only: true with {shown} ({})", p.id),
        ),
        // The one warning per unknown image comes from `unknown_images`.
        None => (
            Level::Note,
            format!("read_only: true with {shown} (image unknown: assumed it writes nothing else)"),
        ),
    };
    if let Some((name, _)) = parent {
        message = format!("{message}; read_only itself comes from {name} through extends");
    }
    // Docker mounts a tmpfs over a folder the image has owned by root, with
    // that folder's mode: a non-root image user cannot write to it unless
    // `user:` names it (harden then passes uid and gid).
    let root_owned = root_owned_paths(ctx, service, &paths, profile);
    let severity = if root_owned.is_empty() {
        severity
    } else {
        message = format!(
            "{message}; the tmpfs at {} will be owned by root: if the image runs as a non-root user, set `user:` to its uid:gid so harden makes the tmpfs that user's",
            root_owned.join(", ")
        );
        Level::Warning
    };
    let mut finding = ctx.finding(ID, severity, service, message);
    finding.edits = edits;
    Some(finding)
}

/// Package managers and build steps that write into the image when a
/// command runs them at start.
const INSTALL_STEPS: &[&str] = &[
    "npm ci",
    "npm install",
    "npm i ",
    "yarn install",
    "yarn add",
    "pnpm install",
    "pip install",
    "pip3 install",
    "poetry install",
    "apt-get install",
    "apt install",
    "apk add",
    "yum install",
    "dnf install",
    "bundle install",
    "composer install",
    "go build",
    "go run",
    "cargo build",
    "cargo run",
    "mvn ",
    "gradle ",
];

/// The first install or build step a start command runs, if any.
fn installs_at_start(command: &str) -> Option<&'static str> {
    let text = format!(
        "{} ",
        command
            .to_ascii_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    INSTALL_STEPS
        .iter()
        .find(|step| text.contains(*step))
        .map(|s| s.trim_end())
}

/// Whether a mount at `target` already makes `path` writable.
fn covers(target: &str, path: &str) -> bool {
    let target = target.trim_end_matches('/');
    path == target || path.starts_with(&format!("{target}/")) || target.is_empty()
}

/// The new tmpfs paths a service's user may be unable to write to: paths
/// the settings name (not `/tmp`, which images ship world-writable), when
/// the service has no `user:` and its image is not known to run as root
/// (one that starts as root and steps down writes as its service user).
fn root_owned_paths<'p>(
    ctx: &Context,
    service: &Service,
    paths: &'p [String],
    profile: Option<&crate::knowledge::ImageProfile>,
) -> Vec<&'p str> {
    let starts_as_root =
        profile.is_some_and(|p| p.start_user == Some(StartUser::Root) && p.steps_down_to.is_none());
    if service.user(ctx.tree).is_some() || starts_as_root {
        return Vec::new();
    }
    let known: &[String] = profile.map_or(&[], |p| &p.tmpfs);
    paths
        .iter()
        .filter(|p| *p != "/tmp" && !known.contains(p))
        .map(String::as_str)
        .collect()
}

/// A short-syntax tmpfs entry with options the service's user can write to.
fn tmpfs_spec(path: &str, user: Option<&str>, exec: bool) -> String {
    let mut options = Vec::new();
    match user {
        Some(u) if !runs_as_root(Some(u)) => match numeric_user(u) {
            Some((uid, Some(gid))) => {
                options.push(format!("uid={uid}"));
                options.push(format!("gid={gid}"));
            }
            Some((uid, None)) => options.push(format!("uid={uid}")),
            None => options.push("mode=1777".to_string()),
        },
        // Root-started images often step down to a service user that also
        // writes to /tmp; the conventional sticky world-writable mode fits.
        _ if path == "/tmp" => options.push("mode=1777".to_string()),
        _ => {}
    }
    if exec {
        options.push("exec".to_string());
    }
    if options.is_empty() {
        path.to_string()
    } else {
        format!("{path}:{}", options.join(","))
    }
}

/// A secret or config of the service whose top-level source is
/// `environment:` or `content:`.
fn copied_in_source(ctx: &Context, service: &Service) -> Option<String> {
    let tree = ctx.tree;
    for section in ["secrets", "configs"] {
        let Some(top) = ctx.model.section(tree, section) else {
            continue;
        };
        for name in service.names(tree, section) {
            let Some(def) = crate::model::merged_fields(tree, top)
                .get(&name)
                .map(|f| f.value)
            else {
                continue;
            };
            for source in ["environment", "content"] {
                if tree.get(def, source).is_some() {
                    let kind = &section[..section.len() - 1];
                    return Some(format!("{kind} `{name}` (from `{source}:`)"));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_options_follow_the_user() {
        assert_eq!(
            tmpfs_spec("/tmp", Some("1000:1000"), false),
            "/tmp:uid=1000,gid=1000"
        );
        assert_eq!(
            tmpfs_spec("/var/tmp/api", Some("app"), false),
            "/var/tmp/api:mode=1777"
        );
        assert_eq!(
            tmpfs_spec("/run/postgresql", None, false),
            "/run/postgresql"
        );
        assert_eq!(tmpfs_spec("/tmp", None, true), "/tmp:mode=1777,exec");
    }

    #[test]
    fn install_steps_in_commands_are_found() {
        assert_eq!(
            installs_at_start("sh -c 'npm ci && npm run dev'"),
            Some("npm ci")
        );
        assert_eq!(
            installs_at_start("pip  install -r req.txt"),
            Some("pip install")
        );
        assert_eq!(installs_at_start("node server.js"), None);
    }

    #[test]
    fn mounts_cover_their_subpaths() {
        assert!(covers(
            "/var/lib/postgresql/data",
            "/var/lib/postgresql/data"
        ));
        assert!(covers("/app", "/app/.cache"));
        assert!(!covers("/app", "/application"));
    }
}
