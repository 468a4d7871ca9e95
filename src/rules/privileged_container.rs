//! `privileged-container`: the container runs with every privilege.
//!
#![doc = include_str!("../../docs/rules/privileged-container.md")]

use super::{Context, Finding, FixSafety, Rule, RuleMeta, Severity, hazard, site};

pub struct PrivilegedContainer;

const ID: &str = "privileged-container";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "the container runs privileged",
    severity: Severity::Critical,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/privileged-container.md"),
};

impl Rule for PrivilegedContainer {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let mut findings = Vec::new();
        for service in &ctx.model.services {
            let Some(field) = service.field("privileged") else {
                continue;
            };
            if !service.is_true(ctx.tree, "privileged") {
                continue;
            }
            let value = ctx.tree.scalar(field.value).unwrap_or("true");
            let (at, from) = site(ctx, service, field, field.key.unwrap_or(field.value));
            findings.push(hazard(
                ID,
                service,
                at,
                format!(
                    "`privileged: {value}`{from} gives the container every capability, all host devices and no seccomp or AppArmor confinement: root in it is root on the host; grant the capabilities or devices it needs instead"
                ),
            ));
        }
        findings
    }
}
