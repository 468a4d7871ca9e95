//! The raw Compose file and the layout facts every edit must follow.
#![allow(
    clippy::indexing_slicing,
    reason = "line_starts holds every line start; indent steps are checked against their table"
)]

use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most harden reads of a compose file (or stdin): real ones are a
/// few KiB, and a device or a huge file must not eat the memory.
pub const COMPOSE_LIMIT: u64 = 64 << 20;

/// The most harden reads of a file beside the compose file: `.env`,
/// `env_file`s, layers, `harden.toml`.
pub const BESIDE_LIMIT: u64 = 4 << 20;

/// Line ending used by the file; new lines are written with the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    Lf,
    CrLf,
}

impl Eol {
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
        }
    }
}

/// One Compose file as read from disk or stdin, with its detected style.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Name used in messages and diff headers (`-` shows as `<stdin>`).
    pub display_name: String,
    /// Path on disk, if the file came from one.
    pub path: Option<PathBuf>,
    /// The text after the byte order mark, if any.
    pub text: String,
    pub bom: bool,
    pub eol: Eol,
    /// Spaces per nesting level in block mappings.
    pub indent_unit: usize,
    /// Whether block sequences are indented under their key (`key:\n  - a`)
    /// rather than flush with it (`key:\n- a`).
    pub seq_indented: bool,
    pub final_newline: bool,
    /// Byte offset where each line starts, for fast line/column lookups.
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Build a source file from decoded text; `text` may start with a BOM.
    pub fn new(display_name: &str, path: Option<&Path>, text: String) -> SourceFile {
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest.to_string()),
            None => (false, text),
        };
        let eol = detect_eol(&text);
        let (indent_unit, seq_indented) = detect_indent(&text);
        let final_newline = text.is_empty() || text.ends_with('\n');
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();

        SourceFile {
            display_name: display_name.to_string(),
            path: path.map(Path::to_path_buf),
            text,
            bom,
            eol,
            indent_unit,
            seq_indented,
            final_newline,
            line_starts,
        }
    }

    /// The full output bytes for new text in this file's framing (BOM kept).
    pub fn frame(&self, text: &str) -> String {
        if self.bom {
            format!("\u{feff}{text}")
        } else {
            text.to_string()
        }
    }

    /// The 1-based line `number`: its byte offset and its text (with the
    /// line break, if any).
    pub fn line(&self, number: usize) -> Option<(usize, &str)> {
        let start = *self.line_starts.get(number.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(number)
            .copied()
            .unwrap_or(self.text.len());
        Some((start, &self.text[start..end]))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }
}

/// The bytes of the regular file at `path` (links followed), at most
/// `limit` of them. Anything else is refused before it is opened: a FIFO
/// would block the open, a device (`/dev/zero`) would never end.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let file = std::fs::File::open(path)?;
    // The path may have been swapped between the check and the open.
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    read_limited(file, limit)
}

/// Everything `reader` gives, or an error once it gives more than `limit`
/// bytes.
pub fn read_limited(reader: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} MiB, the most harden reads", limit >> 20),
        ));
    }
    Ok(bytes)
}

/// [`read_regular`] as text, for the files beside the compose file; `None`
/// when it cannot be read, is too large or is not UTF-8.
pub fn read_beside(path: &Path) -> Option<String> {
    let bytes = read_regular(path, BESIDE_LIMIT).ok()?;
    String::from_utf8(bytes).ok()
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn detect_eol(text: &str) -> Eol {
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count();
    if crlf > 0 && crlf * 2 >= lf {
        Eol::CrLf
    } else {
        Eol::Lf
    }
}

/// The most common positive indentation step between a mapping key line
/// and the line after it, and whether `- ` items sit deeper than their key.
fn detect_indent(text: &str) -> (usize, bool) {
    let mut steps = [0usize; 9];
    let mut seq_indented = 0usize;
    let mut seq_flush = 0usize;
    let mut prev: Option<(usize, bool)> = None;

    for line in text.lines() {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let is_item = trimmed.starts_with("- ") || trimmed == "-";
        if let Some((prev_indent, prev_opens)) = prev
            && prev_opens
        {
            if is_item {
                if indent > prev_indent {
                    seq_indented += 1;
                } else if indent == prev_indent {
                    seq_flush += 1;
                }
            } else if indent > prev_indent && indent - prev_indent < steps.len() {
                steps[indent - prev_indent] += 1;
            }
        }
        let body = trimmed.trim_end_matches('\r').trim_end();
        let opens = !is_item && body.ends_with(':');
        prev = Some((indent, opens));
    }

    let unit = (1..steps.len())
        .max_by_key(|&i| (steps[i], usize::from(i == 2)))
        .filter(|&i| steps[i] > 0)
        .unwrap_or(2);
    (unit, seq_indented >= seq_flush)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_four_space_and_flush_sequences() {
        let src = SourceFile::new("f", None, "a:\n    b:\n    - x\n    c: 1\n".into());
        assert_eq!(src.indent_unit, 4);
        assert!(!src.seq_indented);
        assert_eq!(src.eol, Eol::Lf);
    }

    #[test]
    fn detects_crlf_bom_and_missing_final_newline() {
        let src = SourceFile::new("f", None, "\u{feff}a:\r\n  - x\r\n  - y".into());
        assert!(src.bom);
        assert_eq!(src.eol, Eol::CrLf);
        assert!(src.seq_indented);
        assert!(!src.final_newline);
        assert_eq!(src.frame("z"), "\u{feff}z");
    }

    #[test]
    fn reads_only_regular_files_up_to_the_limit() {
        let dir = std::env::temp_dir().join(format!("harden-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, "abcd").unwrap();
        assert_eq!(read_regular(&file, 4).unwrap(), b"abcd");
        assert!(
            read_regular(&file, 3)
                .unwrap_err()
                .to_string()
                .contains("larger")
        );
        assert!(read_regular(&dir, 4).is_err());
        #[cfg(unix)]
        {
            let err = read_regular(Path::new("/dev/zero"), 4).unwrap_err();
            assert!(err.to_string().contains("not a regular file"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn line_col_counts_characters() {
        let src = SourceFile::new("f", None, "é: 1\nab: 2\n".into());
        assert_eq!(src.line_col(src.text.find("ab").unwrap()), (2, 1));
        assert_eq!(src.line_col(src.text.find(": 1").unwrap()), (1, 2));
    }
}
