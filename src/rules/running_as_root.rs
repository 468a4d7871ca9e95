//! `running-as-root`: the main process runs as root.
//!
#![doc = include_str!("../../docs/rules/running-as-root.md")]

use super::{
    Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, hazard, runs_as_root, site,
};
use crate::knowledge::StartUser;

pub struct RunningAsRoot;

const ID: &str = "running-as-root";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "the main process runs as root",
    severity: Severity::Medium,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/running-as-root.md"),
};

impl Rule for RunningAsRoot {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let tree = ctx.tree;
        let mut findings = Vec::new();
        for service in &ctx.model.services {
            if let Some(field) = service.field("user") {
                let user = service.user(tree);
                if user.as_deref().is_some_and(|u| u.contains('$'))
                    || !runs_as_root(user.as_deref())
                {
                    continue;
                }
                let (at, from) = site(ctx, service, field, field.key.unwrap_or(field.value));
                let shown = user.unwrap_or_default();
                findings.push(hazard(
                    ID,
                    service,
                    at,
                    format!(
                        "`user: {shown}`{from} runs the main process as root; a root process that escapes the container is root on the host"
                    ),
                ));
                continue;
            }
            let at = tree.node(service.key).start;
            match ctx.profile(service) {
                // The image's own USER or entrypoint drops root.
                Some(p)
                    if p.start_user == Some(StartUser::Nonroot)
                        || p.steps_down_to.is_some()
                        || p.cap_free_user.is_some() => {}
                Some(p) => findings.push(hazard(
                    ID,
                    service,
                    at,
                    format!(
                        "no `user:`, and {} runs as root; set `user:` to a non-root uid that owns the paths it writes",
                        p.id
                    ),
                )),
                None if service.value("image").is_none() && service.value("build").is_none() => {}
                None => {
                    let mut finding = hazard(
                        ID,
                        service,
                        at,
                        format!(
                            "no `user:`: image {} is unknown, so it runs as root unless its Dockerfile sets USER",
                            ctx.image_label(service)
                        ),
                    );
                    finding.severity = Severity::Low;
                    finding.level = Level::Note;
                    findings.push(finding);
                }
            }
        }
        findings
    }
}
