//! The typed Compose model: services with their effective keys (merge keys
//! and same-file `extends` resolved), each key knowing where it came from.
#![allow(
    clippy::indexing_slicing,
    reason = "service positions index vectors built alongside the service list"
)]

pub mod image;
pub mod mount;

use indexmap::IndexMap;

use crate::error::InputError;
use crate::source::SourceFile;
use crate::syntax::{NodeId, NodeKind, SyntaxTree};

pub use image::ImageRef;

/// Where an effective key of a mapping is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written in the mapping itself: safe to edit.
    Own,
    /// Merged in through `<<`; writing an own key would hide it.
    Merged { anchor: Option<String> },
    /// Taken from the service named in `extends` (same file). Compose merges
    /// an own key with it, so adding one does not hide it.
    Extends { service: String },
}

#[derive(Debug, Clone)]
pub struct Field {
    pub key: Option<NodeId>,
    pub value: NodeId,
    pub origin: Origin,
}

/// A boolean as Compose reads it: YAML 1.2's `true`/`false` and, with a
/// deprecation warning, YAML 1.1's `yes`/`no`/`on`/`off`/`y`/`n`, in any
/// case and quoted or not.
pub fn yaml_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Some(true),
        "false" | "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// Whether a mapping key is the merge key `<<` (also written `!!merge <<`).
pub(crate) fn is_merge_key(tree: &SyntaxTree, key: NodeId) -> bool {
    let node = tree.node(key);
    tree.scalar(key) == Some("<<") && (!node.tagged || node.core_tag())
}

/// The effective entries of a mapping, own keys first, then merged ones.
pub fn merged_fields(tree: &SyntaxTree, map: NodeId) -> IndexMap<String, Field> {
    let mut fields = IndexMap::new();
    collect_merged(tree, map, &mut fields, None, 0);
    fields
}

fn collect_merged(
    tree: &SyntaxTree,
    map: NodeId,
    fields: &mut IndexMap<String, Field>,
    via: Option<&Origin>,
    depth: usize,
) {
    // Merge chains in real files are shallow; the bound only stops cycles
    // that aliases cannot form but a bug could.
    if depth > 64 {
        return;
    }
    let mut merges = Vec::new();
    for entry in tree.entries(map) {
        let Some(key) = tree.scalar(entry.key) else {
            continue;
        };
        if is_merge_key(tree, entry.key) {
            merges.push(entry.value);
            continue;
        }
        let origin = via.cloned().unwrap_or(Origin::Own);
        fields.entry(key.to_string()).or_insert(Field {
            key: Some(entry.key),
            value: entry.value,
            origin,
        });
    }
    for merge in merges {
        let sources: Vec<NodeId> = if tree.is_sequence(merge) {
            tree.items(merge).to_vec()
        } else {
            vec![merge]
        };
        for source in sources {
            let anchor = tree
                .node(tree.resolve(source))
                .anchor
                .as_deref()
                .map(str::to_string);
            let origin = via.cloned().unwrap_or(Origin::Merged { anchor });
            collect_merged(tree, tree.resolve(source), fields, Some(&origin), depth + 1);
        }
    }
}

/// How a map-or-list field was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Map,
    List,
    Other,
}

/// One variable of `environment`.
#[derive(Debug, Clone)]
pub struct EnvVar {
    pub name: String,
    /// `None` for `KEY` alone (list form) or `KEY:` (map form, null).
    pub value: Option<String>,
    /// Map form: the key node. List form: `None`.
    pub key: Option<NodeId>,
    /// Map form: the value node. List form: the whole `KEY=value` item.
    pub node: NodeId,
    pub form: Form,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub key: NodeId,
    /// The service's value as written: a mapping, a null, or an alias.
    pub node: NodeId,
    pub fields: IndexMap<String, Field>,
    /// Set when `extends` names another file or a service we cannot see.
    pub unresolved_extends: Option<String>,
    /// Values of keys that both this service and the one it extends set:
    /// Compose appends the parent's sequences to the child's own.
    pub extended_values: IndexMap<String, Vec<NodeId>>,
    /// Index of the service this one extends in the same file.
    pub extends_parent: Option<usize>,
    /// Set when the file is one layer of several (`compose.yaml` plus
    /// `compose.override.yaml`) and this service's definition continues in
    /// another layer: why its keys cannot be judged from this file alone.
    pub partial: Option<String>,
    /// Whether the definition continues in another file (a layer, a
    /// service without image or build); otherwise a partial service is
    /// whole here and only must not be changed, so what it lacks is still
    /// a hazard.
    pub split: bool,
}

/// Top-level sections and services of one Compose file.
#[derive(Debug, Clone)]
pub struct ComposeModel {
    pub root: NodeId,
    pub services_node: Option<NodeId>,
    pub services: Vec<Service>,
    /// The `<<` of `services` itself, when whole services are merged in
    /// from an anchor; those live in the anchor and are not hardened.
    pub merged_services: Option<NodeId>,
    /// Service name → index in `services`.
    index: std::collections::HashMap<String, usize>,
    /// For each service, the services that extend it directly.
    children: Vec<Vec<usize>>,
}

impl ComposeModel {
    pub fn build(src: &SourceFile, tree: &SyntaxTree) -> Result<ComposeModel, InputError> {
        let Some(root) = tree.root else {
            return Err(InputError::syntax(
                src,
                1,
                1,
                "the file holds no YAML document; a Compose file needs a top-level mapping".into(),
            ));
        };
        if !tree.is_mapping(root) {
            let (line, col) = src.line_col(tree.node(root).start);
            return Err(InputError::syntax(
                src,
                line,
                col,
                "the top level must be a mapping of Compose sections (services, networks, ...)"
                    .into(),
            ));
        }
        let services_node = tree.get(root, "services");
        let mut services = Vec::new();
        let mut merged_services = None;
        if let Some(node) = services_node {
            let resolved = tree.resolve(node);
            if !tree.is_mapping(resolved) && !tree.node(resolved).is_null() {
                let (line, col) = src.line_col(tree.node(node).start);
                return Err(InputError::syntax(
                    src,
                    line,
                    col,
                    "`services` must be a mapping of service names to definitions".into(),
                ));
            }
            for entry in tree.entries(node) {
                let name = tree.scalar(entry.key).unwrap_or_default().to_string();
                if is_merge_key(tree, entry.key) {
                    merged_services = Some(entry.key);
                    continue;
                }
                let value = tree.resolve(entry.value);
                if !tree.is_mapping(value) && !tree.node(value).is_null() {
                    let (line, col) = src.line_col(tree.node(entry.value).start);
                    return Err(InputError::syntax(
                        src,
                        line,
                        col,
                        format!("service `{name}` must be a mapping"),
                    ));
                }
                // `!reset` removes a service of the file this one is merged
                // over: nothing to check. `!override` replaces one: its
                // keys are checked, but it is a layer, not changed.
                let tag = tree.node(entry.value);
                if tag.is_reset() {
                    continue;
                }
                let partial = (tag.tagged && !tag.core_tag()).then(|| {
                    format!(
                        "it carries the tag {}, which belongs to a file merged over another; harden reads one file at a time",
                        tag.tag.as_deref().unwrap_or("!")
                    )
                });
                let fields = if tree.is_mapping(value) {
                    let mut fields = merged_fields(tree, entry.value);
                    if tree.node(entry.value).kind_is_alias() {
                        let anchor = tree.node(value).anchor.as_deref().map(str::to_string);
                        for field in fields.values_mut() {
                            field.origin = Origin::Merged {
                                anchor: anchor.clone(),
                            };
                        }
                    }
                    fields
                } else {
                    IndexMap::new()
                };
                services.push(Service {
                    name,
                    key: entry.key,
                    node: entry.value,
                    fields,
                    unresolved_extends: None,
                    extended_values: IndexMap::new(),
                    extends_parent: None,
                    partial,
                    split: false,
                });
            }
        }
        // Entries merged into `services` itself must be services too.
        if let (Some(node), Some(merge_key)) = (services_node, merged_services) {
            for (name, field) in merged_fields(tree, node) {
                let value = tree.resolve(field.value);
                if field.origin != Origin::Own
                    && !tree.is_mapping(value)
                    && !tree.node(value).is_null()
                {
                    let (line, col) = src.line_col(tree.node(merge_key).start);
                    return Err(InputError::syntax(
                        src,
                        line,
                        col,
                        format!(
                            "`<<` merges `{name}` into `services`, but it is not a service mapping"
                        ),
                    ));
                }
                // Checked where they are written, but not changed: an
                // edit there would reach every file position merging it.
                if field.origin != Origin::Own && tree.is_mapping(value) {
                    services.push(Service {
                        name,
                        key: field.key.unwrap_or(field.value),
                        node: value,
                        fields: merged_fields(tree, value),
                        unresolved_extends: None,
                        extended_values: IndexMap::new(),
                        extends_parent: None,
                        partial: Some(
                            "it is merged into `services` with `<<` from an anchor, where harden does not change it".into(),
                        ),
                        split: false,
                    });
                }
            }
        }
        resolve_extends(tree, &mut services);

        let index = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let mut children = vec![Vec::new(); services.len()];
        for (i, service) in services.iter().enumerate() {
            if let Some(p) = service.extends_parent {
                children[p].push(i);
            }
        }
        Ok(ComposeModel {
            root,
            services_node,
            services,
            merged_services,
            index,
            children,
        })
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.index.get(name).map(|&i| &self.services[i])
    }

    /// Where a service sits in `services`.
    pub fn position(&self, service: &Service) -> usize {
        self.index.get(&service.name).copied().unwrap_or(0)
    }

    /// Service indexes with every `extends` parent before its children.
    pub fn parents_first(&self) -> Vec<usize> {
        let depth = |mut i: usize| {
            let mut d = 0;
            while let Some(p) = self.services[i]
                .extends_parent
                .filter(|_| d <= self.services.len())
            {
                i = p;
                d += 1;
            }
            d
        };
        let mut order: Vec<usize> = (0..self.services.len()).collect();
        order.sort_by_key(|&i| depth(i));
        order
    }

    /// The service `service` extends in this file, if any.
    pub fn parent_of(&self, service: &Service) -> Option<&Service> {
        service.extends_parent.map(|p| &self.services[p])
    }

    /// Every service that extends `service` in this file, at any depth.
    pub fn descendants_of(&self, service: &Service) -> Vec<&Service> {
        let Some(&start) = self.index.get(&service.name) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut frontier = vec![start];
        while let Some(i) = frontier.pop() {
            for &child in &self.children[i] {
                if child != start && !found.contains(&child) {
                    found.push(child);
                    frontier.push(child);
                }
            }
        }
        found.into_iter().map(|i| &self.services[i]).collect()
    }

    /// A top-level section such as `networks` or `secrets`.
    pub fn section(&self, tree: &SyntaxTree, name: &str) -> Option<NodeId> {
        tree.get(self.root, name)
    }
}

trait AliasCheck {
    fn kind_is_alias(&self) -> bool;
}

impl AliasCheck for crate::syntax::Node {
    fn kind_is_alias(&self) -> bool {
        matches!(self.kind, NodeKind::Alias { .. })
    }
}

const MAX_EXTENDS_DEPTH: usize = 8;

/// Adds the fields of same-file `extends` parents, marking the rest unresolved.
fn resolve_extends(tree: &SyntaxTree, services: &mut [Service]) {
    let parents: Vec<Option<(Option<String>, String)>> =
        services.iter().map(|s| extends_target(tree, s)).collect();
    // Resolve in dependency order by iterating to a fixed point; chains are short.
    let mut done = vec![false; services.len()];
    // Rules walk extends chains; real ones are a few links long.
    let mut depth = vec![0usize; services.len()];
    for _ in 0..services.len().max(1) {
        let mut progressed = false;
        for i in 0..services.len() {
            if done[i] {
                continue;
            }
            match &parents[i] {
                None => {
                    done[i] = true;
                    progressed = true;
                }
                Some((Some(file), _)) => {
                    services[i].unresolved_extends = Some(file.clone());
                    done[i] = true;
                    progressed = true;
                }
                Some((None, parent)) => {
                    let Some(p) = services.iter().position(|s| &s.name == parent) else {
                        services[i].unresolved_extends = Some(format!("service {parent}"));
                        done[i] = true;
                        progressed = true;
                        continue;
                    };
                    if p == i || !done[p] {
                        continue;
                    }
                    let inherited: Vec<(String, Field)> = services[p]
                        .fields
                        .iter()
                        .filter(|(k, _)| k.as_str() != "extends")
                        .map(|(k, f)| {
                            let origin = match &f.origin {
                                Origin::Extends { service } => Origin::Extends {
                                    service: service.clone(),
                                },
                                _ => Origin::Extends {
                                    service: parent.clone(),
                                },
                            };
                            (
                                k.clone(),
                                Field {
                                    key: f.key,
                                    value: f.value,
                                    origin,
                                },
                            )
                        })
                        .collect();
                    depth[i] = depth[p] + 1;
                    services[i].extends_parent = Some(p);
                    let unresolved = if depth[i] > MAX_EXTENDS_DEPTH {
                        Some(format!("a chain of more than {MAX_EXTENDS_DEPTH} extends"))
                    } else {
                        services[p].unresolved_extends.clone()
                    };
                    let mut parent_extended = services[p].extended_values.clone();
                    let child = &mut services[i];
                    for (k, f) in inherited {
                        match child.fields.get(&k) {
                            Some(_) => parent_extended.entry(k).or_default().push(f.value),
                            None => {
                                child.fields.insert(k, f);
                            }
                        }
                    }
                    for (k, values) in parent_extended {
                        child.extended_values.entry(k).or_default().extend(values);
                    }
                    child.unresolved_extends = unresolved;
                    done[i] = true;
                    progressed = true;
                }
            }
        }
        if !progressed {
            break;
        }
    }
    for (i, service) in services.iter_mut().enumerate() {
        if !done[i] {
            service.unresolved_extends = Some("a cycle of extends".into());
        }
    }
}

fn extends_target(tree: &SyntaxTree, service: &Service) -> Option<(Option<String>, String)> {
    let node = service.fields.get("extends")?.value;
    if let Some(name) = tree.scalar(node) {
        return Some((None, name.to_string()));
    }
    let target = tree
        .get(node, "service")
        .and_then(|n| tree.scalar(n))
        .unwrap_or_default();
    let file = tree
        .get(node, "file")
        .and_then(|n| tree.scalar(n))
        .map(str::to_string);
    Some((file, target.to_string()))
}

impl Service {
    /// Why part of this service's definition is out of harden's sight (an
    /// `extends` of another file, another layer of the project), as a
    /// clause for messages; `None` when the file holds all of it.
    /// Whether part of the definition is in another file, so that what the
    /// service lacks here cannot be judged.
    pub fn split(&self) -> bool {
        self.split || self.unresolved_extends.is_some()
    }

    pub fn unseen(&self) -> Option<String> {
        if let Some(why) = &self.partial {
            return Some(why.clone());
        }
        self.unresolved_extends
            .as_ref()
            .map(|from| format!("the service extends {from}, which harden cannot see"))
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.get(key)
    }

    pub fn value(&self, key: &str) -> Option<NodeId> {
        self.fields.get(key).map(|f| f.value)
    }

    pub fn scalar<'t>(&self, tree: &'t SyntaxTree, key: &str) -> Option<&'t str> {
        self.value(key).and_then(|n| tree.scalar(n))
    }

    pub fn image(&self, tree: &SyntaxTree) -> Option<ImageRef> {
        self.scalar(tree, "image").map(ImageRef::parse)
    }

    /// Whether `key` is set to YAML true (`true`, `True`, `TRUE`).
    pub fn is_true(&self, tree: &SyntaxTree, key: &str) -> bool {
        self.scalar(tree, key).and_then(yaml_bool) == Some(true)
    }

    /// Whether `key` is set to a false value (`false`, `no`, `off`, ...).
    pub fn is_false(&self, tree: &SyntaxTree, key: &str) -> bool {
        self.scalar(tree, key).and_then(yaml_bool) == Some(false)
    }

    /// Items of a list-valued key as strings (scalars only).
    pub fn strings(&self, tree: &SyntaxTree, key: &str) -> Vec<String> {
        let mut all = self.own_strings(tree, key);
        for &node in self.extended_values.get(key).into_iter().flatten() {
            all.extend(
                tree.items(node)
                    .iter()
                    .filter_map(|&i| tree.scalar(i))
                    .map(str::to_string),
            );
        }
        all
    }

    fn own_strings(&self, tree: &SyntaxTree, key: &str) -> Vec<String> {
        let Some(node) = self.value(key) else {
            return Vec::new();
        };
        if let Some(s) = tree.scalar(node) {
            return if tree.node(tree.resolve(node)).is_null() {
                Vec::new()
            } else {
                vec![s.to_string()]
            };
        }
        tree.items(node)
            .iter()
            .filter_map(|&i| tree.scalar(i))
            .map(str::to_string)
            .collect()
    }

    /// Names in a map-or-list key (`depends_on`, `networks`, `secrets`...).
    pub fn names(&self, tree: &SyntaxTree, key: &str) -> Vec<String> {
        let Some(node) = self.value(key) else {
            return Vec::new();
        };
        if tree.is_mapping(node) {
            return merged_fields(tree, node).into_keys().collect();
        }
        tree.items(node)
            .iter()
            .filter_map(|&item| {
                if tree.is_mapping(item) {
                    tree.get(item, "source")
                        .and_then(|n| tree.scalar(n))
                        .map(str::to_string)
                } else {
                    tree.scalar(item).map(str::to_string)
                }
            })
            .collect()
    }

    pub fn environment(&self, tree: &SyntaxTree) -> Vec<EnvVar> {
        let Some(field) = self.field("environment") else {
            return Vec::new();
        };
        let node = field.value;
        // `environment: *shared` writes nothing of its own: every variable
        // lives in the anchor, shared with the other services using it.
        let field_origin = match &tree.node(node).kind {
            crate::syntax::NodeKind::Alias { target } => Origin::Merged {
                anchor: tree.node(*target).anchor.as_deref().map(str::to_string),
            },
            _ => field.origin.clone(),
        };
        let field = &Field {
            key: field.key,
            value: node,
            origin: field_origin,
        };
        if tree.is_mapping(node) {
            return merged_fields(tree, node)
                .into_iter()
                .map(|(name, f)| {
                    let value_node = tree.node(tree.resolve(f.value));
                    let value = if value_node.is_null() {
                        None
                    } else {
                        tree.scalar(f.value).map(str::to_string)
                    };
                    let origin = match (&field.origin, &f.origin) {
                        (Origin::Own, inner) => inner.clone(),
                        (outer, _) => outer.clone(),
                    };
                    EnvVar {
                        name,
                        value,
                        key: f.key,
                        node: f.value,
                        form: Form::Map,
                        origin,
                    }
                })
                .collect();
        }
        tree.items(node)
            .iter()
            .filter_map(|&item| {
                let text = tree.scalar(item)?;
                let (name, value) = match text.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (text.to_string(), None),
                };
                let origin = if tree.node(item).kind_is_alias() {
                    Origin::Merged { anchor: None }
                } else {
                    field.origin.clone()
                };
                Some(EnvVar {
                    name,
                    value,
                    key: None,
                    node: item,
                    form: Form::List,
                    origin,
                })
            })
            .collect()
    }

    /// Container paths of every mount (`volumes` short and long syntax) with
    /// whether it is a tmpfs mount.
    pub fn mount_targets(&self, tree: &SyntaxTree) -> Vec<(String, bool)> {
        let mut targets = Vec::new();
        if let Some(node) = self.value("volumes") {
            for &item in tree.items(node) {
                if tree.is_mapping(item) {
                    let kind = tree
                        .get(item, "type")
                        .and_then(|n| tree.scalar(n))
                        .unwrap_or("volume");
                    if let Some(target) = tree.get(item, "target").and_then(|n| tree.scalar(n)) {
                        targets.push((target.to_string(), kind == "tmpfs"));
                    }
                } else if let Some(spec) = tree.scalar(item)
                    && let Some(target) = short_volume_target(spec)
                {
                    targets.push((target, false));
                }
            }
        }
        for spec in self.strings(tree, "tmpfs") {
            let target = spec.split(':').next().unwrap_or_default().to_string();
            targets.push((target, true));
        }
        targets
    }

    pub fn publishes_ports(&self, tree: &SyntaxTree) -> bool {
        self.value("ports").is_some_and(|n| {
            !tree.items(n).is_empty()
                || tree
                    .scalar(n)
                    .is_some_and(|s| !s.is_empty() && !tree.node(tree.resolve(n)).is_null())
        })
    }

    /// The user the service runs as, when set (`user:`).
    pub fn user(&self, tree: &SyntaxTree) -> Option<String> {
        self.scalar(tree, "user").map(str::to_string)
    }

    /// Text of `command`, `entrypoint` (string or list) and a health check, joined.
    pub fn command_text(&self, tree: &SyntaxTree) -> String {
        let mut parts = Vec::new();
        for key in ["entrypoint", "command"] {
            let Some(node) = self.value(key) else {
                continue;
            };
            if let Some(s) = tree.scalar(node) {
                parts.push(s.to_string());
            } else {
                parts.extend(
                    tree.items(node)
                        .iter()
                        .filter_map(|&i| tree.scalar(i))
                        .map(str::to_string),
                );
            }
        }
        parts.join(" ")
    }
}

/// The container path of a short-syntax volume (`src:dst[:mode]` or `dst`).
pub fn short_volume_target(spec: &str) -> Option<String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let target = match parts.as_slice() {
        [only] => only,
        // A Windows drive letter (`C:\x:/y`) splits into more parts; the
        // target is the first part that starts with `/` after the source.
        [_, first, rest @ ..] => std::iter::once(first)
            .chain(rest)
            .find(|p| p.starts_with('/'))
            .unwrap_or(first),
        [] => return None,
    };
    Some(target.to_string())
}

/// Splits `text` at every `sep` outside a `${...}` interpolation, whose
/// default or error text may hold the separator (`${BIND:-127.0.0.1}`).
pub fn split_outside_interpolation(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut prev = None;
    for (i, c) in text.char_indices() {
        match c {
            '{' if prev == Some('$') => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
        prev = Some(c);
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolations_are_not_split() {
        assert_eq!(
            split_outside_interpolation("${A:-1:2}:80:80", ':'),
            vec!["${A:-1:2}", "80", "80"]
        );
        assert_eq!(split_outside_interpolation("80", ':'), vec!["80"]);
        assert_eq!(
            split_outside_interpolation(":::80", ':'),
            vec!["", "", "", "80"]
        );
    }

    fn model(text: &str) -> (SyntaxTree, ComposeModel) {
        let src = SourceFile::new("t.yml", None, text.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        let model = ComposeModel::build(&src, &tree).unwrap();
        (tree, model)
    }

    #[test]
    fn merge_keys_mark_inherited_fields() {
        let (tree, m) = model(
            "x: &d\n  restart: always\n  deploy: {}\nservices:\n  web:\n    <<: *d\n    image: nginx\n    restart: 'no'\n",
        );
        let web = m.service("web").unwrap();
        assert_eq!(web.field("image").unwrap().origin, Origin::Own);
        assert_eq!(web.scalar(&tree, "restart"), Some("no"));
        assert_eq!(
            web.field("deploy").unwrap().origin,
            Origin::Merged {
                anchor: Some("d".into())
            }
        );
    }

    #[test]
    fn same_file_extends_is_resolved_and_other_files_are_not() {
        let (_, m) = model(
            "services:\n  a:\n    mem_limit: 1g\n  b:\n    extends: a\n  c:\n    extends: {file: x.yml, service: y}\n",
        );
        let b = m.service("b").unwrap();
        assert!(matches!(
            b.field("mem_limit").unwrap().origin,
            Origin::Extends { .. }
        ));
        assert!(m.service("c").unwrap().unresolved_extends.is_some());
    }

    #[test]
    fn environment_in_both_forms() {
        let (_, m) = model(
            "services:\n  a:\n    environment:\n      - A=1\n      - B\n  b:\n    environment:\n      C: x\n      D:\n",
        );
        let a = m.service("a").unwrap();
        let (tree, _) = model(
            "services:\n  a:\n    environment:\n      - A=1\n      - B\n  b:\n    environment:\n      C: x\n      D:\n",
        );
        let env = a.environment(&tree);
        assert_eq!(env[0].value.as_deref(), Some("1"));
        assert_eq!(env[1].value, None);
        let env = m.service("b").unwrap().environment(&tree);
        assert_eq!(env[0].form, Form::Map);
        assert_eq!(env[1].value, None);
    }

    #[test]
    fn short_volume_targets() {
        assert_eq!(
            short_volume_target("data:/var/lib/x:ro").as_deref(),
            Some("/var/lib/x")
        );
        assert_eq!(short_volume_target("/cache").as_deref(), Some("/cache"));
    }
}
