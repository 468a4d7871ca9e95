//! The report formats against their contracts: JSON against
//! `docs/findings.schema.json`, SARIF against the SARIF 2.1.0 schema and
//! what GitHub code scanning reads, and GitHub workflow annotations.
//!
//! Every check runs the real binary on the fixtures, one file at a time
//! and all of them at once.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use jsonschema::Validator;
use serde_json::{Value, json};

use harden::output::report::JSON_VERSION;
use support::TempDir;

const SARIF_SKIP: &str = "SARIF schema check skipped: set HARDEN_SARIF_SCHEMA to the \
     SARIF 2.1.0 JSON schema (.ci/run does) to run it";

/// A way to break a valid document, and what it breaks.
type Breakage = (&'static str, fn(&mut Value));

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every fixture, relative to the crate root, sorted.
fn fixtures() -> Vec<String> {
    let mut files = Vec::new();
    let dir = root().join("tests/fixtures");
    for rule in std::fs::read_dir(&dir).expect("fixtures folder") {
        let rule = rule.expect("entry").path();
        for file in std::fs::read_dir(&rule).into_iter().flatten() {
            let file = file.expect("entry").path();
            if file.extension().is_some_and(|e| e == "yml") {
                let rel = file.strip_prefix(root()).expect("under the crate");
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "expected the fixtures, found {files:?}");
    files
}

/// Each fixture alone, then all of them in one run.
fn runs() -> Vec<Vec<String>> {
    let all = fixtures();
    let mut runs: Vec<Vec<String>> = all.iter().map(|f| vec![f.clone()]).collect();
    runs.push(all);
    runs
}

/// `harden --format FORMAT FILES...` in `dir`; the run must succeed.
fn report_in(dir: &Path, format: &str, files: &[String]) -> String {
    let mut args = vec!["--format", format];
    args.extend(files.iter().map(String::as_str));
    let out = support::run_in(dir, &args, None);
    assert_eq!(
        out.code,
        Some(0),
        "{format} {files:?}: {}\n{}",
        out.status_text(),
        out.stderr_str()
    );
    out.stdout_str()
}

fn parse(format: &str, files: &[String], text: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{format} {files:?}: not JSON: {e}\n{text}"))
}

fn compile(schema: &Value, what: &str) -> Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"))
}

/// Every schema violation, with where it is in the instance.
fn violations(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

fn findings_schema() -> Value {
    let path = root().join("docs/findings.schema.json");
    let text = std::fs::read_to_string(&path).expect("docs/findings.schema.json");
    serde_json::from_str(&text).expect("findings schema is JSON")
}

#[test]
fn findings_schema_is_a_valid_schema_for_this_version() {
    let schema = findings_schema();
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("docs/findings.schema.json breaks its meta-schema: {e}");
    }
    // The schema documents the version the code writes.
    let version = json!(JSON_VERSION);
    assert_eq!(
        schema["$defs"]["finding"]["properties"]["version"]["const"],
        version
    );
    assert!(
        schema["$id"]
            .as_str()
            .unwrap_or("")
            .ends_with(&format!(":v{JSON_VERSION}"))
    );
    assert!(
        schema["title"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("version {JSON_VERSION}"))
    );
}

#[test]
fn json_report_matches_its_documented_schema() {
    let validator = compile(&findings_schema(), "docs/findings.schema.json");
    let mut seen_rules = BTreeSet::new();
    for files in runs() {
        let value = parse("json", &files, &report_in(root(), "json", &files));
        let errors = violations(&validator, &value);
        assert!(errors.is_empty(), "json {files:?}:\n{}", errors.join("\n"));
        for finding in value.as_array().into_iter().flatten() {
            let file = finding["file"].as_str().unwrap_or("");
            assert!(files.iter().any(|f| f == file), "{file} was not given");
            seen_rules.insert(finding["rule"].as_str().unwrap_or("").to_string());
        }
    }
    // The fixtures exercise every rule, so the schema saw every shape.
    let every: BTreeSet<String> = harden::rules::metas()
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    assert_eq!(seen_rules, every);
}

/// A finding from a real run, to break on purpose.
fn sample_finding() -> Value {
    let files = vec!["tests/fixtures/secret-in-environment/map-and-list.yml".to_string()];
    let value = parse("json", &files, &report_in(root(), "json", &files));
    value[0].clone()
}

#[test]
fn findings_schema_rejects_what_version_1_does_not_say() {
    let validator = compile(&findings_schema(), "docs/findings.schema.json");
    let good = sample_finding();
    assert!(validator.is_valid(&json!([good])), "{good}");

    let breakages: &[Breakage] = &[
        ("version 2", |f| f["version"] = json!(2)),
        ("line 0", |f| f["line"] = json!(0)),
        ("column as text", |f| f["column"] = json!("3")),
        ("severity info", |f| f["severity"] = json!("info")),
        ("unknown severity", |f| f["severity"] = json!("severe")),
        ("service number", |f| f["service"] = json!(7)),
        ("extra field", |f| f["extra"] = json!(true)),
        ("missing message", |f| {
            f.as_object_mut().map(|o| o.remove("message"));
        }),
        ("safety none", |f| f["fix"]["safety"] = json!("none")),
        ("available without safety", |f| {
            f["fix"] = json!({"available": true, "safety": null});
        }),
        ("safety without fix", |f| {
            f["fix"] = json!({"available": false, "safety": "safe"});
        }),
        ("extra fix field", |f| f["fix"]["edits"] = json!([])),
    ];
    for (what, apply) in breakages {
        let mut bad = good.clone();
        apply(&mut bad);
        assert!(
            !validator.is_valid(&json!([bad])),
            "the schema accepts a finding with {what}"
        );
    }
    assert!(!validator.is_valid(&good), "a bare object, not an array");
}

fn sarif_validator() -> Option<Validator> {
    let path = std::env::var_os("HARDEN_SARIF_SCHEMA").filter(|v| !v.is_empty())?;
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("HARDEN_SARIF_SCHEMA={}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("SARIF schema is JSON");
    let title = schema["title"].as_str().unwrap_or("");
    assert!(
        title.contains("SARIF") && title.contains("2.1.0"),
        "HARDEN_SARIF_SCHEMA is not the SARIF 2.1.0 schema: {title:?}"
    );
    Some(compile(&schema, "SARIF 2.1.0"))
}

#[test]
fn sarif_report_is_valid_sarif_2_1_0() {
    let Some(validator) = sarif_validator() else {
        println!("{SARIF_SKIP}");
        eprintln!("{SARIF_SKIP}");
        return;
    };
    let mut results = 0;
    for files in runs() {
        let log = parse("sarif", &files, &report_in(root(), "sarif", &files));
        let errors = violations(&validator, &log);
        assert!(errors.is_empty(), "sarif {files:?}:\n{}", errors.join("\n"));
        results += log["runs"][0]["results"].as_array().map_or(0, Vec::len);
    }
    assert!(results > 0, "no results were checked");

    // The schema is really applied: a broken log is rejected.
    let files = fixtures();
    let good = parse("sarif", &files, &report_in(root(), "sarif", &files));
    let breakages: &[Breakage] = &[
        ("version 2.0.0", |l| l["version"] = json!("2.0.0")),
        ("startLine 0", |l| {
            l["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
                json!(0);
        }),
        ("level fatal", |l| {
            l["runs"][0]["results"][0]["level"] = json!("fatal");
        }),
        ("message without text", |l| {
            l["runs"][0]["results"][0]["message"] = json!({});
        }),
        ("driver without name", |l| {
            l["runs"][0]["tool"]["driver"]
                .as_object_mut()
                .map(|d| d.remove("name"));
        }),
        ("unknown run property", |l| l["runs"][0]["extra"] = json!(1)),
        ("invocation without executionSuccessful", |l| {
            l["runs"][0]["invocations"][0]
                .as_object_mut()
                .map(|i| i.remove("executionSuccessful"));
        }),
    ];
    for (what, apply) in breakages {
        let mut bad = good.clone();
        apply(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "the SARIF schema accepts a log with {what}"
        );
    }
}

/// Undoes `%XX` escapes.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What GitHub code scanning needs of a SARIF log beyond the schema, for a
/// run on `files` (as given on the command line). Returns the problems.
fn code_scanning_problems(log: &Value, files: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(p);
    let runs = log["runs"].as_array().map_or(&[][..], Vec::as_slice);
    if runs.len() != 1 {
        problem(format!("{} runs, expected 1", runs.len()));
    }
    let Some(run) = runs.first() else {
        return problems;
    };
    if log["version"] != "2.1.0" {
        problem(format!("version {}", log["version"]));
    }
    let driver = &run["tool"]["driver"];
    if driver["name"].as_str().is_none_or(str::is_empty) {
        problem("tool.driver.name is missing".into());
    }

    let rules = driver["rules"].as_array().map_or(&[][..], Vec::as_slice);
    let mut ids = BTreeSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let id = rule["id"].as_str().unwrap_or("");
        if id.is_empty() || !ids.insert(id) {
            problem(format!("rules[{i}]: id {id:?} missing or repeated"));
        }
        for text in ["shortDescription", "fullDescription", "help"] {
            if rule[text]["text"]
                .as_str()
                .is_none_or(|t| t.trim().is_empty())
            {
                problem(format!("rule {id}: no {text}.text"));
            }
        }
        if rule["help"]["markdown"].as_str().is_none_or(str::is_empty) {
            problem(format!("rule {id}: no help.markdown"));
        }
        // Code scanning reads the score only from a string.
        let score = &rule["properties"]["security-severity"];
        match score.as_str().map(str::parse::<f64>) {
            Some(Ok(n)) if (0.0..=10.0).contains(&n) => {}
            _ => problem(format!(
                "rule {id}: security-severity {score} is not a string score"
            )),
        }
        let level = &rule["defaultConfiguration"]["level"];
        if !matches!(level.as_str(), Some("error" | "warning" | "note")) {
            problem(format!("rule {id}: default level {level}"));
        }
    }

    let results = run["results"].as_array().map_or(&[][..], Vec::as_slice);
    let mut fingerprints = BTreeSet::new();
    for (i, result) in results.iter().enumerate() {
        let rule_id = result["ruleId"].as_str().unwrap_or("");
        let at = format!("results[{i}] ({rule_id})");
        let index = result["ruleIndex"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok());
        match index.and_then(|n| rules.get(n)) {
            Some(rule) if rule["id"] == rule_id => {}
            _ => problem(format!(
                "{at}: ruleIndex {} does not name it",
                result["ruleIndex"]
            )),
        }
        if result["message"]["text"]
            .as_str()
            .is_none_or(|t| t.trim().is_empty())
        {
            problem(format!("{at}: empty message"));
        }
        let locations = result["locations"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        if locations.len() != 1 {
            problem(format!("{at}: {} locations", locations.len()));
        }
        let Some(location) = locations.first() else {
            continue;
        };
        let physical = &location["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().unwrap_or("");
        let decoded = percent_decode(uri);
        let has_scheme = uri
            .split_once(':')
            .is_some_and(|(scheme, _)| !scheme.contains('/'));
        if uri.is_empty() || has_scheme || uri.starts_with('/') || uri.starts_with("./") {
            problem(format!("{at}: uri {uri:?} is not a relative reference"));
        }
        if uri.contains('\\') || uri.contains(' ') {
            problem(format!("{at}: uri {uri:?} has unescaped characters"));
        }
        if !files
            .iter()
            .any(|f| f.strip_prefix("./").unwrap_or(f) == decoded)
        {
            problem(format!("{at}: uri {uri:?} names none of {files:?}"));
        }
        let region = &physical["region"];
        for key in ["startLine", "startColumn"] {
            if region[key].as_u64().is_none_or(|n| n < 1) {
                problem(format!("{at}: region.{key} {}", region[key]));
            }
        }
        // Two results with one fingerprint in one file are one alert.
        let print = result["partialFingerprints"].to_string();
        if !fingerprints.insert((uri.to_string(), print.clone())) {
            problem(format!("{at}: fingerprint {print} repeated in {uri}"));
        }
    }
    problems
}

#[test]
fn sarif_report_has_what_github_code_scanning_reads() {
    let mut results = 0;
    for files in runs() {
        let log = parse("sarif", &files, &report_in(root(), "sarif", &files));
        let problems = code_scanning_problems(&log, &files);
        assert!(
            problems.is_empty(),
            "sarif {files:?}:\n{}",
            problems.join("\n")
        );
        results += log["runs"][0]["results"].as_array().map_or(0, Vec::len);
    }
    assert!(results > 0, "no results were checked");
}

#[test]
fn code_scanning_check_catches_what_code_scanning_rejects() {
    let files = vec!["tests/fixtures/secret-in-environment/map-and-list.yml".to_string()];
    let good = parse("sarif", &files, &report_in(root(), "sarif", &files));
    assert!(code_scanning_problems(&good, &files).is_empty());
    let rule = "/runs/0/tool/driver/rules/0";
    let location = "/runs/0/results/0/locations/0/physicalLocation";
    let breakages = [
        (
            "a number score",
            format!("{rule}/properties/security-severity"),
            json!(5.5),
        ),
        ("empty help", format!("{rule}/help/text"), json!("")),
        ("no tool name", "/runs/0/tool/driver/name".into(), json!("")),
        (
            "a wrong rule index",
            "/runs/0/results/0/ruleIndex".into(),
            json!(99),
        ),
        (
            "an absolute path",
            format!("{location}/artifactLocation/uri"),
            json!("/w/c.yml"),
        ),
        (
            "a file URI",
            format!("{location}/artifactLocation/uri"),
            json!("file:///c.yml"),
        ),
        (
            "start line 0",
            format!("{location}/region/startLine"),
            json!(0),
        ),
    ];
    for (what, pointer, value) in breakages {
        let mut bad = good.clone();
        *bad.pointer_mut(&pointer)
            .unwrap_or_else(|| panic!("{pointer}")) = value;
        assert!(
            !code_scanning_problems(&bad, &files).is_empty(),
            "the check accepts {what}"
        );
    }
}

/// One `::command file=F,line=L,col=C,title=T::message` line, unescaped.
#[derive(Debug)]
struct Annotation {
    command: String,
    file: String,
    line: usize,
    col: usize,
    title: String,
    message: String,
}

/// Whether every `%` in `text` starts one of the `allowed` escapes.
fn escapes_only(text: &str, allowed: &[&str]) -> bool {
    text.match_indices('%')
        .all(|(i, _)| allowed.iter().any(|a| text[i..].starts_with(a)))
}

fn unescape(text: &str) -> String {
    percent_decode(text)
}

fn parse_annotation(line: &str) -> Result<Annotation, String> {
    const DATA: &[&str] = &["%25", "%0D", "%0A"];
    const PROPERTY: &[&str] = &["%25", "%0D", "%0A", "%3A", "%2C"];

    let rest = line.strip_prefix("::").ok_or("no leading ::")?;
    let (command, rest) = rest.split_once(' ').ok_or("no properties")?;
    if !matches!(command, "error" | "warning" | "notice") {
        return Err(format!("unknown command {command:?}"));
    }
    let (properties, message) = rest.split_once("::").ok_or("no :: before the message")?;
    let pairs: Vec<(&str, &str)> = properties
        .split(',')
        .map(|p| p.split_once('=').ok_or(format!("property {p:?} has no =")))
        .collect::<Result<_, _>>()?;
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    if keys != ["file", "line", "col", "title"] {
        return Err(format!("properties {keys:?}"));
    }
    for (key, value) in &pairs {
        if value.is_empty() || value.contains(['\r', '\n']) || !escapes_only(value, PROPERTY) {
            return Err(format!("property {key}={value:?} is badly escaped"));
        }
    }
    if message.is_empty() || message.contains(['\r', '\n']) || !escapes_only(message, DATA) {
        return Err(format!("message {message:?} is badly escaped"));
    }
    let number = |v: &str| -> Result<usize, String> {
        match v.parse::<usize>() {
            Ok(n) if n >= 1 && !v.starts_with('0') => Ok(n),
            _ => Err(format!("{v:?} is not a line or column")),
        }
    };
    Ok(Annotation {
        command: command.to_string(),
        file: unescape(pairs[0].1),
        line: number(pairs[1].1)?,
        col: number(pairs[2].1)?,
        title: unescape(pairs[3].1),
        message: unescape(message),
    })
}

#[test]
fn github_annotations_are_well_formed_and_match_the_json_report() {
    for files in runs() {
        let text = report_in(root(), "github", &files);
        let json = parse("json", &files, &report_in(root(), "json", &files));
        let findings = json.as_array().map_or(&[][..], Vec::as_slice);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), findings.len(), "github {files:?}:\n{text}");
        for (line, finding) in lines.iter().zip(findings) {
            let note = parse_annotation(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(note.file, finding["file"], "{line}");
            assert_eq!(json!(note.line), finding["line"], "{line}");
            assert_eq!(json!(note.col), finding["column"], "{line}");
            let rule = finding["rule"].as_str().unwrap_or("");
            assert!(note.title.contains(rule), "{line}");
            let command = match finding["severity"].as_str() {
                Some("critical" | "high") => "error",
                Some("medium") => "warning",
                _ => "notice",
            };
            assert_eq!(note.command, command, "{line}");
            assert!(
                note.message
                    .contains(finding["message"].as_str().unwrap_or("")),
                "{line}"
            );
        }
    }
}

const STACK: &str = "services:
  db:
    image: postgres:16
";

#[test]
fn odd_file_names_are_escaped_in_every_format() {
    let dir = TempDir::new("report-names");
    let names = ["a,b:c.yml", "100%.yml", "two\nlines.yml", "sp ace#.yml"];
    for name in names {
        std::fs::write(dir.path().join(name), STACK).expect("write");
    }
    let files: Vec<String> = names.iter().map(|n| n.to_string()).collect();

    let text = report_in(dir.path(), "github", &files);
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    let mut seen = BTreeSet::new();
    for line in &lines {
        let note = parse_annotation(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        seen.insert(note.file);
    }
    assert_eq!(seen, files.iter().cloned().collect());
    assert!(text.contains("file=a%2Cb%3Ac.yml,"), "{text}");
    assert!(text.contains("file=100%25.yml,"), "{text}");
    assert!(text.contains("file=two%0Alines.yml,"), "{text}");

    let log = parse("sarif", &files, &report_in(dir.path(), "sarif", &files));
    let problems = code_scanning_problems(&log, &files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if let Some(validator) = sarif_validator() {
        let errors = violations(&validator, &log);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }

    let json = parse("json", &files, &report_in(dir.path(), "json", &files));
    let validator = compile(&findings_schema(), "docs/findings.schema.json");
    let errors = violations(&validator, &json);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let named: BTreeSet<String> = json
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["file"].as_str().map(str::to_string))
        .collect();
    assert_eq!(named, files.iter().cloned().collect());
}

#[test]
fn sarif_names_an_absolute_path_with_a_file_uri() {
    let dir = TempDir::new("report-absolute");
    let path = dir.path().join("compose.yml");
    std::fs::write(&path, STACK).expect("write");
    let absolute = path.to_string_lossy().into_owned();
    let files = vec![absolute.clone()];
    let log = parse("sarif", &files, &report_in(dir.path(), "sarif", &files));
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        let uri = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
        let uri = uri.as_str().unwrap_or("");
        assert!(uri.starts_with("file:///"), "{uri}");
        assert_eq!(percent_decode(&uri["file://".len()..]), absolute);
    }
    if let Some(validator) = sarif_validator() {
        let errors = violations(&validator, &log);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
}

#[test]
fn two_hazards_on_one_line_are_two_code_scanning_alerts() {
    let dir = TempDir::new("report-one-line");
    let stack = "services:
  app:
    image: example/app:1
    environment: {A_PASSWORD: \"xk3j4h5kj34h5\", B_TOKEN: \"y9s8df7s9d8f7\"}
";
    std::fs::write(dir.path().join("compose.yml"), stack).expect("write");
    let files = vec!["compose.yml".to_string()];
    let log = parse("sarif", &files, &report_in(dir.path(), "sarif", &files));
    let on_line_4 = log["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"] == 4)
        .count();
    assert_eq!(on_line_4, 2, "{log}");
    let problems = code_scanning_problems(&log, &files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Code scanning keeps an alert, and its dismissal, by fingerprint: lines
/// added above a finding must not change it.
#[test]
fn sarif_fingerprints_survive_lines_moving() {
    let dir = TempDir::new("reports-fingerprints");
    let text = "services:\n  web:\n    image: nginx\n    privileged: true\n    volumes:\n      - /etc:/etc\n      - /etc:/host-etc\n";
    let prints = |body: &str| -> Vec<String> {
        std::fs::write(dir.path().join("compose.yml"), body).expect("write");
        let log = parse(
            "sarif",
            &[],
            &report_in(dir.path(), "sarif", &["compose.yml".into()]),
        );
        let mut all: Vec<String> = log["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["partialFingerprints"]["harden/v1"].to_string())
            .collect();
        all.sort();
        all
    };
    let before = prints(text);
    let after = prints(&format!("# production stack\n\n{text}"));
    assert!(before.len() >= 4, "{before:?}");
    assert_eq!(before, after);
    assert_eq!(
        before.iter().collect::<BTreeSet<_>>().len(),
        before.len(),
        "fingerprints repeat: {before:?}"
    );
}

/// `harden .//` names `.//compose.yml`: reports must keep it relative
/// (`compose.yml`), not turn it into `/compose.yml` at the root.
#[test]
fn doubled_slashes_keep_paths_relative() {
    let dir = TempDir::new("report-slashes");
    std::fs::write(dir.path().join("compose.yml"), STACK).expect("write");
    for arg in [".//", "././/compose.yml"] {
        let files = vec![arg.to_string()];
        let log = parse("sarif", &files, &report_in(dir.path(), "sarif", &files));
        let uris: BTreeSet<&str> = log["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter_map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
            })
            .collect();
        assert_eq!(uris, BTreeSet::from(["compose.yml"]), "{arg}");
        let github = report_in(dir.path(), "github", &files);
        assert!(
            github.lines().all(|l| l.contains(" file=compose.yml,")),
            "{github}"
        );
    }
}

/// Two hazards inherited at one place (two mounts through `<<`, both
/// reported at the service's key) keep their own fingerprints when the
/// other goes away: they are told apart by what they say, not by order.
#[test]
fn sarif_fingerprints_of_hazards_at_one_place_are_their_own() {
    let dir = TempDir::new("reports-inherited");
    // Fingerprint of each sensitive-host-mount result, by its message.
    let prints = |mounts: &str| -> std::collections::BTreeMap<String, String> {
        let text = format!(
            "x-base: &base\n  volumes:\n{mounts}services:\n  web:\n    <<: *base\n    image: nginx:1.27\n"
        );
        std::fs::write(dir.path().join("compose.yml"), text).expect("write");
        let files = vec!["compose.yml".to_string()];
        let log = parse("sarif", &files, &report_in(dir.path(), "sarif", &files));
        log["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|r| r["ruleId"] == "sensitive-host-mount")
            .map(|r| {
                (
                    r["message"]["text"].to_string(),
                    r["partialFingerprints"]["harden/v1"].to_string(),
                )
            })
            .collect()
    };
    let both = prints("    - /etc:/host-etc\n    - /root:/host-root\n");
    let one = prints("    - /root:/host-root\n");
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(one.len(), 1, "{one:?}");
    let (message, print) = one.iter().next().expect("one result");
    assert_eq!(both.get(message), Some(print), "{both:?}");
    let prints: BTreeSet<&String> = both.values().collect();
    assert_eq!(prints.len(), 2, "{both:?}");
}

/// A file that fails among good ones: the SARIF run says it was not
/// successful and names the file, so code scanning does not read the
/// missing results as a clean file. The message is the error's first
/// line, redacted like every snippet.
#[test]
fn sarif_lists_files_that_failed() {
    let dir = TempDir::new("reports-broken");
    std::fs::write(dir.path().join("compose.yml"), STACK).expect("write");
    let broken = "services:\n  db:\n    environment: {DB_PASSWORD=s3cret, DB_PASSWORD=s3cret}\n";
    std::fs::write(dir.path().join("broken.yml"), broken).expect("write");
    let files: Vec<String> = ["compose.yml", "broken.yml", "missing.yml"]
        .iter()
        .map(|f| f.to_string())
        .collect();
    let mut args = vec!["--format", "sarif"];
    args.extend(files.iter().map(String::as_str));
    let out = support::run_in(dir.path(), &args, None);
    assert_eq!(out.code, Some(2), "{}", out.stderr_str());
    let text = out.stdout_str();
    assert!(!text.contains("s3cret"), "{text}");
    let log = parse("sarif", &files, &text);
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], json!(false), "{log}");
    let notes = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notes.len(), 2, "{log}");
    let location = |i: usize| &notes[i]["locations"][0]["physicalLocation"];
    assert_eq!(location(0)["artifactLocation"]["uri"], "broken.yml");
    assert_eq!(location(0)["region"]["startLine"], 3);
    assert_eq!(location(1)["artifactLocation"]["uri"], "missing.yml");
    let message = notes[0]["message"]["text"].as_str().unwrap_or("");
    assert!(
        message.starts_with("broken.yml:3:") && message.contains("`DB_PASSWORD=<redacted>`"),
        "{message}"
    );
    assert!(notes.iter().all(|n| n["level"] == "error"));
    assert!(
        log["runs"][0]["results"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    let problems = code_scanning_problems(&log, &files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let good = vec!["compose.yml".to_string()];
    let log = parse("sarif", &good, &report_in(dir.path(), "sarif", &good));
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], json!(true), "{log}");
    if let Some(validator) = sarif_validator() {
        for log in [parse("sarif", &files, &text), log] {
            let errors = violations(&validator, &log);
            assert!(errors.is_empty(), "{}", errors.join("\n"));
        }
    }
}
