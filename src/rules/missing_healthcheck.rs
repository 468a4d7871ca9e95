//! `missing-healthcheck`: Compose cannot tell when the service is ready.
//!
#![doc = include_str!("../../docs/rules/missing-healthcheck.md")]

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, add_keys};
use crate::model::Service;
use crate::plan::NewValue;

pub struct MissingHealthcheck;

const ID: &str = "missing-healthcheck";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "no health check",
    severity: Severity::Low,
    fix: FixSafety::Safe,
    docs: include_str!("../../docs/rules/missing-healthcheck.md"),
};

impl Rule for MissingHealthcheck {
    fn meta(&self) -> &'static RuleMeta {
        &META
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
        Level::Note,
        service,
        format!("health check `{shown}` ({})", profile.id),
    );
    finding
        .edits
        .push(add_keys(ctx, service, vec![("healthcheck".into(), check)]));
    Some(finding)
}
