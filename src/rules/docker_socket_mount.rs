//! `docker-socket-mount`: the container can drive the host's container runtime.
//!
#![doc = include_str!("../../docs/rules/docker-socket-mount.md")]

use super::{Context, Finding, FixSafety, Rule, RuleMeta, Severity, hazard, site};
use crate::model::mount::{self, MountKind};

pub struct DockerSocketMount;

const ID: &str = "docker-socket-mount";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "the container runtime's socket is mounted",
    severity: Severity::Critical,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/docker-socket-mount.md"),
};

/// File names of the API sockets of container runtimes, with the runtime
/// they control.
const SOCKETS: &[(&str, &str)] = &[
    ("docker.sock", "Docker"),
    ("containerd.sock", "containerd"),
    ("podman.sock", "Podman"),
    ("crio.sock", "CRI-O"),
];

impl Rule for DockerSocketMount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let tree = ctx.tree;
        let mut findings = Vec::new();
        for (service, field) in super::fields_of(ctx, "volumes") {
            let field = &field;
            for mount in mount::mounts(tree, field.value) {
                if !matches!(mount.kind, MountKind::Bind | MountKind::Npipe) {
                    continue;
                }
                let Some(source) = mount.source.as_deref() else {
                    continue;
                };
                let Some(runtime) = runtime_socket(source) else {
                    continue;
                };
                let node = mount.source_key.unwrap_or(mount.item);
                let (at, inherited) = site(ctx, service, field, node);
                let read_only = if mount.read_only {
                    " (read-only does not limit the API)"
                } else {
                    ""
                };
                let message = format!(
                    "mounts the {runtime} socket {source}{inherited}: through it the container can start a privileged container, which is root on the host{read_only}"
                );
                findings.push(hazard(ID, service, at, message));
            }
        }
        findings
    }
}

/// The runtime whose API socket (or Windows named pipe) a host path is.
pub(super) fn runtime_socket(path: &str) -> Option<&'static str> {
    if let Some((_, runtime)) = SOCKETS.iter().find(|(name, _)| path.contains(name)) {
        return Some(runtime);
    }
    // Docker on Windows listens on `\\.\pipe\docker_engine`.
    let lower = path.to_ascii_lowercase().replace('\\', "/");
    lower.contains("pipe/docker_engine").then_some("Docker")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_sockets_are_recognised() {
        assert_eq!(runtime_socket("/var/run/docker.sock"), Some("Docker"));
        assert_eq!(runtime_socket("/run/docker.sock"), Some("Docker"));
        assert_eq!(
            runtime_socket("${XDG_RUNTIME_DIR}/docker.sock"),
            Some("Docker")
        );
        assert_eq!(
            runtime_socket("/run/containerd/containerd.sock"),
            Some("containerd")
        );
        assert_eq!(runtime_socket("/run/podman/podman.sock"), Some("Podman"));
        assert_eq!(runtime_socket("/var/run/crio/crio.sock"), Some("CRI-O"));
        assert_eq!(runtime_socket("\\\\.\\pipe\\docker_engine"), Some("Docker"));
        assert_eq!(runtime_socket("/var/run"), None);
        assert_eq!(runtime_socket("/var/lib/docker"), None);
    }
}
