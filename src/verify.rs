//! The last gate before anything is printed or written: the patched text
//! must parse, keep every value, keep line endings, and need no more edits.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use serde_json::Value;

use crate::knowledge::Knowledge;
use crate::model::ComposeModel;
use crate::plan::{EditOp, EditPlan, NewValue};
use crate::rules::{self, Context};
use crate::source::{Eol, SourceFile};
use crate::surroundings::Surroundings;
use crate::syntax::SyntaxTree;

/// Texts from this size on are read by serde-saphyr on a second thread
/// while harden's own reader (and, for the output, the rules' second run)
/// takes the first; below it, starting a thread costs more than it saves.
pub(crate) const PARALLEL_FROM: usize = 64 * 1024;

/// Checks `patched` against the original; the error says what broke.
/// `before` is serde-saphyr's reading of the original, `None` when it
/// could not express it as plain values (custom tags such as `!reset`).
#[allow(
    clippy::too_many_arguments,
    reason = "the verifier sees the whole run: input, its two readings, plan, output and what surrounds them"
)]
pub fn verify(
    original: &SourceFile,
    original_model: &ComposeModel,
    original_tree: &SyntaxTree,
    before: Option<&Value>,
    plan: &EditPlan,
    patched: &str,
    around: &Surroundings,
    settings: &crate::settings::Settings,
) -> Result<(), String> {
    check_line_endings(original, patched)?;
    let values = || compare_values(original_tree, original_model, before, plan, patched);
    let (second_run, values) = if patched.len() >= PARALLEL_FROM {
        std::thread::scope(|scope| {
            let values = scope.spawn(values);
            let second_run = second_run(original, patched, around, settings);
            let values = values
                .join()
                .unwrap_or_else(|_| Err("the value comparison stopped unexpectedly".into()));
            (second_run, values)
        })
    } else {
        (second_run(original, patched, around, settings), values())
    };
    // Reported in the order a reader checks: does it parse, is anything
    // lost or unplanned, is there anything left to do.
    let idempotent = second_run?;
    values?;
    idempotent
}

/// The output through harden's own reader and the rules once more: the
/// outer error when it no longer reads, the inner one when a rule would
/// still change it.
fn second_run(
    original: &SourceFile,
    patched: &str,
    around: &Surroundings,
    settings: &crate::settings::Settings,
) -> Result<Result<(), String>, String> {
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

    // Idempotence: the rules must have nothing left to do.
    let ctx = Context::new(
        &out_src,
        &tree,
        &model,
        Knowledge::builtin(),
        around,
        settings,
    );
    Ok(
        match rules::check_all(&ctx)
            .into_iter()
            .find(|f| !f.edits.is_empty())
        {
            Some(left) => Err(format!(
                "a second run would change the file again ({} on {})",
                left.rule,
                left.service.as_deref().unwrap_or("the file")
            )),
            None => Ok(()),
        },
    )
}

/// The output read by serde-saphyr, independently of harden's reader,
/// against its reading of the input. The strict reader must accept the
/// output whenever it accepted the input (harden only gets here when it
/// did): harden never turns a readable file into an unreadable one.
fn compare_values(
    original_tree: &SyntaxTree,
    original_model: &ComposeModel,
    before: Option<&Value>,
    plan: &EditPlan,
    patched: &str,
) -> Result<(), String> {
    let Some(before) = before else {
        // Custom tags (`!reset`) keep serde-saphyr from building values;
        // it must still accept the syntax.
        if let Err((line, col, message)) = crate::strict::check(patched) {
            let first = message.lines().next().unwrap_or("");
            return Err(format!("patched YAML is rejected at {line}:{col}: {first}"));
        }
        return Ok(());
    };
    let after = crate::strict::read_value(patched)
        .ok_or("patched YAML can no longer be read as plain values")?;

    let changed = changed_paths(plan);
    let mut expected = planned_additions(plan, before);
    inherit_through_anchors(original_tree, original_model, &mut expected);
    let mut walk = Walk {
        changed: &changed,
        expected: &expected,
        matched: 0,
        lost: None,
        unplanned: None,
    };
    walk.visit(Some(before), Some(&after), &mut String::new());
    // Nothing lost: every value of the input is still there unless an
    // edit meant to change it.
    if let Some(path) = walk.lost {
        return Err(format!("value at {path} changed or disappeared"));
    }
    // Every value the plan added is where the plan put it.
    if walk.matched != expected.len()
        && let Some((path, _)) = expected
            .iter()
            .find(|(path, value)| lookup(&after, path) != Some(*value))
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

/// One walk over both readings at once, leaf by leaf, by path (`a/b/0`).
/// A leaf is a scalar or an empty mapping or sequence.
struct Walk<'a> {
    changed: &'a Changed,
    expected: &'a BTreeMap<String, Value>,
    /// How many planned leaves the output holds with the planned value.
    matched: usize,
    /// The first input leaf the output lost or changed unplanned.
    lost: Option<String>,
    /// The first output leaf no edit planned.
    unplanned: Option<String>,
}

impl Walk<'_> {
    fn visit(&mut self, old: Option<&Value>, new: Option<&Value>, path: &mut String) {
        let old_leaf = old.filter(|v| is_leaf(v));
        let new_leaf = new.filter(|v| is_leaf(v));
        if let Some(value) = old_leaf
            && self.lost.is_none()
        {
            // An empty `{}` or `[]` that gained entries is kept, not lost.
            let filled = is_empty_container(value) && new.is_some_and(|n| !is_leaf(n));
            if !(new_leaf == Some(value) || filled || self.changed.is_changed(path, value)) {
                self.lost = Some(path.clone());
            }
        }
        // A leaf the input has as it is needs no plan (a planned value
        // equal to the input's is then found by the fallback lookup).
        if let Some(value) = new_leaf
            && old_leaf != Some(value)
        {
            let planned = self.expected.get(path.as_str());
            if planned == Some(value) {
                self.matched += 1;
            }
            if self.unplanned.is_none()
                && planned.is_none()
                && !self.changed.is_changed(path, value)
            {
                self.unplanned = Some(path.clone());
            }
        }

        let len = path.len();
        match (old, new) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                for (key, value) in a {
                    push_segment(path, key);
                    self.visit(Some(value), b.get(key), path);
                    path.truncate(len);
                }
                for (key, value) in b.iter().filter(|(key, _)| !a.contains_key(*key)) {
                    push_segment(path, key);
                    self.visit(None, Some(value), path);
                    path.truncate(len);
                }
            }
            (Some(Value::Array(a)), Some(Value::Array(b))) => {
                for i in 0..a.len().max(b.len()) {
                    if !path.is_empty() {
                        path.push('/');
                    }
                    let _ = write!(path, "{i}");
                    self.visit(a.get(i), b.get(i), path);
                    path.truncate(len);
                }
            }
            // One side alone, or a mapping and a sequence at one path.
            _ => {
                for (segment, value) in children(old) {
                    push_segment(path, &segment);
                    self.visit(Some(value), new.and_then(|n| child(n, &segment)), path);
                    path.truncate(len);
                }
                for (segment, value) in children(new) {
                    if old.and_then(|o| child(o, &segment)).is_some() {
                        continue;
                    }
                    push_segment(path, &segment);
                    self.visit(None, Some(value), path);
                    path.truncate(len);
                }
            }
        }
    }
}

fn is_empty_container(value: &Value) -> bool {
    matches!(value, Value::Object(m) if m.is_empty())
        || matches!(value, Value::Array(a) if a.is_empty())
}

fn is_leaf(value: &Value) -> bool {
    !matches!(value, Value::Object(_) | Value::Array(_)) || is_empty_container(value)
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

fn children(value: Option<&Value>) -> Vec<(String, &Value)> {
    match value {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    }
}

fn child<'v>(value: &'v Value, segment: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    }
}

/// The value at a path of the reading.
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('/').try_fold(root, child)
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
fn planned_additions(plan: &EditPlan, old: &Value) -> BTreeMap<String, Value> {
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
fn seq_len(old: &Value, path: &str) -> usize {
    match lookup(old, path) {
        Some(Value::Array(items)) => items.len(),
        Some(Value::Object(map)) => map
            .keys()
            .filter_map(|k| k.parse::<usize>().ok())
            .max()
            .map_or(0, |n| n + 1),
        _ => 0,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedEdit;

    const INPUT: &str = "services:\n  app:\n    image: app:1\n    environment:\n      TOKEN: abc\n    cap_add: [NET_ADMIN]\n    labels: {}\n";

    fn compare(plan: &[PlannedEdit], output: &str) -> Result<(), String> {
        let src = SourceFile::new("compose.yml", None, INPUT.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        let model = ComposeModel::build(&src, &tree).unwrap();
        let before = crate::strict::read_value(INPUT).unwrap();
        let plan = EditPlan {
            edits: plan.to_vec(),
        };
        compare_values(&tree, &model, Some(&before), &plan, output)
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
        PlannedEdit {
            path: "services/app/cap_add".into(),
            op: EditOp::AppendItems {
                seq: 0,
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
}
