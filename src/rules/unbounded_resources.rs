//! `unbounded-resources`: no memory, CPU or process limit.
//!
#![doc = include_str!("../../docs/rules/unbounded-resources.md")]

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, add_keys, service_path};
use crate::knowledge::{ImageProfile, Role};
use crate::model::{Origin, Service, merged_fields};
use crate::plan::{EditOp, NewValue, PlannedEdit};
use crate::syntax::NodeId;

pub struct UnboundedResources;

const ID: &str = "unbounded-resources";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "no memory, CPU or pids limit",
    severity: Severity::Medium,
    fix: FixSafety::Safe,
    docs: include_str!("../../docs/rules/unbounded-resources.md"),
};

const LEGACY_KEYS: &[&str] = &[
    "mem_limit",
    "cpus",
    "pids_limit",
    "mem_reservation",
    "memswap_limit",
    "cpu_quota",
];

impl Rule for UnboundedResources {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        super::parents_first(ctx, |service, done| {
            check_service(ctx, service, done).map(|mut finding| {
                if finding.at == ctx.tree.node(service.key).start {
                    finding.at = limits_site(ctx, service);
                }
                finding
            })
        })
    }
}

/// A pids limit written as -1 or 0, which Docker reads as "no limit": its
/// key and how it is written.
fn pids_turned_off(
    ctx: &Context,
    service: &Service,
    limits: Option<NodeId>,
) -> Option<(NodeId, String)> {
    let tree = ctx.tree;
    let legacy = service
        .field("pids_limit")
        .filter(|f| f.origin == Origin::Own)
        .and_then(|f| Some((f.key?, f.value, "pids_limit")));
    let deploy = limits
        .and_then(|l| tree.get_entry(l, "pids"))
        .map(|e| (e.key, e.value, "pids"));
    legacy
        .into_iter()
        .chain(deploy)
        .find_map(|(key, value, name)| {
            let text = tree.scalar(value)?.trim();
            matches!(text, "-1" | "0").then(|| (key, format!("{name}: {text}")))
        })
}

/// Where the missing limits go: the deepest part of the service's own
/// `deploy.resources.limits` that exists, else the service's name.
fn limits_site(ctx: &Context, service: &Service) -> usize {
    let tree = ctx.tree;
    let mut at = tree.node(service.key).start;
    let Some(field) = service.field("deploy").filter(|f| f.origin == Origin::Own) else {
        return at;
    };
    if let Some(key) = field.key {
        at = tree.node(key).start;
    }
    let mut node = field.value;
    for key in ["resources", "limits"] {
        let Some(entry) = tree.get_entry(node, key) else {
            break;
        };
        at = tree.node(entry.key).start;
        node = entry.value;
    }
    at
}

/// The limits to add for one service.
struct Limits {
    memory: String,
    cpus: String,
    pids: u32,
}

fn limits_for(profile: Option<&ImageProfile>) -> Limits {
    let role = profile.map_or(Role::App, |p| p.role);
    let (memory, cpus, pids) = match role {
        Role::Datastore | Role::Search | Role::Queue => ("1G", "1.0", 512),
        Role::Cache | Role::Proxy | Role::Admin => ("256M", "0.5", 256),
        Role::Agent | Role::Dev => ("128M", "0.25", 128),
        Role::App => ("512M", "1.0", 256),
    };
    Limits {
        memory: profile
            .and_then(|p| p.memory.clone())
            .unwrap_or_else(|| memory.to_string()),
        cpus: profile
            .and_then(|p| p.cpus.clone())
            .unwrap_or_else(|| cpus.to_string()),
        pids: profile.and_then(|p| p.pids).unwrap_or(pids),
    }
}

fn check_service(ctx: &Context, service: &Service, done: &[Option<Finding>]) -> Option<Finding> {
    let tree = ctx.tree;
    let deploy = service.field("deploy");
    let resources = deploy.and_then(|d| tree.get(d.value, "resources"));
    let limits = resources.and_then(|r| tree.get(r, "limits"));
    // Compose merges `deploy` of an extended service key by key, so limits
    // the parent sets count here too.
    let parent_limits: Vec<NodeId> = service
        .extended_values
        .get("deploy")
        .into_iter()
        .flatten()
        .filter_map(|&d| tree.get(d, "resources").and_then(|r| tree.get(r, "limits")))
        .collect();
    let has_limit = |key: &str| {
        limits
            .into_iter()
            .chain(parent_limits.iter().copied())
            .any(|l| merged_fields(tree, l).contains_key(key))
    };
    // Children that extend this service get its limits too; Compose rejects
    // legacy and deploy memory limits side by side, so follow their form.
    let children = super::extends_children(ctx, service);
    let own_in = |c: &&Service, k: &str| c.field(k).is_some_and(|f| f.origin == Origin::Own);
    let child_legacy = children
        .iter()
        .any(|c| LEGACY_KEYS.iter().any(|k| own_in(c, k)));
    let child_deploy = children.iter().any(|c| own_in(c, "deploy"));
    let legacy = LEGACY_KEYS.iter().any(|k| service.field(k).is_some()) || child_legacy;

    let missing_memory = !has_limit("memory") && service.field("mem_limit").is_none();
    let missing_cpus = !has_limit("cpus")
        && service.field("cpus").is_none()
        && service.field("cpu_quota").is_none();
    let missing_pids = !has_limit("pids") && service.field("pids_limit").is_none();
    // A limit the user asks for in settings does not replace one the file
    // already sets: say so rather than drop it silently.
    let own = ctx.service_settings(service);
    let shadowed: Vec<&str> = [
        ("memory", own.memory.is_some() && !missing_memory),
        ("cpus", own.cpus.is_some() && !missing_cpus),
        ("pids", own.pids.is_some() && !missing_pids),
    ]
    .into_iter()
    .filter_map(|(key, hit)| hit.then_some(key))
    .collect();
    if !(missing_memory || missing_cpus || missing_pids) {
        if let Some((key, value)) = pids_turned_off(ctx, service, limits) {
            let message =
                format!("`{value}` turns the process limit off; set a number such as 256");
            let mut finding = ctx.finding(ID, Level::Warning, service, message);
            finding.at = tree.node(key).start;
            return Some(finding);
        }
        if shadowed.is_empty() {
            return None;
        }
        let message = format!(
            "settings for {} not applied: the file already sets that limit",
            shadowed.join(", ")
        );
        let mut notice = ctx.finding(ID, Level::Warning, service, message);
        notice.notice = true;
        return Some(notice);
    }
    let warn = |message: String| Some(ctx.finding(ID, Level::Warning, service, message));
    if child_legacy && child_deploy {
        return warn("limits not added: services extending it set limits in both the legacy and the deploy form".into());
    }
    if let Some(why) = service.unseen() {
        let at = tree.node(service.key).start;
        return Some(Finding::unseen(
            ID,
            service,
            at,
            format!("limits not added: {why}"),
        ));
    }

    // Limits added to a parent in this file reach it through extends.
    if super::editing_ancestor(ctx, service, done).is_some() {
        return None;
    }

    let profile = ctx.profile(service);
    let mut sizes = limits_for(profile);
    sizes.memory = own.memory.unwrap_or(sizes.memory);
    sizes.cpus = own.cpus.unwrap_or(sizes.cpus);
    sizes.pids = own.pids.unwrap_or(sizes.pids);
    let reservation = (missing_memory).then(|| half(&sizes.memory));
    let mut added = Vec::new();
    let edits = if legacy && limits.is_none() {
        let mut entries = Vec::new();
        if missing_memory {
            entries.push((
                "mem_limit".to_string(),
                NewValue::str(sizes.memory.as_str()),
            ));
            added.push(format!("mem_limit {}", sizes.memory));
        }
        if missing_cpus {
            entries.push(("cpus".to_string(), NewValue::str(sizes.cpus.as_str())));
            added.push(format!("cpus {}", sizes.cpus));
        }
        if missing_pids {
            entries.push((
                "pids_limit".to_string(),
                NewValue::Raw(sizes.pids.to_string()),
            ));
            added.push(format!("pids_limit {}", sizes.pids));
        }
        vec![add_keys(ctx, service, entries)]
    } else {
        let mut limit_entries = Vec::new();
        if missing_cpus {
            limit_entries.push(("cpus".to_string(), NewValue::str(sizes.cpus.as_str())));
            added.push(format!("cpus {}", sizes.cpus));
        }
        if missing_memory {
            limit_entries.push(("memory".to_string(), NewValue::str(sizes.memory.as_str())));
            added.push(format!("memory {}", sizes.memory));
        }
        if missing_pids {
            limit_entries.push(("pids".to_string(), NewValue::Raw(sizes.pids.to_string())));
            added.push(format!("pids {}", sizes.pids));
        }
        match deploy_edits(ctx, service, limit_entries, reservation.clone()) {
            Ok(edits) => edits,
            Err(why) => return warn(format!("limits not added: {why}")),
        }
    };

    let basis = match profile {
        Some(p) => format!("sized for {} ({:?})", p.id, p.role).to_lowercase(),
        None => format!(
            "image {} unknown: sized as a generic app",
            ctx.image_label(service)
        ),
    };
    let severity = Level::Note;
    let mut finding = ctx.finding(
        ID,
        severity,
        service,
        format!("limits {}; {basis}", added.join(", ")),
    );
    if !shadowed.is_empty() {
        finding.level = Level::Warning;
        finding.message.push_str(&format!(
            "; settings for {} not applied: the file already sets that limit",
            shadowed.join(", ")
        ));
    }
    finding.edits = edits;
    Some(finding)
}

/// Edits that put `limits` (and a memory reservation) under
/// `deploy.resources`, creating only the levels that are missing.
fn deploy_edits(
    ctx: &Context,
    service: &Service,
    limits: Vec<(String, NewValue)>,
    reservation: Option<String>,
) -> Result<Vec<PlannedEdit>, String> {
    let tree = ctx.tree;
    let base = service_path(service);
    let reservations = reservation.map(|m| NewValue::map(vec![("memory", NewValue::Str(m))]));
    let mut resources = vec![("limits".to_string(), NewValue::Map(limits.clone()))];
    if let Some(r) = &reservations {
        resources.push(("reservations".to_string(), r.clone()));
    }

    let Some(deploy) = service.field("deploy") else {
        return Ok(vec![add_keys(
            ctx,
            service,
            vec![(
                "deploy".into(),
                NewValue::map(vec![("resources", NewValue::Map(resources))]),
            )],
        )]);
    };
    if let Origin::Merged { .. } = deploy.origin {
        return Err("`deploy` is inherited through `<<`; an own `deploy` would hide it".into());
    }
    if let Origin::Extends { .. } = deploy.origin {
        // Compose merges mappings of an extended service key by key.
        return Ok(vec![add_keys(
            ctx,
            service,
            vec![(
                "deploy".into(),
                NewValue::map(vec![("resources", NewValue::Map(resources))]),
            )],
        )]);
    }
    if tree.node(deploy.value).tagged {
        return Err("`deploy` carries a tag such as !reset that harden leaves alone".into());
    }
    if let Some(res) = crate::model::merged_fields(tree, deploy.value).get("resources")
        && res.origin != Origin::Own
    {
        return Err("`deploy.resources` is merged in with `<<`; an own one would hide it".into());
    }
    if tree.node(deploy.value).is_null() {
        let entries = vec![("resources".to_string(), NewValue::Map(resources))];
        return Ok(vec![PlannedEdit {
            path: format!("{base}/deploy"),
            op: EditOp::FillValue {
                value: deploy.value,
                entries,
            },
        }]);
    }
    // A mapping with an anchor may be reused elsewhere: editing it would
    // change those places too.
    let own_mapping = |node| {
        tree.is_mapping(node) && !super::is_alias(tree, node) && tree.node(node).anchor.is_none()
    };
    if !own_mapping(deploy.value) {
        return Err("`deploy` is not a mapping written in this service".into());
    }
    let Some(res) = tree.get(deploy.value, "resources") else {
        let op = EditOp::AddEntries {
            map: deploy.value,
            entries: vec![("resources".into(), NewValue::Map(resources))],
        };
        return Ok(vec![PlannedEdit {
            path: format!("{base}/deploy"),
            op,
        }]);
    };
    if !own_mapping(res) {
        return Err("`deploy.resources` is not a mapping written in this service".into());
    }
    let mut edits = Vec::new();
    let path = format!("{base}/deploy/resources");
    match tree.get(res, "limits") {
        None => edits.push(PlannedEdit {
            path: path.clone(),
            op: EditOp::AddEntries {
                map: res,
                entries: vec![("limits".into(), NewValue::Map(limits))],
            },
        }),
        Some(l) if own_mapping(l) => edits.push(PlannedEdit {
            path: format!("{path}/limits"),
            op: EditOp::AddEntries {
                map: l,
                entries: limits,
            },
        }),
        Some(_) => {
            return Err(
                "`deploy.resources.limits` is not a mapping written in this service".into(),
            );
        }
    }
    if let Some(r) = reservations {
        match tree.get(res, "reservations") {
            None => edits.push(PlannedEdit {
                path,
                op: EditOp::AddEntries {
                    map: res,
                    entries: vec![("reservations".into(), r)],
                },
            }),
            Some(existing) if own_mapping(existing) && tree.get(existing, "memory").is_none() => {
                if let NewValue::Map(entries) = r {
                    edits.push(PlannedEdit {
                        path: format!("{path}/reservations"),
                        op: EditOp::AddEntries {
                            map: existing,
                            entries,
                        },
                    });
                }
            }
            Some(_) => {}
        }
    }
    Ok(edits)
}

/// Half of a Compose memory size (`1G` → `512M`), for the reservation.
fn half(size: &str) -> String {
    let s = size.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let Ok(n) = num.parse::<u64>() else {
        return s.to_string();
    };
    let mib = match unit.to_ascii_lowercase().trim_end_matches('b') {
        "g" => n * 1024,
        "m" => n,
        "k" => n / 1024,
        _ => return s.to_string(),
    };
    format!("{}M", (mib / 2).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_is_half_the_limit() {
        assert_eq!(half("1G"), "512M");
        assert_eq!(half("128M"), "64M");
        assert_eq!(half("1536m"), "768M");
    }
}
