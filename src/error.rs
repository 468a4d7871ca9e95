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
        let snippet = src
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| redact(l.trim_end()));
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

/// A source line with any credential it holds masked: error messages are
/// printed and logged, secret values must never be.
fn redact(line: &str) -> String {
    let body = line
        .trim_start()
        .trim_start_matches("- ")
        .trim_start_matches(['"', '\'']);
    let split = [": ", "="]
        .iter()
        .filter_map(|sep| body.find(sep).map(|i| (i, sep.len())))
        .min();
    let Some((at, width)) = split else {
        return line.to_string();
    };
    let key = body[..at].trim_end_matches(['"', '\'']);
    let value = &body[at + width..];
    let secret = crate::rules::is_secret_name(key) || crate::rules::has_url_password(value);
    if !secret || value.trim().is_empty() {
        return line.to_string();
    }
    let value_start = line.len() - value.len();
    format!("{}<redacted>", &line[..value_start])
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
    use super::redact;

    #[test]
    fn snippets_never_show_credentials() {
        assert_eq!(
            redact("      POSTGRES_PASSWORD: hunter2 # x"),
            "      POSTGRES_PASSWORD: <redacted>"
        );
        assert_eq!(
            redact("      - API_TOKEN=abc"),
            "      - API_TOKEN=<redacted>"
        );
        assert_eq!(
            redact("      URL: postgres://u:pw@db/x"),
            "      URL: <redacted>"
        );
        assert_eq!(redact("    image: nginx"), "    image: nginx");
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
}

impl HardenError {
    pub fn exit_code(&self) -> u8 {
        match self {
            HardenError::Input(_) | HardenError::Io { .. } => 2,
            HardenError::Internal { .. } => 3,
        }
    }
}

impl fmt::Display for HardenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HardenError::Input(err) => write!(f, "{err}"),
            HardenError::Io { file, message } => write!(f, "{file}: error: {message}"),
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
