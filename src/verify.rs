//! The last gate before anything is printed or written: the patched text
//! must parse, keep every value, keep line endings, and need no more edits.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use crate::knowledge::Knowledge;
use crate::model::ComposeModel;
use crate::patch::render::is_special_scalar;
use crate::plan::{EditOp, EditPlan, NewValue};
use crate::rules::{self, Context, Finding};
use crate::source::{Eol, SourceFile};
use crate::surroundings::Surroundings;
use crate::syntax::{NodeId, NodeKind, SyntaxTree};

/// Texts from this size on are worked on by two threads: serde-saphyr
/// checks the input beside harden's own reader, and the output's values
/// are compared beside the rules' second run. Below it, starting a thread
/// costs more than it saves.
pub(crate) const PARALLEL_FROM: usize = 16 * 1024;

/// Checks `patched` against the original; the error says what broke.
///
/// The output is parsed once, by the same reader as the input: both
/// readings are walked side by side, merges resolved and aliases
/// followed, leaf by leaf. serde-saphyr, the independent reader, has
/// already accepted the input (merge keys, alias budget, nesting).
pub fn verify(
    original: &SourceFile,
    original_model: &ComposeModel,
    original_tree: &SyntaxTree,
    plan: &EditPlan,
    patched: &str,
    around: &Surroundings,
    settings: &crate::settings::Settings,
) -> Result<(), String> {
    check_line_endings(original, patched)?;
    let out_src = SourceFile::new(
        &original.display_name,
        original.path.as_deref(),
        patched.to_string(),
    );
    let tree =
        SyntaxTree::parse(&out_src).map_err(|e| format!("patched YAML does not parse: {e}"))?;
    let mut model = ComposeModel::build(&out_src, &tree)
        .map_err(|e| format!("patched YAML is not a Compose file: {e}"))?;
    crate::mark_partial_services(around.base.as_ref(), &tree, &mut model);

    let values = || compare_values(original_tree, original_model, plan, &tree);
    // Idempotence: the rules must have nothing left to do.
    let second_run = || {
        let ctx = Context::new(
            &out_src,
            &tree,
            &model,
            Knowledge::builtin(),
            around,
            settings,
        );
        rules::check_all(&ctx)
            .into_iter()
            .find(|f| !f.edits.is_empty())
    };
    let (values, left): (Result<(), String>, Option<Finding>) = if patched.len() >= PARALLEL_FROM {
        std::thread::scope(|scope| {
            let values = scope.spawn(values);
            let left = second_run();
            let values = values
                .join()
                .unwrap_or_else(|_| Err("the value comparison stopped unexpectedly".into()));
            (values, left)
        })
    } else {
        (values(), second_run())
    };
    values?;
    match left {
        Some(left) => Err(format!(
            "a second run would change the file again ({} on {})",
            left.rule,
            left.service.as_deref().unwrap_or("the file")
        )),
        None => Ok(()),
    }
}

/// The output's values against the input's: nothing lost, everything
/// planned where the plan put it, nothing unplanned.
fn compare_values(
    original_tree: &SyntaxTree,
    original_model: &ComposeModel,
    plan: &EditPlan,
    tree: &SyntaxTree,
) -> Result<(), String> {
    let (Some(old_root), Some(new_root)) = (original_tree.root, tree.root) else {
        return Err("patched YAML has no document".into());
    };
    let old = View {
        tree: original_tree,
        node: old_root,
    };
    let new = View {
        tree,
        node: new_root,
    };
    let changed = changed_paths(plan, original_tree);
    let mut expected = planned_additions(plan, original_tree);
    inherit_through_anchors(original_tree, original_model, &mut expected);
    let mut walk = Walk {
        changed: &changed,
        expected: &expected,
        matched: 0,
        visited: 0,
        lost: None,
        unplanned: None,
    };
    walk.visit(Some(old), Some(new), &mut String::new(), 0, false)?;
    // Nothing lost: every value of the input is still there unless an
    // edit meant to change it.
    if let Some(path) = walk.lost {
        return Err(format!("value at {path} changed or disappeared"));
    }
    // Every value the plan added is where the plan put it.
    if walk.matched != expected.len()
        && let Some((path, _)) = expected
            .iter()
            .find(|(path, value)| new.lookup(path).and_then(|v| v.leaf()).as_ref() != Some(*value))
    {
        return Err(format!("the planned value at {path} is not in the output"));
    }
    // Nothing unplanned: every new value is one the plan added.
    if let Some(path) = walk.unplanned {
        return Err(format!(
            "the output has a value at {path} that no edit planned"
        ));
    }
    Ok(())
}

/// A leaf of a reading: a scalar, or an empty mapping or sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leaf<'a> {
    Scalar {
        text: Cow<'a, str>,
        /// Whether YAML reads it as a string: quoted, block, or a plain
        /// scalar no YAML 1.1 or 1.2 reader takes for null, bool, number
        /// or date. `"1"` and `1` differ.
        string: bool,
        tag: Option<&'a str>,
    },
    EmptyMap,
    EmptySeq,
}

impl Leaf<'_> {
    fn plain(text: &str) -> Leaf<'static> {
        Leaf::Scalar {
            string: !text.is_empty() && !is_special_scalar(text),
            text: Cow::Owned(text.to_string()),
            tag: None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Leaf::Scalar { text, string: false, tag: None }
            if matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL"))
    }

    fn is_empty_container(&self) -> bool {
        matches!(self, Leaf::EmptyMap | Leaf::EmptySeq)
    }
}

/// A node of one reading, aliases followed.
#[derive(Clone, Copy)]
struct View<'t> {
    tree: &'t SyntaxTree,
    node: NodeId,
}

/// Merge chains deeper than this are not followed, as in the model.
const MERGE_DEPTH: usize = 64;

impl<'t> View<'t> {
    fn at(&self, node: NodeId) -> View<'t> {
        View {
            tree: self.tree,
            node: self.tree.resolve(node),
        }
    }

    fn kind(&self) -> &'t NodeKind {
        &self.tree.node(self.tree.resolve(self.node)).kind
    }

    /// The node as a leaf, or `None` for a non-empty mapping or sequence.
    fn leaf(&self) -> Option<Leaf<'t>> {
        let node = self.tree.node(self.tree.resolve(self.node));
        match &node.kind {
            NodeKind::Scalar { value, style } => {
                let plain = *style == granit_parser::ScalarStyle::Plain;
                let tag = node.tag.as_deref().filter(|_| !node.core_tag());
                let string = match node.tag.as_deref() {
                    Some("tag:yaml.org,2002:str") => true,
                    Some(t) if node.core_tag() => t == "tag:yaml.org,2002:binary",
                    _ => !plain || (!value.is_empty() && !is_special_scalar(value)),
                };
                Some(Leaf::Scalar {
                    text: Cow::Borrowed(value),
                    string,
                    tag,
                })
            }
            // Empty, or merging only empty mappings.
            NodeKind::Mapping { entries }
                if entries
                    .iter()
                    .all(|e| crate::model::is_merge_key(self.tree, e.key))
                    && self.entries().is_empty() =>
            {
                Some(Leaf::EmptyMap)
            }
            NodeKind::Sequence { items } if items.is_empty() => Some(Leaf::EmptySeq),
            _ => None,
        }
    }

    /// The mapping's effective entries: its own keys first, then merged
    /// ones (`<<`), earlier sources first; a key set twice keeps the first.
    fn entries(&self) -> Vec<(&'t str, NodeId, NodeId)> {
        let tree = self.tree;
        let own = tree.entries(self.node);
        // Keys are unique within a mapping (the reader rejects duplicates),
        // so without merges the own entries are the answer.
        if !own.iter().any(|e| crate::model::is_merge_key(tree, e.key)) {
            return own
                .iter()
                .map(|e| (tree.scalar(e.key).unwrap_or(""), e.key, e.value))
                .collect();
        }
        let mut out: Vec<(&'t str, NodeId, NodeId)> = Vec::new();
        let mut seen: HashSet<&'t str> = HashSet::new();
        // Mappings to read, in precedence order (a stack, last first).
        let mut todo: Vec<(NodeId, usize)> = vec![(tree.resolve(self.node), 0)];
        while let Some((map, depth)) = todo.pop() {
            let mut sources = Vec::new();
            for entry in tree.entries(map) {
                let key = tree.scalar(entry.key).unwrap_or("");
                if crate::model::is_merge_key(tree, entry.key) {
                    if tree.is_sequence(entry.value) {
                        sources.extend(tree.items(entry.value).iter().map(|&i| tree.resolve(i)));
                    } else {
                        sources.push(tree.resolve(entry.value));
                    }
                } else if seen.insert(key) {
                    out.push((key, entry.key, entry.value));
                }
            }
            if depth < MERGE_DEPTH {
                todo.extend(sources.into_iter().rev().map(|s| (s, depth + 1)));
            }
        }
        out
    }

    /// The tag of a mapping or sequence, unless it only names the kind.
    fn collection_tag(&self) -> Option<&'t str> {
        let node = self.tree.node(self.tree.resolve(self.node));
        match node.kind {
            NodeKind::Mapping { .. } | NodeKind::Sequence { .. } if !node.core_tag() => {
                node.tag.as_deref()
            }
            _ => None,
        }
    }

    fn items(&self) -> &'t [NodeId] {
        self.tree.items(self.node)
    }

    fn child(&self, segment: &str) -> Option<View<'t>> {
        match self.kind() {
            NodeKind::Mapping { .. } => self
                .entries()
                .into_iter()
                .find(|(k, _, _)| *k == segment)
                .map(|(_, _, v)| self.at(v)),
            NodeKind::Sequence { items } => items
                .get(segment.parse::<usize>().ok()?)
                .map(|&i| self.at(i)),
            _ => None,
        }
    }

    /// The node at a path (`services/app/cap_add/0`).
    fn lookup(&self, path: &str) -> Option<View<'t>> {
        path.split('/')
            .try_fold(*self, |v, segment| v.child(segment))
    }
}

/// Walks past this many nodes (aliases expanded) are refused: the input
/// passed serde-saphyr's alias budget, so only a broken output gets here.
const VISIT_BUDGET: usize = 20_000_000;

/// Deeper nesting than this is refused; the input passed serde-saphyr's
/// depth limit.
const DEPTH_LIMIT: usize = 1_000;

/// One walk over both readings at once, leaf by leaf, by path (`a/b/0`).
struct Walk<'a> {
    changed: &'a Changed,
    expected: &'a BTreeMap<String, Leaf<'static>>,
    /// How many planned leaves the output holds with the planned value.
    matched: usize,
    visited: usize,
    /// The first input leaf the output lost or changed unplanned.
    lost: Option<String>,
    /// The first output leaf no edit planned.
    unplanned: Option<String>,
}

impl Walk<'_> {
    /// Compares one place of both readings; `planned` when an edit
    /// replaced or renamed what is there, so anything goes below.
    fn visit(
        &mut self,
        old: Option<View>,
        new: Option<View>,
        path: &mut String,
        depth: usize,
        planned: bool,
    ) -> Result<(), String> {
        self.visited += 1;
        if self.visited > VISIT_BUDGET || depth > DEPTH_LIMIT {
            return Err("the output grows or nests past what the input did".into());
        }
        if planned || old.is_some_and(|v| self.changed.replaced.contains(&v.node)) {
            return Ok(());
        }
        // A tag on a mapping or sequence (`!reset`, `!override`) is part of
        // what it means.
        if let (Some(o), Some(n)) = (old, new)
            && o.collection_tag() != n.collection_tag()
            && self.lost.is_none()
        {
            self.lost = Some(path.clone());
        }
        let old_leaf = old.and_then(|v| v.leaf());
        let new_leaf = new.and_then(|v| v.leaf());
        if let Some(value) = &old_leaf
            && self.lost.is_none()
        {
            // An empty `{}` or `[]` that gained entries is kept, not lost.
            let filled = value.is_empty_container() && new.is_some() && new_leaf.is_none();
            let planned_fill = value.is_null() && self.changed.filled.contains(path.as_str());
            if !(new_leaf.as_ref() == Some(value) || filled || planned_fill) {
                self.lost = Some(path.clone());
            }
        }
        // A leaf the input has as it is needs no plan (a planned value
        // equal to the input's is then found by the fallback lookup).
        if let Some(value) = &new_leaf
            && old_leaf.as_ref() != Some(value)
        {
            let planned = self.expected.get(path.as_str());
            if planned == Some(value) {
                self.matched += 1;
            }
            if self.unplanned.is_none() && planned.is_none() {
                self.unplanned = Some(path.clone());
            }
        }

        let len = path.len();
        let (old_kind, new_kind) = (old.map(|v| v.kind()), new.map(|v| v.kind()));
        match (old_kind, new_kind) {
            (Some(NodeKind::Sequence { .. }), Some(NodeKind::Sequence { .. })) => {
                let (a, b) = (
                    old.map_or(&[][..], |v| v.items()),
                    new.map_or(&[][..], |v| v.items()),
                );
                for i in 0..a.len().max(b.len()) {
                    if !path.is_empty() {
                        path.push('/');
                    }
                    let _ = write!(path, "{i}");
                    let old_item = old.and_then(|v| a.get(i).map(|&n| v.at(n)));
                    let new_item = new.and_then(|v| b.get(i).map(|&n| v.at(n)));
                    let result = self.visit(old_item, new_item, path, depth + 1, false);
                    path.truncate(len);
                    result?;
                }
            }
            (Some(NodeKind::Mapping { .. }), Some(NodeKind::Mapping { .. })) => {
                let (Some(old), Some(new)) = (old, new) else {
                    return Ok(());
                };
                let (a, b) = (old.entries(), new.entries());
                let mut used = vec![false; b.len()];
                // Keys keep their order, new ones in between: look where
                // the last match left off, then by index (big mappings
                // such as `services`) or by a scan.
                let index: Option<HashMap<&str, usize>> = (b.len() > 16)
                    .then(|| b.iter().enumerate().map(|(i, (k, _, _))| (*k, i)).collect());
                let mut next = 0;
                // New names of the keys renamed here: what they hold is
                // the renamed entry.
                let mut renamed_to: Vec<&str> = Vec::new();
                for &(key, key_node, value) in &a {
                    if let Some(name) = self.changed.renamed.get(&key_node) {
                        renamed_to.push(name);
                        self.visit_child(path, key, Some(old.at(value)), None, depth, true)?;
                        continue;
                    }
                    let found = b
                        .get(next..)
                        .and_then(|rest| rest.iter().take(4).position(|(k, _, _)| *k == key))
                        .map(|p| p + next)
                        .or_else(|| match &index {
                            Some(index) => index.get(key).copied(),
                            None => b.iter().position(|(k, _, _)| *k == key),
                        });
                    if let Some(i) = found
                        && let Some(slot) = used.get_mut(i)
                    {
                        *slot = true;
                        next = i + 1;
                    }
                    let other = found.and_then(|i| b.get(i)).map(|&(_, _, v)| new.at(v));
                    self.visit_child(path, key, Some(old.at(value)), other, depth, false)?;
                }
                for (&(key, _, value), _) in b.iter().zip(&used).filter(|(_, used)| !**used) {
                    let planned = renamed_to.contains(&key);
                    self.visit_child(path, key, None, Some(new.at(value)), depth, planned)?;
                }
            }
            // One side alone, or a mapping and a sequence at one path.
            _ => {
                let old_children = old.map(children).unwrap_or_default();
                let new_children = new.map(children).unwrap_or_default();
                for (key, child) in &old_children {
                    let other = new_children.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
                    self.visit_child(path, key, Some(*child), other, depth, false)?;
                }
                for (key, child) in &new_children {
                    if old_children.iter().any(|(k, _)| k == key) {
                        continue;
                    }
                    self.visit_child(path, key, None, Some(*child), depth, false)?;
                }
            }
        }
        Ok(())
    }
}

impl Walk<'_> {
    /// Visits the child at `segment` below `path`, restoring `path`.
    fn visit_child(
        &mut self,
        path: &mut String,
        segment: &str,
        old: Option<View>,
        new: Option<View>,
        depth: usize,
        planned: bool,
    ) -> Result<(), String> {
        let len = path.len();
        push_segment(path, segment);
        let result = self.visit(old, new, path, depth + 1, planned);
        path.truncate(len);
        result
    }
}

/// The children of a node by path segment: mapping keys (merges
/// resolved) or sequence indexes.
fn children(view: View<'_>) -> Vec<(std::borrow::Cow<'_, str>, View<'_>)> {
    match view.kind() {
        NodeKind::Mapping { .. } => view
            .entries()
            .into_iter()
            .map(|(k, _, v)| (k.into(), view.at(v)))
            .collect(),
        NodeKind::Sequence { items } => items
            .iter()
            .enumerate()
            .map(|(i, &n)| (i.to_string().into(), view.at(n)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Appends one path segment; top-level keys lose leading slashes, as
/// every path here is written without one.
fn push_segment(path: &mut String, segment: &str) {
    if path.is_empty() {
        path.push_str(segment.trim_start_matches('/'));
    } else {
        path.push('/');
        path.push_str(segment);
    }
}

fn check_line_endings(original: &SourceFile, patched: &str) -> Result<(), String> {
    let bare_lf = |s: &str| s.matches('\n').count() - s.matches("\r\n").count();
    let ok = match original.eol {
        Eol::CrLf => bare_lf(patched) == bare_lf(&original.text),
        Eol::Lf => patched.matches("\r\n").count() == original.text.matches("\r\n").count(),
    };
    if ok {
        Ok(())
    } else {
        Err("line endings of the patched text are mixed".into())
    }
}

/// What the plan changes on purpose, by node of the input: a scalar
/// replaced changes wherever it is used (an anchored value merged into
/// several services changes in each), and nowhere else.
struct Changed {
    /// Scalars replaced in place.
    replaced: HashSet<NodeId>,
    /// Keys renamed, with their new name.
    renamed: HashMap<NodeId, String>,
    /// Null values that became mappings, by path.
    filled: HashSet<String>,
}

fn changed_paths(plan: &EditPlan, tree: &SyntaxTree) -> Changed {
    let mut changed = Changed {
        replaced: HashSet::new(),
        renamed: HashMap::new(),
        filled: HashSet::new(),
    };
    for edit in &plan.edits {
        match &edit.op {
            EditOp::FillValue { .. } => {
                changed.filled.insert(edit.path.clone());
            }
            EditOp::ReplaceScalar { node, .. } => {
                changed.replaced.insert(tree.resolve(*node));
            }
            EditOp::RenameKey { key, name } => {
                changed.renamed.insert(*key, name.clone());
            }
            _ => {}
        }
    }
    changed
}

/// The leaves the plan adds, by path, as the output should hold them.
fn planned_additions(plan: &EditPlan, tree: &SyntaxTree) -> BTreeMap<String, Leaf<'static>> {
    let mut expected = BTreeMap::new();
    let mut appended: BTreeMap<&str, usize> = BTreeMap::new();
    // Entries added to one mapping by several rules merge, as the patcher
    // merges them.
    let mut added: BTreeMap<&str, Vec<(String, NewValue)>> = BTreeMap::new();
    for edit in &plan.edits {
        match &edit.op {
            EditOp::AddEntries { entries, .. } | EditOp::FillValue { entries, .. } => {
                let real: Vec<(String, NewValue)> =
                    entries.iter().filter(|(k, _)| k != "<<").cloned().collect();
                crate::patch::merge_entries(added.entry(&edit.path).or_default(), &real);
            }
            EditOp::AddSection { key, value } => {
                crate::patch::merge_entries(
                    added.entry(&edit.path).or_default(),
                    &[(key.clone(), value.clone())],
                );
            }
            _ => {}
        }
    }
    for (path, entries) in &added {
        for (key, value) in entries {
            let mut at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}/{key}")
            };
            flatten(&mut at, value, &mut expected);
        }
    }
    for edit in &plan.edits {
        if let EditOp::AppendItems { seq, items } = &edit.op {
            let next = appended
                .entry(edit.path.as_str())
                .or_insert_with(|| tree.items(*seq).len());
            for item in items {
                flatten(&mut format!("{}/{next}", edit.path), item, &mut expected);
                *next += 1;
            }
        }
    }
    expected
}

/// Keys added to a service whose mapping is an anchor reach the services
/// that merge it (`<<: *svc`), unless those set the key themselves.
fn inherit_through_anchors(
    tree: &SyntaxTree,
    model: &ComposeModel,
    expected: &mut BTreeMap<String, Leaf<'static>>,
) {
    let by_target = crate::mergers(tree, model);
    for source in &model.services {
        if tree.node(source.node).anchor.is_none() {
            continue;
        }
        let prefix = format!("services/{}/", source.name);
        let added: Vec<(String, Leaf<'static>)> = expected
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect();
        // Merged even when it overrides every key the anchor had.
        for user in crate::mergers_of(&by_target, tree, model, source) {
            let own = format!("services/{}/", user.name);
            let planned_own: HashSet<String> = expected
                .range(own.clone()..)
                .take_while(|(k, _)| k.starts_with(&own))
                .filter_map(|(k, _)| k[own.len()..].split('/').next().map(str::to_string))
                .collect();
            for (rest, value) in &added {
                let key = rest.split('/').next().unwrap_or(rest);
                let owned = user
                    .field(key)
                    .is_some_and(|f| f.origin == crate::model::Origin::Own);
                if owned || planned_own.contains(key) {
                    continue;
                }
                expected.insert(format!("{own}{rest}"), value.clone());
            }
        }
    }
}

/// A planned value's leaves, as the output should read them back: the
/// patcher quotes every `Str` that could read as anything but a string,
/// and writes `Raw` as it is. `path` is where the value goes; it is
/// restored on return.
fn flatten(path: &mut String, value: &NewValue, out: &mut BTreeMap<String, Leaf<'static>>) {
    let len = path.len();
    match value {
        NewValue::Str(s) => {
            let leaf = Leaf::Scalar {
                text: Cow::Owned(s.clone()),
                string: true,
                tag: None,
            };
            out.insert(path.clone(), leaf);
        }
        NewValue::Raw(raw) => {
            out.insert(path.clone(), Leaf::plain(raw));
        }
        NewValue::Seq(items) => {
            if items.is_empty() {
                out.insert(path.clone(), Leaf::EmptySeq);
            }
            for (i, item) in items.iter().enumerate() {
                let _ = write!(path, "/{i}");
                flatten(path, item, out);
                path.truncate(len);
            }
        }
        NewValue::Map(entries) => {
            if entries.is_empty() {
                out.insert(path.clone(), Leaf::EmptyMap);
            }
            for (key, item) in entries {
                path.push('/');
                path.push_str(key);
                flatten(path, item, out);
                path.truncate(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedEdit;

    const INPUT: &str = "services:\n  app:\n    image: app:1\n    environment:\n      TOKEN: abc\n    cap_add: [NET_ADMIN]\n    labels: {}\n";

    fn compare(plan: &[PlannedEdit], output: &str) -> Result<(), String> {
        compare_from(INPUT, plan, output)
    }

    fn compare_from(input: &str, plan: &[PlannedEdit], output: &str) -> Result<(), String> {
        let src = SourceFile::new("compose.yml", None, input.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        let model = ComposeModel::build(&src, &tree).unwrap();
        let out = SyntaxTree::parse(&SourceFile::new("compose.yml", None, output.into())).unwrap();
        let plan = EditPlan {
            edits: plan.to_vec(),
        };
        compare_values(&tree, &model, &plan, &out)
    }

    fn add_read_only() -> PlannedEdit {
        PlannedEdit {
            path: "services/app".into(),
            op: EditOp::AddEntries {
                map: 0,
                entries: vec![("read_only".into(), NewValue::Raw("true".into()))],
            },
        }
    }

    fn append_cap() -> PlannedEdit {
        // The edit names the sequence it appends to, as the rules do.
        let tree = SyntaxTree::parse(&SourceFile::new("compose.yml", None, INPUT.into())).unwrap();
        let services = tree.get(tree.root.unwrap(), "services").unwrap();
        let seq = tree
            .get(tree.get(services, "app").unwrap(), "cap_add")
            .unwrap();
        PlannedEdit {
            path: "services/app/cap_add".into(),
            op: EditOp::AppendItems {
                seq,
                items: vec![NewValue::str("CHOWN")],
            },
        }
    }

    #[test]
    fn the_unchanged_text_passes() {
        assert_eq!(compare(&[], INPUT), Ok(()));
    }

    #[test]
    fn planned_additions_pass() {
        let output = INPUT.replace("[NET_ADMIN]", "[NET_ADMIN, CHOWN]") + "    read_only: true\n";
        assert_eq!(compare(&[add_read_only(), append_cap()], &output), Ok(()));
    }

    #[test]
    fn a_lost_value_is_named() {
        let output = INPUT.replace("      TOKEN: abc\n", "      OTHER: abc\n");
        let err = compare(&[], &output).unwrap_err();
        assert_eq!(
            err,
            "value at services/app/environment/TOKEN changed or disappeared"
        );
    }

    #[test]
    fn a_changed_value_is_named() {
        let err = compare(&[], &INPUT.replace("app:1", "app:2")).unwrap_err();
        assert_eq!(err, "value at services/app/image changed or disappeared");
    }

    #[test]
    fn a_missing_planned_value_is_named() {
        let err = compare(&[add_read_only()], INPUT).unwrap_err();
        assert_eq!(
            err,
            "the planned value at services/app/read_only is not in the output"
        );
        let wrong = INPUT.to_string() + "    read_only: false\n";
        let err = compare(&[add_read_only()], &wrong).unwrap_err();
        assert_eq!(
            err,
            "the planned value at services/app/read_only is not in the output"
        );
    }

    #[test]
    fn an_unplanned_value_is_named() {
        let output = INPUT.to_string() + "    privileged: true\n";
        let err = compare(&[], &output).unwrap_err();
        assert_eq!(
            err,
            "the output has a value at services/app/privileged that no edit planned"
        );
        // An item appended where the plan appended none.
        let output = INPUT.replace("[NET_ADMIN]", "[NET_ADMIN, SYS_ADMIN]");
        let err = compare(&[], &output).unwrap_err();
        assert_eq!(
            err,
            "the output has a value at services/app/cap_add/1 that no edit planned"
        );
    }

    #[test]
    fn an_empty_mapping_that_gains_entries_is_kept() {
        let output = INPUT.replace("labels: {}", "labels: {a: b}");
        // Not lost; the new entry itself still needs a plan.
        let err = compare(&[], &output).unwrap_err();
        assert_eq!(
            err,
            "the output has a value at services/app/labels/a that no edit planned"
        );
    }

    #[test]
    fn a_scalar_that_changes_type_is_a_change() {
        let input = "services:\n  app:\n    image: app:1\n    labels:\n      tier: \"1\"\n";
        let err = compare_from(input, &[], &input.replace("\"1\"", "1")).unwrap_err();
        assert_eq!(
            err,
            "value at services/app/labels/tier changed or disappeared"
        );
        // Another quoting style of the same string is the same value.
        assert_eq!(
            compare_from(input, &[], &input.replace("\"1\"", "'1'")),
            Ok(())
        );
    }

    #[test]
    fn merged_and_aliased_values_are_compared_where_they_are_used() {
        let input = "x-base: &base\n  restart: always\nx-env: &env\n  TZ: UTC\nservices:\n  app:\n    <<: *base\n    image: app:1\n    environment: *env\n";
        assert_eq!(compare_from(input, &[], input), Ok(()));
        // The anchor loses a key: every service merging it loses it too.
        let output = input.replace("  restart: always\n", "  restart: \"no\"\n");
        let err = compare_from(input, &[], &output).unwrap_err();
        assert_eq!(err, "value at x-base/restart changed or disappeared");
        let output = input.replace("<<: *base", "restart: always");
        assert_eq!(
            compare_from(input, &[], &output),
            Ok(()),
            "same values, merged or not"
        );
        let output = input.replace("TZ: UTC", "TZ: CET");
        let err = compare_from(input, &[], &output).unwrap_err();
        assert_eq!(err, "value at x-env/TZ changed or disappeared");
        let output = input.replace("environment: *env", "environment: {TZ: CET}");
        let err = compare_from(input, &[], &output).unwrap_err();
        assert_eq!(
            err,
            "value at services/app/environment/TZ changed or disappeared"
        );
    }

    /// The key node of `name` under the environment of `service`.
    fn env_key(input: &str, service: &str, name: &str) -> NodeId {
        let src = SourceFile::new("compose.yml", None, input.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        let root = tree.root.unwrap();
        let services = tree.get(root, "services").unwrap();
        let env = tree
            .get(tree.get(services, service).unwrap(), "environment")
            .unwrap();
        tree.get_entry(env, name).unwrap().key
    }

    fn rename(path: &str, key: NodeId, name: &str) -> PlannedEdit {
        PlannedEdit {
            path: path.into(),
            op: EditOp::RenameKey {
                key,
                name: name.into(),
            },
        }
    }

    #[test]
    fn a_rename_excuses_only_the_key_it_renames() {
        let input = "services:\n  a:\n    image: x:1\n    environment:\n      TOKEN: t\n  b:\n    image: x:1\n    environment:\n      TOKEN: t\n";
        let edit = rename(
            "services/a/environment/TOKEN",
            env_key(input, "a", "TOKEN"),
            "TOKEN_FILE",
        );
        let one = input.replacen("TOKEN: t", "TOKEN_FILE: t", 1);
        assert_eq!(
            compare_from(input, std::slice::from_ref(&edit), &one),
            Ok(())
        );
        // The same name in another service is not the planned rename.
        let both = input.replace("TOKEN: t", "TOKEN_FILE: t");
        let err = compare_from(input, &[edit], &both).unwrap_err();
        assert_eq!(
            err,
            "value at services/b/environment/TOKEN changed or disappeared"
        );
    }

    #[test]
    fn a_renamed_key_used_elsewhere_through_an_alias_is_a_change_there() {
        let input = "services:\n  db:\n    image: x:1\n    environment:\n      &k PASSWORD: p\n  app:\n    image: y:1\n    labels:\n      name: *k\n";
        let edit = rename(
            "services/db/environment/PASSWORD",
            env_key(input, "db", "PASSWORD"),
            "PASSWORD_FILE",
        );
        let output = input.replace("&k PASSWORD: p", "&k PASSWORD_FILE: p");
        let err = compare_from(input, &[edit], &output).unwrap_err();
        assert_eq!(
            err,
            "value at services/app/labels/name changed or disappeared"
        );
    }

    #[test]
    fn a_tag_on_a_collection_is_part_of_its_value() {
        let input = "services:\n  app:\n    image: x:1\n    networks: !reset [a]\n";
        let err = compare_from(input, &[], &input.replace("!reset ", "")).unwrap_err();
        assert_eq!(err, "value at services/app/networks changed or disappeared");
    }
}
