//! The last gate before anything is printed or written: the patched text
//! must parse, keep every value, keep line endings, and need no more edits.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::knowledge::Knowledge;
use crate::model::ComposeModel;
use crate::plan::{EditOp, EditPlan};
use crate::rules::{self, Context};
use crate::source::{Eol, SourceFile};
use crate::surroundings::Surroundings;
use crate::syntax::SyntaxTree;

/// Checks `patched` against the original; the error says what broke.
pub fn verify(
    original: &SourceFile,
    plan: &EditPlan,
    patched: &str,
    around: &Surroundings,
) -> Result<(), String> {
    check_line_endings(original, patched)?;

    let out_src = SourceFile::new(
        &original.display_name,
        original.path.as_deref(),
        patched.to_string(),
    );
    let tree =
        SyntaxTree::parse(&out_src).map_err(|e| format!("patched YAML does not parse: {e}"))?;
    let model = ComposeModel::build(&out_src, &tree)
        .map_err(|e| format!("patched YAML is not a Compose file: {e}"))?;

    // Nothing lost: every value of the input, read independently by
    // serde-saphyr with merges resolved, is still there unless an edit
    // meant to change it.
    if let (Some(before), Some(after)) = (
        crate::strict::read_value(&original.text),
        crate::strict::read_value(patched),
    ) {
        let changed = changed_paths(plan);
        let mut old = BTreeMap::new();
        flatten("", &before, &mut old);
        let mut new = BTreeMap::new();
        flatten("", &after, &mut new);
        for (path, value) in &old {
            if changed.is_changed(path, value) || new.get(path) == Some(value) {
                continue;
            }
            // An empty `{}` or `[]` that gained entries is kept, not lost.
            let emptied = matches!(value, Value::Object(m) if m.is_empty())
                || matches!(value, Value::Array(a) if a.is_empty());
            if emptied && new.keys().any(|k| k.starts_with(&format!("{path}/"))) {
                continue;
            }
            return Err(format!("value at {path} changed or disappeared"));
        }
    }

    // Idempotence: the rules must have nothing left to do.
    let ctx = Context {
        src: &out_src,
        tree: &tree,
        model: &model,
        knowledge: Knowledge::builtin(),
        around,
    };
    if let Some(left) = rules::check_all(&ctx)
        .into_iter()
        .find(|f| !f.edits.is_empty())
    {
        return Err(format!(
            "a second run would change the file again ({} on {})",
            left.rule,
            left.service.as_deref().unwrap_or("the file")
        ));
    }
    Ok(())
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

/// What the plan changes on purpose.
struct Changed {
    prefixes: HashSet<String>,
    /// Null values that became mappings.
    filled: HashSet<String>,
    /// Environment variables replaced in place; a value in an anchor
    /// changes for every service that merges it.
    env_names: HashSet<String>,
}

impl Changed {
    fn is_changed(&self, path: &str, old: &Value) -> bool {
        // The path itself or any of its ancestors.
        let ancestors = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain(std::iter::once(path));
        if ancestors.into_iter().any(|p| self.prefixes.contains(p)) {
            return true;
        }
        if old.is_null() && self.filled.contains(path) {
            return true;
        }
        let last = path.rsplit('/').next().unwrap_or(path);
        self.env_names.contains(last)
            || old
                .as_str()
                .and_then(|v| v.split('=').next())
                .is_some_and(|name| self.env_names.contains(name))
    }
}

fn changed_paths(plan: &EditPlan) -> Changed {
    let mut changed = Changed {
        prefixes: HashSet::new(),
        filled: HashSet::new(),
        env_names: HashSet::new(),
    };
    for edit in &plan.edits {
        if let EditOp::FillValue { .. } = edit.op {
            changed.filled.insert(edit.path.clone());
            continue;
        }
        if !matches!(
            edit.op,
            EditOp::ReplaceScalar { .. } | EditOp::RenameKey { .. }
        ) {
            continue;
        }
        match edit.path.rsplit_once("/environment/") {
            Some((_, name)) => changed.env_names.insert(name.to_string()),
            None => changed.prefixes.insert(edit.path.clone()),
        };
    }
    changed
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            if map.is_empty() {
                out.insert(prefix.to_string(), value.clone());
            }
            for (k, v) in map {
                flatten(format!("{prefix}/{k}").trim_start_matches('/'), v, out);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.insert(prefix.to_string(), value.clone());
            }
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{prefix}/{i}").trim_start_matches('/'), v, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}
