//! The strict reading of a file with serde-saphyr: the same parser as the
//! syntax tree, but its own merge-key resolution, alias budget and depth
//! limit. harden checks every input with it before anything is planned;
//! the tests also use its plain-value reading as an independent view of
//! harden's output.

use serde_json::Value;

/// Options that accept real Compose files: many aliases to one anchor are
/// normal (`<<: *common` in every service), so only the ratio check is off;
/// the other alias limits still stop expansion bombs.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.enforce_alias_anchor_ratio = false;
    // Generated stacks with thousands of services are legitimate; the
    // defaults (250k nodes) stop at a few MB. Alias and depth limits stay.
    budget.max_nodes = 5_000_000;
    budget.max_events = 20_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// The document as a plain value with merges resolved, or `None` when
/// serde-saphyr cannot express it (custom tags such as `!reset`).
pub fn read_value(text: &str) -> Option<Value> {
    serde_saphyr::from_str_with_options::<Value>(text, options()).ok()
}

/// An error serde-saphyr reports for the text, with its 1-based position.
pub fn check(text: &str) -> Result<(), (usize, usize, String)> {
    match serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(text, options()) {
        Ok(_) => Ok(()),
        Err(err) => {
            let (line, col) = err
                .location()
                .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
            Err((line, col, err.to_string()))
        }
    }
}
