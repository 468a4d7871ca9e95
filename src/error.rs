//! Errors at the tool's boundaries, each knowing its exit code.

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
/// and the whole line hidden when a value continued from the lines above
/// names a credential (a multi-line flow mapping, a folded plain scalar).
pub fn safe_line(src: &SourceFile, line: usize) -> Option<String> {
    let lines: Vec<&str> = src.text.lines().collect();
    let index = line.checked_sub(1)?;
    let text = lines.get(index)?;
    // A credential's value can go on below its line: a flow collection or
    // quoted string left open, a block scalar, or a plain scalar continued
    // on deeper-indented lines.
    let indent = |l: &str| l.len() - l.trim_start().len();
    let near = lines[index.saturating_sub(3)..index]
        .iter()
        .any(|above| redact(above) != *above && (continues(above) || indent(text) > indent(above)));
    Some(if near {
        format!(
            "{}<redacted>",
            &text[..text.len() - text.trim_start().len()]
        )
    } else {
        redact(text.trim_end())
    })
}

/// A source line with any credential it may hold masked: error messages
/// are printed and logged, secret values must never be. Everything after
/// the first credential-like word (or a URL's user part) is hidden, and
/// very long lines are cut.
fn redact(line: &str) -> String {
    const MARKERS: &[&str] = &[
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "credential",
        "auth",
    ];
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
    let cut = match (marker, scheme) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut shown = match cut {
        Some(word_end) => {
            // Keep the separator, hide the value: `PASSWORD: <redacted>`.
            let value = line[word_end..]
                .find(|c: char| !matches!(c, ':' | '=' | ' ' | '\t'))
                .map_or(line.len(), |i| word_end + i);
            if line[value..].trim().is_empty() {
                return truncate(line);
            }
            format!("{}<redacted>", &line[..value])
        }
        None => line.to_string(),
    };
    shown = truncate(&shown);
    shown
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

fn truncate(line: &str) -> String {
    const MAX: usize = 160;
    match line.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: error: {}", self.file, self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.file, self.line, self.col, self.message
            )?;
        }
        if let Some(snippet) = &self.snippet {
            let width = self.line.to_string().len();
            write!(f, "\n{:>width$} | {snippet}", self.line)?;
            let pad: String = snippet
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{:>width$} | {pad}^", "")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::{redact, safe_line};
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
            HardenError::Io { file, message } => write!(f, "{file}: error: {message}"),
            HardenError::Usage(message) => write!(f, "error: {message}"),
            HardenError::Internal { file, message } => write!(
                f,
                "internal error: {file}: {message}\nnothing was written; please report this as a bug with the input file"
            ),
        }
    }
}

impl From<InputError> for HardenError {
    fn from(err: InputError) -> HardenError {
        HardenError::Input(err)
    }
}
