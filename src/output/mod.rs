//! Output sinks: patched YAML, unified diff, findings on stderr, and the
//! in-place write with the values moved out of the file.

pub mod report;
pub mod write;

use std::io::{self, Write};

use similar::TextDiff;

use crate::error::printable;
use crate::rules::{Finding, Level};
use crate::source::SourceFile;

/// A unified diff that `patch -p1` applies to the original file.
pub fn unified_diff(src: &SourceFile, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let name = diff_name(&src.display_name);
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// The name in the diff headers: the path as given, without `./`, `../`
/// or a leading `/`, so `patch -p1` run beside the file finds it; a tab
/// ends a name with spaces, as `diff` does.
fn diff_name(display: &str) -> String {
    if display == "-" || display == "<stdin>" {
        return "stdin".to_string();
    }
    let parts: Vec<&str> = display
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .collect();
    let name = if display.contains("..") {
        parts.last().copied().unwrap_or(display).to_string()
    } else {
        parts.join("/")
    };
    if name.contains(' ') {
        format!("{name}\t")
    } else {
        name
    }
}

/// One line per finding: `FILE:LINE:COL: severity[rule]: service: message`.
pub fn report_findings(
    err: &mut dyn Write,
    src: &SourceFile,
    findings: &[Finding],
    quiet: bool,
) -> io::Result<()> {
    for finding in findings {
        if quiet && finding.level == Level::Note {
            continue;
        }
        // Minor hazards harden does not fix belong in the audit report
        // (`--check`), not in the log of what it did.
        if finding.level == Level::Note && !finding.notice && !finding.fixable() {
            continue;
        }
        let (line, col) = src.line_col(finding.at);
        let level = match finding.level {
            Level::Note => "note",
            Level::Warning => "warning",
        };
        // Names and messages come from the file: never raw escapes.
        let service = finding
            .service
            .as_deref()
            .map(|s| format!("{}: ", printable(s)))
            .unwrap_or_default();
        // The message says what the fix does; say too when it was held back.
        let withheld = if finding.withheld.is_empty() {
            ""
        } else {
            " (unsafe fix, not applied: rerun with --unsafe-fixes)"
        };
        writeln!(
            err,
            "{}:{line}:{col}: {level}[{}]: {service}{}{withheld}",
            printable(&src.display_name),
            finding.rule,
            printable(&finding.message)
        )?;
    }
    Ok(())
}
