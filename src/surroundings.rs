//! What harden reads beside the compose file: the `.env` that Compose
//! interpolates from, and the `env_file`s services load. Rules use them to
//! see host names that moved out of the file, and never print their values.

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::ComposeModel;
use crate::rules::MovedValue;
use crate::source::read_beside;
use crate::syntax::SyntaxTree;

#[derive(Debug, Clone, Default)]
pub struct Surroundings {
    /// Variables of the `.env` beside the compose file.
    pub dotenv: BTreeMap<String, String>,
    /// Each `env_file` as written in the file → its variables, for the
    /// files that exist.
    pub env_files: BTreeMap<String, BTreeMap<String, String>>,
    /// For a base file, the layers beside it that Compose merges over it.
    pub layers: Vec<crate::layers::Layer>,
    /// For a layer file, the base file beside it and its service names.
    pub base: Option<(String, Vec<String>)>,
}

impl Surroundings {
    /// Reads `.env` and every `env_file` named in the model, relative to `dir`.
    pub fn load(dir: Option<&Path>, tree: &SyntaxTree, model: &ComposeModel) -> Surroundings {
        let Some(dir) = dir else {
            return Surroundings::default();
        };
        // `env_file: /dev/zero` or a FIFO named `.env` must neither eat the
        // memory nor block: unreadable files are skipped, as missing ones.
        let read = |name: &str| read_beside(&dir.join(name)).map(|t| crate::dotenv::parse(&t));
        let dotenv = read(".env").unwrap_or_default();
        let mut env_files = BTreeMap::new();
        for service in &model.services {
            for path in env_file_paths(tree, service) {
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    env_files.entry(path.clone())
                    && let Some(vars) = read(&path)
                {
                    slot.insert(vars);
                }
            }
        }
        Surroundings {
            dotenv,
            env_files,
            layers: Vec::new(),
            base: None,
        }
    }

    /// The layer that publishes ports for `service`, if one does.
    pub fn ports_in_layer(&self, service: &str) -> Option<&str> {
        self.layers
            .iter()
            .find(|l| l.services.get(service).is_some_and(|s| s.publishes_ports))
            .map(|l| l.name.as_str())
    }

    /// Items a layer already lists under `key` for `service`: Compose
    /// rejects the merged list if the base repeats them.
    pub fn layer_items(&self, service: &str, key: &str) -> Vec<&str> {
        self.layers
            .iter()
            .filter_map(|l| l.services.get(service))
            .filter_map(|s| s.lists.get(key))
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// The surroundings after `--write` saved the moved values: what a
    /// second run sees, so the verifier checks idempotence against it.
    pub fn with_moved(&self, moved: &[MovedValue]) -> Surroundings {
        let mut next = self.clone();
        for value in moved {
            if let MovedValue::EnvFile { name, value } = value {
                next.dotenv
                    .entry(name.clone())
                    .or_insert_with(|| value.clone());
            }
        }
        next
    }

    /// The value `${NAME...}` or `$NAME` would take from `.env`.
    pub fn interpolated(&self, value: &str) -> Option<&str> {
        let name = value.strip_prefix("${").map_or_else(
            || value.strip_prefix('$').unwrap_or(""),
            |inner| {
                inner
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
            },
        );
        self.dotenv.get(name).map(String::as_str)
    }
}

/// The `env_file` paths of a service: a string, a list of strings, or a
/// list of `{path, required}` mappings.
pub fn env_file_paths(tree: &SyntaxTree, service: &crate::model::Service) -> Vec<String> {
    let Some(node) = service.value("env_file") else {
        return Vec::new();
    };
    if let Some(path) = tree.scalar(node) {
        return vec![path.to_string()];
    }
    tree.items(node)
        .iter()
        .filter_map(|&item| {
            tree.scalar(item)
                .or_else(|| tree.get(item, "path").and_then(|p| tree.scalar(p)))
        })
        .map(str::to_string)
        .collect()
}
