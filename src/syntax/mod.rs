//! A lossless index of the YAML text: every node with its byte span and
//! style, built from the same event parser that serde-saphyr uses.
#![allow(
    clippy::indexing_slicing,
    reason = "NodeIds index the tree's own arena: the tree makes them, input never does"
)]

use std::collections::HashMap;

use granit_parser::{Event, Options, Parser, ScalarStyle, StructureStyle};

use crate::error::{InputError, redact};
use crate::source::SourceFile;

pub type NodeId = usize;

#[derive(Debug, Clone)]
pub enum NodeKind {
    // Boxed text and slices: a tree holds one node per scalar and
    // collection, so each word counts.
    Scalar {
        value: Box<str>,
        style: ScalarStyle,
    },
    Mapping {
        entries: Box<[Entry]>,
    },
    Sequence {
        items: Box<[NodeId]>,
    },
    /// `*name`; `target` is the anchored node it refers to.
    Alias {
        target: NodeId,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub key: NodeId,
    pub value: NodeId,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    /// Byte offset where the node's own text starts (first key or item for
    /// block collections, the bracket for flow ones).
    pub start: usize,
    /// Byte offset just past the node's last content byte; for block
    /// collections, the end of the last child, never trailing blank lines.
    pub end: usize,
    pub flow: bool,
    pub anchor: Option<Box<str>>,
    /// Whether the node carries an explicit tag such as `!reset`.
    pub tagged: bool,
    /// The tag, resolved: `!reset`, `tag:yaml.org,2002:map` for `!!map`.
    pub tag: Option<Box<str>>,
}

impl Node {
    /// Whether the node has a tag of the YAML core schema (`!!map`,
    /// `!!str`, `!!merge`), which names what it already is.
    pub fn core_tag(&self) -> bool {
        self.tag
            .as_deref()
            .is_some_and(|t| t.starts_with("tag:yaml.org,2002:"))
    }

    /// Whether the node carries Compose's `!reset` tag.
    pub fn is_reset(&self) -> bool {
        self.tag.as_deref() == Some("!reset")
    }

    pub fn is_null(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar { value, style } => {
                *style == ScalarStyle::Plain
                    && (self.start == self.end
                        || matches!(&**value, "~" | "null" | "Null" | "NULL"))
            }
            _ => false,
        }
    }
}

/// All nodes of the single document in the file, root first.
#[derive(Debug, Clone)]
pub struct SyntaxTree {
    pub nodes: Vec<Node>,
    pub root: Option<NodeId>,
}

enum Frame {
    Mapping {
        id: NodeId,
        pending_key: Option<NodeId>,
        entries: Vec<Entry>,
    },
    Sequence {
        id: NodeId,
        items: Vec<NodeId>,
    },
}

impl SyntaxTree {
    pub fn parse(src: &SourceFile) -> Result<SyntaxTree, InputError> {
        let text = src.text.as_str();
        let mut options = Options::default();
        options.emit_anchor_events = true;
        options.set_emit_comments(false);
        let mut parser = Parser::new_from_str_with_options(text, options);

        let mut tree = SyntaxTree {
            nodes: Vec::new(),
            root: None,
        };
        let mut stack: Vec<Frame> = Vec::new();
        let mut anchors: HashMap<usize, NodeId> = HashMap::new();
        let mut documents = 0usize;
        let mut last_node: Option<NodeId> = None;

        while let Some(result) = parser.next_event() {
            let (event, span) = result.map_err(|err| {
                let marker = err.marker();
                let offset = marker.byte_offset().unwrap_or(0);
                let (line, col) = src.line_col(offset);
                InputError::syntax(src, line, col, err.info())
            })?;
            let range = span.byte_range().unwrap_or(0..0);
            let tagged = span.tag_start.is_some();

            let new_node = match event {
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents > 1 {
                        let (line, col) = src.line_col(range.start);
                        return Err(InputError::syntax(
                            src,
                            line,
                            col,
                            "a second YAML document starts here; harden reads one Compose document per file"
                                .into(),
                        ));
                    }
                    None
                }
                Event::Anchor(id, name) => {
                    if let Some(node) = last_node {
                        tree.nodes[node].anchor = Some(name.into());
                        anchors.insert(id, node);
                    }
                    None
                }
                Event::Alias(id) => {
                    let Some(&target) = anchors.get(&id) else {
                        let (line, col) = src.line_col(range.start);
                        return Err(InputError::syntax(
                            src,
                            line,
                            col,
                            "alias to an unknown anchor".into(),
                        ));
                    };
                    Some(tree.push(Node {
                        kind: NodeKind::Alias { target },
                        start: range.start,
                        end: range.end,
                        flow: false,
                        anchor: None,
                        tagged: false,
                        tag: None,
                    }))
                }
                Event::Scalar(value, style, _, ref tag) => {
                    let tag = tag
                        .as_ref()
                        .map(|t| format!("{}{}", t.handle(), t.suffix()).into_boxed_str());
                    let end = scalar_end(text, range.start, range.end, style);
                    Some(tree.push(Node {
                        kind: NodeKind::Scalar {
                            value: value.into(),
                            style,
                        },
                        start: range.start,
                        end,
                        flow: false,
                        anchor: None,
                        tagged,
                        tag,
                    }))
                }
                Event::MappingStart(style, _, ref tag)
                | Event::SequenceStart(style, _, ref tag) => {
                    let tag = tag
                        .as_ref()
                        .map(|t| format!("{}{}", t.handle(), t.suffix()).into_boxed_str());
                    let is_map = matches!(event, Event::MappingStart(..));
                    let id = tree.push(Node {
                        kind: if is_map {
                            NodeKind::Mapping {
                                entries: Box::default(),
                            }
                        } else {
                            NodeKind::Sequence {
                                items: Box::default(),
                            }
                        },
                        start: range.start,
                        end: range.end,
                        flow: style == StructureStyle::Flow,
                        anchor: None,
                        tagged,
                        tag,
                    });
                    last_node = Some(id);
                    stack.push(if is_map {
                        Frame::Mapping {
                            id,
                            pending_key: None,
                            entries: Vec::new(),
                        }
                    } else {
                        Frame::Sequence {
                            id,
                            items: Vec::new(),
                        }
                    });
                    continue;
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let Some(frame) = stack.pop() else { continue };
                    let owner = match stack.last() {
                        Some(Frame::Mapping {
                            pending_key: Some(key),
                            ..
                        }) => tree.scalar(*key).map(str::to_string),
                        _ => None,
                    };
                    let id = match frame {
                        Frame::Mapping { id, entries, .. } => {
                            check_duplicate_keys(&tree, src, &entries, owner.as_deref())?;
                            tree.nodes[id].kind = NodeKind::Mapping {
                                entries: entries.into_boxed_slice(),
                            };
                            id
                        }
                        Frame::Sequence { id, items } => {
                            tree.nodes[id].kind = NodeKind::Sequence {
                                items: items.into_boxed_slice(),
                            };
                            id
                        }
                    };
                    let node = &tree.nodes[id];
                    let end = if node.flow {
                        range.end
                    } else {
                        tree.last_child(id)
                            .map_or(node.start, |child| tree.nodes[child].end)
                    };
                    tree.nodes[id].end = end;
                    Some(id)
                }
                _ => None,
            };

            let Some(id) = new_node else { continue };
            last_node = Some(id);
            match stack.last_mut() {
                Some(Frame::Mapping {
                    pending_key,
                    entries,
                    ..
                }) => match pending_key.take() {
                    Some(key) => entries.push(Entry { key, value: id }),
                    None => {
                        if !matches!(tree.nodes[id].kind, NodeKind::Scalar { .. }) {
                            let (line, col) = src.line_col(tree.nodes[id].start);
                            return Err(InputError::syntax(
                                src,
                                line,
                                col,
                                if matches!(tree.nodes[id].kind, NodeKind::Alias { .. }) {
                                    "an alias (*name) as a mapping key is not supported; write the key out".into()
                                } else {
                                    "complex mapping keys are not supported in Compose files".into()
                                },
                            ));
                        }
                        *pending_key = Some(id);
                    }
                },
                Some(Frame::Sequence { items, .. }) => items.push(id),
                None => tree.root = Some(id),
            }
        }

        Ok(tree)
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn last_child(&self, id: NodeId) -> Option<NodeId> {
        match &self.nodes[id].kind {
            NodeKind::Mapping { entries } => entries.last().map(|e| e.value),
            NodeKind::Sequence { items } => items.last().copied(),
            _ => None,
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Follows aliases to the node that holds the content.
    pub fn resolve(&self, mut id: NodeId) -> NodeId {
        // Aliases can only point backwards, so this always terminates.
        while let NodeKind::Alias { target } = self.nodes[id].kind {
            id = target;
        }
        id
    }

    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[self.resolve(id)].kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn entries(&self, id: NodeId) -> &[Entry] {
        match &self.nodes[self.resolve(id)].kind {
            NodeKind::Mapping { entries } => entries,
            _ => &[],
        }
    }

    pub fn items(&self, id: NodeId) -> &[NodeId] {
        match &self.nodes[self.resolve(id)].kind {
            NodeKind::Sequence { items } => items,
            _ => &[],
        }
    }

    pub fn is_mapping(&self, id: NodeId) -> bool {
        matches!(self.nodes[self.resolve(id)].kind, NodeKind::Mapping { .. })
    }

    pub fn is_sequence(&self, id: NodeId) -> bool {
        matches!(self.nodes[self.resolve(id)].kind, NodeKind::Sequence { .. })
    }

    /// The value of `key` written directly in mapping `map` (no merges).
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.get_entry(map, key).map(|e| e.value)
    }

    pub fn get_entry(&self, map: NodeId, key: &str) -> Option<Entry> {
        self.entries(map)
            .iter()
            .find(|e| self.scalar(e.key) == Some(key))
            .copied()
    }
}

/// Where a scalar's content ends. Block scalars span up to the next token;
/// their content ends at the last line they own (all kept blank lines
/// for `|+`, the last non-blank line otherwise).
fn scalar_end(text: &str, start: usize, end: usize, style: ScalarStyle) -> usize {
    if !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
        return end;
    }
    let raw = &text[start..end];
    if raw.trim().is_empty() {
        // No content at all: the scalar ends with its header line.
        let header = text[..start].rfind(['|', '>']).unwrap_or(start);
        return text[header..]
            .find(['\r', '\n'])
            .map_or(text.len(), |i| header + i)
            .min(end.max(header));
    }
    if block_header_keeps(text, start) {
        let kept = raw.trim_end_matches([' ', '\t']);
        let without_last_break = kept
            .strip_suffix('\n')
            .map(|s| s.strip_suffix('\r').unwrap_or(s))
            .unwrap_or(kept);
        start + without_last_break.len()
    } else {
        start + raw.trim_end().len()
    }
}

/// Whether the block scalar whose content starts at `start` uses `+`.
fn block_header_keeps(text: &str, start: usize) -> bool {
    let before = &text[..start];
    let header = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    let header = header.split(" #").next().unwrap_or(header);
    header
        .rfind(['|', '>'])
        .is_some_and(|i| header[i..].contains('+'))
}

/// Rejects a mapping that repeats keys, naming every repeated key and the
/// lines of each occurrence, as Compose would refuse the file.
fn check_duplicate_keys(
    tree: &SyntaxTree,
    src: &SourceFile,
    entries: &[Entry],
    owner: Option<&str>,
) -> Result<(), InputError> {
    let mut seen: HashMap<&str, Vec<NodeId>> = HashMap::with_capacity(entries.len());
    let mut repeated: Vec<&str> = Vec::new();
    for entry in entries {
        let Some(key) = tree.scalar(entry.key) else {
            continue;
        };
        let occurrences = seen.entry(key).or_default();
        occurrences.push(entry.key);
        if occurrences.len() == 2 {
            repeated.push(key);
        }
    }
    let Some(first) = repeated.first() else {
        return Ok(());
    };

    let describe = |key: &str| {
        let lines: Vec<String> = seen[key]
            .iter()
            .map(|&k| src.line_col(tree.nodes[k].start).0.to_string())
            .collect();
        // A key may hold a credential: `{DB_PASSWORD=x, DB_PASSWORD=x}`.
        format!("`{}` (lines {})", redact(key), lines.join(" and "))
    };
    let keys: Vec<String> = repeated.iter().map(|k| describe(k)).collect();
    let place = owner
        .map(|o| format!(" in `{}`", redact(o)))
        .unwrap_or_default();
    let second = seen[first][1];
    let (line, col) = src.line_col(tree.nodes[second].start);
    Err(InputError::syntax(
        src,
        line,
        col,
        format!(
            "duplicate keys{place}: {}; Compose rejects duplicate keys, so harden will not guess which one counts",
            keys.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> (SourceFile, SyntaxTree) {
        let src = SourceFile::new("t.yml", None, text.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        (src, tree)
    }

    #[test]
    fn block_mapping_ends_at_last_value() {
        let (src, t) = tree("a:\n  b: 1\n  c: [x]\n\nd: 2\n");
        let a = t.get(t.root.unwrap(), "a").unwrap();
        assert_eq!(&src.text[t.node(a).start..t.node(a).end], "b: 1\n  c: [x]");
    }

    #[test]
    fn keep_chomping_owns_trailing_blank_lines() {
        let (src, t) = tree("a:\n  cmd: |+\n    hi\n\n  b: 1\n");
        let a = t.get(t.root.unwrap(), "a").unwrap();
        let cmd = t.get(a, "cmd").unwrap();
        assert_eq!(&src.text[t.node(cmd).start..t.node(cmd).end], "hi\n");
        let (src, t) = tree("a:\n  cmd: |\n    hi\n\n  b: 1\n");
        let a = t.get(t.root.unwrap(), "a").unwrap();
        let cmd = t.get(a, "cmd").unwrap();
        assert_eq!(&src.text[t.node(cmd).start..t.node(cmd).end], "hi");
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let src = SourceFile::new("t.yml", None, "a:\n  x: 1\n  y: 2\n  x: 3\n".into());
        let err = SyntaxTree::parse(&src).unwrap_err().to_string();
        assert!(err.contains("t.yml:4:3"), "{err}");
        assert!(err.contains("lines 2 and 4"), "{err}");
    }

    #[test]
    fn duplicate_keys_hide_credentials() {
        let text = "services:\n  db:\n    environment: {DB_PASSWORD=s3cret, DB_PASSWORD=s3cret}\n";
        let src = SourceFile::new("t.yml", None, text.into());
        let err = SyntaxTree::parse(&src).unwrap_err().to_string();
        assert!(
            err.contains("`DB_PASSWORD=<redacted>` (lines 3 and 3)"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn anchors_and_aliases_resolve() {
        let (_, t) = tree("x: &base\n  k: v\ny: *base\n");
        let y = t.get(t.root.unwrap(), "y").unwrap();
        assert_eq!(t.scalar(t.get(y, "k").unwrap()), Some("v"));
        let x = t.get(t.root.unwrap(), "x").unwrap();
        assert_eq!(t.node(x).anchor.as_deref(), Some("base"));
    }

    #[test]
    fn second_document_is_rejected() {
        let src = SourceFile::new("t.yml", None, "a: 1\n---\nb: 2\n".into());
        assert!(SyntaxTree::parse(&src).is_err());
    }
}
