//! `cgroup-parent`: the container is placed in a cgroup of the user's choosing.
//!
#![doc = include_str!("../../docs/rules/cgroup-parent.md")]

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, hazard, site};

pub struct CgroupParent;

const ID: &str = "cgroup-parent";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "the container is placed under a custom parent cgroup",
    severity: Severity::Low,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/cgroup-parent.md"),
};

impl Rule for CgroupParent {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let mut findings = Vec::new();
        for service in &ctx.model.services {
            let Some(field) = service.field("cgroup_parent") else {
                continue;
            };
            if ctx.tree.node(ctx.tree.resolve(field.value)).is_null() {
                continue;
            }
            let value = ctx.tree.scalar(field.value).unwrap_or("");
            let (at, from) = site(ctx, service, field, field.key.unwrap_or(field.value));
            let mut finding = hazard(
                ID,
                service,
                at,
                format!(
                    "`cgroup_parent: {value}`{from} moves the container out of the cgroup tree Docker manages, so limits and accounting set for Docker's containers do not cover it"
                ),
            );
            finding.level = Level::Note;
            findings.push(finding);
        }
        findings
    }
}
