//! What users tell harden: `harden.toml` beside the compose file (or
//! `--config`), `x-harden:` keys in the compose file (top level and per
//! service), and `# harden: ignore[rule-id]` comments on a service.
//!
//! ```toml
//! ignore = ["flat-network"]        # rules off for the whole file
//!
//! [services.api]
//! ignore = ["writable-root-fs"]    # rules off for one service
//! file_env = ["SMTP_PASSWORD"]     # the image reads SMTP_PASSWORD_FILE
//! writable = ["/var/cache/api"]    # more tmpfs paths under read_only
//! cap_add = ["NET_BIND_SERVICE"]   # capabilities it needs after cap_drop ALL
//! memory = "1G"                    # limits instead of the role's defaults
//! cpus = "2.0"
//! pids = 512
//! role = "backend"                 # or "edge": network placement
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::InputError;
use crate::model::{ComposeModel, merged_fields};
use crate::source::SourceFile;
use crate::syntax::{NodeId, SyntaxTree};

/// Where a service belongs on the network, when the user says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// A datastore-like service: moved to the internal network.
    Backend,
    /// A service that talks to the outside: never made internal-only.
    Edge,
}

/// Per-service settings; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    #[serde(default)]
    pub ignore: BTreeSet<String>,
    #[serde(default)]
    pub file_env: Vec<String>,
    #[serde(default)]
    pub writable: Vec<String>,
    #[serde(default)]
    pub cap_add: Vec<String>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub pids: Option<u32>,
    pub role: Option<Placement>,
}

impl ServiceSettings {
    /// The first value Compose or Docker would refuse, with its key.
    fn invalid(&self) -> Option<(&'static str, String)> {
        if let Some(m) = &self.memory
            && !is_memory_size(m)
        {
            return Some((
                "memory",
                format!("`memory` is a size such as 512M or 1G, not `{m}`"),
            ));
        }
        if let Some(c) = &self.cpus
            && !c.parse::<f64>().is_ok_and(|v| v > 0.0 && v.is_finite())
        {
            return Some((
                "cpus",
                format!("`cpus` is a positive number such as 0.5, not `{c}`"),
            ));
        }
        if self.pids == Some(0) {
            return Some(("pids", "`pids` must be at least 1".into()));
        }
        for path in &self.writable {
            if !path.starts_with('/') || path.trim_end_matches('/').is_empty() {
                return Some((
                    "writable",
                    format!("writable path `{path}` must be absolute and not `/`"),
                ));
            }
        }
        None
    }

    /// One spelling per path: `/var/x/` and `/var/x` are one mount.
    fn normalize(&mut self) {
        for path in &mut self.writable {
            *path = path.trim_end_matches('/').to_string();
        }
        self.writable.dedup();
    }

    fn merge(&mut self, other: ServiceSettings) {
        self.ignore.extend(other.ignore);
        self.file_env.extend(other.file_env);
        self.writable.extend(other.writable);
        self.cap_add.extend(other.cap_add);
        self.memory = other.memory.or(self.memory.take());
        self.cpus = other.cpus.or(self.cpus.take());
        self.pids = other.pids.or(self.pids);
        self.role = other.role.or(self.role);
        self.normalize();
    }
}

/// The settings file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    ignore: BTreeSet<String>,
    #[serde(default)]
    services: BTreeMap<String, ServiceSettings>,
}

/// Everything the user said, merged: the compose file's `x-harden` wins
/// over `harden.toml` for single values, lists add up.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub ignore: BTreeSet<String>,
    /// `--select`: only these rules run, when given.
    pub select: Option<BTreeSet<String>>,
    /// `--unsafe-fixes`: apply fixes that can change how the stack is
    /// reached or run.
    pub unsafe_fixes: bool,
    pub services: BTreeMap<String, ServiceSettings>,
    /// The settings file's name and text, to point at its lines later.
    toml: Option<(String, String)>,
}

impl Settings {
    /// Reads a `harden.toml` text; `name` is used in error messages.
    pub fn from_toml(name: &str, text: &str, rule_ids: &[&str]) -> Result<Settings, InputError> {
        let src = SourceFile::new(name, None, text.to_string());
        let parsed: SettingsFile = toml::from_str(text).map_err(|err| {
            let (line, col) = err.span().map_or((1, 1), |span| src.line_col(span.start));
            InputError::syntax(&src, line, col, err.message().to_string())
        })?;
        let at = |service: Option<&str>, key: &str, message: String| {
            let (line, col) = toml_position(text, service, key);
            InputError::syntax(&src, line, col, message)
        };
        if let Some(bad) = parsed
            .ignore
            .iter()
            .find(|id| !rule_ids.contains(&id.as_str()))
        {
            return Err(at(None, "ignore", unknown_rule_message(bad)));
        }
        let mut services = parsed.services;
        for (service, own) in &mut services {
            if let Some(bad) = own
                .ignore
                .iter()
                .find(|id| !rule_ids.contains(&id.as_str()))
            {
                return Err(at(Some(service), "ignore", unknown_rule_message(bad)));
            }
            if let Some((key, message)) = own.invalid() {
                return Err(at(Some(service), key, message));
            }
            own.normalize();
        }
        Ok(Settings {
            ignore: parsed.ignore,
            services,
            toml: Some((name.to_string(), text.to_string())),
            ..Settings::default()
        })
    }

    /// Adds the compose file's own `x-harden` keys and ignore comments.
    pub fn with_compose(
        mut self,
        src: &SourceFile,
        tree: &SyntaxTree,
        model: &ComposeModel,
        rule_ids: &[&str],
    ) -> Result<Settings, InputError> {
        // A setting for a service the file does not have is a typo, unless
        // another layer of the project beside it (`compose.override.yaml`)
        // defines the service: one harden.toml serves them all.
        let missing: Vec<&String> = self
            .services
            .keys()
            .filter(|name| model.service(name).is_none())
            .collect();
        // The files beside it are read only when a name needs them.
        let siblings = match (&self.toml, src.path.as_deref()) {
            (Some(_), Some(path)) if !missing.is_empty() => crate::layers::sibling_services(path),
            _ => Default::default(),
        };
        if let Some((file, text)) = &self.toml
            && let Some(name) = missing.into_iter().find(|name| !siblings.contains(*name))
        {
            let toml_src = SourceFile::new(file, None, text.clone());
            let header = format!("[services.{name}]");
            let line = text
                .lines()
                .position(|l| l.trim().replace(['"', ' '], "") == header)
                .map_or(1, |i| i + 1);
            let message = format!("no service `{name}` in {}", src.display_name);
            return Err(InputError::syntax(&toml_src, line, 1, message));
        }
        if let Some(node) = tree.get(model.root, "x-harden") {
            let top = read_x_harden(src, tree, node, true, rule_ids)?;
            self.ignore.extend(top.ignore);
        }
        for service in &model.services {
            let mut own = ServiceSettings::default();
            if let Some(field) = service.field("x-harden") {
                own.merge(read_x_harden(src, tree, field.value, false, rule_ids)?);
            }
            own.ignore
                .extend(ignore_comment(src, tree, service.key, rule_ids)?);
            if own != ServiceSettings::default() {
                self.services
                    .entry(service.name.clone())
                    .or_default()
                    .merge(own);
            }
        }
        Ok(self)
    }

    /// Whether `rule` is off for `service` (or for the whole file).
    pub fn ignores(&self, rule: &str, service: &str) -> bool {
        self.ignore.contains(rule)
            || self
                .services
                .get(service)
                .is_some_and(|s| s.ignore.contains(rule))
    }

    /// Whether `rule` runs at all: every rule unless `--select` names some.
    pub fn selects(&self, rule: &str) -> bool {
        self.select.as_ref().is_none_or(|s| s.contains(rule))
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSettings> {
        self.services.get(name)
    }
}

fn unknown_rule_message(id: &str) -> String {
    format!("unknown rule `{id}`; `harden rules` lists them")
}

/// A Compose memory size: a positive number with an optional unit.
fn is_memory_size(text: &str) -> bool {
    let lower = text.trim().to_ascii_lowercase();
    let number = lower
        .trim_end_matches('b')
        .trim_end_matches(['k', 'm', 'g']);
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.parse::<f64>().is_ok_and(|v| v > 0.0)
}

/// Line and column of `key` in a settings text, inside the
/// `[services.NAME]` table or at the top, for error messages.
fn toml_position(text: &str, service: Option<&str>, key: &str) -> (usize, usize) {
    let header = service.map(|s| format!("[services.{s}]"));
    let mut in_table = header.is_none();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_table = header
                .as_deref()
                .is_some_and(|h| trimmed.replace(['"', ' '], "") == h);
            continue;
        }
        if in_table && trimmed.split(['=', ' ']).next() == Some(key) {
            return (i + 1, line.len() - line.trim_start().len() + 1);
        }
    }
    (1, 1)
}

/// Reads an `x-harden` mapping; the top level only takes `ignore`.
fn read_x_harden(
    src: &SourceFile,
    tree: &SyntaxTree,
    node: NodeId,
    top: bool,
    rule_ids: &[&str],
) -> Result<ServiceSettings, InputError> {
    let error = |at: NodeId, message: String| {
        let (line, col) = src.line_col(tree.node(at).start);
        InputError::syntax(src, line, col, message)
    };
    if !tree.is_mapping(node) {
        return Err(error(node, "`x-harden` must be a mapping".into()));
    }
    let strings = |value: NodeId, key: &str| -> Result<Vec<String>, InputError> {
        if let Some(s) = tree.scalar(value) {
            return Ok(vec![s.to_string()]);
        }
        if !tree.is_sequence(value) {
            return Err(error(value, format!("`{key}` takes a list of strings")));
        }
        tree.items(value)
            .iter()
            .map(|&item| {
                tree.scalar(item)
                    .map(str::to_string)
                    .ok_or_else(|| error(item, format!("`{key}` takes a list of strings")))
            })
            .collect()
    };
    let scalar = |value: NodeId, key: &str| -> Result<String, InputError> {
        let node = tree.node(tree.resolve(value));
        match tree.scalar(value) {
            Some(s) if !node.is_null() => Ok(s.to_string()),
            _ => Err(error(value, format!("`{key}` takes a single value"))),
        }
    };
    let mut settings = ServiceSettings::default();
    let fields = merged_fields(tree, node);
    for (key, field) in &fields {
        let key = key.as_str();
        let value = field.value;
        let key_node = field.key.unwrap_or(value);
        match key {
            "ignore" => {
                for id in strings(value, key)? {
                    if !rule_ids.contains(&id.as_str()) {
                        return Err(error(value, unknown_rule_message(&id)));
                    }
                    settings.ignore.insert(id);
                }
            }
            _ if top => {
                return Err(error(
                    key_node,
                    format!("unknown key `{key}` in top-level x-harden (only `ignore`)"),
                ));
            }
            "file_env" => settings.file_env.extend(strings(value, key)?),
            "writable" => settings.writable.extend(strings(value, key)?),
            "cap_add" => settings.cap_add.extend(strings(value, key)?),
            "memory" => settings.memory = Some(scalar(value, key)?),
            "cpus" => settings.cpus = Some(scalar(value, key)?),
            "pids" => {
                let text = scalar(value, key)?;
                let parsed = text.parse().map_err(|_| {
                    error(
                        value,
                        format!("`pids` must be a whole number, not `{text}`"),
                    )
                })?;
                settings.pids = Some(parsed);
            }
            "role" => {
                settings.role = Some(match scalar(value, key)?.as_str() {
                    "backend" => Placement::Backend,
                    "edge" => Placement::Edge,
                    other => {
                        return Err(error(
                            value,
                            format!("`role` is `backend` or `edge`, not `{other}`"),
                        ));
                    }
                });
            }
            other => {
                return Err(error(
                    key_node,
                    format!("unknown key `{other}` in x-harden"),
                ));
            }
        }
    }
    if let Some((key, message)) = settings.invalid() {
        return Err(error(fields.get(key).map_or(node, |f| f.value), message));
    }
    settings.normalize();
    Ok(settings)
}

/// Rule ids from a `# harden: ignore[a, b]` comment on the service's key
/// line or the line just above it. Text inside a value is not a comment.
fn ignore_comment(
    src: &SourceFile,
    tree: &SyntaxTree,
    key: NodeId,
    rule_ids: &[&str],
) -> Result<Vec<String>, InputError> {
    const MARK: &str = "# harden:";
    let (line, _) = src.line_col(tree.node(key).start);
    let mut ids = Vec::new();
    for number in line.saturating_sub(1).max(1)..=line {
        let Some((start, text)) = src.line(number) else {
            continue;
        };
        let Some(at) = text.find(MARK) else { continue };
        // On the line above, only a comment standing alone counts: one that
        // ends the previous service's last line belongs to that line.
        if number < line && !text[..at].trim().is_empty() {
            continue;
        }
        let comment_at = start + at;
        let after_space = at == 0 || text[..at].ends_with([' ', '\t']);
        let in_value = tree.nodes.iter().any(|n| {
            matches!(n.kind, crate::syntax::NodeKind::Scalar { .. })
                && n.start <= comment_at
                && comment_at < n.end
        });
        if !after_space || in_value {
            continue;
        }
        let (l, c) = src.line_col(comment_at);
        let list = text[at + MARK.len()..]
            .trim()
            .strip_prefix("ignore[")
            .and_then(|r| r.split_once(']'))
            .map(|(list, _)| list)
            .ok_or_else(|| {
                InputError::syntax(
                    src,
                    l,
                    c,
                    "a harden comment reads `# harden: ignore[rule-id, ...]`".into(),
                )
            })?;
        for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !rule_ids.contains(&id) {
                return Err(InputError::syntax(src, l, c, unknown_rule_message(id)));
            }
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &["writable-root-fs", "flat-network"];

    fn compose(text: &str) -> Result<Settings, InputError> {
        let src = SourceFile::new("c.yml", None, text.to_string());
        let tree = SyntaxTree::parse(&src).unwrap();
        let model = ComposeModel::build(&src, &tree).unwrap();
        Settings::default().with_compose(&src, &tree, &model, IDS)
    }

    #[test]
    fn toml_settings_parse_and_reject_bad_values_with_a_line() {
        let ok = Settings::from_toml(
            "h.toml",
            "ignore = [\"flat-network\"]\n[services.api]\nmemory = \"1G\"\n",
            IDS,
        )
        .unwrap();
        assert!(ok.ignores("flat-network", "x"));
        assert_eq!(ok.service("api").unwrap().memory.as_deref(), Some("1G"));
        for (text, line) in [
            ("[services.api]\nmemroy = \"1G\"\n", 2),
            ("ignore = [\"no-such-rule\"]\n", 1),
            ("[services.api]\n\nwritable = [\"var/x\"]\n", 3),
            ("[services.api]\nmemory = \"lots\"\n", 2),
        ] {
            let err = Settings::from_toml("h.toml", text, IDS).unwrap_err();
            assert_eq!((err.line, err.file.as_str()), (line, "h.toml"), "{text}");
        }
    }

    #[test]
    fn x_harden_and_comments_are_read_from_the_compose_file() {
        let text = "x-harden:\n  ignore: [flat-network]\nservices:\n  # harden: ignore[writable-root-fs]\n  api:\n    image: x\n    x-harden:\n      cap_add: [NET_ADMIN]\n      role: backend\n      writable: [/a/, /a]\n";
        let settings = compose(text).unwrap();
        assert!(
            settings.ignores("flat-network", "api") && settings.ignores("writable-root-fs", "api")
        );
        let api = settings.service("api").unwrap();
        assert_eq!(api.cap_add, vec!["NET_ADMIN"]);
        assert_eq!(api.role, Some(Placement::Backend));
        assert_eq!(api.writable, vec!["/a"]);
    }

    #[test]
    fn comment_text_inside_values_is_not_a_directive() {
        let text = "services:\n  api:\n    image: x\n    command: |\n      echo \"# harden: ignore[nope]\"\n  db:\n    image: y\n";
        assert!(compose(text).unwrap().services.is_empty());
    }

    #[test]
    fn a_comment_ending_the_line_above_belongs_to_that_line() {
        let text = "services:\n  app:\n    image: x\n    environment:\n      FIELDS: \"password\"  # harden: ignore[secret-in-environment]\n  mq:\n    image: y\n  # harden: ignore[flat-network]\n  db:\n    image: z # harden: ignore[writable-root-fs]\n";
        let settings = compose(text).unwrap();
        assert!(!settings.ignores("secret-in-environment", "mq"));
        assert!(!settings.ignores("secret-in-environment", "app"));
        assert!(settings.ignores("flat-network", "db"));
        assert!(!settings.ignores("writable-root-fs", "db"));
    }

    #[test]
    fn bad_x_harden_values_name_their_line() {
        for (text, line) in [
            (
                "services:\n  api:\n    image: x\n    x-harden:\n      role: database\n",
                5,
            ),
            (
                "services:\n  api:\n    image: x\n    x-harden:\n      ignore: {flat-network: 1}\n",
                5,
            ),
            (
                "services:\n  api:\n    image: x\n    x-harden:\n      ignore: [nope]\n",
                5,
            ),
            (
                "services:\n  # harden: ignore[nope]\n  api:\n    image: x\n",
                2,
            ),
            (
                "services:\n  api: # harden:ignore[flat-network\n    image: x\n",
                2,
            ),
        ] {
            assert_eq!(compose(text).unwrap_err().line, line, "{text}");
        }
    }
}
