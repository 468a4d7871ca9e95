//! `missing-healthcheck`: Compose cannot tell when the service is ready.
//!
//! **What.** Without a health check, `depends_on: {condition:
//! service_healthy}` cannot wait for the service, `docker ps` shows
//! "running" for a process that stopped answering, and restarts never
//! trigger on a hung server.
//!
//! **Fix.** For images whose own check command is known (the image table
//! names a command that needs no secret and uses tools the image ships),
//! a `healthcheck` with that `test`, a 30 s interval, 5 s timeout, 3 retries
//! and a 30 s start period. Services that set `entrypoint` run another
//! program and are left alone; so are unknown images.
//!
//! References: Compose spec `healthcheck`; CIS Docker Benchmark 4.6.

use super::{Context, Finding, Rule, Severity, add_keys};
use crate::model::Service;
use crate::plan::NewValue;

pub struct MissingHealthcheck;

const ID: &str = "missing-healthcheck";

impl Rule for MissingHealthcheck {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "no health check: add the image's own check command"
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        super::parents_first(ctx, |service, done| {
            // A parent in this file that gets one passes it on through `extends`.
            let mut ancestor = super::extends_parent(ctx, service);
            while let Some(parent) = ancestor {
                if done
                    .get(ctx.model.position(parent))
                    .is_some_and(Option::is_some)
                {
                    return None;
                }
                ancestor = super::extends_parent(ctx, parent).filter(|p| p.name != service.name);
            }
            check_service(ctx, service)
        })
    }
}

fn check_service(ctx: &Context, service: &Service) -> Option<Finding> {
    let profile = ctx.profile(service)?;
    let known = !profile.healthcheck.is_empty();
    if !known || service.field("healthcheck").is_some() || service.field("entrypoint").is_some() {
        return None;
    }
    if service.unresolved_extends.is_some() {
        return None;
    }
    // Compose interpolates `$` in every value; a literal one is `$$`.
    let test = NewValue::Seq(
        profile
            .healthcheck
            .iter()
            .map(|part| NewValue::Str(part.replace('$', "$$")))
            .collect(),
    );
    let check = NewValue::map(vec![
        ("test", test),
        ("interval", NewValue::str("30s")),
        ("timeout", NewValue::str("5s")),
        ("retries", NewValue::Raw("3".into())),
        ("start_period", NewValue::str("30s")),
    ]);
    let shown = profile
        .healthcheck
        .iter()
        .skip(1)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let mut finding = ctx.finding(
        ID,
        Severity::Note,
        service,
        format!("health check `{shown}` ({})", profile.id),
    );
    finding
        .edits
        .push(add_keys(ctx, service, vec![("healthcheck".into(), check)]));
    Some(finding)
}
