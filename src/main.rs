//! The `harden` command line.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use harden::Outcome;
use harden::error::{HardenError, InputError};
use harden::output::{self, report};
use harden::rules::{self, FixSafety, Severity};
use harden::settings::Settings;
use harden::source::{BESIDE_LIMIT, COMPOSE_LIMIT, SourceFile, read_limited, read_regular};

/// Make Docker Compose files production-ready: read-only root filesystems,
/// resource limits, dropped capabilities, secrets out of the environment and
/// internal networks for datastores. Prints the patched YAML by default;
/// `--check` or `--format` report the hazards found instead.
#[derive(Parser, Debug)]
#[command(
    name = "harden",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Compose files, or folders to search for compose files; `-` reads
    /// standard input.
    files: Vec<String>,

    /// Print a unified diff instead of the patched YAML.
    #[arg(long, conflicts_with_all = ["write", "format"])]
    diff: bool,

    /// Rewrite each file in place (atomically) and save moved secret values.
    #[arg(short, long, conflicts_with = "format")]
    write: bool,

    /// Write nothing; report the hazards found (as text unless --format
    /// says otherwise) and exit 1 if any is at or above --fail-on.
    #[arg(long, conflicts_with_all = ["write", "diff"])]
    check: bool,

    /// Report the hazards found on stdout in this format; writes nothing.
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json", "sarif", "github"])]
    format: Option<String>,

    /// With --check: the lowest severity that makes the exit code 1
    /// (default: low).
    #[arg(
        long,
        value_name = "SEVERITY",
        requires = "check",
        value_parser = ["low", "medium", "high", "critical"]
    )]
    fail_on: Option<String>,

    /// Report only hazards at or above this severity (default: low);
    /// hidden ones do not count for --fail-on either.
    #[arg(
        long,
        value_name = "SEVERITY",
        value_parser = ["low", "medium", "high", "critical"]
    )]
    min_severity: Option<String>,

    /// Run only these rules (ids, comma-separated or repeated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    select: Vec<String>,

    /// Do not run these rules (ids, comma-separated or repeated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    ignore: Vec<String>,

    /// Also apply fixes that can change how the stack is reached or run.
    #[arg(long)]
    unsafe_fixes: bool,

    /// Only print warnings on stderr, not what each transform did.
    #[arg(short, long)]
    quiet: bool,

    /// How many files to work on at once (default: one per core). Output
    /// comes in the order the files were given either way; --write works
    /// one file at a time.
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,

    /// Settings file (default: harden.toml beside each compose file).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every rule: id, severity, fix and summary.
    Rules,
    /// Print the documentation of a rule.
    Explain {
        /// The rule id, as `harden rules` lists it.
        id: String,
    },
}

/// Notices that say a report does not cover part of a file; they go to
/// stderr beside a report.
const REPORT_GAPS: &[&str] = &["include", "no-services"];

/// Names of compose files `harden DIR` looks for, with their
/// `.override`/`.prod` siblings.
const COMPOSE_NAMES: &[&str] = &["compose", "docker-compose"];

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stderr = io::stderr();
    let code = match &cli.command {
        Some(Command::Rules) => print_rules(),
        Some(Command::Explain { id }) => explain(id),
        None => run(cli),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = writeln!(stderr, "{err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn usage(message: String) -> HardenError {
    HardenError::Usage(message)
}

fn print_rules() -> Result<u8, HardenError> {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<28} {:<9} {:<7} SUMMARY\n",
        "RULE", "SEVERITY", "FIX"
    ));
    for meta in rules::metas() {
        out.push_str(&format!(
            "{:<28} {:<9} {:<7} {}\n",
            meta.id,
            meta.severity.as_str(),
            meta.fix.as_str(),
            meta.summary
        ));
    }
    print_stdout(&out)
}

fn explain(id: &str) -> Result<u8, HardenError> {
    if let Some(text) = rules::notice_docs(id) {
        return print_stdout(&format!(
            "# `{id}` (a notice, not a rule)\n\n{text}\n\nNotices appear in the log on stderr, never in reports; ignore them like rules.\n"
        ));
    }
    let Some(meta) = rules::meta(id) else {
        return Err(usage(format!(
            "unknown rule `{id}`; `harden rules` lists them"
        )));
    };
    let fix = match meta.fix {
        FixSafety::Safe => "safe, applied by default",
        FixSafety::Unsafe => "unsafe, applied with --unsafe-fixes",
        FixSafety::None => "none, reported only",
    };
    let text = format!(
        "{}\nSeverity: {}. Fix: {fix}.\n",
        meta.docs.trim_end(),
        meta.severity.as_str()
    );
    print_stdout(&text)
}

fn print_stdout(text: &str) -> Result<u8, HardenError> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(0),
        // A closed pipe (`harden f | head`) is a normal way to stop reading.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(HardenError::Io {
            file: "stdout".into(),
            message: e.to_string(),
        }),
    }
}

/// The compose files to work on: files as given, folders searched.
fn expand(args: &[String]) -> Result<Vec<String>, HardenError> {
    let mut files = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if arg != "-" && path.is_dir() {
            let before = files.len();
            let root = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            find_compose_files(path, &root, &mut files);
            if files.len() == before {
                return Err(usage(format!(
                    "{arg}: no compose files in this folder (looked for compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml and their .override/.prod siblings)"
                )));
            }
        } else {
            files.push(arg.clone());
        }
    }
    Ok(dedup_files(files))
}

/// `files` without repeats: `harden b b/compose.yml ./b/` names one file
/// three times, and one report should list its findings once. The first
/// spelling is kept, in order; a file that does not resolve is kept as
/// given (its error names it).
fn dedup_files(files: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    files
        .into_iter()
        .filter(|file| {
            let key = std::fs::canonicalize(file).unwrap_or_else(|_| PathBuf::from(file));
            file == "-" || seen.insert(key)
        })
        .collect()
}

/// Compose files under `dir`, sorted, skipping hidden folders and
/// dependency trees. Linked folders are not followed (no loops), and a
/// linked file only when it resolves inside `root`, the folder searched:
/// `harden .` must not wander to `/dev/zero` or another project.
fn find_compose_files(dir: &Path, root: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    let mut dirs = Vec::new();
    for path in entries {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
        if path.is_dir() {
            if !is_link && !name.starts_with('.') && name != "node_modules" {
                dirs.push(path);
            }
        } else if is_compose_name(&name) && (!is_link || resolves_inside(&path, root)) {
            found.push(path.to_string_lossy().into_owned());
        }
    }
    for sub in dirs {
        find_compose_files(&sub, root, found);
    }
}

/// Whether `path` resolves to a file under the canonical `root`; a broken
/// link resolves nowhere.
fn resolves_inside(path: &Path, root: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|target| target.starts_with(root))
}

fn is_compose_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
    else {
        return false;
    };
    let base = stem
        .strip_suffix(".override")
        .or_else(|| stem.strip_suffix(".prod"))
        .unwrap_or(stem);
    COMPOSE_NAMES.contains(&base)
}

fn read_source(file: &str) -> Result<SourceFile, HardenError> {
    let io_err = |message: String| HardenError::Io {
        file: file.to_string(),
        message,
    };
    let bytes = if file == "-" {
        read_limited(io::stdin().lock(), COMPOSE_LIMIT).map_err(|e| io_err(e.to_string()))?
    } else {
        let path = Path::new(file);
        if path.is_dir() {
            return Err(io_err("is a directory; give a compose file".into()));
        }
        read_regular(path, COMPOSE_LIMIT).map_err(|e| io_err(e.to_string()))?
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let before = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .unwrap_or_default();
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        HardenError::Input(InputError {
            file: file.to_string(),
            line,
            col,
            message: "the file is not valid UTF-8".into(),
            snippet: None,
        })
    })?;
    let path = (file != "-").then(|| PathBuf::from(file));
    let name = if file == "-" { "<stdin>" } else { file };
    Ok(SourceFile::new(name, path.as_deref(), text))
}

/// `--config FILE`, or `harden.toml` beside the compose file when present,
/// with the command line's rule choices on top.
fn load_settings(cli: &Cli, src: &SourceFile) -> Result<Settings, HardenError> {
    let beside = src.path.as_deref().map(|p| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("harden.toml")
    });
    let path = match (&cli.config, beside) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(path)) if path.is_file() => Some(path),
        _ => None,
    };
    let mut settings = match path {
        Some(path) => {
            let name = path.display().to_string();
            let io_err = |message: String| HardenError::Io {
                file: name.clone(),
                message,
            };
            let bytes = read_regular(&path, BESIDE_LIMIT).map_err(|e| io_err(e.to_string()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| io_err("the settings file is not valid UTF-8".into()))?;
            Settings::from_toml(&name, &text, &rules::rule_ids())?
        }
        None => Settings::default(),
    };
    settings.ignore.extend(cli.ignore.iter().cloned());
    if !cli.select.is_empty() {
        settings.select = Some(cli.select.iter().cloned().collect());
    }
    settings.unsafe_fixes = cli.unsafe_fixes;
    Ok(settings)
}

/// Rejects rule ids the command line names that do not exist.
fn check_rule_ids(cli: &mut Cli) -> Result<(), HardenError> {
    // `--select "a, b"` reads as two ids.
    for ids in [&mut cli.select, &mut cli.ignore] {
        *ids = ids
            .iter()
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .collect();
    }
    let known: BTreeSet<&str> = rules::rule_ids().into_iter().collect();
    for (flag, ids) in [("--select", &cli.select), ("--ignore", &cli.ignore)] {
        if let Some(bad) = ids.iter().find(|id| !known.contains(id.as_str())) {
            return Err(usage(format!(
                "{flag}: unknown rule `{bad}`; `harden rules` lists them"
            )));
        }
    }
    Ok(())
}

fn run(mut cli: Cli) -> Result<u8, HardenError> {
    check_rule_ids(&mut cli)?;
    let cli = &cli;
    if cli.files.is_empty() {
        return Err(usage(
            "give a compose file or a folder (`harden --help` shows the options)".into(),
        ));
    }
    let files = expand(&cli.files)?;
    let printing_yaml = !(cli.diff || cli.write || cli.check || cli.format.is_some());
    if files.len() > 1 && printing_yaml {
        return Err(usage(format!(
            "{} files: use --diff, --write, --check or --format to work on several at once",
            files.len()
        )));
    }
    if files.len() > 1 && files.iter().any(|f| f == "-") {
        return Err(usage(
            "`-` (stdin) cannot be combined with other files".into(),
        ));
    }
    if cli.write && files.iter().any(|f| f == "-") {
        return Err(HardenError::Io {
            file: "<stdin>".into(),
            message: "--write needs a file, not stdin".into(),
        });
    }

    let mut stderr = io::BufWriter::new(io::stderr().lock());
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut worst: Option<HardenError> = None;
    // Every error, for the SARIF log: code scanning sees nothing else.
    let mut errors: Vec<report::ReportError> = Vec::new();
    let reporting = cli.check || cli.format.is_some();
    for result in harden_all(cli, &files) {
        match result {
            Ok(outcome) => {
                if !reporting {
                    let _ = output::report_findings(
                        &mut stderr,
                        &outcome.src,
                        &outcome.findings,
                        cli.quiet,
                    );
                } else {
                    // Parts of the project a report does not cover.
                    let gaps: Vec<harden::rules::Finding> = outcome
                        .findings
                        .iter()
                        .filter(|f| REPORT_GAPS.contains(&f.rule))
                        .cloned()
                        .collect();
                    let _ = output::report_findings(&mut stderr, &outcome.src, &gaps, true);
                }
                if let Err(err) = emit(cli, &outcome, &mut stderr) {
                    let _ = writeln!(stderr, "{err}");
                    errors.push((&err).into());
                    keep_worst(&mut worst, err);
                }
                outcomes.push(outcome);
            }
            Err(err) => {
                let _ = writeln!(stderr, "{err}");
                errors.push((&err).into());
                keep_worst(&mut worst, err);
            }
        }
    }
    let _ = stderr.flush();

    if reporting {
        let format = cli
            .format
            .as_deref()
            .and_then(report::Format::parse)
            .unwrap_or(report::Format::Text);
        let shown = severity(cli.min_severity.as_deref());
        // Copied only when --min-severity hides some.
        let kept: Vec<std::borrow::Cow<[harden::rules::Finding]>> = outcomes
            .iter()
            .map(|o| {
                if o.findings.iter().all(|f| f.severity >= shown) {
                    std::borrow::Cow::Borrowed(o.findings.as_slice())
                } else {
                    o.findings
                        .iter()
                        .filter(|f| f.severity >= shown)
                        .cloned()
                        .collect::<Vec<_>>()
                        .into()
                }
            })
            .collect();
        let files: Vec<report::FileFindings> = outcomes
            .iter()
            .zip(&kept)
            .map(|(o, findings)| report::FileFindings {
                src: &o.src,
                findings,
            })
            .collect();
        // Every file failed: the errors on stderr say it all; an empty
        // text report would read like a pass.
        if !(files.is_empty() && worst.is_some() && format == report::Format::Text) {
            let mut text = report::render(format, &files, &errors);
            let hidden = outcomes
                .iter()
                .flat_map(|o| &o.findings)
                .filter(|f| report::is_hazard(f) && f.severity < shown)
                .count();
            if format == report::Format::Text && hidden > 0 {
                text.push_str(&format!(
                    "{hidden} more below {} not shown (--min-severity)\n",
                    shown.as_str()
                ));
            }
            print_stdout(&text)?;
        }
        if worst.is_none() && cli.check && report::fails(&files, severity(cli.fail_on.as_deref())) {
            return Ok(1);
        }
    }
    // The process ends here: freeing every tree and finding one by one
    // would only delay the exit.
    std::mem::forget(outcomes);
    match worst {
        // Every file was tried; the exit code says the worst that happened.
        Some(err) => Ok(err.exit_code()),
        None => Ok(0),
    }
}

/// A severity flag's value; clap allows only the listed names.
fn severity(flag: Option<&str>) -> Severity {
    flag.and_then(Severity::parse).unwrap_or(Severity::Low)
}

fn keep_worst(worst: &mut Option<HardenError>, err: HardenError) {
    if worst
        .as_ref()
        .is_none_or(|w| err.exit_code() > w.exit_code())
    {
        *worst = Some(err);
    }
}

/// Every file's outcome, in the order given. Files are independent, so
/// they are shared out among worker threads; with --write they are done
/// one by one, in order, because a file may read the layer beside it that
/// an earlier one just wrote.
fn harden_all(cli: &Cli, files: &[String]) -> Vec<Result<Outcome, HardenError>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = cli.jobs.map_or(cores, usize::from).min(files.len());
    if cli.write || jobs <= 1 {
        return files.iter().map(|file| harden_one(cli, file)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Outcome, HardenError>>> =
        std::iter::repeat_with(|| None).take(files.len()).collect();
    let done = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else {
                            return mine;
                        };
                        mine.push((i, harden_one(cli, file)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect::<Vec<_>>()
    });
    for (i, result) in done {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(result);
        }
    }
    files
        .iter()
        .zip(results)
        .map(|(file, result)| {
            result.unwrap_or_else(|| {
                Err(HardenError::Internal {
                    file: file.clone(),
                    message: "the worker thread for this file stopped unexpectedly".into(),
                })
            })
        })
        .collect()
}

fn harden_one(cli: &Cli, file: &str) -> Result<Outcome, HardenError> {
    let src = read_source(file)?;
    let settings = load_settings(cli, &src)?;
    if cli.check || cli.format.is_some() {
        harden::audit(src, &settings)
    } else {
        harden::harden(src, &settings)
    }
}

/// Prints or writes one file's result, as the mode asks.
fn emit(cli: &Cli, outcome: &Outcome, stderr: &mut dyn Write) -> Result<(), HardenError> {
    if cli.check || cli.format.is_some() {
        return Ok(());
    }
    if cli.diff {
        let diff = output::unified_diff(
            &outcome.src,
            &outcome.src.frame(&outcome.src.text),
            &outcome.output(),
        );
        print_stdout(&diff)?;
        return Ok(());
    }
    if !cli.write {
        print_stdout(&outcome.output())?;
        return Ok(());
    }
    let Some(path) = outcome.src.path.clone() else {
        return Err(HardenError::Io {
            file: outcome.src.display_name.clone(),
            message: "--write needs a file, not stdin".into(),
        });
    };
    if !outcome.changed() {
        return Ok(());
    }
    let target = output::write::resolve_link(&path);
    if target != path {
        let _ = writeln!(
            stderr,
            "{}: note: it is a link; writing to {}",
            outcome.src.display_name,
            target.display()
        );
    }
    let written = output::write::write_all(&path, &outcome.output(), &outcome.moved)?;
    for line in written.created {
        let _ = writeln!(stderr, "{}: wrote {line}", outcome.src.display_name);
    }
    for line in written.kept {
        let _ = writeln!(stderr, "{}: warning: {line}", outcome.src.display_name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_compose_name;

    #[test]
    fn compose_file_names() {
        for name in [
            "compose.yaml",
            "compose.yml",
            "docker-compose.yml",
            "docker-compose.yaml",
            "compose.override.yml",
            "docker-compose.prod.yaml",
        ] {
            assert!(is_compose_name(name), "{name}");
        }
        for name in [
            "compose.dev.yml",
            "mycompose.yml",
            "compose.json",
            "docker-compose",
        ] {
            assert!(!is_compose_name(name), "{name}");
        }
    }
}
