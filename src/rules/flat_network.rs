//! `flat-network`: a datastore shares a network with everything.
//!
#![doc = include_str!("../../docs/rules/flat-network.md")]

use std::collections::{HashMap, HashSet};

use crate::knowledge::Role;
use crate::settings::Placement;

use super::{
    Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, add_keys, add_top_level_entry,
    is_alias,
};
use crate::model::{Origin, Service, merged_fields};
use crate::plan::{EditOp, NewValue, PlannedEdit};

pub struct FlatNetwork;

const ID: &str = "flat-network";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a datastore is reachable from every service",
    severity: Severity::Medium,
    fix: FixSafety::Safe,
    docs: include_str!("../../docs/rules/flat-network.md"),
};

impl Rule for FlatNetwork {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let tree = ctx.tree;
        let mut findings = Vec::new();
        let mut network: Option<String> = None;
        let mut joined: HashSet<String> = HashSet::new();

        let refs = References::build(ctx);
        let networks_of: Vec<Vec<String>> = ctx
            .model
            .services
            .iter()
            .map(|s| service_networks(ctx, s))
            .collect();
        // Services that may lose a backend they reached: not in another
        // network namespace, and not datastores themselves (they seldom
        // talk to each other; listing them is noise).
        let mut by_network: HashMap<&str, Vec<&Service>> = HashMap::new();
        for (service, nets) in ctx.model.services.iter().zip(&networks_of) {
            if service.field("network_mode").is_none()
                && !ctx.profile(service).is_some_and(|p| p.role.is_backend())
            {
                for net in nets {
                    by_network.entry(net.as_str()).or_default().push(service);
                }
            }
        }
        let mut isolated: Vec<&Service> = Vec::new();
        for backend in &ctx.model.services {
            if ctx.settings.ignores(ID, &backend.name) {
                continue;
            }
            // The user's `role` wins over the image table.
            let label = match (ctx.service_settings(backend).role, ctx.profile(backend)) {
                (Some(Placement::Edge), _) => continue,
                (Some(Placement::Backend), p) => {
                    p.map_or_else(|| backend.name.clone(), |p| p.id.clone())
                }
                (None, Some(p)) if p.role.is_backend() => p.id.clone(),
                (None, _) => continue,
            };
            if is_isolated(ctx, backend) || backend.field("network_mode").is_some() {
                continue;
            }
            let warn = |message: String| ctx.finding(ID, Level::Warning, backend, message);
            let publishes = if backend.publishes_ports(tree) {
                Some(String::new())
            } else {
                ctx.around
                    .ports_in_layer(&backend.name)
                    .map(|layer| format!(" in {layer}"))
            };
            if let Some(place) = publishes {
                findings.push(warn(format!(
                    "{label} publishes ports{place}, so it stays on its current networks (an internal network would unpublish them); drop the ports to isolate it, or at least bind them to 127.0.0.1"
                )));
                continue;
            }
            if let Some(why) = backend.unseen() {
                let at = tree.node(backend.key).start;
                let message = format!("not isolated: {why}");
                findings.push(Finding::unseen(ID, backend, at, message));
                continue;
            }
            if backend.field("networks").is_some()
                && let Err(why) = single_network(ctx, backend)
            {
                findings.push(warn(format!("{label} not isolated: {why}")));
                continue;
            }
            let clients = refs.clients_of(ctx, backend);
            if let Some((client, why)) = clients
                .iter()
                .find_map(|c| cannot_join(ctx, c).map(|w| (c, w)))
            {
                findings.push(warn(format!(
                    "not isolated: its client {} cannot join another network ({why})",
                    client.name
                )));
                continue;
            }
            isolated.push(backend);
        }

        // Everything that ends up on the internal network: the backends and
        // every client of any of them, so they all reach each other.
        let joiners: HashSet<&str> = isolated
            .iter()
            .flat_map(|b| {
                std::iter::once(b.name.as_str())
                    .chain(refs.clients_of(ctx, b).into_iter().map(|c| c.name.as_str()))
            })
            .collect();
        // Per network, the bystanders that will not be on the internal one.
        let losers: HashMap<&str, Vec<&Service>> = by_network
            .iter()
            .map(|(net, list)| {
                (
                    *net,
                    list.iter()
                        .copied()
                        .filter(|s| !joiners.contains(s.name.as_str()))
                        .collect(),
                )
            })
            .collect();
        let moved: HashSet<&str> = isolated.iter().map(|b| b.name.as_str()).collect();
        for backend in &isolated {
            let name = network.get_or_insert_with(|| network_name(ctx)).clone();
            let clients = refs.clients_of(ctx, backend);
            let mut finding = ctx.finding(
                ID,
                Level::Note,
                backend,
                format!(
                    "moved to internal network {name}{}",
                    if clients.is_empty() {
                        "; no service refers to it".to_string()
                    } else {
                        format!(
                            "; {} join{} it",
                            names(&clients),
                            if clients.len() == 1 { "s" } else { "" }
                        )
                    }
                ),
            );
            match single_network(ctx, backend) {
                Ok(Some((old, edit))) => {
                    finding.message.push_str(&format!(" (it leaves {old})"));
                    finding.edits.push(edit(name.as_str()));
                }
                _ => finding.edits.push(add_keys(
                    ctx,
                    backend,
                    vec![("networks".into(), NewValue::seq_of([name.as_str()]))],
                )),
            }
            // Services that could reach it before and are not known to use
            // it lose it: say so, since a reference harden cannot see (a
            // config file, a hard-coded address) would break at run time.
            let before = networks_of
                .get(ctx.model.position(backend))
                .map_or(&[][..], Vec::as_slice);
            // Bystanders on the backend's networks that do not join the
            // internal one; one network (the usual case) needs no merging.
            let (count, shown): (usize, Vec<&str>) = match before {
                [one] => {
                    let list = losers.get(one.as_str()).map_or(&[][..], Vec::as_slice);
                    (
                        list.len(),
                        list.iter().take(6).map(|s| s.name.as_str()).collect(),
                    )
                }
                several => {
                    let mut seen: HashSet<&str> = HashSet::new();
                    for n in several {
                        seen.extend(
                            losers
                                .get(n.as_str())
                                .into_iter()
                                .flatten()
                                .map(|s| s.name.as_str()),
                        );
                    }
                    let mut names: Vec<&str> = seen.into_iter().collect();
                    names.sort_unstable();
                    (names.len(), names.into_iter().take(6).collect())
                }
            };
            let losing_len = count;
            if losing_len > 0 {
                finding.level = Level::Warning;
                let more = if losing_len > 6 {
                    format!(" and {} more", losing_len - 6)
                } else {
                    String::new()
                };
                let (verb, whose) = if losing_len == 1 {
                    ("reaches", "its")
                } else {
                    ("reach", "their")
                };
                finding.message.push_str(&format!(
                    "; {}{more} no longer {verb} it: add {name} to {whose} networks if needed",
                    shown.join(", ")
                ));
            }
            for client in clients {
                // An isolated client gets the network with its own move.
                if moved.contains(client.name.as_str()) || !joined.insert(client.name.clone()) {
                    continue;
                }
                finding.edits.extend(join_edit(ctx, client, &name));
            }
            findings.push(finding);
        }

        if let Some(name) = network
            && ctx
                .model
                .section(tree, "networks")
                .is_none_or(|n| !merged_fields(tree, n).contains_key(&name))
        {
            let definition = NewValue::map(vec![("internal", NewValue::Raw("true".into()))]);
            // Its own finding, not tied to one service, so that turning the
            // rule off for one backend keeps the network the others use.
            if let Ok(edit) = add_top_level_entry(ctx, "networks", &name, definition) {
                let at = ctx.tree.node(ctx.model.root).start;
                let mut declared = Finding::notice(
                    ID,
                    Level::Note,
                    None,
                    at,
                    format!("declares the internal network {name}"),
                );
                declared.edits.push(edit);
                findings.push(declared);
            }
        }
        findings
    }
}

fn names(services: &[&Service]) -> String {
    services
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An edit that moves a backend from its one network to the internal one,
/// keeping that entry's aliases.
type MoveEdit = Box<dyn Fn(&str) -> PlannedEdit>;

/// How to move a backend off the networks it is on: `Ok(None)` when it has
/// no `networks` key, `Err` when they cannot be moved as a whole.
fn single_network(ctx: &Context, backend: &Service) -> Result<Option<(String, MoveEdit)>, String> {
    let tree = ctx.tree;
    let Some(field) = backend.field("networks") else {
        return Ok(None);
    };
    let node = tree.node(field.value);
    if field.origin != Origin::Own
        || is_alias(tree, field.value)
        || node.tagged
        || node.anchor.is_some()
    {
        return Err("its networks are inherited or shared through an anchor".into());
    }
    let path = format!("services/{}/networks", backend.name);
    let node = field.value;
    let several = |n: usize| {
        format!("it is on {n} networks set in the file; put it on one internal network by hand")
    };
    if tree.is_sequence(node) {
        let &[item] = tree.items(node) else {
            return Err(several(tree.items(node).len()));
        };
        if is_alias(tree, item) || tree.node(item).anchor.is_some() || tree.node(item).tagged {
            return Err("its network name is anchored, an alias or tagged, so renaming it would change it elsewhere".into());
        }
        let old = tree
            .scalar(item)
            .ok_or("its network entry is not a name")?
            .to_string();
        let edit = move |name: &str| PlannedEdit {
            path: path.clone(),
            op: EditOp::ReplaceScalar {
                node: item,
                value: NewValue::str(name),
            },
        };
        return Ok(Some((old, Box::new(edit))));
    }
    let &[entry] = tree.entries(node) else {
        return Err(several(tree.entries(node).len()));
    };
    let fixed = ["ipv4_address", "ipv6_address", "link_local_ips"];
    if tree.is_mapping(entry.value) && fixed.iter().any(|k| tree.get(entry.value, k).is_some()) {
        return Err("it has a fixed address on its network".into());
    }
    if tree.node(entry.key).anchor.is_some() || tree.node(entry.key).tagged {
        return Err(
            "its network name is anchored or tagged, so renaming it would change it elsewhere"
                .into(),
        );
    }
    let old = tree.scalar(entry.key).unwrap_or_default().to_string();
    let edit = move |name: &str| PlannedEdit {
        path: path.clone(),
        op: EditOp::RenameKey {
            key: entry.key,
            name: name.to_string(),
        },
    };
    Ok(Some((old, Box::new(edit))))
}

/// The networks a service is on; no key means the implicit `default`.
fn service_networks(ctx: &Context, service: &Service) -> Vec<String> {
    match service.field("networks") {
        None => vec!["default".to_string()],
        Some(_) => service.names(ctx.tree, "networks"),
    }
}

/// Whether every network the service is on is declared `internal: true`.
fn is_isolated(ctx: &Context, service: &Service) -> bool {
    let tree = ctx.tree;
    let networks = service.names(tree, "networks");
    !networks.is_empty() && networks.iter().all(|n| is_internal(ctx, n))
}

fn is_internal(ctx: &Context, network: &str) -> bool {
    let tree = ctx.tree;
    ctx.model
        .section(tree, "networks")
        .and_then(|top| merged_fields(tree, top).get(network).map(|f| f.value))
        .filter(|def| tree.is_mapping(*def))
        .and_then(|def| merged_fields(tree, def).get("internal").map(|f| f.value))
        .and_then(|v| tree.scalar(v))
        .is_some_and(|v| v == "true")
}

/// The name for the new internal network: `backend` unless that is taken
/// by a network that is not internal.
fn network_name(ctx: &Context) -> String {
    let tree = ctx.tree;
    let taken = |name: &str| {
        ctx.model
            .section(tree, "networks")
            .is_some_and(|top| merged_fields(tree, top).contains_key(name))
            && !is_internal(ctx, name)
    };
    ["backend", "harden-backend", "internal-backend"]
        .into_iter()
        .find(|n| !taken(n))
        .unwrap_or("harden-internal")
        .to_string()
}

/// Which services name which others: built once per run, so finding a
/// backend's clients does not rescan every service.
struct References {
    /// Word (service name or host name) → indexes of the services using it.
    by_word: HashMap<String, Vec<usize>>,
    /// Indexes of the database admin UIs, which reach every datastore.
    admins: Vec<usize>,
}

impl References {
    fn build(ctx: &Context) -> References {
        let tree = ctx.tree;
        let mut by_word: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, service) in ctx.model.services.iter().enumerate() {
            let mut words: HashSet<String> =
                service.names(tree, "depends_on").into_iter().collect();
            for link in service.strings(tree, "links") {
                words.insert(link.split(':').next().unwrap_or_default().to_string());
            }
            // Host names in values, including values that moved to `.env`
            // or live in an `env_file`.
            for var in service.environment(tree) {
                let value = var.value.as_deref().unwrap_or_default();
                words.extend(host_words(value));
                words.extend(
                    ctx.around
                        .interpolated(value)
                        .into_iter()
                        .flat_map(host_words),
                );
            }
            for path in crate::surroundings::env_file_paths(tree, service) {
                for value in ctx
                    .around
                    .env_files
                    .get(&path)
                    .into_iter()
                    .flat_map(|vars| vars.values())
                {
                    words.extend(host_words(value));
                }
            }
            words.extend(host_words(&service.command_text(tree)));
            for word in words {
                by_word.entry(word).or_default().push(index);
            }
        }
        let admins = ctx
            .model
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| ctx.profile(s).is_some_and(|p| p.role == Role::Admin))
            .map(|(i, _)| i)
            .collect();
        References { by_word, admins }
    }

    /// Services that refer to `backend` by its name, container name or host name.
    fn clients_of<'m>(&self, ctx: &Context<'m>, backend: &Service) -> Vec<&'m Service> {
        let tree = ctx.tree;
        let mut hosts = vec![backend.name.as_str()];
        for key in ["container_name", "hostname"] {
            if let Some(h) = backend.scalar(tree, key) {
                hosts.push(h);
            }
        }
        let mut indexes: Vec<usize> = hosts
            .iter()
            .filter_map(|h| self.by_word.get(*h))
            .flatten()
            .copied()
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        // Database admin UIs (adminer, pgadmin, phpmyadmin) reach whatever
        // database their user types in.
        if ctx
            .profile(backend)
            .is_some_and(|p| p.role == Role::Datastore)
            && !self.admins.is_empty()
        {
            indexes.extend(&self.admins);
            indexes.sort_unstable();
            indexes.dedup();
        }
        indexes
            .into_iter()
            .filter_map(|i| ctx.model.services.get(i))
            .filter(|s| s.name != backend.name)
            .collect()
    }
}

/// The host-name-like words of a text: `postgres://u@db:5432/x` gives
/// `postgres`, `u`, `db`, `5432`, `x`; `db.example.com` stays one word.
pub fn host_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
}

/// Why a client cannot be put on another network, if it cannot.
fn cannot_join(ctx: &Context, client: &Service) -> Option<String> {
    if let Some(mode) = client.scalar(ctx.tree, "network_mode") {
        return Some(format!("network_mode: {mode}"));
    }
    if let Some(why) = client.unseen() {
        return Some(why);
    }
    if client
        .value("networks")
        .is_some_and(|n| ctx.tree.node(ctx.tree.resolve(n)).is_null())
    {
        return Some("its `networks` key is empty".into());
    }
    match client.field("networks") {
        Some(f) if matches!(f.origin, Origin::Merged { .. }) => {
            Some("its networks are inherited through `<<`".into())
        }
        Some(f) if is_alias(ctx.tree, f.value) => Some("its networks are an alias".into()),
        // `!reset []` drops what is appended in a merge; `!override`
        // decides what the other layers keep: harden leaves tags alone.
        Some(f) if ctx.tree.node(f.value).tagged => {
            Some("its networks carry a tag such as !reset that harden leaves alone".into())
        }
        _ => None,
    }
}

/// Edits that add `network` to a client, keeping its current networks.
fn join_edit(ctx: &Context, client: &Service, network: &str) -> Option<PlannedEdit> {
    let tree = ctx.tree;
    let path = format!("services/{}/networks", client.name);
    let Some(field) = client.field("networks") else {
        // No key means the implicit `default` network; keep it explicitly.
        return Some(add_keys(
            ctx,
            client,
            vec![("networks".into(), NewValue::seq_of(["default", network]))],
        ));
    };
    if client.names(tree, "networks").iter().any(|n| n == network) {
        return None;
    }
    if matches!(field.origin, Origin::Extends { .. }) {
        return Some(add_keys(
            ctx,
            client,
            vec![("networks".into(), NewValue::seq_of([network]))],
        ));
    }
    let node = field.value;
    if tree.is_mapping(node) {
        return Some(PlannedEdit {
            path,
            op: EditOp::AddEntries {
                map: node,
                entries: vec![(network.to_string(), NewValue::Map(Vec::new()))],
            },
        });
    }
    Some(PlannedEdit {
        path,
        op: EditOp::AppendItems {
            seq: node,
            items: vec![NewValue::str(network)],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_words_split_urls_but_keep_dotted_names() {
        let words: Vec<String> =
            host_words("postgres://u@db:5432/x?host=db_2 db.example.com").collect();
        assert_eq!(
            words,
            [
                "postgres",
                "u",
                "db",
                "5432",
                "x",
                "host",
                "db_2",
                "db.example.com"
            ]
        );
    }
}
