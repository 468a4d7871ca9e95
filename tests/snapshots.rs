//! Snapshot tests: the patched YAML, the diff and the notes for every
//! fixture under `tests/fixtures/<rule>/`.

use std::path::{Path, PathBuf};

mod support;

use harden::output;
use harden::source::SourceFile;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fixtures folder") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("rule folder") {
            let file = file.expect("entry").path();
            if file.extension().is_some_and(|e| e == "yml") {
                files.push(file);
            }
        }
    }
    files.sort();
    files
}

fn snapshot_name(path: &Path) -> String {
    let rule = path
        .parent()
        .and_then(Path::file_name)
        .unwrap_or_default()
        .to_string_lossy();
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    format!("{rule}__{stem}")
}

#[test]
fn every_fixture_matches_its_snapshots() {
    let files = fixtures();
    assert!(
        files.len() >= 20,
        "expected the fixture set, found {}",
        files.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for path in files {
            let name = snapshot_name(&path);
            let rel = path
                .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
                .unwrap_or(&path);
            let text = std::fs::read_to_string(&path).expect("fixture");
            let src = SourceFile::new(&rel.to_string_lossy(), Some(&path), text.clone());
            let outcome =
                harden::harden(src, &Default::default()).unwrap_or_else(|e| panic!("{name}: {e}"));

            let mut notes = Vec::new();
            output::report_findings(&mut notes, &outcome.src, &outcome.findings, false)
                .expect("notes");
            let diff = output::unified_diff(&outcome.src, &text, &outcome.output());
            // CRLF shows as a visible marker so the snapshot proves it is kept.
            let patched = outcome.output().replace("\r\n", "⏎\n");
            insta::assert_snapshot!(format!("{name}.yaml"), patched);
            insta::assert_snapshot!(format!("{name}.diff"), diff.replace("\r\n", "⏎\n"));
            insta::assert_snapshot!(
                format!("{name}.notes"),
                String::from_utf8_lossy(&notes).to_string()
            );

            let report = output::report::text(&[output::report::FileFindings {
                src: &outcome.src,
                findings: &outcome.findings,
            }]);
            insta::assert_snapshot!(format!("{name}.report"), report);

            oracle_accepts_if_input_is(&name, &text, &outcome.output());

            // The output is a fixed point: hardening it again changes nothing.
            let again = SourceFile::new(&rel.to_string_lossy(), Some(&path), outcome.output());
            let second = harden::harden(again, &Default::default())
                .unwrap_or_else(|e| panic!("{name} second run: {e}"));
            assert!(!second.changed(), "{name}: second run changed the file");

            if rel.starts_with("published-on-all-interfaces") {
                unsafe_fixes_apply_once(&name, rel, &path, &text);
            }
        }
    });
}

/// The fixtures of the rule with an unsafe fix, hardened by that rule
/// alone with `--unsafe-fixes`: the diff is snapshotted, Compose accepts
/// the output, and a second run changes nothing.
fn unsafe_fixes_apply_once(name: &str, rel: &Path, path: &Path, text: &str) {
    let mut settings = harden::settings::Settings::default();
    settings.unsafe_fixes = true;
    let rule = "published-on-all-interfaces".to_string();
    settings.select = Some(std::collections::BTreeSet::from([rule]));
    let display = rel.to_string_lossy();
    let src = SourceFile::new(&display, Some(path), text.to_string());
    let outcome = harden::harden(src, &settings).unwrap_or_else(|e| panic!("{name} unsafe: {e}"));
    let diff = output::unified_diff(&outcome.src, text, &outcome.output());
    insta::assert_snapshot!(format!("{name}.unsafe.diff"), diff.replace("\r\n", "⏎\n"));

    oracle_accepts_if_input_is(&format!("{name}-unsafe"), text, &outcome.output());

    let again = SourceFile::new(&display, Some(path), outcome.output());
    let second = harden::harden(again, &settings)
        .unwrap_or_else(|e| panic!("{name} unsafe second run: {e}"));
    assert!(
        !second.changed(),
        "{name}: second run with --unsafe-fixes changed the file"
    );
}

/// With the real Compose loader configured (`HARDEN_ORACLE`), an input it
/// accepts must give an output it accepts, with every variable the output
/// newly requires set.
fn oracle_accepts_if_input_is(name: &str, input: &str, output: &str) {
    if support::oracle().is_none() {
        return;
    }
    let dir = support::TempDir::new(name);
    std::fs::write(dir.path().join("in.yml"), input).expect("write input");
    std::fs::write(dir.path().join("out.yml"), output).expect("write output");
    if support::oracle_accepts_full(dir.path(), Path::new("in.yml"), &[]).is_err() {
        return;
    }
    let required: Vec<String> = output
        .match_indices("${")
        .filter_map(|(i, _)| {
            let rest = &output[i + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest[name.len()..].starts_with(":?").then_some(name)
        })
        .collect();
    let env: Vec<(&str, &str)> = required
        .iter()
        .map(|n| (n.as_str(), "placeholder"))
        .collect();
    let verdict = support::oracle_accepts_full(dir.path(), Path::new("out.yml"), &env);
    assert!(
        verdict.is_ok(),
        "{name}: Compose rejects the output: {verdict:?}"
    );
}
