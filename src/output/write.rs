//! `--write`: saves the moved values, then replaces the compose file
//! atomically (temporary file in the same folder, then rename).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::HardenError;
use crate::rules::MovedValue;
use crate::source::{BESIDE_LIMIT, read_regular};

/// What the write did, for the notes on stderr.
#[derive(Debug, Default)]
pub struct WriteReport {
    pub created: Vec<String>,
    pub kept: Vec<String>,
}

fn io_err(path: &Path, err: std::io::Error) -> HardenError {
    let shown = path.display().to_string().replace("/./", "/");
    HardenError::Io {
        file: shown.trim_start_matches("./").to_string(),
        message: err.to_string(),
    }
}

/// The file a path names, following symbolic links, so that `--write`
/// replaces the target and keeps the link.
pub fn resolve_link(path: &Path) -> PathBuf {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    } else {
        path.to_path_buf()
    }
}

/// Where `target` really is when a link on its way (itself or a folder
/// above it, up to `dir`) takes it out of `dir`.
fn leaves(dir: &Path, target: &Path) -> Option<PathBuf> {
    let root = fs::canonicalize(dir).ok()?;
    // The deepest part of the path that exists decides where it leads.
    let mut probe = target.to_path_buf();
    let mut rest = Vec::new();
    while fs::symlink_metadata(&probe).is_err() {
        rest.push(probe.file_name()?.to_os_string());
        probe = probe.parent()?.to_path_buf();
    }
    // A dangling link leads nowhere harden should write.
    let mut real = match fs::canonicalize(&probe) {
        Ok(real) => real,
        Err(_) => return fs::read_link(&probe).ok(),
    };
    for part in rest.iter().rev() {
        real.push(part);
    }
    (!real.starts_with(&root)).then_some(real)
}

/// Writes secret files and `.env` entries first, then the compose file.
pub fn write_all(
    compose: &Path,
    text: &str,
    moved: &[MovedValue],
) -> Result<WriteReport, HardenError> {
    let dir = compose
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut report = WriteReport::default();
    let mut env_lines = String::new();
    let env_path = dir.join(".env");
    // Check every target before writing anything, so a failure leaves no
    // secret file behind.
    if env_lines_needed(moved) && env_path.exists() && !env_path.is_file() {
        return Err(io_err(
            &env_path,
            std::io::Error::other("exists and is not a file"),
        ));
    }
    for value in moved {
        if let MovedValue::SecretFile { path, .. } = value
            && let Some(parent) = dir.join(path).parent()
            && parent.exists()
            && !parent.is_dir()
        {
            return Err(io_err(
                parent,
                std::io::Error::other("exists and is not a folder"),
            ));
        }
    }
    // A secret or `.env` written through a link that leaves the project
    // would land where nobody looks for it (or somewhere worse).
    let mut targets: Vec<PathBuf> = moved
        .iter()
        .filter_map(|m| match m {
            MovedValue::SecretFile { path, .. } => Some(dir.join(path)),
            MovedValue::EnvFile { .. } => None,
        })
        .collect();
    if env_lines_needed(moved) {
        targets.push(env_path.clone());
    }
    for target in &targets {
        if let Some(outside) = leaves(&dir, target) {
            return Err(io_err(
                target,
                std::io::Error::other(format!(
                    "is reached through a link to {}, outside the compose file's folder; nothing was written",
                    outside.display()
                )),
            ));
        }
    }
    // The new entries go after the old ones: a `.env` that cannot be read
    // in full (too large, not UTF-8) would be replaced by them alone.
    let existing_env = if env_lines_needed(moved) && env_path.exists() {
        let bytes = read_regular(&env_path, BESIDE_LIMIT).map_err(|e| io_err(&env_path, e))?;
        String::from_utf8(bytes)
            .map_err(|_| io_err(&env_path, std::io::Error::other("is not valid UTF-8")))?
    } else {
        String::new()
    };
    let env_eol = if existing_env.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let existing = crate::dotenv::parse(&existing_env);

    for value in moved {
        match value {
            MovedValue::SecretFile {
                path,
                value,
                reader_uid,
            } => {
                let target = dir.join(path);
                if target.exists() {
                    report.kept.push(format!(
                        "{path} exists and was not overwritten; check that it holds the right value"
                    ));
                    continue;
                }
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
                }
                // The container reads the file as a non-root uid when one is
                // set; a 0600 file owned by the operator would be unreadable.
                let mode = if reader_uid.is_some() { 0o644 } else { 0o600 };
                create_new(&target, value.as_bytes(), mode)?;
                report.created.push(format!("{path} (mode {mode:o})"));
            }
            MovedValue::EnvFile { name, value } => {
                if existing.contains_key(name) || env_lines.contains(&format!("\n{name}=")) {
                    continue;
                }
                env_lines.push_str(&format!("{env_eol}{name}={}", crate::dotenv::quote(value)));
            }
        }
    }
    if !env_lines.is_empty() {
        let mut text = existing_env.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str(env_eol);
        }
        text.push_str(env_lines.trim_start_matches(['\r', '\n']));
        text.push_str(env_eol);
        replace_file(&resolve_link(&env_path), &text, Some(0o600))?;
        report.created.push(".env entries".to_string());
    }
    // Compose reads relative paths from the folder of the path it is given,
    // so moved values sit beside `compose`; the text replaces its target.
    replace_file(&resolve_link(compose), text, None)?;
    Ok(report)
}

fn env_lines_needed(moved: &[MovedValue]) -> bool {
    moved
        .iter()
        .any(|m| matches!(m, MovedValue::EnvFile { .. }))
}

fn create_new(path: &Path, content: &[u8], mode: u32) -> Result<(), HardenError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    let mut file = options.open(path).map_err(|e| io_err(path, e))?;
    file.write_all(content).map_err(|e| io_err(path, e))?;
    file.sync_all().map_err(|e| io_err(path, e))
}

/// Atomically replaces `path` with `text`, keeping its mode (or `new_mode`
/// for a file that does not exist yet).
fn replace_file(path: &Path, text: &str, new_mode: Option<u32>) -> Result<(), HardenError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.harden-{}.tmp", std::process::id()));
    let mode = fs::metadata(path).ok().map(|m| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode()
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            0o644
        }
    });
    let result = (|| {
        create_new(&tmp, text.as_bytes(), mode.or(new_mode).unwrap_or(0o644))?;
        #[cfg(unix)]
        if let Some(mode) = mode.or(new_mode) {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
                .map_err(|e| io_err(&tmp, e))?;
        }
        fs::rename(&tmp, path).map_err(|e| io_err(path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
