//! Errors at the tool's boundaries, each knowing its exit code.

use std::borrow::Cow;
use std::fmt;

use crate::source::SourceFile;

/// Bad input: unreadable file, invalid YAML, or a shape Compose rejects.
/// Always exit code 2, always with a `FILE:LINE:COL` location when one exists.
#[derive(Debug, Clone)]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The offending source line, shown under the message.
    pub snippet: Option<String>,
}

impl InputError {
    pub fn syntax(src: &SourceFile, line: usize, col: usize, message: String) -> InputError {
        let snippet = safe_line(src, line);
        InputError {
            file: src.display_name.clone(),
            line,
            col,
            message,
            snippet,
        }
    }

    pub fn file(file: &str, message: String) -> InputError {
        InputError {
            file: file.to_string(),
            line: 0,
            col: 0,
            message,
            snippet: None,
        }
    }
}

/// Source line `line` (1-based) as it may be printed: credentials masked,
/// and the whole line hidden when it may hold the value of a credential
/// named on a line above (a multi-line flow mapping, a folded plain
/// scalar, `--requirepass` as the last item of its line).
pub fn safe_line(src: &SourceFile, line: usize) -> Option<String> {
    let text = line_text(src, line)?;
    let hidden = (line.saturating_sub(3).max(1)..line)
        .any(|n| line_text(src, n).is_some_and(|above| value_reaches(src, n, above, line)));
    if hidden {
        let (head, _) = shown_part(text);
        let indent = &head[..head.len() - head.trim_start().len()];
        return Some(format!("{indent}<redacted>"));
    }
    Some(redact(text.trim_end()))
}

/// Line `n` of `src` without its line break.
fn line_text(src: &SourceFile, n: usize) -> Option<&str> {
    let (_, text) = src.line(n)?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    Some(text.strip_suffix('\r').unwrap_or(text))
}

/// Whether the value of a credential on line `n` (`above`) may go on as
/// far as line `target`.
fn value_reaches(src: &SourceFile, n: usize, above: &str, target: usize) -> bool {
    let Some(text) = line_text(src, target) else {
        return false;
    };
    let (head, cut) = shown_part(above);
    let credential = credential(head);
    // Past the cut nothing is shown, but a credential named there may
    // still take its value from the lines below.
    let open = credential == Credential::Open
        || (cut && {
            let lower = above.to_ascii_lowercase();
            MARKERS.iter().any(|m| lower.contains(m)) || lower.contains("://")
        });
    if matches!(credential, Credential::Value(_))
        && (continues(above) || indent(text) > indent(above))
    {
        return true;
    }
    open && !ended_before(src, n, above, target)
}

/// Whether a value left open at the end of line `n` (`above`) has
/// surely ended by line `target`: a line less indented than `above`, or
/// a sibling mapping key, starts something else. Inside a flow collection
/// or quoted string left open, indentation says nothing, so nothing ends.
fn ended_before(src: &SourceFile, n: usize, above: &str, target: usize) -> bool {
    let flow_open = {
        let open = |o: char, c: char| above.matches(o).count() > above.matches(c).count();
        let odd = |q: char| above.matches(q).count() % 2 == 1;
        open('{', '}') || open('[', ']') || odd('"') || odd('\'')
    };
    if flow_open {
        return false;
    }
    // After `--requirepass` as a `- item` the next item is its value. A
    // key's value does not sit at the key's indent, except as a flush
    // `- ` sequence or, after `? key`, as the `: value` line.
    let is_item = above.trim_start().starts_with('-');
    (n + 1..=target)
        .filter_map(|m| line_text(src, m))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .any(|l| {
            let sibling =
                indent(l) == indent(above) && !is_item && !l.trim_start().starts_with(['-', ':']);
            indent(l) < indent(above) || sibling
        })
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// What a line says about a credential, seen from its first marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// None named.
    None,
    /// Named, with its value from this byte on.
    Value(usize),
    /// Named at the end of the line (`--requirepass`, `? PASSWORD`,
    /// `PASSWORD:`): its value, if any, is on the lines below.
    Open,
}

/// Credential-like words; a line holding one hides what follows it.
const MARKERS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "auth",
];

/// The most characters of a source line that messages show. Redaction
/// looks only at them: what is cut cannot leak, and a 100 KB line would
/// make it slow.
const SHOWN: usize = 160;

/// The part of `line` that is shown, and whether anything was cut.
fn shown_part(line: &str) -> (&str, bool) {
    match line.char_indices().nth(SHOWN) {
        Some((i, _)) => (&line[..i], true),
        None => (line, false),
    }
}

/// A source line with any credential it may hold masked: error messages
/// are printed and logged, secret values must never be. Everything after
/// the first credential-like word (or a URL's user part) is hidden, and
/// very long lines are cut.
pub(crate) fn redact(line: &str) -> String {
    let (head, cut) = shown_part(line);
    match credential(head) {
        // Keep the separator, hide the value: `PASSWORD: <redacted>`.
        Credential::Value(at) => format!("{}<redacted>", &head[..at]),
        _ if cut => format!("{head}…"),
        _ => head.to_string(),
    }
}

/// Where `line` names a credential and where its value starts.
fn credential(line: &str) -> Credential {
    let lower = line.to_ascii_lowercase();
    // Where hiding starts: after a marker word (kept whole: `PASSWORD`),
    // or right after a URL scheme. Whole words that only look like one
    // (`valkey`, `keycloak`) hide nothing.
    let marker = MARKERS
        .iter()
        .flat_map(|m| lower.match_indices(m).map(move |(i, _)| (i, m.len())))
        .filter(|&(i, _)| !BENIGN.contains(&word_at(&lower, i)))
        .map(|(i, len)| i + len)
        .min()
        .map(|at| {
            line[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(line.len(), |i| at + i)
        });
    let scheme = lower.find("://").map(|i| i + 3);
    let Some(word_end) = [marker, scheme].into_iter().flatten().min() else {
        return Credential::None;
    };
    let value = line[word_end..]
        .find(|c: char| !matches!(c, ':' | '=' | ' ' | '\t'))
        .map_or(line.len(), |i| word_end + i);
    let rest = &line[value..];
    // Only quotes, the end of a flow collection or a comment follow the
    // word: `- "--requirepass"`, `PASSWORD:  # set below`.
    let comment = rest.starts_with('#') && line[..value].ends_with([' ', '\t']);
    if comment
        || rest
            .trim_start_matches(['"', '\'', ',', ']', '}', ' ', '\t'])
            .is_empty()
    {
        return Credential::Open;
    }
    Credential::Value(value)
}

/// Whether a line leaves a value open for the lines below it.
fn continues(line: &str) -> bool {
    let text = line.trim_end();
    let open = |o: char, c: char| text.matches(o).count() > text.matches(c).count();
    text.ends_with([',', '{', '[', ':', '=', '|', '>', '-', '\\'])
        || open('{', '}')
        || open('[', ']')
        || text.matches('"').count() % 2 == 1
        || text.matches('\'').count() % 2 == 1
}

/// Product names that contain a marker but name no credential.
const BENIGN: &[&str] = &[
    "valkey",
    "keydb",
    "keycloak",
    "authelia",
    "authentik",
    "author",
    "authors",
    "passbolt",
    "passthrough",
    "bypass",
];

/// The word (letters, digits, `_`) around byte `at` of an ASCII-lowered line.
fn word_at(lower: &str, at: usize) -> &str {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let start = lower[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_word(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = lower[at..]
        .find(|c: char| !is_word(c))
        .map_or(lower.len(), |i| at + i);
    &lower[start..end]
}

/// `text` as it may go to a terminal: control characters other than tab
/// (a carriage return, an escape sequence from a service name) and the
/// characters that reorder or break lines are shown escaped, `\r` or
/// `\u{1b}`, so a file cannot rewrite what the operator sees.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_printable(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`printable`] for a text whose line breaks are meant: a message with a
/// snippet under it.
fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_printable(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        c => out.push(c),
    }
}

/// Whitespace that puts a caret under column `col` (1-based, in
/// characters) of `line` once [`printable`] shows it: a tab for a tab, so
/// the terminal expands both alike, and as many spaces as an escape
/// takes. A wide (East Asian) character counts as one column, so the
/// caret can land left of its place on such lines.
pub fn caret_pad(line: &str, col: usize) -> String {
    let mut pad = String::new();
    for c in line.chars().take(col.saturating_sub(1)) {
        if c == '\t' {
            pad.push('\t');
        } else {
            let mut shown = String::new();
            push_printable(&mut shown, c);
            pad.extend(shown.chars().map(|_| ' '));
        }
    }
    pad
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = printable(&self.file);
        let message = printable_lines(&self.message);
        if self.line == 0 {
            write!(f, "{file}: error: {message}")?;
        } else {
            write!(f, "{file}:{}:{}: error: {message}", self.line, self.col)?;
        }
        if let Some(snippet) = &self.snippet {
            let width = self.line.to_string().len();
            write!(f, "\n{:>width$} | {}", self.line, printable(snippet))?;
            let pad = caret_pad(snippet, self.col);
            write!(f, "\n{:>width$} | {pad}^", "")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::{InputError, caret_pad, printable, redact, safe_line};
    use crate::source::SourceFile;

    #[test]
    fn snippets_never_show_credentials() {
        let cases = [
            (
                "      POSTGRES_PASSWORD: hunter2 # x",
                "      POSTGRES_PASSWORD: <redacted>",
            ),
            ("      - API_TOKEN=abc", "      - API_TOKEN=<redacted>"),
            (
                "      URL: postgres://u:pw@db/x",
                "      URL: postgres://<redacted>",
            ),
            (
                "    environment: {DB_PASSWORD: x, A: [",
                "    environment: {DB_PASSWORD: <redacted>",
            ),
            (
                "    command: redis-server --requirepass hunter2",
                "    command: redis-server --requirepass <redacted>",
            ),
            ("    image: nginx", "    image: nginx"),
            ("    image: valkey/valkey:8", "    image: valkey/valkey:8"),
            ("  keycloak:", "  keycloak:"),
            ("    secrets:", "    secrets:"),
            (
                "      KEYCLOAK_ADMIN_PASSWORD: x",
                "      KEYCLOAK_ADMIN_PASSWORD: <redacted>",
            ),
            ("      VALKEY_TOKEN: x", "      VALKEY_TOKEN: <redacted>"),
            ("      valkey_key: x", "      valkey_key: <redacted>"),
        ];
        for (line, shown) in cases {
            assert_eq!(redact(line), shown);
        }
        assert!(redact(&"x".repeat(10_000)).chars().count() < 200);
    }

    /// Lines below a credential are hidden only where its value may go on.
    #[test]
    fn values_continued_below_stay_hidden() {
        let text = "services:
  db:
    environment:
      DB_PASSWORD: first
        second-part
      PORT: 5432
    ports: [\"5432:5432\"
  api:
    environment: {API_TOKEN: abc,
      OTHER: planted}
";
        let src = SourceFile::new("t.yml", None, text.to_string());
        let shown: Vec<String> = (1..=10).filter_map(|n| safe_line(&src, n)).collect();
        assert_eq!(shown[4], "        <redacted>", "continued plain scalar");
        assert_eq!(shown[5], "      PORT: 5432");
        assert_eq!(shown[6], "    ports: [\"5432:5432\"");
        assert_eq!(shown[9], "      <redacted>", "open flow mapping");
        assert!(shown.iter().all(|l| !l.contains("first")
            && !l.contains("second")
            && !l.contains("abc")
            && !l.contains("planted")));
    }

    /// A credential's name that ends its line takes its value from below:
    /// an argument list, explicit `? key` syntax, a long line cut short.
    #[test]
    fn values_after_a_name_that_ends_its_line_stay_hidden() {
        let long = format!("    command: {} --requirepass", "x".repeat(200));
        let text = format!(
            "services:
  cache:
    image: redis:7
    command:
      - redis-server
      - --requirepass
      - \"@PLANTED-a\"
    healthcheck:
      test:
        - CMD
        - \"--password\"
        - \"@PLANTED-b\"
    environment:
      ? POSTGRES_PASSWORD
      : \"@PLANTED-c\"
      SMTP_PASSWORD:
      PORT: 5432
  other:
{long}
      @PLANTED-d
"
        );
        let src = SourceFile::new("t.yml", None, text);
        let shown: Vec<String> = (1..=20).filter_map(|n| safe_line(&src, n)).collect();
        for planted in [7, 12, 15, 20] {
            assert_eq!(shown[planted - 1].trim(), "<redacted>", "line {planted}");
        }
        assert!(shown.iter().all(|l| !l.contains("PLANTED")), "{shown:#?}");
        // Lines that cannot belong to the value stay readable.
        assert_eq!(shown[7], "    healthcheck:");
        assert_eq!(shown[8], "      test:");
        assert_eq!(shown[16], "      PORT: 5432");
        assert_eq!(shown[17], "  other:");
    }

    #[test]
    fn terminal_escapes_are_shown_escaped() {
        assert_eq!(printable("web\r\u{1b}[2K\tx"), "web\\r\\u{1b}[2K\tx");
        assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(caret_pad("\t\u{1b}é", 4), "\t       ");
        let src = SourceFile::new("t\u{1b}.yml", None, "a:\n\tb: \u{1b}x\n".into());
        let err = InputError::syntax(&src, 2, 5, "bad \r".into()).to_string();
        assert_eq!(
            err,
            "t\\u{1b}.yml:2:5: error: bad \\r\n2 | \tb: \\u{1b}x\n  | \t   ^"
        );
    }

    /// Only the shown part of a line is redacted, so huge lines are quick.
    #[test]
    fn long_lines_are_cut_before_redacting() {
        let line = "passpass".repeat(25_000);
        let shown = redact(&line);
        assert!(shown.ends_with('…') && shown.chars().count() <= 161);
        assert_eq!(
            redact(&format!("{} x", "é".repeat(200))).chars().count(),
            161
        );
    }
}
/// Everything that can stop a run, with its exit code.
#[derive(Debug)]
pub enum HardenError {
    /// Exit 2: the input or the command line is wrong.
    Input(InputError),
    /// Exit 3: the verifier caught a bug in harden itself.
    Internal { file: String, message: String },
    /// Exit 2: reading or writing failed.
    Io { file: String, message: String },
    /// Exit 2: the command line asks for something that cannot be done.
    Usage(String),
}

impl HardenError {
    pub fn exit_code(&self) -> u8 {
        match self {
            HardenError::Input(_) | HardenError::Io { .. } | HardenError::Usage(_) => 2,
            HardenError::Internal { .. } => 3,
        }
    }
}

impl fmt::Display for HardenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HardenError::Input(err) => write!(f, "{err}"),
            HardenError::Io { file, message } => write!(
                f,
                "{}: error: {}",
                printable(file),
                printable_lines(message)
            ),
            HardenError::Usage(message) => write!(f, "error: {}", printable_lines(message)),
            HardenError::Internal { file, message } => write!(
                f,
                "internal error: {}: {}\nnothing was written; please report this as a bug with the input file",
                printable(file),
                printable_lines(message)
            ),
        }
    }
}

impl From<InputError> for HardenError {
    fn from(err: InputError) -> HardenError {
        HardenError::Input(err)
    }
}
