//! Audit reports: the hazards found in one or more files, as text for
//! people, JSON (schema in `docs/findings.schema.json`), SARIF 2.1.0 for
//! code scanning, or GitHub workflow annotations.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::error::{HardenError, caret_pad, printable, safe_line};
use crate::rules::{self, Finding, FixSafety, Severity};
use crate::source::SourceFile;

/// The version of the JSON report's shape; see `docs/findings.schema.json`.
pub const JSON_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "github" => Some(Format::Github),
            _ => None,
        }
    }
}

/// One file's findings, as the report reads them.
pub struct FileFindings<'a> {
    pub src: &'a SourceFile,
    pub findings: &'a [Finding],
}

/// A file harden could not report on (exit code 2 or 3), as the SARIF
/// log's invocation lists it: code scanning must not read the missing
/// results as a clean file.
#[derive(Debug, Clone)]
pub struct ReportError {
    /// The file as given, when the error names one on disk.
    pub file: Option<String>,
    /// 1-based, or 0 when the error has no line.
    pub line: usize,
    /// The first line of the error as printed: snippets under it are left
    /// out, and what it quotes is redacted like every message.
    pub message: String,
}

impl From<&HardenError> for ReportError {
    fn from(err: &HardenError) -> ReportError {
        let (file, line) = match err {
            HardenError::Input(e) => (Some(e.file.as_str()), e.line),
            HardenError::Io { file, .. } | HardenError::Internal { file, .. } => {
                (Some(file.as_str()), 0)
            }
            HardenError::Usage(_) => (None, 0),
        };
        let text = err.to_string();
        ReportError {
            // Not files: standard input and output.
            file: file
                .filter(|f| !matches!(*f, "<stdin>" | "-" | "stdout"))
                .map(str::to_string),
            line,
            message: text.lines().next().unwrap_or("").to_string(),
        }
    }
}

/// A hazard with everything a report shows about it.
struct Entry<'a> {
    /// The file's place on the command line.
    index: usize,
    file: &'a str,
    src: &'a SourceFile,
    line: usize,
    col: usize,
    finding: &'a Finding,
    title: &'static str,
    /// The fix's safety when one exists.
    fix: Option<FixSafety>,
}

/// Source lines as reports show them (credentials masked), each worked
/// out once: a service's findings mostly point at its one line.
#[derive(Default)]
struct SafeLines(HashMap<(usize, usize), Option<String>>);

impl SafeLines {
    fn get(&mut self, e: &Entry) -> Option<&str> {
        self.0
            .entry((e.index, e.line))
            .or_insert_with(|| safe_line(e.src, e.line))
            .as_deref()
    }
}

impl Entry<'_> {
    /// `NAME: ` before a message, nothing for the file as a whole.
    fn service_prefix(&self) -> String {
        self.finding
            .service
            .as_deref()
            .map(|s| format!("{s}: "))
            .unwrap_or_default()
    }

    /// The command that applies the fix, when there is one.
    fn fix_command(&self) -> Option<&'static str> {
        match self.fix? {
            FixSafety::Unsafe => Some("harden --write --unsafe-fixes"),
            _ => Some("harden --write"),
        }
    }
}

/// Whether a finding belongs in an audit report: a hazard, not a notice.
pub fn is_hazard(finding: &Finding) -> bool {
    !finding.notice && finding.severity > Severity::Info
}

/// Whether any hazard is at or above `threshold`.
pub fn fails(files: &[FileFindings], threshold: Severity) -> bool {
    files
        .iter()
        .flat_map(|f| f.findings)
        .any(|f| is_hazard(f) && f.severity >= threshold)
}

fn entries<'a>(files: &'a [FileFindings<'a>]) -> Vec<Entry<'a>> {
    let order: Vec<&str> = rules::metas().iter().map(|m| m.id).collect();
    let rank = |id: &str| order.iter().position(|o| *o == id).unwrap_or(order.len());
    let mut list = Vec::new();
    for (index, file) in files.iter().enumerate() {
        for finding in file.findings.iter().filter(|f| is_hazard(f)) {
            let (line, col) = file.src.line_col(finding.at);
            let meta = rules::meta(finding.rule);
            let fix = finding
                .fixable()
                .then(|| meta.map_or(FixSafety::Safe, |m| m.fix));
            list.push(Entry {
                index,
                file: &file.src.display_name,
                src: file.src,
                line,
                col,
                finding,
                title: meta.map_or("", |m| m.summary),
                fix,
            });
        }
    }
    // Stable order: files as given, then position, then registry order.
    list.sort_by_key(|e| (e.index, e.line, e.col, rank(e.finding.rule)));
    list
}

/// The report in `format`. Errors go on stderr; only SARIF also lists
/// them, in its invocation, since code scanning reads nothing else.
pub fn render(format: Format, files: &[FileFindings], errors: &[ReportError]) -> String {
    match format {
        Format::Text => text(files),
        Format::Json => json_report(files),
        Format::Sarif => sarif(files, errors),
        Format::Github => github(files, errors),
    }
}

/// For people: each hazard with its source line, then a summary.
pub fn text(files: &[FileFindings]) -> String {
    let list = entries(files);
    let mut out = String::new();
    let mut lines = SafeLines::default();
    for e in &list {
        // Names and messages come from the file: never raw escapes.
        let service = printable(&e.service_prefix()).into_owned();
        let message = printable(&e.finding.message);
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}]: {service}{}",
            printable(e.file),
            e.line,
            e.col,
            e.finding.severity.as_str(),
            e.finding.rule,
            e.title
        );
        let gutter = e.line.to_string().len();
        if let Some(source) = lines.get(e) {
            let _ = writeln!(out, " {} | {}", e.line, printable(source));
            let pad = caret_pad(source, e.col);
            let _ = writeln!(out, " {} | {pad}^", " ".repeat(gutter));
        }
        let lead = format!(" {} =", " ".repeat(gutter));
        match e.fix {
            Some(FixSafety::Unsafe) => {
                let _ = writeln!(out, "{lead} fix (unsafe, with --unsafe-fixes): {message}");
            }
            Some(_) => {
                let _ = writeln!(out, "{lead} fix: {message}");
            }
            None => {
                let _ = writeln!(out, "{lead} {message}");
                let _ = writeln!(
                    out,
                    "{lead} not fixed automatically: see `harden explain {}`",
                    e.finding.rule
                );
            }
        }
        out.push('\n');
    }
    out.push_str(&summary(&list, files.len()));
    out
}

fn summary(list: &[Entry], files: usize) -> String {
    let in_files = if files == 1 {
        "1 file".to_string()
    } else {
        format!("{files} files")
    };
    if list.is_empty() {
        return format!("no findings in {in_files}\n");
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = list.iter().filter(|e| e.finding.severity == *s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect();
    let safe = list
        .iter()
        .filter(|e| e.fix.is_some_and(|f| f != FixSafety::Unsafe))
        .count();
    let r#unsafe = list
        .iter()
        .filter(|e| e.fix == Some(FixSafety::Unsafe))
        .count();
    let plural = if list.len() == 1 { "" } else { "s" };
    let mut line = format!(
        "{} finding{plural} in {in_files} ({})",
        list.len(),
        counts.join(", ")
    );
    match (safe, r#unsafe) {
        (0, 0) => line.push_str("; none has an automatic fix"),
        (n, 0) => {
            let _ = write!(line, "; {n} fixed by `harden --write`");
        }
        (n, u) => {
            let _ = write!(
                line,
                "; {n} fixed by `harden --write`, {u} more with --unsafe-fixes"
            );
        }
    }
    line.push('\n');
    line
}

/// One JSON object per hazard, in an array (see `docs/findings.schema.json`).
pub fn json_report(files: &[FileFindings]) -> String {
    let list: Vec<Value> = entries(files)
        .iter()
        .map(|e| {
            json!({
                "version": JSON_VERSION,
                "rule": e.finding.rule,
                "severity": e.finding.severity.as_str(),
                "file": e.file,
                "line": e.line,
                "column": e.col,
                "service": e.finding.service,
                "title": e.title,
                "message": e.finding.message,
                "fix": {
                    "available": e.fix.is_some(),
                    "safety": e.fix.map(FixSafety::as_str),
                },
            })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_default();
    out.push('\n');
    out
}

/// SARIF 2.1.0, as GitHub code scanning reads it: every rule of the
/// registry as a descriptor, every hazard as a result with its region,
/// and the files that failed as notifications of an unsuccessful run.
pub fn sarif(files: &[FileFindings], errors: &[ReportError]) -> String {
    let metas = rules::metas();
    let descriptors: Vec<Value> = metas
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": camel(m.id),
                "shortDescription": { "text": m.summary },
                "fullDescription": { "text": first_paragraph(m.docs, "## What") },
                "help": {
                    "text": m.docs,
                    "markdown": m.docs,
                },
                "defaultConfiguration": { "level": sarif_level(m.severity) },
                "properties": {
                    "security-severity": m.severity.score(),
                    "tags": ["security", "docker-compose"],
                    "precision": "high",
                },
            })
        })
        .collect();
    let mut seen: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut lines = SafeLines::default();
    let results: Vec<Value> = entries(files)
        .iter()
        .map(|e| {
            let index = metas.iter().position(|m| m.id == e.finding.rule);
            let service = e
                .finding
                .service
                .as_deref()
                .map(|s| format!("service `{s}`: "))
                .unwrap_or_default();
            let fix = e
                .fix_command()
                .map(|c| format!(" Fix with `{c}`."))
                .unwrap_or_default();
            let mut result = json!({
                "ruleId": e.finding.rule,
                "level": sarif_level(e.finding.severity),
                "message": {
                    "text": format!("{service}{}. {}.{fix}", e.title, e.finding.message.trim_end_matches('.'))
                },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(e.file) },
                        "region": { "startLine": e.line, "startColumn": e.col },
                    }
                }],
                "partialFingerprints": { "harden/v1": fingerprint(e, &mut seen, &mut lines) },
            });
            if let (Some(i), Some(obj)) = (index, result.as_object_mut()) {
                obj.insert("ruleIndex".into(), json!(i));
                // A finding rated apart from its rule's default (a root
                // user of an unknown image is low) says so itself.
                if index.and_then(|i| metas.get(i)).map(|m| m.severity) != Some(e.finding.severity) {
                    obj.insert(
                        "properties".into(),
                        json!({ "security-severity": e.finding.severity.score() }),
                    );
                }
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "harden",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": descriptors,
                }
            },
            "invocations": [invocation(errors)],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

/// The run's invocation: whether every file was read and checked, and an
/// error notification for each file that was not.
fn invocation(errors: &[ReportError]) -> Value {
    let notifications: Vec<Value> = errors
        .iter()
        .map(|err| {
            let mut notification = json!({
                "level": "error",
                "message": { "text": err.message },
            });
            if let Some(file) = &err.file {
                let mut location = json!({ "artifactLocation": { "uri": uri(file) } });
                if err.line > 0
                    && let Some(object) = location.as_object_mut()
                {
                    object.insert("region".into(), json!({ "startLine": err.line }));
                }
                if let Some(object) = notification.as_object_mut() {
                    object.insert(
                        "locations".into(),
                        json!([{ "physicalLocation": location }]),
                    );
                }
            }
            notification
        })
        .collect();
    let mut invocation = json!({ "executionSuccessful": errors.is_empty() });
    if !notifications.is_empty()
        && let Some(object) = invocation.as_object_mut()
    {
        object.insert(
            "toolExecutionNotifications".into(),
            Value::Array(notifications),
        );
    }
    invocation
}

/// GitHub workflow commands: one annotation per hazard.
pub fn github(files: &[FileFindings], errors: &[ReportError]) -> String {
    let mut out = String::new();
    // A file that could not be read fails the run: say where.
    for error in errors {
        let mut properties = Vec::new();
        if let Some(file) = &error.file {
            properties.push(format!("file={}", property(&tidy_path(file))));
            if error.line > 0 {
                properties.push(format!("line={}", error.line));
            }
        }
        properties.push("title=harden".to_string());
        let _ = writeln!(
            out,
            "::error {}::{}",
            properties.join(","),
            data(&printable(&error.message))
        );
    }
    for e in entries(files) {
        let command = match e.finding.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            _ => "notice",
        };
        let service = e.service_prefix();
        let fix = e
            .fix_command()
            .map(|c| format!(" (fix: {c})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}",
            property(&tidy_path(e.file)),
            e.line,
            e.col,
            property(&format!(
                "harden {} ({})",
                e.finding.rule,
                e.finding.severity.as_str()
            )),
            data(&format!("{service}{}: {}{fix}", e.title, e.finding.message))
        );
    }
    out
}

/// A fingerprint that survives edits elsewhere in the file, so code
/// scanning keeps an alert (and its dismissal) when lines move: the rule,
/// the service, a hash of the finding's source line as reports show it
/// (credentials masked, so nothing secret goes into the hash), the column
/// and a hash of the message (which names no secret value), numbered when
/// all of these repeat. The message tells apart hazards reported at one
/// place, such as two mounts inherited through `<<` at the service's key:
/// without it they would be told apart only by their order.
fn fingerprint(
    e: &Entry,
    seen: &mut BTreeMap<(usize, String), usize>,
    lines: &mut SafeLines,
) -> String {
    let line = lines.get(e).unwrap_or_default();
    let base = format!(
        "{}:{}:{:016x}:{}:{:016x}",
        e.finding.rule,
        e.finding.service.as_deref().unwrap_or(""),
        fnv1a(line.trim()),
        e.col,
        fnv1a(&e.finding.message)
    );
    let count = seen.entry((e.index, base.clone())).or_insert(0);
    *count += 1;
    format!("{base}:{count}")
}

/// FNV-1a: stable across builds and platforms, unlike std's hasher.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// `docker-socket-mount` → `DockerSocketMount`, SARIF's rule name style.
fn camel(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The first paragraph after `heading` in a rule's docs.
fn first_paragraph(docs: &str, heading: &str) -> String {
    let Some(start) = docs.find(heading) else {
        return String::new();
    };
    docs[start + heading.len()..]
        .trim_start()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .replace('\n', " ")
}

/// A URI for a path as the user gave it: a relative reference, which code
/// scanning resolves against the checkout, or a `file://` URI for an
/// absolute path (a bare `/path` would be a relative reference too).
fn uri(path: &str) -> String {
    let path = tidy_path(path);
    let mut out = if path.starts_with('/') {
        "file://".to_string()
    } else {
        String::new()
    };
    for c in path.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' | '/' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            }
        }
    }
    out
}

/// A path as code scanning matches it against the checkout: `/` not
/// repeated and no leading `./` (`harden .//` names `.//compose.yml`). An
/// absolute path stays absolute, a relative one relative.
fn tidy_path(path: &str) -> String {
    let mut tidy = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && tidy.ends_with('/')) {
            tidy.push(c);
        }
    }
    let mut rest = tidy.as_str();
    while let Some(inner) = rest.strip_prefix("./") {
        rest = inner;
    }
    rest.to_string()
}

/// Escapes a workflow command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_escapes() {
        assert_eq!(camel("docker-socket-mount"), "DockerSocketMount");
        assert_eq!(uri("./a b/compose.yml"), "a%20b/compose.yml");
        assert_eq!(uri("a:b,c.yml"), "a%3Ab%2Cc.yml");
        assert_eq!(uri("/srv/app/compose.yml"), "file:///srv/app/compose.yml");
        assert_eq!(uri(".//compose.yml"), "compose.yml");
        assert_eq!(uri("././a//b/compose.yml"), "a/b/compose.yml");
        assert_eq!(uri("//srv//compose.yml"), "file:///srv/compose.yml");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            first_paragraph("# x\n\n## What\n\nOne\ntwo.\n\nThree.", "## What"),
            "One two."
        );
    }
}
