//! `sensitive-host-mount`: a host system directory is mounted into a container.
//!
#![doc = include_str!("../../docs/rules/sensitive-host-mount.md")]

use super::docker_socket_mount::runtime_socket;
use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, hazard, site};
use crate::model::merged_fields;
use crate::model::mount::{self, MountKind};

pub struct SensitiveHostMount;

const ID: &str = "sensitive-host-mount";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a sensitive host directory is mounted",
    severity: Severity::High,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/sensitive-host-mount.md"),
};

/// Host directories a container should not see, most specific first, with
/// what they hold.
const SENSITIVE: &[(&str, &str)] = &[
    (
        "/var/lib/docker",
        "every container's files and the runtime's state",
    ),
    ("/var/run", "the host services' sockets"),
    ("/var/log", "the host's logs"),
    ("/run", "the host services' sockets"),
    ("/etc", "the host's configuration, password hashes and keys"),
    ("/proc", "the kernel's view of every host process"),
    ("/sys", "kernel and device settings"),
    ("/boot", "the kernel and boot loader"),
    ("/dev", "the host's devices"),
    ("/root", "root's files and keys"),
    ("/home", "users' files and keys"),
    ("/lib", "the host's programs and libraries"),
    ("/lib64", "the host's programs and libraries"),
    ("/usr", "the host's programs and libraries"),
    ("/bin", "the host's programs"),
    ("/sbin", "the host's programs"),
    ("/var", "the host's state (databases, spools, logs)"),
    ("/srv", "the data the host serves"),
    ("/media", "removable media"),
    ("/cdrom", "removable media"),
    ("/selinux", "the SELinux policy"),
];

/// Files commonly shared read-only so the container keeps the host's clock
/// zone; they hold nothing secret.
const HARMLESS_READ_ONLY: &[&str] = &["/etc/localtime", "/etc/timezone"];

/// Device files any process may read and write: the kernel's random
/// number generators give nothing away and take nothing but entropy.
const HARMLESS: &[&str] = &["/dev/urandom", "/dev/random"];

impl Rule for SensitiveHostMount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let tree = ctx.tree;
        let mut findings = Vec::new();
        for (service, field) in super::fields_of(ctx, "volumes") {
            let field = &field;
            for mount in mount::mounts(tree, field.value) {
                let Some(source) = mount.source.as_deref() else {
                    continue;
                };
                if mount.kind != MountKind::Bind || runtime_socket(source).is_some() {
                    continue;
                }
                let Some(path) = normalize(source) else {
                    continue;
                };
                if HARMLESS.contains(&path.as_str())
                    || (mount.read_only && HARMLESS_READ_ONLY.contains(&path.as_str()))
                {
                    continue;
                }
                let what = if HARMLESS_READ_ONLY.contains(&path.as_str()) {
                    "writable, so the container can change the host's time zone; add :ro"
                } else {
                    match sensitive_area(&path) {
                        Some(what) => what,
                        None => continue,
                    }
                };
                let node = mount.source_key.unwrap_or(mount.item);
                let (at, inherited) = site(ctx, service, field, node);
                let read_only = if mount.read_only { " read-only" } else { "" };
                let message = format!("mounts host path {source}{read_only}{inherited}: {what}");
                findings.push(hazard(ID, service, at, message));
            }
        }
        findings.extend(top_level_volumes(ctx));
        findings
    }
}

/// Named volumes whose local driver mounts a sensitive host path
/// (`driver_opts.device`, or `mountpoint` of plugins like local-persist).
fn top_level_volumes(ctx: &Context) -> Vec<Finding> {
    let tree = ctx.tree;
    let Some(section) = ctx.model.section(tree, "volumes") else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for (name, volume) in merged_fields(tree, section) {
        let Some(opts) = merged_fields(tree, volume.value)
            .get("driver_opts")
            .cloned()
        else {
            continue;
        };
        for (option, field) in merged_fields(tree, opts.value) {
            if !matches!(option.as_str(), "device" | "mountpoint") {
                continue;
            }
            let Some(source) = tree.scalar(field.value) else {
                continue;
            };
            if runtime_socket(source).is_some() {
                continue;
            }
            let Some(what) = normalize(source).and_then(|p| sensitive_area(&p)) else {
                continue;
            };
            let at = tree.node(field.key.unwrap_or(field.value)).start;
            let message = format!("volume `{name}` mounts host path {source}: {what}");
            findings.push(Finding::new(ID, Level::Warning, None, at, message));
        }
    }
    findings
}

/// An absolute host path with `.`, `..` and repeated slashes resolved;
/// `None` for relative, home-relative and interpolated paths.
fn normalize(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// What a normalized host path exposes, when it is `/` itself or lies
/// under a sensitive directory (by whole components: `/variable` is not
/// under `/var`).
fn sensitive_area(path: &str) -> Option<&'static str> {
    if path == "/" {
        return Some("the host's whole filesystem");
    }
    SENSITIVE
        .iter()
        .find(|(dir, _)| {
            path.strip_prefix(dir)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(path: &str) -> bool {
        normalize(path).and_then(|p| sensitive_area(&p)).is_some()
    }

    #[test]
    fn sensitive_paths_match_by_component() {
        for path in [
            "/",
            "//",
            "/etc",
            "/etc/",
            "/etc/nginx/nginx.conf",
            "/var/lib/backup/data",
            "/var/lib/docker/volumes",
            "/proc/1",
            "/home/me/.ssh",
            "/lib64",
            "/selinux",
            "/opt/../etc",
            "/./usr/bin",
        ] {
            assert!(flagged(path), "{path} should be flagged");
        }
        for path in [
            "/variable",
            "/etcetera",
            "/homebrew",
            "/usr2",
            "/opt/app",
            "/tmp",
            "/mnt/data",
            "/data",
            "/seLinux",
            "/Etc",
            "./etc",
            "etc",
            "~/.ssh",
            "${HOME}/.ssh",
            "C:\\Windows",
        ] {
            assert!(!flagged(path), "{path} should not be flagged");
        }
    }

    #[test]
    fn the_most_specific_directory_describes_the_path() {
        assert_eq!(
            sensitive_area("/var/lib/docker/x"),
            Some("every container's files and the runtime's state")
        );
        assert_eq!(
            sensitive_area("/var/lib/x"),
            Some("the host's state (databases, spools, logs)")
        );
        assert_eq!(normalize("/a/./b//c/.."), Some("/a/b".into()));
    }
}
