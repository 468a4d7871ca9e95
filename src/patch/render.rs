//! Renders new values as YAML text in the file's own style.

use crate::plan::NewValue;

/// The layout every new line follows.
#[derive(Debug, Clone, Copy)]
pub struct Style<'a> {
    pub eol: &'a str,
    pub unit: usize,
    pub seq_indented: bool,
}

/// A scalar as plain text when every YAML reader takes it for the same
/// string, double-quoted otherwise.
pub fn scalar(value: &NewValue) -> String {
    match value {
        NewValue::Raw(raw) => raw.clone(),
        NewValue::Str(s) => quote_if_needed(s),
        NewValue::Seq(_) | NewValue::Map(_) => flow(value),
    }
}

/// A mapping key; the merge key `<<` stays bare so it keeps merging.
pub fn key(k: &str) -> String {
    if k == "<<" {
        k.to_string()
    } else {
        quote_for_block(k)
    }
}

/// A string for block context, where `,` and brackets inside a plain
/// scalar are ordinary characters.
pub fn quote_for_block(s: &str) -> String {
    if s.contains(": ") || s.ends_with(':') || s.starts_with(['[', ']', '{', '}', ',', ':']) {
        return double_quoted(s);
    }
    // Flow indicators are fine inside a block scalar: judge the rest.
    let flow_safe: std::borrow::Cow<str> = if s.contains([',', '[', ']', '{', '}', ':']) {
        s.chars()
            .map(|c| if ",[]{}:".contains(c) { '_' } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    };
    if plain_is_safe(&flow_safe) && !is_special_scalar(s) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// A string for flow context (inside `[...]` or `{...}`).
pub fn quote_if_needed(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` can be written plain in block and flow context and still be
/// read as this same string by YAML 1.1 and 1.2 readers.
pub fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // `-word` is a plain string; `-`, `- x` and `-1` are not.
    let dash_word = first == '-' && s.len() > 1 && !s[1..].starts_with(' ') && !looks_numeric(s);
    if !dash_word && "-?:,[]{}#&*!|>'\"%@`~ \t".contains(first) {
        return false;
    }
    if s.ends_with([' ', '\t', ':']) || s.contains(": ") || s.contains(" #") {
        return false;
    }
    // `:` is fine in plain scalars for YAML 1.2, but PyYAML rejects it
    // inside flow collections; quoting costs nothing.
    if s.chars().any(|c| c.is_control() || ",[]{}:".contains(c)) {
        return false;
    }
    !is_special_scalar(s)
}

/// Words and shapes that some YAML version reads as null, bool or number.
pub fn is_special_scalar(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf",
        ".nan", "<<", "=",
    ];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) || looks_numeric(s) || looks_like_date(s)
}

fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let radix = |prefix: &str| {
        body.get(..2)
            .filter(|p| p.eq_ignore_ascii_case(prefix))
            .and_then(|_| body.get(2..))
    };
    if let Some(hex) = radix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(oct) = radix("0o") {
        return !oct.is_empty() && oct.chars().all(|c| c.is_ascii_digit() || c == '_');
    }
    if let Some(bin) = radix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1' || c == '_');
    }
    // Decimal, float, exponent and YAML 1.1 sexagesimal (`1:30`).
    let mut digits = 0;
    for c in body.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' | '_' | ':' | 'e' | 'E' | '+' | '-' => {}
            _ => return false,
        }
    }
    digits > 0
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
}

/// A value in flow style: `[a, b]`, `{k: v}`.
pub fn flow(value: &NewValue) -> String {
    match value {
        NewValue::Seq(items) => {
            let inner: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", inner.join(", "))
        }
        NewValue::Map(entries) => {
            let inner: Vec<String> = entries.iter().map(|(k, v)| flow_entry(k, v)).collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => scalar(other),
    }
}

/// One `key: value` pair of a flow mapping.
pub fn flow_entry(key: &str, value: &NewValue) -> String {
    let key = if key == "<<" {
        key.to_string()
    } else {
        quote_if_needed(key)
    };
    format!("{key}: {}", flow(value))
}

/// Block mapping entries at `indent`, each line ended by the file's EOL.
pub fn block_entries(
    out: &mut String,
    entries: &[(String, NewValue)],
    indent: usize,
    style: Style,
) {
    for (key, value) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&self::key(key));
        out.push(':');
        block_value(out, value, indent, style);
    }
}

/// The rest of a `key:` line and any lines under it.
fn block_value(out: &mut String, value: &NewValue, indent: usize, style: Style) {
    match value {
        NewValue::Seq(items) if !items.is_empty() => {
            out.push_str(style.eol);
            let dash = indent + if style.seq_indented { style.unit } else { 0 };
            block_items(out, items, dash, style);
        }
        NewValue::Map(entries) if !entries.is_empty() => {
            out.push_str(style.eol);
            block_entries(out, entries, indent + style.unit, style);
        }
        NewValue::Str(s) => {
            out.push(' ');
            out.push_str(&quote_for_block(s));
            out.push_str(style.eol);
        }
        other => {
            out.push(' ');
            out.push_str(&flow(other));
            out.push_str(style.eol);
        }
    }
}

/// Block sequence items with their dash at column `dash`.
pub fn block_items(out: &mut String, items: &[NewValue], dash: usize, style: Style) {
    for item in items {
        out.push_str(&" ".repeat(dash));
        out.push_str("- ");
        match item {
            NewValue::Map(entries) if !entries.is_empty() => {
                let (head, rest) = entries.split_at(1);
                let mut first = String::new();
                block_entries(&mut first, head, 0, style);
                out.push_str(&first);
                block_entries(out, rest, dash + 2, style);
            }
            NewValue::Str(s) => {
                out.push_str(&quote_for_block(s));
                out.push_str(style.eol);
            }
            other => {
                out.push_str(&flow(other));
                out.push_str(style.eol);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_yaml11_lookalikes() {
        for s in [
            "no",
            "On",
            "0123",
            "1.10",
            "null",
            "~",
            "2121:21",
            "0.5",
            "y",
            "",
            "2024-01-01",
            "-1",
        ] {
            assert!(quote_if_needed(s).starts_with('"'), "{s}");
        }
        for s in ["ALL", "128M", "backend"] {
            assert_eq!(quote_if_needed(s), s);
        }
        for s in [
            "/tmp:mode=1777",
            "no-new-privileges:true",
            "/tmp:uid=1,gid=1",
            "${X:?set X}",
        ] {
            assert_eq!(quote_for_block(s), s);
        }
        for s in ["a: b", "no", "0.5", "[x]"] {
            assert!(quote_for_block(s).starts_with('"'), "{s}");
        }
    }

    #[test]
    fn renders_nested_block_in_file_style() {
        let style = Style {
            eol: "\r\n",
            unit: 4,
            seq_indented: false,
        };
        let mut out = String::new();
        let v = NewValue::map(vec![(
            "limits",
            NewValue::map(vec![("cpus", NewValue::str("0.5"))]),
        )]);
        block_entries(
            &mut out,
            &[
                ("deploy".into(), v),
                ("cap_drop".into(), NewValue::seq_of(["ALL"])),
            ],
            4,
            style,
        );
        assert_eq!(
            out,
            "    deploy:\r\n        limits:\r\n            cpus: \"0.5\"\r\n    cap_drop:\r\n    - ALL\r\n"
        );
    }
}
