//! `published-on-all-interfaces`: a port is published on every host address.
//!
#![doc = include_str!("../../docs/rules/published-on-all-interfaces.md")]

use std::net::IpAddr;

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, is_alias, site};
use crate::model::{Field, Origin, Service, split_outside_interpolation};
use crate::plan::{EditOp, NewValue, PlannedEdit};
use crate::settings::Placement;
use crate::syntax::{NodeId, SyntaxTree};

pub struct PublishedOnAllInterfaces;

const ID: &str = "published-on-all-interfaces";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a port is published on every host interface",
    severity: Severity::Medium,
    fix: FixSafety::Unsafe,
    docs: include_str!("../../docs/rules/published-on-all-interfaces.md"),
};

/// The address the fix binds backend ports to.
const LOOPBACK: &str = "127.0.0.1";

impl Rule for PublishedOnAllInterfaces {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        ctx.model
            .services
            .iter()
            .filter_map(|s| check_service(ctx, s))
            .collect()
    }
}

/// How one `ports` entry reaches the host's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    /// A specific host address, or one a variable sets.
    Bound,
    /// Every interface: no address, `0.0.0.0` or `::`. `ipv6` when the
    /// address is written in IPv6 notation, which the fix leaves alone.
    All { ipv6: bool },
}

/// An unbound entry, and the edit that binds it when one is safe.
struct Unbound {
    shown: String,
    edit: Result<PlannedEdit, &'static str>,
}

fn check_service(ctx: &Context, service: &Service) -> Option<Finding> {
    let tree = ctx.tree;
    let field = service.field("ports")?;
    if tree.node(tree.resolve(field.value)).is_null() {
        return None;
    }
    // `ports: 80` is not valid Compose, but reads as one entry.
    let (items, shared) = match tree.scalar(field.value) {
        Some(_) => (vec![field.value], Some("`ports` is not a list")),
        None => (
            tree.items(field.value).to_vec(),
            shared_reason(ctx, service, field),
        ),
    };
    let path = format!("{}/ports", super::service_path(service));
    let unbound: Vec<Unbound> = items
        .iter()
        .enumerate()
        .filter_map(|(i, &item)| {
            let (shown, edit) = unbound_entry(tree, item, format!("{path}/{i}"))?;
            let edit = match shared.or_else(|| item_shared(tree, item)) {
                Some(why) => Err(why),
                None => edit,
            };
            Some(Unbound { shown, edit })
        })
        .collect();
    if unbound.is_empty() {
        return None;
    }

    let (at, inherited) = site(ctx, service, field, field.key.unwrap_or(field.value));
    let shown: Vec<&str> = unbound.iter().map(|u| u.shown.as_str()).collect();
    let mut message = format!(
        "{} published on every host interface{inherited}",
        shown.join(", ")
    );
    let edits = match backend_label(ctx, service) {
        Some(label) => bind_backend(&label, unbound, &mut message),
        None => {
            message.push_str(
                "; publishing is how this service is reached: bind it to an address (127.0.0.1 for this host only) if it should not be public",
            );
            Vec::new()
        }
    };
    let mut finding = Finding::new(ID, Level::Note, Some(service.name.clone()), at, message);
    finding.edits = edits;
    Some(finding)
}

/// The edits that bind a backend's entries, with what they do and what
/// they leave added to the message.
fn bind_backend(label: &str, unbound: Vec<Unbound>, message: &mut String) -> Vec<PlannedEdit> {
    let mut edits = Vec::new();
    let mut kept: Vec<(String, &str)> = Vec::new();
    for u in unbound {
        match u.edit {
            Ok(edit) => edits.push(edit),
            Err(why) => kept.push((u.shown, why)),
        }
    }
    if !edits.is_empty() {
        message.push_str(&format!(
            "; binding to {LOOPBACK} keeps {label} reachable from this host only"
        ));
    }
    let one_reason = kept
        .windows(2)
        .all(|w| w.first().map(|k| k.1) == w.last().map(|k| k.1));
    match kept.first() {
        None => {}
        Some((_, why)) if edits.is_empty() && one_reason => {
            message.push_str(&format!(
                "; {label} is a backend, but harden does not bind it: {why}"
            ));
        }
        Some(_) => {
            let list: Vec<String> = kept
                .iter()
                .map(|(shown, why)| format!("{shown} ({why})"))
                .collect();
            message.push_str(&format!("; left as written: {}", list.join(", ")));
        }
    }
    edits
}

/// An entry published on every interface: how messages show it, and the
/// edit that binds it or why there is none. `None` for bound entries.
fn unbound_entry(
    tree: &SyntaxTree,
    item: NodeId,
    path: String,
) -> Option<(String, Result<PlannedEdit, &'static str>)> {
    if tree.is_mapping(item) {
        let (binding, shown) = long_binding(tree, item);
        let Binding::All { ipv6 } = binding else {
            return None;
        };
        let edit = if ipv6 {
            Err("IPv6 notation")
        } else {
            long_edit(tree, item, path)
        };
        return Some((shown, edit));
    }
    let spec = tree.scalar(item)?;
    let Binding::All { ipv6 } = short_binding(spec) else {
        return None;
    };
    let edit = match bind_short(spec) {
        _ if ipv6 => Err("IPv6 notation"),
        Ok(text) => Ok(PlannedEdit {
            path,
            op: EditOp::ReplaceScalar {
                node: item,
                value: NewValue::Str(text),
            },
        }),
        Err(why) => Err(why),
    };
    Some((format!("`{spec}`"), edit))
}

/// The service's kind when it is a datastore, cache, queue or search
/// engine (by the user's `role`, else the image table), whose ports the
/// fix binds to the loopback address.
fn backend_label(ctx: &Context, service: &Service) -> Option<String> {
    match (ctx.service_settings(service).role, ctx.profile(service)) {
        (Some(Placement::Edge), _) => None,
        (Some(Placement::Backend), p) => {
            Some(p.map_or_else(|| service.name.clone(), |p| p.id.clone()))
        }
        (None, Some(p)) if p.role.is_backend() => Some(p.id.clone()),
        (None, _) => None,
    }
}

/// Why the service's `ports` cannot be edited without changing what
/// other services or parents see.
fn shared_reason(ctx: &Context, service: &Service, field: &Field) -> Option<&'static str> {
    let tree = ctx.tree;
    let ports = field.value;
    match &field.origin {
        Origin::Own => {}
        Origin::Merged { .. } => return Some("the ports are inherited through `<<`"),
        Origin::Extends { .. } => return Some("the ports are inherited through extends"),
    }
    if tree.node(service.node).anchor.is_some() || is_alias(tree, service.node) {
        return Some("the service is anchored, so other services may merge its ports");
    }
    if is_alias(tree, ports) || tree.node(ports).anchor.is_some() {
        return Some("the list is anchored, so other services may share it");
    }
    if tree.node(ports).tagged {
        return Some("the list carries a tag");
    }
    None
}

/// Why one entry cannot be edited on its own.
fn item_shared(tree: &SyntaxTree, item: NodeId) -> Option<&'static str> {
    if is_alias(tree, item) || tree.node(item).anchor.is_some() {
        Some("the entry is anchored or an alias, so it may be shared")
    } else if tree.node(item).tagged {
        Some("the entry carries a tag")
    } else {
        None
    }
}

/// How a short-syntax entry (`[[IP:]HOST:]CONTAINER[/PROTOCOL]`, or a bare
/// number) binds. The address is everything before the last two parts,
/// as Compose splits it; an interpolated address counts as chosen.
///
/// Without an address part, a variable in the host port (or the whole
/// entry) may hold an address too (`${SQL_PORT:-127.0.0.1:13306}:3306`):
/// such an entry counts as bound unless the variable's default shows it
/// holds only a port.
fn short_binding(spec: &str) -> Binding {
    let parts = split_outside_interpolation(spec.trim(), ':');
    match parts.as_slice() {
        [only] | [only, _] if only.contains('$') && !only_ports(only) => Binding::Bound,
        [_] | [_, _] => Binding::All { ipv6: false },
        _ => {
            let address = parts
                .get(..parts.len().saturating_sub(2))
                .unwrap_or_default();
            address_binding(&address.join(":"), parts.len() > 3)
        }
    }
}

/// Whether text with interpolations can only be a port or a port range:
/// every variable has a default made of digits and `-`, as has the rest.
fn only_ports(text: &str) -> bool {
    let is_ports = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '-');
    let mut rest = text.split('/').next().unwrap_or(text);
    while let Some(start) = rest.find('$') {
        if !is_ports(&rest[..start]) {
            return false;
        }
        let Some(inner) = rest[start..].strip_prefix("${") else {
            return false;
        };
        let Some(end) = inner.find('}') else {
            return false;
        };
        let default = inner[..end]
            .split_once(":-")
            .or_else(|| inner[..end].split_once('-'))
            .map(|(_, d)| d);
        if !default.is_some_and(|d| !d.is_empty() && is_ports(d)) {
            return false;
        }
        rest = &inner[end + 1..];
    }
    is_ports(rest)
}

/// The binding an address gives; `bracketed_v6` when the address was
/// written over several `:` parts or in brackets.
fn address_binding(address: &str, v6_notation: bool) -> Binding {
    let address = address.trim();
    if address.contains('$') {
        // `${IP:-0.0.0.0}` binds where its default says, unless set.
        return match sole_default(address) {
            Some(default) if !default.contains('$') => address_binding(default, v6_notation),
            _ => Binding::Bound,
        };
    }
    let bare = address
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(address);
    let ipv6 = v6_notation || bare != address || bare.contains(':');
    if bare.is_empty() {
        return Binding::All {
            ipv6: bare != address,
        };
    }
    match bare.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => Binding::All { ipv6 },
        // A specific address, or a value Compose will reject anyway.
        _ => Binding::Bound,
    }
}

/// A long-syntax entry's binding, and how it is shown in messages.
fn long_binding(tree: &SyntaxTree, item: NodeId) -> (Binding, String) {
    let text = |key: &str| tree.get(item, key).and_then(|n| tree.scalar(n));
    let target = text("target").unwrap_or("?");
    let published = text("published").filter(|p| !p.is_empty());
    let shown = match published {
        Some(p) => format!("`{p}:{target}` (long syntax)"),
        None => format!("`{target}` (long syntax)"),
    };
    if let Some(host_ip) = text("host_ip") {
        return (address_binding(host_ip, false), shown);
    }
    // `published: 127.0.0.1:8080` is not valid Compose but appears in
    // files; its author meant the address.
    let binding = match published.and_then(published_address) {
        Some(address) => address_binding(&address, false),
        None => Binding::All { ipv6: false },
    };
    (binding, shown)
}

/// The address written into a `published` value, if any.
fn published_address(published: &str) -> Option<String> {
    if published.parse::<IpAddr>().is_ok() {
        return Some(published.to_string());
    }
    let (address, _) = published.rsplit_once(':')?;
    let bare = address.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok().then(|| address.to_string())
}

/// A short-syntax entry bound to the loopback address, or why it is left.
fn bind_short(spec: &str) -> Result<String, &'static str> {
    let spec = spec.trim();
    let parts = split_outside_interpolation(spec, ':');
    let port_like = |p: &str| {
        let port = p.split('/').next().unwrap_or(p);
        !port.is_empty() && port.chars().all(|c| c.is_ascii_digit() || c == '-')
    };
    if parts
        .iter()
        .rev()
        .take(2)
        .any(|p| !p.contains('$') && !port_like(p))
    {
        return Err("a port written in a form harden does not rewrite");
    }
    match parts.as_slice() {
        [address, _, _] if address.contains('$') => Err("its address comes from a variable"),
        [only] if only.contains('$') => Err("its whole value comes from a variable"),
        [host, _] if host.contains('$') => {
            Err("its host port comes from a variable, which may hold an address")
        }
        [only] => Ok(format!("{LOOPBACK}::{only}")),
        [host, container] | [_, host, container] => Ok(format!("{LOOPBACK}:{host}:{container}")),
        _ => Err("IPv6 notation"),
    }
}

/// The default of text that is exactly one `${NAME:-default}` or
/// `${NAME-default}`.
fn sole_default(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${")?.strip_suffix('}')?;
    if inner.contains(['{', '}']) {
        return None;
    }
    inner
        .split_once(":-")
        .or_else(|| inner.split_once('-'))
        .map(|(_, default)| default)
}

/// Binds a long-syntax entry: `host_ip` added, or a wildcard one replaced.
fn long_edit(tree: &SyntaxTree, item: NodeId, path: String) -> Result<PlannedEdit, &'static str> {
    let published = tree.get(item, "published").and_then(|n| tree.scalar(n));
    if published.and_then(published_address).is_some() {
        return Err("an address inside `published`");
    }
    match tree.get(item, "host_ip") {
        Some(node) => {
            if is_alias(tree, node) || tree.node(node).anchor.is_some() {
                return Err("the entry is anchored or an alias, so it may be shared");
            }
            Ok(PlannedEdit {
                path: format!("{path}/host_ip"),
                op: EditOp::ReplaceScalar {
                    node,
                    value: NewValue::str(LOOPBACK),
                },
            })
        }
        None => Ok(PlannedEdit {
            path,
            op: EditOp::AddEntries {
                map: item,
                entries: vec![("host_ip".to_string(), NewValue::str(LOOPBACK))],
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Binding = Binding::All { ipv6: false };
    const ALL_V6: Binding = Binding::All { ipv6: true };

    #[test]
    fn short_entries_without_an_address_are_unbound() {
        for spec in [
            "8080:80",
            "80",
            "8080",
            "8000-8010:8000-8010",
            "0.0.0.0:80:80",
            "0.0.0.0:80:80/udp",
            ":80:80",
            "${WEB_PORT:-8080}:80",
            "${WEB_PORT-8080}:80/udp",
            "${PORTS:-8000-8010}",
            "0.0.0.0:${WEB_PORT}:80",
            "${IP:-0.0.0.0}:5432:5432",
        ] {
            assert_eq!(short_binding(spec), ALL, "{spec}");
        }
        for spec in ["[::]:80:80", ":::80:80"] {
            assert_eq!(short_binding(spec), ALL_V6, "{spec}");
        }
    }

    #[test]
    fn short_entries_with_an_address_are_bound() {
        for spec in [
            "127.0.0.1:80:80",
            "10.0.0.5::80",
            "127.0.0.1:5000-5010:5000-5010",
            "[::1]:80:80",
            "::1:80:80",
            "${BIND:-127.0.0.1}:80:80",
            "$BIND:80:80",
            "${SQL_PORT:-127.0.0.1:13306}:3306",
            "${WEB_PORT}:80",
            "$WEB_PORT:80",
            "${PORTS}",
        ] {
            assert_eq!(short_binding(spec), Binding::Bound, "{spec}");
        }
    }

    #[test]
    fn addresses_in_published_are_read() {
        assert_eq!(
            published_address("127.0.0.1:8080").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(published_address("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            published_address("127.0.0.1:8080-8090").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(published_address("8080"), None);
        assert_eq!(published_address("8080-8090"), None);
        assert_eq!(published_address("${PORT:-80}"), None);
    }

    #[test]
    fn short_entries_are_bound_to_loopback() {
        let bound = |spec| bind_short(spec).ok();
        assert_eq!(bound("5432:5432").as_deref(), Some("127.0.0.1:5432:5432"));
        assert_eq!(bound("5432").as_deref(), Some("127.0.0.1::5432"));
        assert_eq!(
            bound("0.0.0.0:6379:6379/tcp").as_deref(),
            Some("127.0.0.1:6379:6379/tcp")
        );
        assert_eq!(
            bound(":${PG_PORT:-5432}:5432").as_deref(),
            Some("127.0.0.1:${PG_PORT:-5432}:5432")
        );
        assert_eq!(bound("${PG_PORT:-5432}:5432"), None);
        assert_eq!(bound("${PORTS:-5432}"), None);
        assert_eq!(bound(":::80:80"), None);
    }

    #[test]
    fn port_defaults_are_read() {
        assert!(only_ports("${A:-80}"));
        assert!(only_ports("${A-8000-8010}/udp"));
        assert!(only_ports("1${A:-0}"));
        assert!(!only_ports("${A}"));
        assert!(!only_ports("$A"));
        assert!(!only_ports("${A:-127.0.0.1:80}"));
        assert!(!only_ports("${A:?set it}"));
    }
}
