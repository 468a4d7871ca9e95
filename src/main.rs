//! The `harden` command line.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use harden::error::HardenError;
use harden::output;
use harden::settings::Settings;
use harden::source::SourceFile;

/// Make a Docker Compose file production-ready: read-only root filesystems,
/// resource limits, dropped capabilities, secrets out of the environment and
/// internal networks for datastores. Prints the patched YAML by default.
#[derive(Parser, Debug)]
#[command(name = "harden", version, about)]
struct Cli {
    /// The compose file; `-` reads standard input.
    file: String,

    /// Print a unified diff instead of the patched YAML.
    #[arg(long, conflicts_with = "write")]
    diff: bool,

    /// Rewrite FILE in place (atomically) and save moved secret values.
    #[arg(short, long)]
    write: bool,

    /// Write nothing; exit 1 if any change would be made.
    #[arg(long, conflicts_with_all = ["write", "diff"])]
    check: bool,

    /// Only print warnings on stderr, not what each transform did.
    #[arg(short, long)]
    quiet: bool,

    /// Settings file (default: harden.toml beside the compose file, if any).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = writeln!(io::stderr(), "{err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn read_source(file: &str) -> Result<SourceFile, HardenError> {
    let io_err = |message: String| HardenError::Io {
        file: file.to_string(),
        message,
    };
    let bytes = if file == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| io_err(e.to_string()))?;
        buf
    } else {
        let path = Path::new(file);
        if path.is_dir() {
            return Err(io_err("is a directory; give a compose file".into()));
        }
        std::fs::read(path).map_err(|e| io_err(e.to_string()))?
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        HardenError::Input(harden::error::InputError {
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

/// `--config FILE`, or `harden.toml` beside the compose file when present.
fn load_settings(cli: &Cli, src: &SourceFile) -> Result<Settings, HardenError> {
    let beside = src.path.as_deref().map(|p| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("harden.toml")
    });
    let path = match (&cli.config, beside) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) if path.is_file() => path,
        _ => return Ok(Settings::default()),
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| HardenError::Io {
        file: name.clone(),
        message: e.to_string(),
    })?;
    Ok(Settings::from_toml(
        &name,
        &text,
        &harden::rules::rule_ids(),
    )?)
}

fn run(cli: &Cli) -> Result<u8, HardenError> {
    if cli.write && cli.file == "-" {
        return Err(HardenError::Io {
            file: "<stdin>".into(),
            message: "--write needs a file, not stdin".into(),
        });
    }
    let src = read_source(&cli.file)?;
    let settings = load_settings(cli, &src)?;
    let outcome = harden::harden(src, &settings)?;
    let mut stderr = io::BufWriter::new(io::stderr().lock());
    let _ = output::report_findings(&mut stderr, &outcome.src, &outcome.findings, cli.quiet);
    let _ = stderr.flush();

    let mut stdout = io::stdout().lock();
    let result = if cli.check {
        return Ok(u8::from(outcome.changed()));
    } else if cli.diff {
        let diff = output::unified_diff(
            &outcome.src,
            &outcome.src.frame(&outcome.src.text),
            &outcome.output(),
        );
        stdout.write_all(diff.as_bytes())
    } else if cli.write {
        let Some(path) = outcome.src.path.clone() else {
            return Err(HardenError::Io {
                file: cli.file.clone(),
                message: "--write needs a file, not stdin".into(),
            });
        };
        if outcome.changed() {
            let target = output::write::resolve_link(&path);
            if target != path {
                let _ = writeln!(
                    stderr,
                    "{}: note: it is a link; writing to {}",
                    outcome.src.display_name,
                    target.display()
                );
            }
            let report = output::write::write_all(&path, &outcome.output(), &outcome.moved)?;
            for line in report.created {
                let _ = writeln!(stderr, "{}: wrote {line}", outcome.src.display_name);
            }
            for line in report.kept {
                let _ = writeln!(stderr, "{}: warning: {line}", outcome.src.display_name);
            }
        }
        Ok(())
    } else {
        stdout.write_all(outcome.output().as_bytes())
    };
    match result.and_then(|()| stdout.flush()) {
        Ok(()) => Ok(0),
        // A closed pipe (`harden f | head`) is a normal way to stop reading.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(HardenError::Io {
            file: "stdout".into(),
            message: e.to_string(),
        }),
    }
}
