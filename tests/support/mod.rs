//! Helpers shared by the integration tests.
//!
//! Each test file that wants them declares `mod support;`. Not every test
//! file uses every helper, hence the `dead_code` allowances.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Path of the `harden` binary that cargo built for these tests.
pub fn harden_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_harden"))
}

/// What a finished process left behind.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `None` when the process was killed by a signal.
    pub code: Option<i32>,
}

impl RunOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// One-line description of the exit status, for failure messages.
    pub fn status_text(&self) -> String {
        match self.code {
            Some(c) => format!("exit {c}"),
            None => "killed by a signal".to_string(),
        }
    }
}

/// Build a command with a small, predictable environment: only PATH and HOME
/// (and RUST_BACKTRACE, when the test runner has it) are passed on.
fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for key in ["PATH", "HOME", "RUST_BACKTRACE"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd
}

fn finish(mut cmd: Command, stdin: Option<&[u8]>, what: &str) -> RunOutput {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped());
    cmd.stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    // Feed stdin from a thread so a child that prints before it has read
    // everything cannot deadlock us. A child that exits early closes the
    // pipe: that is not a write failure worth reporting.
    let writer = stdin.map(|input| {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
    if let Some(w) = writer {
        let _ = w.join();
    }
    RunOutput {
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code(),
    }
}

/// Run `harden ARGS...` in the current directory.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> RunOutput {
    let mut cmd = clean_command(harden_bin());
    cmd.args(args);
    finish(cmd, stdin, "harden")
}

/// Run `harden ARGS...` with `dir` as its working directory.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> RunOutput {
    let mut cmd = clean_command(harden_bin());
    cmd.args(args).current_dir(dir);
    finish(cmd, stdin, "harden")
}

/// Run any program with the same clean environment, in `dir`.
pub fn run_program(
    program: impl AsRef<OsStr>,
    args: &[&str],
    dir: &Path,
    stdin: Option<&[u8]>,
) -> RunOutput {
    let name = program.as_ref().to_string_lossy().into_owned();
    let mut cmd = clean_command(program);
    cmd.args(args).current_dir(dir);
    finish(cmd, stdin, &name)
}

/// The real Compose v2 binary (`HARDEN_ORACLE`), if one was given.
pub fn oracle() -> Option<PathBuf> {
    std::env::var_os("HARDEN_ORACLE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The shared real-world corpus (`HARDEN_CORPUS`), if one was given.
pub fn corpus_dir() -> Option<PathBuf> {
    std::env::var_os("HARDEN_CORPUS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The shared failure cases (`HARDEN_CASES`), if one was given.
pub fn cases_dir() -> Option<PathBuf> {
    std::env::var_os("HARDEN_CASES")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn oracle_run(
    dir: &Path,
    file: &Path,
    no_interpolate: bool,
    env: &[(&str, &str)],
) -> Result<bool, String> {
    let bin = oracle().ok_or_else(|| "HARDEN_ORACLE is not set".to_string())?;
    let mut cmd = clean_command(&bin);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("-f").arg(file).args(["config", "-q"]);
    if no_interpolate {
        cmd.arg("--no-interpolate");
    }
    cmd.current_dir(dir);
    let out = finish(cmd, None, &format!("compose oracle {}", bin.display()));
    match out.code {
        Some(0) => Ok(true),
        Some(_) => {
            // Drop Compose's warnings (obsolete `version`, unset variables)
            // so the error itself comes first.
            let text = out.stderr_str();
            let errors: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains("level=warning"))
                .collect();
            Err(if errors.is_empty() {
                text.trim().to_string()
            } else {
                errors.join("\n")
            })
        }
        None => Err(format!("oracle killed by a signal: {}", out.stderr_str())),
    }
}

/// `<oracle> -f FILE config -q --no-interpolate`, run in `dir` with only
/// PATH and HOME in the environment. `Ok(true)` when it exits 0, `Err(stderr)`
/// otherwise (also when no oracle is configured).
///
/// This mode checks the Compose schema only: with `--no-interpolate`,
/// Compose also skips its consistency checks (undefined networks, secrets or
/// volumes, `network_mode` with `networks`, `mem_limit` against
/// `deploy.resources.limits.memory`). See [`oracle_accepts_full`].
pub fn oracle_accepts(dir: &Path, file: &Path) -> Result<bool, String> {
    oracle_run(dir, file, true, &[])
}

/// `<oracle> -f FILE config -q` with interpolation and Compose's consistency
/// checks, run in `dir` with PATH, HOME and the given variables only.
pub fn oracle_accepts_full(dir: &Path, file: &Path, env: &[(&str, &str)]) -> Result<bool, String> {
    oracle_run(dir, file, false, env)
}

/// A fresh, empty directory under the system temp dir; removed on drop.
/// (Stands in for the `tempfile` crate, which is not a dev-dependency.)
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let safe: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "harden-test-{}-{}-{}",
                std::process::id(),
                n,
                safe
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create temp dir {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Does `text` contain `:LINE:COL:` (two runs of ASCII digits between colons)?
pub fn has_line_col(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |mut i: usize| -> Option<usize> {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i > start).then_some(i)
    };
    (0..b.len()).any(|i| {
        b[i] == b':'
            && digits(i + 1)
                .filter(|&j| b.get(j) == Some(&b':'))
                .and_then(|j| digits(j + 1))
                .is_some_and(|k| b.get(k) == Some(&b':'))
    })
}

/// The string items of a list value (empty for anything else).
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Run `harden ARGS...` in `dir` under guards for inputs that used to
/// hang or eat the memory: stdin is a pipe held open (so reading it
/// blocks, as a terminal would), memory is capped with `ulimit -v`, and
/// the process is killed after `secs` seconds (`code` is then `None`).
#[cfg(unix)]
pub fn run_guarded(dir: &Path, args: &[&str], secs: u64) -> RunOutput {
    let mut cmd = clean_command("sh");
    // 4 GiB of address space: plenty for harden, a quick failure for an
    // endless read.
    cmd.args(["-c", "ulimit -v 4194304 && exec \"$0\" \"$@\""])
        .arg(harden_bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start harden");
    let stdin = child.stdin.take();
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for harden") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(stdin);
    RunOutput {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        code: status.and_then(|s| s.code()),
    }
}

/// `mkfifo PATH`, for tests of inputs that are not regular files.
#[cfg(unix)]
pub fn mkfifo(path: &Path) {
    let out = Command::new("mkfifo")
        .arg(path)
        .output()
        .expect("run mkfifo");
    assert!(out.status.success(), "mkfifo {}", path.display());
}
