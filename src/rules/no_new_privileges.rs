//! `no-new-privileges`: a process in the container can gain privileges.
//!
#![doc = include_str!("../../docs/rules/no-new-privileges.md")]

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, extend_list, site};
use crate::model::{Origin, Service};

pub struct NoNewPrivileges;

const ID: &str = "no-new-privileges";

const OPTION: &str = "no-new-privileges:true";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "processes can gain privileges through setuid binaries",
    severity: Severity::Medium,
    fix: FixSafety::Safe,
    docs: include_str!("../../docs/rules/no-new-privileges.md"),
};

impl Rule for NoNewPrivileges {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        super::parents_first(ctx, |service, done| check_service(ctx, service, done))
    }
}

fn check_service(ctx: &Context, service: &Service, done: &[Option<Finding>]) -> Option<Finding> {
    let tree = ctx.tree;
    let privileged = service.is_true(tree, "privileged");
    if let Some(field) = service.field("security_opt") {
        for &item in tree.items(field.value) {
            match tree.scalar(item).and_then(setting) {
                Some(true) => return None,
                Some(false) => {
                    let (at, from) = site(ctx, service, field, item);
                    let message = format!(
                        "`no-new-privileges` is turned off{from}; setuid binaries in the image can raise a process's privileges"
                    );
                    let finding = ctx.finding(ID, Level::Warning, service, message);
                    return Some(Finding { at, ..finding });
                }
                None => {}
            }
        }
    }
    if service
        .strings(tree, "security_opt")
        .iter()
        .any(|o| setting(o) == Some(true))
    {
        return None;
    }
    let warn = |message: String| Some(ctx.finding(ID, Level::Warning, service, message));
    // Reported, not fixed: `privileged-container` is what matters there.
    if privileged {
        return warn(
            "no-new-privileges not added: the service is privileged (see privileged-container)"
                .into(),
        );
    }
    if let Some(why) = service.unseen() {
        let at = tree.node(service.key).start;
        let message = format!("no-new-privileges not added: {why}");
        return Some(Finding::unseen(ID, service, at, message));
    }
    // A parent in this file that gets it passes it on through extends.
    if super::editing_ancestor(ctx, service, done).is_some() {
        return None;
    }

    match extend_list(ctx, service, "security_opt", &[OPTION.to_string()]) {
        Ok(Some(edit)) => {
            let mut finding = ctx.finding(ID, Level::Note, service, OPTION.to_string());
            if let Some(key) = service
                .field("security_opt")
                .filter(|f| f.origin == Origin::Own)
                .and_then(|f| f.key)
            {
                finding.at = tree.node(key).start;
            }
            finding.edits.push(edit);
            Some(finding)
        }
        Ok(None) => None,
        Err(refusal) => warn(format!("no-new-privileges not added: {}", refusal.0)),
    }
}

/// Whether a `security_opt` item sets no-new-privileges, and to what.
/// Docker reads `no-new-privileges`, `no-new-privileges:true` and
/// `no-new-privileges=true` alike.
fn setting(item: &str) -> Option<bool> {
    let lower = item.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("no-new-privileges")?;
    match rest {
        "" | ":true" | "=true" => Some(true),
        ":false" | "=false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::setting;

    #[test]
    fn spellings() {
        for on in [
            "no-new-privileges",
            "no-new-privileges:true",
            "NO-NEW-PRIVILEGES=true",
        ] {
            assert_eq!(setting(on), Some(true), "{on}");
        }
        for off in ["no-new-privileges:false", "no-new-privileges=false"] {
            assert_eq!(setting(off), Some(false), "{off}");
        }
        for other in ["seccomp:unconfined", "no-new-privileges-x", "label:disable"] {
            assert_eq!(setting(other), None, "{other}");
        }
    }
}
