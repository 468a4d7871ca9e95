//! The invariants of DESIGN.md, checked on every file of the shared corpus.
//!
//! Runs only when `HARDEN_CORPUS` points at the corpus (`.ci/run` sets it);
//! `HARDEN_ORACLE` (the real Compose v2 binary) adds the Compose checks.
//! All problems are collected and reported together at the end.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{
    TempDir, corpus_dir, has_line_col, oracle, oracle_accepts, oracle_accepts_full, run_in,
    run_program,
};

const SKIP_MESSAGE: &str = "corpus test skipped: set HARDEN_CORPUS (and HARDEN_ORACLE) to run it";

/// Value given to a variable the output newly requires (`${NAME:?...}`) and
/// the input gave no default for, when the oracle checks with interpolation.
const DUMMY_VALUE: &str = "harden-ci-placeholder";

#[test]
fn corpus_invariants() {
    let Some(corpus) = corpus_dir() else {
        println!("{SKIP_MESSAGE}");
        eprintln!("{SKIP_MESSAGE}");
        return;
    };
    let real = yml_files(&corpus.join("real"));
    let malformed = yml_files(&corpus.join("malformed"));
    assert!(
        !real.is_empty(),
        "HARDEN_CORPUS={} has no real/*.yml files",
        corpus.display()
    );
    let use_oracle = oracle().is_some();

    let failures = Mutex::new(Vec::<String>::new());
    let stats = Mutex::new(Stats::default());
    let jobs: Vec<(&PathBuf, bool)> = real
        .iter()
        .map(|p| (p, false))
        .chain(malformed.iter().map(|p| (p, true)))
        .collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(path, is_malformed)) = jobs.get(i) else {
                        break;
                    };
                    let name = file_name(path);
                    let label = if is_malformed {
                        format!("malformed/{name}")
                    } else {
                        format!("real/{name}")
                    };
                    let mut problems = Vec::new();
                    if is_malformed {
                        check_malformed(path, &mut problems);
                    } else {
                        let s = check_real(path, use_oracle, &mut problems);
                        stats.lock().unwrap().add(&label, s);
                    }
                    let mut f = failures.lock().unwrap();
                    f.extend(problems.into_iter().map(|p| format!("{label}: {p}")));
                }
            });
        }
    });

    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    let stats = stats.into_inner().unwrap();
    let summary = stats.summary(real.len(), malformed.len(), use_oracle);
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{} corpus problem(s):\n  {}\n",
        failures.len(),
        failures.join("\n  ")
    );
}

/// What the oracle said about one real file (for the summary).
#[derive(Default, Clone, Copy)]
struct OracleSeen {
    checked: bool,
    schema_input: bool,
    full_input: bool,
}

#[derive(Default)]
struct Stats {
    files: usize,
    changed: usize,
    schema_accepted: usize,
    full_accepted: usize,
    schema_rejected: Vec<String>,
}

impl Stats {
    fn add(&mut self, label: &str, s: FileStats) {
        self.files += usize::from(s.hardened);
        self.changed += usize::from(s.changed);
        if s.oracle.checked {
            if s.oracle.schema_input {
                self.schema_accepted += 1;
            } else {
                self.schema_rejected.push(label.to_string());
            }
            self.full_accepted += usize::from(s.oracle.full_input);
        }
    }

    fn summary(&self, real: usize, malformed: usize, use_oracle: bool) -> String {
        let mut s = format!(
            "corpus: {real} real files ({} hardened without error, {} changed), {malformed} malformed",
            self.files, self.changed
        );
        if use_oracle {
            let mut rejected = self.schema_rejected.clone();
            rejected.sort();
            s.push_str(&format!(
                "\ncorpus: oracle accepted {} inputs with --no-interpolate and {} with \
                 interpolation in an empty environment; outputs checked in the same modes",
                self.schema_accepted, self.full_accepted
            ));
            if !rejected.is_empty() {
                s.push_str(&format!(
                    "\ncorpus: inputs the oracle rejects (outputs not checked by it): {}",
                    rejected.join(", ")
                ));
            }
        } else {
            s.push_str("\ncorpus: HARDEN_ORACLE not set: Compose checks skipped");
        }
        s
    }
}

#[derive(Default, Clone, Copy)]
struct FileStats {
    hardened: bool,
    changed: bool,
    oracle: OracleSeen,
}

fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml") && p.is_file())
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("corpus entries have names")
        .to_string_lossy()
        .into_owned()
}

/// A fresh temp dir holding `bytes` as `name`.
fn dir_with(name: &str, bytes: &[u8]) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(dir.path().join(name), bytes).expect("write into temp dir");
    dir
}

/// Names of the entries of `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// First few lines of a message, for a one-entry failure report.
fn short(text: &str) -> String {
    let mut s: String = text.lines().take(6).collect::<Vec<_>>().join(" | ");
    if s.len() > 600 {
        let mut cut = 600;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(" ...");
    }
    if s.is_empty() { "(empty)".into() } else { s }
}

/// Lines without their terminator (`\n` or `\r\n`).
fn lines_of(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    if bytes.ends_with(b"\n") {
        out.pop();
    }
    out
}

/// The first line where two texts differ, 1-based, with both versions.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (la, lb) = (lines_of(a), lines_of(b));
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i), lb.get(i));
        if x != y {
            let show = |l: Option<&&[u8]>| {
                l.map_or("<end>".into(), |l| String::from_utf8_lossy(l).into_owned())
            };
            return format!("line {}: {:?} vs {:?}", i + 1, show(x), show(y));
        }
    }
    "only line endings or the final newline differ".into()
}

fn is_comment_line(line: &[u8]) -> bool {
    line.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'#')
}

/// Counts of `\r\n` and bare `\n` terminators.
fn line_endings(bytes: &[u8]) -> (usize, usize) {
    let mut crlf = 0;
    let mut lf = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            if i > 0 && bytes[i - 1] == b'\r' {
                crlf += 1;
            } else {
                lf += 1;
            }
        }
    }
    (crlf, lf)
}

/// One `${NAME<op>word}` reference: the name, the operator (`:-`, `-`,
/// `:?`, `?`, `:+`, `+`, or empty for `${NAME}`) and the word after it.
struct VarRef {
    name: String,
    op: String,
    word: String,
}

/// The braced variable references in `text`, skipping comment lines and
/// `$$` escapes. Nested references inside a word are not listed separately.
fn var_refs(text: &str) -> Vec<VarRef> {
    let mut refs = Vec::new();
    for line in text.lines() {
        if is_comment_line(line.as_bytes()) {
            continue;
        }
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'$' && b.get(i + 1) == Some(&b'$') {
                i += 2;
                continue;
            }
            if !(b[i] == b'$' && b.get(i + 1) == Some(&b'{')) {
                i += 1;
                continue;
            }
            let start = i + 2;
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            let name = &line[start..j];
            let op_len = match (b.get(j), b.get(j + 1)) {
                (Some(b':'), Some(b'-' | b'?' | b'+')) => 2,
                (Some(b'-' | b'?' | b'+'), _) => 1,
                _ => 0,
            };
            let word_start = j + op_len;
            let mut depth = 1;
            let mut k = word_start;
            while k < b.len() {
                match b[k] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            if !name.is_empty() && k < b.len() {
                refs.push(VarRef {
                    name: name.to_string(),
                    op: line[j..word_start].to_string(),
                    word: line[word_start..k].to_string(),
                });
            }
            i = k.max(i + 2);
        }
    }
    refs
}

/// The environment under which the output should mean what the input meant
/// in an empty environment: every variable the output requires but the input
/// did not is set to the input's own default for it, or to a placeholder
/// where the input had none (a literal value the tool moved out).
fn env_for_output(input: &str, output: &str) -> Vec<(String, String)> {
    let in_refs = var_refs(input);
    let mut env: Vec<(String, String)> = Vec::new();
    for r in var_refs(output) {
        if !r.op.ends_with('?') || env.iter().any(|(n, _)| *n == r.name) {
            continue;
        }
        let default = in_refs
            .iter()
            .find(|d| d.name == r.name && d.op.ends_with('-') && !d.word.contains('$'))
            .map(|d| d.word.clone());
        env.push((r.name, default.unwrap_or_else(|| DUMMY_VALUE.to_string())));
    }
    env
}

fn check_real(path: &Path, use_oracle: bool, problems: &mut Vec<String>) -> FileStats {
    let mut stats = FileStats::default();
    let name = file_name(path);
    let input = std::fs::read(path).expect("read corpus file");

    // 1. `harden FILE` succeeds, prints YAML, writes nothing.
    let work = dir_with(&name, &input);
    let out = run_in(work.path(), &[&name], None);
    if out.stderr_str().contains("panicked") {
        problems.push(format!(
            "harden FILE panicked: {}",
            short(&out.stderr_str())
        ));
    }
    if out.code != Some(0) {
        problems.push(format!(
            "harden FILE: {} (want exit 0): {}",
            out.status_text(),
            short(&out.stderr_str())
        ));
        return stats;
    }
    let output = out.stdout;
    stats.hardened = true;
    stats.changed = output != input;
    if std::fs::read(work.path().join(&name)).ok().as_deref() != Some(&input[..]) {
        problems.push("harden FILE modified the input file".into());
    }
    if listing(work.path()) != [name.clone()] {
        problems.push(format!(
            "harden FILE created files: {:?}",
            listing(work.path())
        ));
    }

    // 2. Comment lines survive, in order.
    let out_lines = lines_of(&output);
    let mut pos = 0;
    for (n, line) in lines_of(&input).iter().enumerate() {
        if !is_comment_line(line) {
            continue;
        }
        match out_lines[pos..].iter().position(|l| l == line) {
            Some(k) => pos += k + 1,
            None => {
                problems.push(format!(
                    "comment on input line {} is missing or out of order: {:?}",
                    n + 1,
                    String::from_utf8_lossy(line)
                ));
                break;
            }
        }
    }

    // 3. Line endings follow the input.
    let (in_crlf, in_lf) = line_endings(&input);
    let (out_crlf, out_lf) = line_endings(&output);
    if in_lf == 0 && in_crlf > 0 && out_lf > 0 {
        problems.push(format!(
            "input uses CRLF but the output has {out_lf} bare LF line(s)"
        ));
    }
    if in_crlf == 0 && out_crlf > 0 {
        problems.push(format!(
            "input uses LF but the output has {out_crlf} CRLF line(s)"
        ));
    }

    // 4. Idempotence: harden on its own output prints the same bytes. This
    //    also shows the output parses (bad YAML would exit 2).
    let second = dir_with(&name, &output);
    let again = run_in(second.path(), &[&name], None);
    if again.code != Some(0) {
        problems.push(format!(
            "second run on the output: {} (want exit 0): {}",
            again.status_text(),
            short(&again.stderr_str())
        ));
    } else if again.stdout != output {
        problems.push(format!(
            "not idempotent: second run changes the output at {}",
            first_difference(&output, &again.stdout)
        ));
    }

    // 5. `--diff` applies with `patch -p1` and gives exactly the output.
    check_diff(&name, &input, &output, work.path(), problems);

    // 6. Compose accepts the output wherever it accepts the input.
    if use_oracle {
        stats.oracle = check_oracle(&name, &input, &output, work.path(), second.path(), problems);
    }
    stats
}

fn check_diff(name: &str, input: &[u8], output: &[u8], work: &Path, problems: &mut Vec<String>) {
    let diff = run_in(work, &[name, "--diff"], None);
    if diff.code != Some(0) {
        problems.push(format!(
            "harden FILE --diff: {} (want exit 0): {}",
            diff.status_text(),
            short(&diff.stderr_str())
        ));
        return;
    }
    if output == input {
        if !diff.stdout.is_empty() {
            problems.push("--diff prints a diff although the output equals the input".into());
        }
        return;
    }
    let text = diff.stdout_str();
    let mut head = text.lines();
    let minus = format!("--- a/{name}");
    let plus = format!("+++ b/{name}");
    let header_ok = |line: Option<&str>, want: &str| {
        line.is_some_and(|l| l == want || l.strip_prefix(want).is_some_and(|r| r.starts_with('\t')))
    };
    if !header_ok(head.next(), &minus) || !header_ok(head.next(), &plus) {
        problems.push(format!(
            "--diff headers are not `{minus}` / `{plus}`: {}",
            short(&text.lines().take(2).collect::<Vec<_>>().join("\n"))
        ));
    }
    let target = dir_with(name, input);
    let patched = run_program(
        "patch",
        &["-p1", "--batch", "--fuzz=0", "--no-backup-if-mismatch"],
        target.path(),
        Some(&diff.stdout),
    );
    let said = format!("{}{}", patched.stdout_str(), patched.stderr_str());
    if patched.code != Some(0) {
        problems.push(format!(
            "patch -p1 < diff: {}: {}",
            patched.status_text(),
            short(&said)
        ));
        return;
    }
    if said.contains("offset") || said.contains("fuzz") {
        problems.push(format!(
            "patch applied the diff only loosely: {}",
            short(&said)
        ));
    }
    match std::fs::read(target.path().join(name)) {
        Ok(result) if result == output => {}
        Ok(result) => problems.push(format!(
            "patched file differs from the printed output at {}",
            first_difference(output, &result)
        )),
        Err(e) => problems.push(format!("patched file unreadable: {e}")),
    }
}

/// Two oracle modes: `--no-interpolate` (schema only), and full mode
/// (interpolation plus Compose's consistency checks): the input in an empty
/// environment, the output with [`env_for_output`].
fn check_oracle(
    name: &str,
    input: &[u8],
    output: &[u8],
    input_dir: &Path,
    output_dir: &Path,
    problems: &mut Vec<String>,
) -> OracleSeen {
    let mut seen = OracleSeen {
        checked: true,
        ..OracleSeen::default()
    };
    let file = Path::new(name);
    seen.schema_input = oracle_accepts(input_dir, file).is_ok();
    if seen.schema_input
        && let Err(e) = oracle_accepts(output_dir, file)
    {
        problems.push(format!(
            "compose accepts the input but rejects the output (--no-interpolate): {}",
            short(&e)
        ));
    }
    seen.full_input = oracle_accepts_full(input_dir, file, &[]).is_ok();
    if seen.full_input {
        let env = env_for_output(
            &String::from_utf8_lossy(input),
            &String::from_utf8_lossy(output),
        );
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if let Err(e) = oracle_accepts_full(output_dir, file, &env) {
            problems.push(format!(
                "compose accepts the input but rejects the output (with interpolation and \
                 consistency checks, required variables set): {}",
                short(&e)
            ));
        }
    }
    seen
}

fn check_malformed(path: &Path, problems: &mut Vec<String>) {
    let name = file_name(path);
    let input = std::fs::read(path).expect("read corpus file");
    let work = dir_with(&name, &input);
    let runs = [
        ("harden FILE", run_in(work.path(), &[&name], None)),
        (
            "harden FILE --diff",
            run_in(work.path(), &[&name, "--diff"], None),
        ),
        ("harden -", run_in(work.path(), &["-"], Some(&input))),
    ];
    for (what, out) in &runs {
        let err = out.stderr_str();
        if out.code != Some(2) {
            problems.push(format!(
                "{what}: {} (want exit 2): {}",
                out.status_text(),
                short(&err)
            ));
        }
        if !out.stdout.is_empty() {
            problems.push(format!(
                "{what}: printed {} bytes on stdout (want none)",
                out.stdout.len()
            ));
        }
        if err.contains("panicked") {
            problems.push(format!("{what} panicked: {}", short(&err)));
        }
        if !has_line_col(&err) {
            problems.push(format!(
                "{what}: stderr has no `:LINE:COL:` location: {}",
                short(&err)
            ));
        } else if *what != "harden -" && !err.contains(&format!("{name}:")) {
            problems.push(format!(
                "{what}: stderr does not name the file as `{name}:LINE:COL:`: {}",
                short(&err)
            ));
        }
    }
    if std::fs::read(work.path().join(&name)).ok().as_deref() != Some(&input[..]) {
        problems.push("the input file was modified".into());
    }
    if listing(work.path()) != [name.clone()] {
        problems.push(format!("files were created: {:?}", listing(work.path())));
    }
}
