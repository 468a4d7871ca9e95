//! `default-capabilities`: the container keeps Docker's default capability set.
//!
#![doc = include_str!("../../docs/rules/default-capabilities.md")]

use super::{
    Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, extend_list, runs_as_root,
};
use crate::model::{Origin, Service};
use crate::plan::PlannedEdit;

pub struct DefaultCapabilities;

const ID: &str = "default-capabilities";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "default capabilities kept",
    severity: Severity::Medium,
    fix: FixSafety::Safe,
    docs: include_str!("../../docs/rules/default-capabilities.md"),
};

const STEP_DOWN_TOOLS: &[&str] = &[
    "su", "gosu", "su-exec", "setpriv", "sudo", "runuser", "chroot",
];

impl Rule for DefaultCapabilities {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        super::parents_first(ctx, |service, done| check_service(ctx, service, done))
    }
}

fn check_service(ctx: &Context, service: &Service, done: &[Option<Finding>]) -> Option<Finding> {
    let tree = ctx.tree;
    let dropped_all = service
        .strings(tree, "cap_drop")
        .iter()
        .any(|c| c.eq_ignore_ascii_case("ALL"));
    if dropped_all {
        return None;
    }
    let warn = |message: String| Some(ctx.finding(ID, Level::Warning, service, message));
    if service.is_true(tree, "privileged") {
        return warn(
            "capabilities not dropped: the service is privileged, which grants every capability"
                .into(),
        );
    }
    if let Some(why) = service.unseen() {
        let at = tree.node(service.key).start;
        let message = format!("capabilities not changed: {why}");
        return Some(Finding::unseen(ID, service, at, message));
    }

    // A parent in this file that gets cap_drop passes it on through
    // extends (lists are appended): add only extra caps.
    if let Some(parent) = super::editing_ancestor(ctx, service, done) {
        // What the parent will hold after this run reaches this service
        // through `extends`; add only what it will not.
        let mut ancestors = Vec::new();
        let mut next = super::extends_parent(ctx, service);
        while let Some(p) = next.filter(|p| ancestors.len() < 64 && p.name != service.name) {
            ancestors.push(p);
            next = super::extends_parent(ctx, p);
        }
        let planned: Vec<_> = ancestors
            .iter()
            .filter_map(|a| done.get(ctx.model.position(a)).and_then(Option::as_ref))
            .flat_map(|f| f.edits.iter().cloned())
            .collect();
        let provides = |key: &str, item: &str| {
            ancestors
                .iter()
                .any(|a| a.strings(tree, key).iter().any(|i| i == item))
                || planned
                    .iter()
                    .any(|e| e.planned_items(key).iter().any(|i| i == item))
        };
        let (needed, why) = needed_caps(ctx, service);
        let extra: Vec<String> = needed
            .into_iter()
            .filter(|c| !provides("cap_add", c))
            .collect();
        let mut edits = Vec::new();
        let mut said = Vec::new();
        if let Ok(Some(edit)) = extend_list(ctx, service, "cap_add", &extra) {
            edits.push(edit);
            said.push(format!(
                "cap_add {} on top of {}'s ({why})",
                extra.join(", "),
                parent.name
            ));
        }
        if edits.is_empty() {
            return None;
        }
        let mut finding = ctx.finding(ID, Level::Note, service, said.join("; "));
        finding.edits = edits;
        return Some(finding);
    }

    let mut edits: Vec<PlannedEdit> = Vec::new();
    let mut said = Vec::new();
    {
        let (needed, why) = needed_caps(ctx, service);
        match extend_list(ctx, service, "cap_drop", &["ALL".to_string()]) {
            Ok(edit) => edits.extend(edit),
            Err(refusal) => return warn(format!("capabilities not dropped: {}", refusal.0)),
        }
        match extend_list(ctx, service, "cap_add", &needed) {
            Ok(edit) => edits.extend(edit),
            Err(refusal) => return warn(format!("capabilities not dropped: {}", refusal.0)),
        }
        let mut all_caps = service.strings(tree, "cap_add");
        for cap in needed {
            if !all_caps.contains(&cap) {
                all_caps.push(cap);
            }
        }
        let kept = if all_caps.is_empty() {
            "none added back".to_string()
        } else {
            format!("cap_add {}", all_caps.join(", "))
        };
        said.push(format!("cap_drop ALL, {kept} ({why})"));
    }
    let mut finding = ctx.finding(ID, Level::Note, service, said.join("; "));
    // Point at the list that lacks ALL, when the service has one.
    if let Some(key) = service
        .field("cap_drop")
        .filter(|f| f.origin == Origin::Own)
        .and_then(|f| f.key)
    {
        finding.at = tree.node(key).start;
    }
    finding.edits = edits;
    Some(finding)
}

/// The capabilities to add back after `cap_drop: [ALL]`, and why.
fn needed_caps(ctx: &Context, service: &Service) -> (Vec<String>, String) {
    let tree = ctx.tree;
    let user = service.user(tree);
    let root = runs_as_root(user.as_deref());
    let profile = ctx.profile(service);
    let mut caps: Vec<String> = Vec::new();
    let mut why = Vec::new();

    match profile {
        Some(p) => {
            if !p.file_caps.is_empty() {
                caps.extend(p.file_caps.iter().cloned());
                why.push(format!("{} binaries carry file capabilities", p.id));
            }
            if root && p.starts_as_root() {
                caps.extend(p.cap_add.iter().cloned());
                if p.cap_add.is_empty() {
                    why.push(format!("{} needs none", p.id));
                } else {
                    match &p.cap_free_user {
                        // The cap-free alternative, for those who can chown the data once.
                        Some(user) => why.push(format!(
                            "{} entrypoint needs them as root; with `user: \"{user}\"` and data owned by it, none are needed",
                            p.id
                        )),
                        None => why.push(format!("{} entrypoint needs them as root", p.id)),
                    }
                }
            } else {
                why.push(format!(
                    "runs as {}",
                    user.as_deref().unwrap_or("its image user")
                ));
            }
        }
        None if root => why.push("image unknown: assumed it needs none".to_string()),
        None => why.push(format!(
            "runs as non-root user {}",
            user.as_deref().unwrap_or_default()
        )),
    }

    if root {
        let words = command_words(&service.command_text(tree));
        if words.iter().any(|w| w == "chown") {
            caps.extend(["CHOWN", "DAC_OVERRIDE", "FOWNER"].map(String::from));
            why.push("its command runs chown".into());
        }
        if words.iter().any(|w| STEP_DOWN_TOOLS.contains(&w.as_str())) {
            caps.extend(["SETUID", "SETGID"].map(String::from));
            why.push("its command switches user".into());
        }
        let host_net = service.scalar(tree, "network_mode") == Some("host");
        if host_net && profile.is_some_and(|p| p.ports.iter().any(|&port| port < 1024)) {
            caps.push("NET_BIND_SERVICE".into());
            why.push("host networking with a port below 1024".into());
        }
    }
    let declared = ctx.service_settings(service).cap_add;
    if !declared.is_empty() {
        caps.extend(declared);
        why.push("settings add some".into());
    }
    caps.sort();
    caps.dedup();
    (caps, why.join("; "))
}

/// Command words with any leading path removed (`/usr/bin/gosu` → `gosu`).
fn command_words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '"' | '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words_strip_paths() {
        assert_eq!(
            command_words("sh -c 'chown -R app /data && exec /sbin/su-exec app run'"),
            vec![
                "sh", "-c", "chown", "-R", "app", "data", "exec", "su-exec", "app", "run"
            ]
        );
    }
}
