//! `missing-healthcheck`: Compose cannot tell when the service is ready.
//!
#![doc = include_str!("../../docs/rules/missing-healthcheck.md")]

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, add_keys};
use crate::model::{Field, Service};
use crate::plan::NewValue;
use crate::syntax::{NodeId, SyntaxTree};

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
            if super::editing_ancestor(ctx, service, done).is_some() {
                return None;
            }
            check_service(ctx, service)
        })
    }
}

fn check_service(ctx: &Context, service: &Service) -> Option<Finding> {
    if let Some(field) = service.field("healthcheck") {
        return turned_off(ctx, service, field);
    }
    let unfixed = |why: String| Some(ctx.finding(ID, Level::Note, service, why));
    if let Some(why) = service.unseen() {
        let at = ctx.tree.node(service.key).start;
        return Some(Finding::unseen(
            ID,
            service,
            at,
            format!("{why}, and it may set one"),
        ));
    }
    if service.field("entrypoint").is_some() {
        return unfixed(
            "the service sets its own entrypoint, so the image's check command may not apply; add a healthcheck that tests what it serves".into(),
        );
    }
    let Some(profile) = ctx.profile(service).filter(|p| !p.healthcheck.is_empty()) else {
        return unfixed(format!(
            "no check command is known for image {}; add a healthcheck that tests what it serves",
            ctx.image_label(service)
        ));
    };
    // What the service says about itself decides whether the image's
    // check can answer (names only: values may be secret).
    let said = said_text(ctx, service);
    if !profile.healthcheck_needs.is_empty()
        && !profile
            .healthcheck_needs
            .iter()
            .any(|n| said.contains(n.as_str()))
    {
        return unfixed(format!(
            "the {} check command needs {} in the service's command or environment; enable it and add a healthcheck, or write a check of your own",
            profile.id,
            profile.healthcheck_needs.join(" or ")
        ));
    }
    if let Some(word) = profile
        .healthcheck_fails_with
        .iter()
        .find(|w| said.contains(w.as_str()))
    {
        return unfixed(format!(
            "the service uses {word}, so the {} check command would be refused without the password; add a healthcheck that authenticates",
            profile.id
        ));
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

/// A health check turned off on purpose: `disable: true` or
/// `test: ["NONE"]`, reported where it is said.
fn turned_off(ctx: &Context, service: &Service, field: &Field) -> Option<Finding> {
    let tree = ctx.tree;
    let check = field.value;
    let (key, said) = if let Some(entry) = tree.get_entry(check, "disable")
        && tree.scalar(entry.value).and_then(crate::model::yaml_bool) == Some(true)
    {
        (entry.key, "`disable: true`")
    } else if let Some(entry) = tree.get_entry(check, "test")
        && test_is_none(tree, entry.value)
    {
        (entry.key, "`test: [\"NONE\"]`")
    } else {
        return None;
    };
    let (at, from) = super::site(ctx, service, field, key);
    let message = format!(
        "the health check is turned off with {said}{from}; if the image defines one, this hides it too"
    );
    Some(Finding::new(
        ID,
        Level::Note,
        Some(service.name.clone()),
        at,
        message,
    ))
}

fn test_is_none(tree: &SyntaxTree, test: NodeId) -> bool {
    match tree.items(test) {
        [only] => tree.scalar(*only) == Some("NONE"),
        _ => tree.scalar(test) == Some("NONE"),
    }
}

/// The service's command, entrypoint and environment (names and values) as
/// one text to look for switches in; never printed.
fn said_text(ctx: &Context, service: &Service) -> String {
    let mut text = service.command_text(ctx.tree);
    for var in service.environment(ctx.tree) {
        text.push(' ');
        text.push_str(&var.name);
        text.push('=');
        text.push_str(var.value.as_deref().unwrap_or(""));
    }
    text
}
