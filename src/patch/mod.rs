//! Turns an edit plan into new text: every edit is computed against the
//! original bytes, and bytes outside edit ranges are copied as they are.

pub mod render;

use indexmap::IndexMap;

use crate::plan::{EditOp, EditPlan, NewValue};
use crate::source::SourceFile;
use crate::syntax::{NodeId, NodeKind, SyntaxTree};
use render::Style;

/// A replacement of `start..end` by `text` in the original bytes.
#[derive(Debug, Clone)]
struct TextEdit {
    start: usize,
    end: usize,
    text: String,
    /// Indentation of inserted block lines; at one offset the deeper lines
    /// go first, so a nested mapping's new keys stay inside it.
    depth: usize,
}

impl TextEdit {
    fn replace(start: usize, end: usize, text: String) -> TextEdit {
        TextEdit {
            start,
            end,
            text,
            depth: usize::MAX,
        }
    }
}

pub struct Patcher<'a> {
    src: &'a SourceFile,
    tree: &'a SyntaxTree,
    style: Style<'a>,
    /// Outermost flow collections as sorted, disjoint byte ranges.
    flow_ranges: Vec<(usize, usize)>,
}

impl<'a> Patcher<'a> {
    pub fn new(src: &'a SourceFile, tree: &'a SyntaxTree) -> Patcher<'a> {
        let style = Style {
            eol: src.eol.as_str(),
            unit: src.indent_unit,
            seq_indented: src.seq_indented,
        };
        let mut ranges: Vec<(usize, usize)> = tree
            .nodes
            .iter()
            .filter(|n| n.flow)
            .map(|n| (n.start, n.end))
            .collect();
        ranges.sort_unstable();
        let mut flow_ranges: Vec<(usize, usize)> = Vec::new();
        for (start, end) in ranges {
            match flow_ranges.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => flow_ranges.push((start, end)),
            }
        }
        Patcher {
            src,
            tree,
            style,
            flow_ranges,
        }
    }

    /// The patched text (without BOM framing), or why the plan cannot apply.
    pub fn apply(&self, plan: &EditPlan) -> Result<String, String> {
        let mut edits = Vec::new();
        for op in coalesce(plan) {
            self.text_edits(&op, &mut edits)?;
        }
        // Stable: edits at the same offset keep plan order.
        edits.sort_by_key(|e| (e.start, std::cmp::Reverse(e.depth), e.end));
        let text = &self.src.text;
        let mut out =
            String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
        let mut cursor = 0;
        for edit in &edits {
            if edit.start < cursor {
                return Err(format!("overlapping edits at byte {}", edit.start));
            }
            out.push_str(&text[cursor..edit.start]);
            out.push_str(&edit.text);
            cursor = edit.end;
        }
        out.push_str(&text[cursor..]);
        Ok(out)
    }

    fn text_edits(&self, op: &EditOp, edits: &mut Vec<TextEdit>) -> Result<(), String> {
        let tree = self.tree;
        match op {
            EditOp::AddEntries { map, entries } => {
                let node = tree.node(*map);
                if !matches!(node.kind, NodeKind::Mapping { .. }) {
                    return Err(format!(
                        "edit target at byte {} is not a mapping",
                        node.start
                    ));
                }
                if node.flow {
                    edits.push(self.flow_insert(*map, &flow_entries(entries)));
                } else {
                    let indent = self.column(node.start);
                    let mut body = String::new();
                    render::block_entries(&mut body, entries, indent, self.style);
                    edits.push(self.block_insert(node.end, indent, body));
                }
            }
            EditOp::AppendItems { seq, items } => {
                let node = tree.node(*seq);
                if !matches!(node.kind, NodeKind::Sequence { .. }) {
                    return Err(format!(
                        "edit target at byte {} is not a sequence",
                        node.start
                    ));
                }
                if node.flow {
                    let parts: Vec<String> = items.iter().map(render::flow).collect();
                    edits.push(self.flow_insert(*seq, &parts));
                } else {
                    let dash = self.dash_column(node.start);
                    let mut body = String::new();
                    render::block_items(&mut body, items, dash, self.style);
                    // Items of a list flush with its key (`key:\n- a`) sit
                    // at the key's column but belong inside it: they go
                    // before new keys inserted at the same place.
                    let mut edit = self.block_insert(node.end, dash, body);
                    edit.depth = dash + 1;
                    edits.push(edit);
                }
            }
            EditOp::FillValue { value, entries } => self.fill_value(*value, entries, edits)?,
            EditOp::AddSection { key, value } => {
                let Some(root) = tree.root else {
                    return Err("no root mapping".into());
                };
                let root_node = tree.node(root);
                let entries = vec![(key.clone(), value.clone())];
                if root_node.flow {
                    edits.push(self.flow_insert(root, &flow_entries(&entries)));
                    return Ok(());
                }
                let indent = self.column(root_node.start);
                let at =
                    self.after_trailing_comments(line_end_after(&self.src.text, root_node.end));
                let mut body = String::new();
                let eol = self.style.eol;
                let text = &self.src.text;
                if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
                    body.push_str(eol);
                }
                if !preceded_by_blank_line(text, at) {
                    body.push_str(eol);
                }
                render::block_entries(&mut body, &entries, indent, self.style);
                let mut edit = self.finish_at(at, body);
                edit.depth = indent;
                edits.push(edit);
            }
            EditOp::ReplaceScalar { node, value } => {
                let n = tree.node(*node);
                let flow = self.in_flow_context(n.start);
                let text = match (&n.kind, value) {
                    (NodeKind::Scalar { style, .. }, NewValue::Str(s)) => {
                        render_like(*style, s, flow)
                    }
                    (_, NewValue::Str(s)) if !flow => render::quote_for_block(s),
                    _ => render::scalar(value),
                };
                if n.start == n.end {
                    // An empty value (`key:`) has no text of its own; the
                    // parser places it before the colon, the value goes after.
                    let colon = self.src.text[n.start..]
                        .find(':')
                        .map_or(n.start, |i| n.start + i + 1);
                    edits.push(TextEdit::replace(colon, colon, format!(" {text}")));
                } else {
                    edits.push(TextEdit::replace(n.start, n.end, text));
                }
            }
            EditOp::RenameKey { key, name } => {
                let n = tree.node(*key);
                let text = match &n.kind {
                    NodeKind::Scalar { style, .. } => {
                        render_like(*style, name, self.in_flow_context(n.start))
                    }
                    _ => render::quote_if_needed(name),
                };
                edits.push(TextEdit::replace(n.start, n.end, text));
            }
        }
        Ok(())
    }

    /// Insert `, a, b` (or `a, b` when empty) before a flow collection's closer.
    fn flow_insert(&self, id: NodeId, parts: &[String]) -> TextEdit {
        let node = self.tree.node(id);
        let last_child = match &node.kind {
            NodeKind::Mapping { entries } => entries.last().map(|e| {
                let (key, value) = (self.tree.node(e.key), self.tree.node(e.value));
                if value.start != value.end {
                    return value.end;
                }
                // An empty value (`{a: }` or `{a}`) sits before its colon.
                let after_key = &self.src.text[key.end..];
                let gap = after_key.len() - after_key.trim_start().len();
                if after_key.trim_start().starts_with(':') {
                    key.end + gap + 1
                } else {
                    key.end
                }
            }),
            NodeKind::Sequence { items } => items.last().map(|&i| self.tree.node(i).end),
            _ => None,
        };
        let joined = parts.join(", ");
        match last_child {
            // New entries go after anything else written at the same spot
            // (the value of an empty last key).
            Some(end) => TextEdit {
                depth: 0,
                ..TextEdit::replace(end, end, format!(", {joined}"))
            },
            None => {
                let close = node.end.saturating_sub(1);
                TextEdit::replace(close, close, joined)
            }
        }
    }

    /// Insert block lines after the line holding `content_end`, past any
    /// comment lines that belong to the same block (indented at least `indent`).
    fn block_insert(&self, content_end: usize, indent: usize, body: String) -> TextEdit {
        let text = &self.src.text;
        let mut at = line_end_after(text, content_end);
        loop {
            let line_end = line_end_after(text, at);
            let line = &text[at..line_end];
            let trimmed = line.trim_start_matches(' ');
            let depth = line.len() - trimmed.len();
            if at < text.len() && trimmed.starts_with('#') && depth >= indent {
                at = line_end;
            } else {
                break;
            }
        }
        let mut edit = self.finish_at(at, body);
        edit.depth = indent;
        edit
    }

    /// An insertion of whole lines at `at`; at the end of a file without a
    /// final newline, the lines go after a new line break and the file
    /// still ends without one.
    fn finish_at(&self, at: usize, mut body: String) -> TextEdit {
        let text = &self.src.text;
        if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
            if !body.starts_with(self.style.eol) {
                body.insert_str(0, self.style.eol);
            }
            if let Some(stripped) = body.strip_suffix(self.style.eol) {
                body = stripped.to_string();
            }
        }
        TextEdit::replace(at, at, body)
    }

    /// After the last top-level content, past trailing comments and blank
    /// lines, but before a `...` document end marker.
    fn after_trailing_comments(&self, mut at: usize) -> usize {
        let text = &self.src.text;
        let mut best = at;
        while at < text.len() {
            let line_end = line_end_after(text, at);
            let trimmed = text[at..line_end].trim();
            if trimmed.starts_with('#') {
                at = line_end;
                best = at;
            } else if trimmed.is_empty() {
                at = line_end;
            } else {
                break;
            }
        }
        best
    }

    fn fill_value(
        &self,
        value: NodeId,
        entries: &[(String, NewValue)],
        edits: &mut Vec<TextEdit>,
    ) -> Result<(), String> {
        let tree = self.tree;
        let node = tree.node(value);
        let mut all = Vec::new();
        let alias_text = match &node.kind {
            // An alias to a mapping is kept as a merge; an alias to a null
            // has nothing to merge (and `<<: *null` is not valid YAML).
            NodeKind::Alias { target } if tree.is_mapping(*target) => {
                Some(self.src.text[node.start..node.end].to_string())
            }
            NodeKind::Alias { .. } => None,
            _ if node.is_null() => None,
            _ => {
                return Err(format!(
                    "value at byte {} is neither null nor an alias",
                    node.start
                ));
            }
        };
        if let Some(alias) = &alias_text {
            all.push(("<<".to_string(), NewValue::Raw(alias.clone())));
        }
        all.extend(entries.iter().cloned());

        if self.in_flow_context(node.start) {
            let rendered = render::flow(&NewValue::Map(all));
            if node.start != node.end {
                edits.push(TextEdit::replace(node.start, node.end, rendered));
                return Ok(());
            }
            // An empty value goes right after its key and colon (`{a: }`),
            // or gets a colon when it has none (`{a}`).
            let key_end = self
                .key_of(value)
                .map_or(node.start, |k| self.tree.node(k).end);
            let after = &self.src.text[key_end..];
            let gap = after.len() - after.trim_start().len();
            if after.trim_start().starts_with(':') {
                let at = key_end + gap + 1;
                edits.push(TextEdit::replace(at, at, format!(" {rendered}")));
            } else {
                edits.push(TextEdit::replace(key_end, key_end, format!(": {rendered}")));
            }
            return Ok(());
        }
        // Block: the key sits at the start of the line that holds the value.
        let line_start = self.src.text[..node.start].rfind('\n').map_or(0, |i| i + 1);
        let key_indent = self.src.text[line_start..].len()
            - self.src.text[line_start..]
                .trim_start_matches([' ', '-'])
                .len();
        let indent = key_indent + self.style.unit;
        if node.start != node.end {
            // Drop the spaces between `key:` and the removed value too.
            let before = self.src.text[..node.start].trim_end_matches(' ');
            let start = if before.ends_with(':') {
                before.len()
            } else {
                node.start
            };
            edits.push(TextEdit::replace(
                start.min(node.start),
                node.end,
                String::new(),
            ));
        }
        let at = line_end_after(&self.src.text, node.end.max(node.start));
        let mut body = String::new();
        render::block_entries(&mut body, &all, indent, self.style);
        let mut edit = self.finish_at(at, body);
        edit.depth = indent;
        edits.push(edit);
        Ok(())
    }

    /// The key whose value is `value`, if it is a mapping value.
    fn key_of(&self, value: NodeId) -> Option<NodeId> {
        self.tree.nodes.iter().find_map(|n| match &n.kind {
            NodeKind::Mapping { entries } => {
                entries.iter().find(|e| e.value == value).map(|e| e.key)
            }
            _ => None,
        })
    }

    /// Whether `offset` lies inside a `{...}` or `[...]` collection.
    fn in_flow_context(&self, offset: usize) -> bool {
        let after = self
            .flow_ranges
            .partition_point(|&(start, _)| start < offset);
        after
            .checked_sub(1)
            .and_then(|i| self.flow_ranges.get(i))
            .is_some_and(|&(_, end)| offset < end)
    }

    /// Column (in bytes, which for indentation are spaces) of an offset.
    fn column(&self, offset: usize) -> usize {
        let text = &self.src.text;
        offset - text[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    /// Column of the `-` that introduces the block sequence item at `item`.
    fn dash_column(&self, item: usize) -> usize {
        let text = &self.src.text;
        let before = text[..item].trim_end_matches([' ', '\t', '\r', '\n']);
        match before.strip_suffix('-') {
            Some(rest) => self.column(rest.len()),
            None => self.column(item),
        }
    }
}

/// Byte offset just past the line break that ends the line holding `pos`.
fn line_end_after(text: &str, pos: usize) -> usize {
    match text[pos.min(text.len())..].find('\n') {
        Some(i) => pos + i + 1,
        None => text.len(),
    }
}

fn preceded_by_blank_line(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t']);
    before.is_empty() || before.ends_with("\n\n") || before.ends_with("\r\n\r\n")
}

fn flow_entries(entries: &[(String, NewValue)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, v)| render::flow_entry(k, v))
        .collect()
}

/// A new string in the quoting style of the scalar it replaces, when that
/// style can hold it.
fn render_like(style: granit_parser::ScalarStyle, s: &str, flow: bool) -> String {
    use granit_parser::ScalarStyle::*;
    match style {
        DoubleQuoted => render::double_quoted(s),
        SingleQuoted if !s.contains('\n') => format!("'{}'", s.replace('\'', "''")),
        _ if flow => render::quote_if_needed(s),
        _ => render::quote_for_block(s),
    }
}

/// Merges edits that target the same node, so each node gets one insertion.
fn coalesce(plan: &EditPlan) -> Vec<EditOp> {
    let mut adds: IndexMap<NodeId, Vec<(String, NewValue)>> = IndexMap::new();
    let mut fills: IndexMap<NodeId, Vec<(String, NewValue)>> = IndexMap::new();
    let mut appends: IndexMap<NodeId, Vec<NewValue>> = IndexMap::new();
    let mut sections: Vec<(String, NewValue)> = Vec::new();
    let mut rest = Vec::new();
    for edit in &plan.edits {
        match &edit.op {
            EditOp::AddEntries { map, entries } => {
                merge_entries(adds.entry(*map).or_default(), entries)
            }
            EditOp::FillValue { value, entries } => {
                merge_entries(fills.entry(*value).or_default(), entries)
            }
            EditOp::AppendItems { seq, items } => {
                let list = appends.entry(*seq).or_default();
                for item in items {
                    if !list.contains(item) {
                        list.push(item.clone());
                    }
                }
            }
            EditOp::AddSection { key, value } => {
                merge_entries(&mut sections, &[(key.clone(), value.clone())])
            }
            other => {
                if !rest.contains(other) {
                    rest.push(other.clone());
                }
            }
        }
    }
    let mut ops: Vec<EditOp> = Vec::new();
    ops.extend(
        adds.into_iter()
            .map(|(map, entries)| EditOp::AddEntries { map, entries }),
    );
    ops.extend(
        fills
            .into_iter()
            .map(|(value, entries)| EditOp::FillValue { value, entries }),
    );
    ops.extend(
        appends
            .into_iter()
            .map(|(seq, items)| EditOp::AppendItems { seq, items }),
    );
    ops.extend(
        sections
            .into_iter()
            .map(|(key, value)| EditOp::AddSection { key, value }),
    );
    ops.extend(rest);
    ops
}

/// Adds entries, merging into an existing key with the same name: lists
/// concatenate, mappings merge.
pub fn merge_entries(into: &mut Vec<(String, NewValue)>, entries: &[(String, NewValue)]) {
    for (key, value) in entries {
        match into.iter_mut().find(|(k, _)| k == key) {
            Some((_, NewValue::Seq(items))) => {
                if let NewValue::Seq(more) = value {
                    for item in more {
                        if !items.contains(item) {
                            items.push(item.clone());
                        }
                    }
                }
            }
            Some((_, NewValue::Map(existing))) => {
                if let NewValue::Map(more) = value {
                    merge_entries(existing, more);
                }
            }
            Some(_) => {}
            None => into.push((key.clone(), value.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedEdit;

    /// Fills every service's value with `read_only: true`, as the rules
    /// once did for null, empty and alias services.
    fn fill_services(text: &str) -> String {
        let src = SourceFile::new("t.yml", None, text.to_string());
        let tree = SyntaxTree::parse(&src).expect("parse");
        let root = tree.root.expect("root");
        let services = tree.get(root, "services").expect("services");
        let edits = tree
            .entries(services)
            .iter()
            .map(|e| {
                let op = if tree.is_mapping(e.value)
                    && !matches!(tree.node(e.value).kind, NodeKind::Alias { .. })
                {
                    EditOp::AddEntries {
                        map: e.value,
                        entries: vec![("read_only".into(), NewValue::Raw("true".into()))],
                    }
                } else {
                    EditOp::FillValue {
                        value: e.value,
                        entries: vec![("read_only".into(), NewValue::Raw("true".into()))],
                    }
                };
                PlannedEdit {
                    path: String::new(),
                    op,
                }
            })
            .collect();
        Patcher::new(&src, &tree)
            .apply(&EditPlan { edits })
            .expect("patch")
    }

    #[test]
    fn fills_null_empty_and_alias_values() {
        let text = "x-app: &app\n  image: a\nservices:\n  bare:\n  tilde: ~ # later\n  copy: *app\n  empty: {}\n";
        assert_eq!(
            fill_services(text),
            "x-app: &app\n  image: a\nservices:\n  bare:\n    read_only: true\n  tilde: # later\n    read_only: true\n  copy:\n    <<: *app\n    read_only: true\n  empty: {read_only: true}\n"
        );
    }
}
