//! Planned edits: what the rules want changed, addressed by node, with no
//! text in them yet. Only the patcher turns them into bytes.

use crate::syntax::NodeId;

/// A value to write, rendered later in the file's own style.
#[derive(Debug, Clone, PartialEq)]
pub enum NewValue {
    /// A string; quoted when any YAML 1.1 or 1.2 reader could take it for
    /// something else.
    Str(String),
    /// A scalar written exactly as given (`true`, `512`).
    Raw(String),
    Seq(Vec<NewValue>),
    Map(Vec<(String, NewValue)>),
}

impl NewValue {
    pub fn str(s: impl Into<String>) -> NewValue {
        NewValue::Str(s.into())
    }

    pub fn seq_of<I, S>(items: I) -> NewValue
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        NewValue::Seq(items.into_iter().map(|s| NewValue::Str(s.into())).collect())
    }

    pub fn map(entries: Vec<(&str, NewValue)>) -> NewValue {
        NewValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EditOp {
    /// Add entries at the end of a mapping written in the file.
    AddEntries {
        map: NodeId,
        entries: Vec<(String, NewValue)>,
    },
    /// Turn a null value or an alias into a mapping with these entries
    /// (an alias is kept as `<<: *alias` in front of them).
    FillValue {
        value: NodeId,
        entries: Vec<(String, NewValue)>,
    },
    /// Add a top-level section after the last one.
    AddSection {
        key: String,
        value: NewValue,
    },
    AppendItems {
        seq: NodeId,
        items: Vec<NewValue>,
    },
    ReplaceScalar {
        node: NodeId,
        value: NewValue,
    },
    RenameKey {
        key: NodeId,
        name: String,
    },
}

/// One planned edit, with the document path it touches (for messages and
/// the verifier) and the rule that asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEdit {
    pub path: String,
    pub op: EditOp,
}

impl PlannedEdit {
    /// The string items this edit adds to the list under `key`.
    pub fn planned_items(&self, key: &str) -> Vec<String> {
        let strings = |v: &NewValue| match v {
            NewValue::Seq(items) => items
                .iter()
                .filter_map(|i| match i {
                    NewValue::Str(s) | NewValue::Raw(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        match &self.op {
            EditOp::AddEntries { entries, .. } | EditOp::FillValue { entries, .. } => entries
                .iter()
                .filter(|(k, _)| k == key)
                .flat_map(|(_, v)| strings(v))
                .collect(),
            EditOp::AppendItems { items, .. } if self.path.rsplit('/').next() == Some(key) => {
                strings(&NewValue::Seq(items.clone()))
            }
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EditPlan {
    pub edits: Vec<PlannedEdit>,
}

impl EditPlan {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    pub fn push(&mut self, path: impl Into<String>, op: EditOp) {
        self.edits.push(PlannedEdit {
            path: path.into(),
            op,
        });
    }
}
