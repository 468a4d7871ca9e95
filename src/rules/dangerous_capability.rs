//! `dangerous-capability`: `cap_add` grants a capability that breaks isolation.
//!
#![doc = include_str!("../../docs/rules/dangerous-capability.md")]

use super::{Context, Finding, FixSafety, Rule, RuleMeta, Severity, hazard, site};

pub struct DangerousCapability;

const ID: &str = "dangerous-capability";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a capability that breaks container isolation is added",
    severity: Severity::High,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/dangerous-capability.md"),
};

/// Capabilities that let a process reach past its container: the host's
/// kernel, devices, other processes, or the network configuration.
const DANGEROUS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "NET_ADMIN",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SYSLOG",
    "LINUX_IMMUTABLE",
];

impl Rule for DangerousCapability {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let tree = ctx.tree;
        let mut findings = Vec::new();
        for service in &ctx.model.services {
            let Some(field) = service.field("cap_add") else {
                continue;
            };
            let found: Vec<String> = service
                .strings(tree, "cap_add")
                .iter()
                .map(|c| normalize(c))
                .filter(|c| DANGEROUS.contains(&c.as_str()))
                .collect();
            if found.is_empty() {
                continue;
            }
            let (at, from) = site(ctx, service, field, field.key.unwrap_or(field.value));
            let what = if found.iter().any(|c| c == "ALL") {
                "ALL restores every capability, as if privileged".to_string()
            } else {
                format!(
                    "{} let{} a process reach the host's kernel, devices, processes or network configuration",
                    found.join(", "),
                    if found.len() == 1 { "s" } else { "" }
                )
            };
            findings.push(hazard(ID, service, at, format!("cap_add{from}: {what}")));
        }
        findings
    }
}

/// `cap_sys_admin` and `SYS_ADMIN` name the same capability.
fn normalize(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}
