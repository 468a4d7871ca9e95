//! Compose projects in layers: `compose.yaml` and the files merged over it
//! (`compose.override.yaml`, which Compose loads by itself, and
//! `compose.prod.yaml`-style files given with `-f`). harden reads one file
//! at a time; this module tells it which services continue in another
//! layer and what the layers over a base file add, so a fix in one layer
//! does not break the merged project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::ComposeModel;
use crate::source::SourceFile;
use crate::syntax::SyntaxTree;

const STEMS: &[&str] = &["compose", "docker-compose"];

/// The lists Compose merges item by item and rejects repeats in.
pub const MERGED_LISTS: &[&str] = &["security_opt", "cap_add", "cap_drop", "tmpfs"];

/// What a layer over the base says about one service.
#[derive(Debug, Clone, Default)]
pub struct LayerService {
    pub publishes_ports: bool,
    /// Items of the lists in [`MERGED_LISTS`].
    pub lists: BTreeMap<String, Vec<String>>,
}

/// A file merged over the base, as far as fixes in the base care.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// The file name, for messages.
    pub name: String,
    pub services: BTreeMap<String, LayerService>,
}

/// How a compose file name splits: `docker-compose.prod.yml` is stem
/// `docker-compose`, layer `prod`; `compose.yaml` has no layer.
fn split_name(name: &str) -> Option<(&str, Option<&str>)> {
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))?;
    match stem.split_once('.') {
        None => STEMS.contains(&stem).then_some((stem, None)),
        Some((base, layer))
            if STEMS.contains(&base) && !layer.is_empty() && !layer.contains('.') =>
        {
            Some((base, Some(layer)))
        }
        Some(_) => None,
    }
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name()?.to_str()
}

fn folder(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// For a layer file (`compose.override.yaml`), the base file beside it and
/// the names of its services.
pub fn base_of(path: &Path) -> Option<(String, Vec<String>)> {
    let (stem, layer) = split_name(file_name(path)?)?;
    layer?;
    let dir = folder(path);
    ["yaml", "yml"].iter().find_map(|ext| {
        let base = format!("{stem}.{ext}");
        let (_, model) = read(&dir.join(&base))?;
        Some((base, model.services.into_iter().map(|s| s.name).collect()))
    })
}

/// For a base file (`compose.yaml`), the layers beside it that Compose can
/// merge over it, each with what it says about its services.
pub fn layers_over(path: &Path) -> Vec<Layer> {
    let Some((stem, None)) = file_name(path).and_then(split_name) else {
        return Vec::new();
    };
    let dir = folder(path);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| matches!(split_name(n), Some((s, Some(_))) if s == stem))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let (tree, model) = read(&dir.join(&name))?;
            let services = model
                .services
                .iter()
                .map(|s| {
                    let lists = MERGED_LISTS
                        .iter()
                        .map(|key| (key.to_string(), s.strings(&tree, key)))
                        .filter(|(_, items)| !items.is_empty())
                        .collect();
                    let facts = LayerService {
                        publishes_ports: s.publishes_ports(&tree),
                        lists,
                    };
                    (s.name.clone(), facts)
                })
                .collect();
            Some(Layer { name, services })
        })
        .collect()
}

/// The services defined by the other compose files beside `path` (the
/// base and every layer), which one `harden.toml` may configure.
pub fn sibling_services(path: &Path) -> std::collections::BTreeSet<String> {
    let dir = folder(path);
    let own = file_name(path).unwrap_or_default().to_string();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Default::default();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| *n != own && split_name(n).is_some())
        .filter_map(|n| read(&dir.join(n)))
        .flat_map(|(_, model)| model.services.into_iter().map(|s| s.name))
        .collect()
}

/// A compose file's tree and model, or nothing when it cannot be read (not
/// a regular file, over 4 MiB, broken): a layer that is broken is
/// reported when harden runs on it.
fn read(path: &Path) -> Option<(SyntaxTree, ComposeModel)> {
    let text = crate::source::read_beside(path)?;
    let src = SourceFile::new(&path.display().to_string(), Some(path), text);
    let tree = SyntaxTree::parse(&src).ok()?;
    let model = ComposeModel::build(&src, &tree).ok()?;
    Some((tree, model))
}

#[cfg(test)]
mod tests {
    use super::split_name;

    #[test]
    fn names() {
        assert_eq!(split_name("compose.yaml"), Some(("compose", None)));
        assert_eq!(
            split_name("docker-compose.prod.yml"),
            Some(("docker-compose", Some("prod")))
        );
        assert_eq!(
            split_name("compose.override.yaml"),
            Some(("compose", Some("override")))
        );
        assert_eq!(split_name("app.yml"), None);
        assert_eq!(split_name("compose.a.b.yml"), None);
        assert_eq!(split_name("compose..yml"), None);
    }
}
