//! Output sinks: patched YAML, unified diff, findings on stderr, and the
//! in-place write with the values moved out of the file.

pub mod write;

use std::io::{self, Write};

use similar::TextDiff;

use crate::rules::{Finding, Severity};
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

fn diff_name(display: &str) -> String {
    if display == "-" || display == "<stdin>" {
        return "stdin".to_string();
    }
    display
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

/// One line per finding: `FILE:LINE:COL: severity[rule]: service: message`.
pub fn report_findings(
    err: &mut dyn Write,
    src: &SourceFile,
    findings: &[Finding],
    quiet: bool,
) -> io::Result<()> {
    for finding in findings {
        if quiet && finding.severity == Severity::Note {
            continue;
        }
        let (line, col) = src.line_col(finding.at);
        let level = match finding.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
        };
        let service = finding
            .service
            .as_deref()
            .map(|s| format!("{s}: "))
            .unwrap_or_default();
        writeln!(
            err,
            "{}:{line}:{col}: {level}[{}]: {service}{}",
            src.display_name, finding.rule, finding.message
        )?;
    }
    Ok(())
}
