//! `unconfined-security-profile`: seccomp, AppArmor or SELinux turned off.
//!
#![doc = include_str!("../../docs/rules/unconfined-security-profile.md")]

use super::{Context, Finding, FixSafety, Rule, RuleMeta, Severity, hazard, site};

pub struct UnconfinedSecurityProfile;

const ID: &str = "unconfined-security-profile";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a kernel security profile is turned off",
    severity: Severity::High,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/unconfined-security-profile.md"),
};

impl Rule for UnconfinedSecurityProfile {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let tree = ctx.tree;
        let mut findings = Vec::new();
        for (service, field) in super::fields_of(ctx, "security_opt") {
            let field = &field;
            for &item in tree.items(field.value) {
                let Some(text) = tree.scalar(item) else {
                    continue;
                };
                let Some(what) = turned_off(text) else {
                    continue;
                };
                let (at, from) = site(ctx, service, field, item);
                findings.push(hazard(
                    ID,
                    service,
                    at,
                    format!("`{text}`{from} turns off {what}"),
                ));
            }
        }
        findings
    }
}

/// What a `security_opt` item turns off, if anything. Docker reads both
/// `name:value` and `name=value`; names and values are matched ignoring
/// case, and any `unconfined` value counts.
fn turned_off(item: &str) -> Option<&'static str> {
    let lower = item.trim().to_ascii_lowercase();
    let (name, value) = lower.split_once([':', '='])?;
    match (name, value) {
        ("seccomp", "unconfined") => Some("the seccomp filter, so every system call is allowed"),
        ("apparmor", "unconfined") => Some("the AppArmor profile"),
        ("label", "disable") => Some("SELinux labelling"),
        ("systempaths", "unconfined") => {
            Some("the masking of /proc and /sys paths that expose the host")
        }
        _ if value.contains("unconfined") => Some("a security profile"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::turned_off;

    #[test]
    fn recognises_both_spellings_and_leaves_profiles_alone() {
        for item in [
            "seccomp:unconfined",
            "seccomp=unconfined",
            "apparmor=unconfined",
            "APPARMOR:UNCONFINED",
            "label:disable",
            "label=disable",
            "systempaths=unconfined",
            "label:seccomp:unconfined",
        ] {
            assert!(turned_off(item).is_some(), "{item}");
        }
        for item in [
            "no-new-privileges:true",
            "seccomp:/etc/docker/profile.json",
            "apparmor:docker-default",
            "label:type:svirt_apache_t",
            "unconfined",
        ] {
            assert!(turned_off(item).is_none(), "{item}");
        }
    }
}
