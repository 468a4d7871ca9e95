//! `host-namespace`: the container shares a namespace with the host.
//!
#![doc = include_str!("../../docs/rules/host-namespace.md")]

use super::{Context, Finding, FixSafety, Rule, RuleMeta, Severity, hazard, site};

pub struct HostNamespace;

const ID: &str = "host-namespace";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "the container shares a namespace with the host",
    severity: Severity::High,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/host-namespace.md"),
};

/// The keys that can name the host's namespace, and what sharing it gives.
const KEYS: &[(&str, &str)] = &[
    (
        "network_mode",
        "the host's network stack: every host interface and local-only port, and ports that bypass publishing",
    ),
    (
        "pid",
        "the host's process table: it can see and signal every host process",
    ),
    ("ipc", "the host's shared memory and semaphores"),
    (
        "userns_mode",
        "the host's user namespace: user remapping is off, so root in the container is root on the host",
    ),
    ("uts", "the host's hostname, which it can change"),
    ("cgroup", "the host's cgroup namespace"),
];

impl Rule for HostNamespace {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let mut findings = Vec::new();
        for service in &ctx.model.services {
            for (key, gives) in KEYS {
                let Some(field) = service.field(key) else {
                    continue;
                };
                if ctx.tree.scalar(field.value) != Some("host") {
                    continue;
                }
                let (at, from) = site(ctx, service, field, field.key.unwrap_or(field.value));
                findings.push(hazard(
                    ID,
                    service,
                    at,
                    format!("`{key}: host`{from} shares {gives}"),
                ));
            }
        }
        findings
    }
}
