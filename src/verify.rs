//! The last gate before anything is printed or written: the patched text
//! must parse, keep every value, keep line endings, and need no more edits.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::knowledge::Knowledge;
use crate::model::ComposeModel;
use crate::plan::{EditOp, EditPlan, NewValue};
use crate::rules::{self, Context};
use crate::source::{Eol, SourceFile};
use crate::surroundings::Surroundings;
use crate::syntax::SyntaxTree;

/// Checks `patched` against the original; the error says what broke.
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

    // The strict reader must accept the output whenever it accepted the
    // input (`harden` only gets here when it did): harden never turns a
    // readable file into an unreadable one. Each text is read once.
    let before = crate::strict::read_value(&original.text);
    let after = match &before {
        Some(_) => Some(
            crate::strict::read_value(patched)
                .ok_or("patched YAML can no longer be read as plain values")?,
        ),
        None => {
            // Custom tags (`!reset`) keep serde-saphyr from building
            // values; it must still accept the syntax.
            if let Err((line, col, message)) = crate::strict::check(patched) {
                let first = message.lines().next().unwrap_or("");
                return Err(format!("patched YAML is rejected at {line}:{col}: {first}"));
            }
            None
        }
    };

    // Nothing lost: every value of the input, read independently by
    // serde-saphyr with merges resolved, is still there unless an edit
    // meant to change it.
    if let (Some(before), Some(after)) = (before, after) {
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

        // Nothing unplanned: every new value is one the plan added, where
        // the plan put it.
        let mut expected = planned_additions(plan, &old);
        inherit_through_anchors(original_tree, original_model, &mut expected);
        for (path, value) in &expected {
            if new.get(path) != Some(value) {
                return Err(format!("the planned value at {path} is not in the output"));
            }
        }
        for (path, value) in &new {
            if old.get(path) == Some(value)
                || expected.contains_key(path)
                || changed.is_changed(path, value)
            {
                continue;
            }
            return Err(format!(
                "the output has a value at {path} that no edit planned"
            ));
        }
    }

    // Idempotence: the rules must have nothing left to do.
    let ctx = Context::new(
        &out_src,
        &tree,
        &model,
        Knowledge::builtin(),
        around,
        settings,
    );
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
            Some((_, name)) => {
                changed.env_names.insert(name.to_string());
                // The new name of a renamed or rewritten variable.
                match &edit.op {
                    EditOp::RenameKey { name, .. } => changed.env_names.insert(name.clone()),
                    EditOp::ReplaceScalar {
                        value: NewValue::Str(s),
                        ..
                    } => changed
                        .env_names
                        .insert(s.split('=').next().unwrap_or(s).to_string()),
                    _ => false,
                };
            }
            None => {
                changed.prefixes.insert(edit.path.clone());
            }
        };
    }
    changed
}

/// The leaves the plan adds, by path, as the output should hold them.
fn planned_additions(plan: &EditPlan, old: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
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
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}/{key}")
            };
            flatten(&at, &to_value(value), &mut expected);
        }
    }
    for edit in &plan.edits {
        match &edit.op {
            EditOp::AddEntries { .. } | EditOp::FillValue { .. } | EditOp::AddSection { .. } => {}
            EditOp::AppendItems { items, .. } => {
                let next = appended
                    .entry(edit.path.as_str())
                    .or_insert_with(|| seq_len(old, &edit.path));
                for item in items {
                    flatten(
                        &format!("{}/{next}", edit.path),
                        &to_value(item),
                        &mut expected,
                    );
                    *next += 1;
                }
            }
            EditOp::ReplaceScalar { .. } | EditOp::RenameKey { .. } => {}
        }
    }
    expected
}

/// Keys added to a service whose mapping is an anchor reach the services
/// that merge it (`<<: *svc`), unless those set the key themselves.
fn inherit_through_anchors(
    tree: &SyntaxTree,
    model: &ComposeModel,
    expected: &mut BTreeMap<String, Value>,
) {
    for source in &model.services {
        if tree.node(source.node).anchor.is_none() {
            continue;
        }
        let prefix = format!("services/{}/", source.name);
        let added: Vec<(String, Value)> = expected
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect();
        let target = tree.resolve(source.node);
        for user in &model.services {
            // Merged even when it overrides every key the anchor had.
            if user.name == source.name || !crate::merges(tree, user.node, target) {
                continue;
            }
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

/// How many items the sequence at `path` had.
fn seq_len(old: &BTreeMap<String, Value>, path: &str) -> usize {
    let prefix = format!("{path}/");
    old.range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, _)| k[prefix.len()..].split('/').next()?.parse::<usize>().ok())
        .max()
        .map_or(0, |n| n + 1)
}

/// A planned value as YAML would read it back.
fn to_value(value: &NewValue) -> Value {
    match value {
        NewValue::Str(s) => Value::String(s.clone()),
        NewValue::Raw(raw) => match raw.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => raw
                .parse::<i64>()
                .map_or_else(|_| Value::String(raw.clone()), Value::from),
        },
        NewValue::Seq(items) => Value::Array(items.iter().map(to_value).collect()),
        NewValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect(),
        ),
    }
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
