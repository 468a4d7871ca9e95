//! Reading and writing the `.env` file beside a compose file.

use std::collections::BTreeMap;

/// `KEY=value` pairs; comments, blank lines and `export` prefixes are
/// understood, quotes around values removed.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
            .unwrap_or(value);
        vars.insert(key.trim().to_string(), value.to_string());
    }
    vars
}

/// A value quoted so Compose reads it back literally: single quotes
/// (no interpolation), or double quotes with escapes when it has a `'`.
pub fn quote(value: &str) -> String {
    if !value.contains('\'') && !value.contains('\n') {
        return format!("'{value}'");
    }
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_quoted_values() {
        let vars = parse("# c\nA='x y'\nexport B=\"z\"\nC=plain\n");
        assert_eq!(vars["A"], "x y");
        assert_eq!(vars["B"], "z");
        assert_eq!(vars["C"], "plain");
        assert_eq!(quote("a$b"), "'a$b'");
    }
}
