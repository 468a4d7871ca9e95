//! A service's `volumes` entries in either syntax, read into one shape:
//! what is mounted from where, read-only or not, with what propagation.

use crate::syntax::{NodeId, SyntaxTree};

use super::split_outside_interpolation;

/// What a mount attaches to the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A path of the host.
    Bind,
    /// A named or anonymous volume.
    Volume,
    Tmpfs,
    /// A Windows named pipe (`type: npipe`).
    Npipe,
    /// Any other long-syntax `type` (`image`, `cluster`, ...).
    Other,
}

/// One item of a service's `volumes`.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The list item: a string (short syntax) or a mapping (long syntax).
    pub item: NodeId,
    /// Whether the item is a `src:dst[:opts]` string.
    pub short: bool,
    pub kind: MountKind,
    /// The host path or volume name, as written (interpolation kept).
    pub source: Option<String>,
    /// Long syntax: the `source:` key.
    pub source_key: Option<NodeId>,
    pub read_only: bool,
    /// Short-syntax propagation option, or long-syntax `bind.propagation`.
    pub propagation: Option<String>,
    /// Long syntax: the `propagation:` key.
    pub propagation_key: Option<NodeId>,
}

/// The parts of a short-syntax volume, `[SOURCE:]TARGET[:OPTIONS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortVolume {
    pub source: Option<String>,
    pub target: String,
    pub options: Vec<String>,
}

/// Propagation modes the short syntax accepts among its options.
const PROPAGATIONS: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

/// Splits a short-syntax volume as Compose does, with a `${...}`
/// interpolation kept whole (its default may hold a `:`) and a Windows
/// drive letter (`C:\data`) kept with its path.
pub fn parse_short_volume(spec: &str) -> ShortVolume {
    let mut parts: Vec<String> = Vec::new();
    for part in split_outside_interpolation(spec, ':') {
        // A single letter before a `:` is a drive letter, as in Compose's
        // own parser (compose-go `loader/volume.go`).
        match parts.last_mut() {
            Some(last) if last.len() == 1 && last.chars().all(|c| c.is_ascii_alphabetic()) => {
                last.push(':');
                last.push_str(part);
            }
            _ => parts.push(part.to_string()),
        }
    }
    match parts.as_slice() {
        [] => ShortVolume {
            source: None,
            target: String::new(),
            options: Vec::new(),
        },
        [target] => ShortVolume {
            source: None,
            target: target.clone(),
            options: Vec::new(),
        },
        [source, target, rest @ ..] => ShortVolume {
            source: Some(source.clone()),
            target: target.clone(),
            options: rest
                .join(":")
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect(),
        },
    }
}

/// Whether a short-syntax source names a host path rather than a volume:
/// Compose binds what starts with `/`, `.`, `~`, a drive letter or `\\`.
/// An interpolated source counts as a path once it has a `/` in it
/// (volume names cannot hold one).
pub fn is_host_path(source: &str) -> bool {
    let mut chars = source.chars();
    let drive = matches!(
        (chars.next(), chars.next(), chars.next()),
        (Some(c), Some(':'), Some('\\' | '/')) if c.is_ascii_alphabetic()
    );
    drive
        || source.starts_with(['/', '.', '~', '\\'])
        || (source.starts_with('$') && source.contains('/'))
}

/// Every item of the `volumes` list at `node` (a service's `volumes`).
pub fn mounts(tree: &SyntaxTree, node: NodeId) -> Vec<Mount> {
    tree.items(node)
        .iter()
        .filter_map(|&item| {
            if tree.is_mapping(item) {
                Some(long_mount(tree, item))
            } else {
                tree.scalar(item).map(|spec| short_mount(item, spec))
            }
        })
        .collect()
}

fn short_mount(item: NodeId, spec: &str) -> Mount {
    let parsed = parse_short_volume(spec);
    let kind = match &parsed.source {
        Some(source) if is_host_path(source) => MountKind::Bind,
        _ => MountKind::Volume,
    };
    Mount {
        item,
        short: true,
        kind,
        read_only: parsed.options.iter().any(|o| o == "ro"),
        propagation: parsed
            .options
            .iter()
            .find(|o| PROPAGATIONS.contains(&o.as_str()))
            .cloned(),
        source: parsed.source,
        source_key: None,
        propagation_key: None,
    }
}

fn long_mount(tree: &SyntaxTree, item: NodeId) -> Mount {
    let text = |key: &str| tree.get(item, key).and_then(|n| tree.scalar(n));
    let source_entry = tree.get_entry(item, "source");
    let source = source_entry
        .and_then(|e| tree.scalar(e.value))
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let kind = match text("type") {
        Some("bind") => MountKind::Bind,
        Some("volume") => MountKind::Volume,
        Some("tmpfs") => MountKind::Tmpfs,
        Some("npipe") => MountKind::Npipe,
        Some(_) => MountKind::Other,
        // Compose requires `type`; without one, an absolute source can
        // only mean the host path.
        None if source.as_deref().is_some_and(|s| s.starts_with('/')) => MountKind::Bind,
        None => MountKind::Volume,
    };
    let propagation_entry = tree
        .get(item, "bind")
        .and_then(|bind| tree.get_entry(bind, "propagation"));
    Mount {
        item,
        short: false,
        kind,
        source,
        source_key: source_entry.map(|e| e.key),
        read_only: text("read_only").and_then(super::yaml_bool) == Some(true),
        propagation: propagation_entry
            .and_then(|e| tree.scalar(e.value))
            .map(str::to_string),
        propagation_key: propagation_entry.map(|e| e.key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(spec: &str) -> (Option<String>, String, Vec<String>) {
        let v = parse_short_volume(spec);
        (v.source, v.target, v.options)
    }

    #[test]
    fn short_volumes_split_like_compose() {
        assert_eq!(
            short("/var/run/docker.sock:/var/run/docker.sock:ro"),
            (
                Some("/var/run/docker.sock".into()),
                "/var/run/docker.sock".into(),
                vec!["ro".into()]
            )
        );
        assert_eq!(short("/cache"), (None, "/cache".into(), vec![]));
        assert_eq!(
            short("/a:/b:ro,rslave").2,
            vec!["ro".to_string(), "rslave".to_string()]
        );
        assert_eq!(
            short("C:\\data:/data").0.as_deref(),
            Some("C:\\data"),
            "a drive letter stays with its path"
        );
        assert_eq!(
            short("${SOCK:-/run/docker.sock}:/var/run/docker.sock").0,
            Some("${SOCK:-/run/docker.sock}".into())
        );
    }

    #[test]
    fn host_paths_are_told_from_volume_names() {
        for path in ["/etc", "./conf", "../x", "~/.ssh", "C:\\data", "${HOME}/x"] {
            assert!(is_host_path(path), "{path}");
        }
        for name in ["data", "docker.sock", "${VOLUME}", "db-data"] {
            assert!(!is_host_path(name), "{name}");
        }
    }
}
