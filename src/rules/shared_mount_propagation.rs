//! `shared-mount-propagation`: mounts cross between the host and a container.
//!
#![doc = include_str!("../../docs/rules/shared-mount-propagation.md")]

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, site};
use crate::model::mount;

pub struct SharedMountPropagation;

const ID: &str = "shared-mount-propagation";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a bind mount shares mount events with the host",
    severity: Severity::Medium,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/shared-mount-propagation.md"),
};

impl Rule for SharedMountPropagation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let tree = ctx.tree;
        let mut findings = Vec::new();
        for (service, field) in super::fields_of(ctx, "volumes") {
            let field = &field;
            for mount in mount::mounts(tree, field.value) {
                let Some(mode) = mount.propagation.as_deref() else {
                    continue;
                };
                let Some(effect) = effect(mode) else {
                    continue;
                };
                let node = mount.propagation_key.unwrap_or(mount.item);
                let (at, inherited) = site(ctx, service, field, node);
                let source = mount.source.as_deref().unwrap_or("an anonymous volume");
                let message =
                    format!("{source} is mounted with {mode} propagation{inherited}: {effect}");
                findings.push(Finding::new(
                    ID,
                    Level::Note,
                    Some(service.name.clone()),
                    at,
                    message,
                ));
            }
        }
        findings
    }
}

/// What a propagation mode lets cross, for the modes that let anything.
fn effect(mode: &str) -> Option<&'static str> {
    match mode {
        "shared" | "rshared" => {
            Some("mounts made in the container appear on the host, and the host's in the container")
        }
        "slave" | "rslave" => Some("mounts made later on the host appear in the container"),
        _ => None,
    }
}
