//! `secret-in-environment`: a credential is written in the compose file.
//!
#![doc = include_str!("../../docs/rules/secret-in-environment.md")]

use std::collections::{BTreeMap, HashMap, HashSet};

use granit_parser::ScalarStyle;

use super::{
    Context, Finding, FixSafety, Level, MovedValue, Rule, RuleMeta, Severity, add_top_level_entry,
    extend_list, is_alias, numeric_user,
};
use crate::model::{EnvVar, Form, Origin, Service};
use crate::plan::{EditOp, NewValue, PlannedEdit};
use crate::syntax::{NodeId, NodeKind};

pub struct SecretInEnvironment;

const ID: &str = "secret-in-environment";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a credential is written in the compose file",
    severity: Severity::High,
    fix: FixSafety::Safe,
    docs: include_str!("../../docs/rules/secret-in-environment.md"),
};

/// Name parts that mark a variable as holding a credential.
const SECRET_MARKERS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH_KEY",
    "ENCRYPTION_KEY",
    "SIGNING_KEY",
    "MASTER_KEY",
    "APP_KEY",
    "LICENSE_KEY",
    "PASSPHRASE",
];

/// Name endings that mark a setting about a credential, not the credential.
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "_FILE",
    "_PATH",
    "_DIR",
    "_LENGTH",
    "_LEN",
    "_EXPIRY",
    "_EXPIRES",
    "_EXPIRATION",
    "_TTL",
    "_TIMEOUT",
    "_LIFETIME",
    "_ENABLED",
    "_ENABLE",
    "_REQUIRED",
    "_POLICY",
    "_TYPE",
    "_METHOD",
    "_ALGORITHM",
    "_HEADER",
    "_NAME",
    "_URL",
    "_URI",
    "_ENDPOINT",
    "_HOST",
    "_PORT",
    "_USER",
    "_USERNAME",
    "_COUNT",
    "_SIZE",
    "_MODE",
    "_PROVIDER",
    "_BACKEND",
    "_AUDIENCE",
    "_ISSUER",
    "_PREFIX",
    "_ID",
    "_LOCATION",
    "_HASH_ALGORITHM",
];

impl Rule for SecretInEnvironment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let mut state = State::new(ctx);
        let mut findings = Vec::new();
        for service in &ctx.model.services {
            for var in service.environment(ctx.tree) {
                if let Some(f) = check_var(ctx, &mut state, service, &var) {
                    findings.push(f);
                }
            }
        }
        findings
    }
}

/// Names already taken in this run, so moved values never collide.
struct State {
    env_names: BTreeMap<String, String>,
    /// Every interpolation in the file: name → the distinct expressions
    /// that use it (`${DB_PASSWORD:-x}`, `$DB_PASSWORD`, ...).
    interpolations: HashMap<String, HashSet<String>>,
    secret_names: HashSet<String>,
    done_nodes: HashSet<NodeId>,
}

impl State {
    fn new(ctx: &Context) -> State {
        let mut secret_names = HashSet::new();
        if let Some(top) = ctx.model.section(ctx.tree, "secrets") {
            secret_names.extend(crate::model::merged_fields(ctx.tree, top).into_keys());
        }
        State {
            env_names: ctx.around.dotenv.clone(),
            interpolations: interpolations(&ctx.src.text),
            secret_names,
            done_nodes: HashSet::new(),
        }
    }

    /// A `.env` name for `value`: `preferred` unless it holds another value.
    fn env_name(&mut self, preferred: &str, fallback: &str, value: &str) -> String {
        for name in [preferred.to_string(), fallback.to_string()] {
            // A name the file already interpolates elsewhere would change
            // what that place reads once `.env` sets it.
            if self.interpolations.contains_key(&name) {
                continue;
            }
            match self.env_names.get(&name) {
                Some(existing) if existing != value => continue,
                _ => {
                    self.env_names.insert(name.clone(), value.to_string());
                    return name;
                }
            }
        }
        let mut n = 2;
        loop {
            let name = format!("{fallback}_{n}");
            if !self.env_names.contains_key(&name) && !self.interpolations.contains_key(&name) {
                self.env_names.insert(name.clone(), value.to_string());
                return name;
            }
            n += 1;
        }
    }

    fn secret_name(&mut self, service: &str, var: &str) -> String {
        // `postgres` + `POSTGRES_PASSWORD` reads better as `postgres_password`.
        let service = service.to_ascii_lowercase();
        let var = var.to_ascii_lowercase();
        let joined = if var.starts_with(&format!("{service}_")) {
            var
        } else {
            format!("{service}_{var}")
        };
        let base: String = joined
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let mut name = base.clone();
        let mut n = 2;
        while self.secret_names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.secret_names.insert(name.clone());
        name
    }
}

/// What a value holds, as far as secrets go.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretValue {
    /// A credential written out.
    Literal(String),
    /// `${NAME:-default}` with a literal default credential.
    Placeholder { name: String, default: String },
    /// A literal credential mixed with interpolation: left for the user.
    Mixed,
}

pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if NOT_SECRET_SUFFIXES.iter().any(|s| upper.ends_with(s)) {
        return false;
    }
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
        || upper.split('_').any(|w| matches!(w, "PASS" | "PWD"))
}

/// Classifies an environment value; `None` when it holds no credential.
pub fn classify(name: &str, value: &str) -> Option<SecretValue> {
    let unescaped = value.replace("$$", "");
    let interpolated = unescaped.contains('$');
    let by_name = is_secret_name(name);

    if !interpolated {
        let literal = value.replace("$$", "$");
        if by_name && looks_like_credential(&literal) {
            return Some(SecretValue::Literal(literal));
        }
        return url_password(&literal)
            .is_some()
            .then_some(SecretValue::Literal(literal));
    }
    if let Some((var, default)) = whole_interpolation_default(value) {
        let secret =
            (by_name && looks_like_credential(&default)) || url_password(&default).is_some();
        return secret.then_some(SecretValue::Placeholder { name: var, default });
    }
    match url_password(value) {
        Some(password) if !password.contains('$') => Some(SecretValue::Mixed),
        _ if by_name && looks_like_credential(&without_interpolations(value)) => {
            Some(SecretValue::Mixed)
        }
        _ => None,
    }
}

/// The literal text of a value once every `${...}` and `$NAME` is removed.
fn without_interpolations(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        rest = if let Some(inner) = after.strip_prefix('{') {
            inner.find('}').map_or("", |end| &inner[end + 1..])
        } else if let Some(escaped) = after.strip_prefix('$') {
            out.push('$');
            escaped
        } else {
            after.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
        };
    }
    out.push_str(rest);
    out
}

fn looks_like_credential(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty()
        && !v.starts_with('/')
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "none" | "null"
        )
}

/// Whether a value is a URL with a password in it.
pub fn has_url_password(value: &str) -> bool {
    url_password(value).is_some()
}

/// The password of a `scheme://user:password@host` value, if any.
fn url_password(value: &str) -> Option<&str> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// `(NAME, default)` of a value that is exactly `${NAME:-default}` or
/// `${NAME-default}` with a default that has no interpolation of its own.
fn whole_interpolation_default(value: &str) -> Option<(String, String)> {
    let inner = value.strip_prefix("${")?.strip_suffix('}')?;
    let split = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let (name, rest) = inner.split_at(split);
    let default = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-'))?;
    if name.is_empty() || default.contains('$') || default.contains('}') {
        return None;
    }
    Some((name.to_string(), default.to_string()))
}

fn check_var(ctx: &Context, state: &mut State, service: &Service, var: &EnvVar) -> Option<Finding> {
    let value = var.value.as_deref()?;
    let kind = classify(&var.name, value)?;
    if matches!(var.origin, Origin::Extends { .. }) || !state.done_nodes.insert(var.node) {
        // The service it comes from (or an earlier user of the anchor) handles it.
        return None;
    }
    let tree = ctx.tree;
    let at = var
        .key
        .map_or(tree.node(var.node).start, |k| tree.node(k).start);
    let mut finding = ctx.finding(ID, Level::Note, service, String::new());
    finding.at = at;
    let node = tree.node(var.node);
    let awkward = if matches!(
        &node.kind,
        NodeKind::Scalar {
            style: ScalarStyle::Literal | ScalarStyle::Folded,
            ..
        }
    ) {
        Some("is a block scalar (| or >), whose line breaks are part of the value")
    } else if ctx.src.text[node.start..node.end].contains('\n') {
        Some("spans several lines")
    } else if matches!(node.kind, NodeKind::Alias { .. }) {
        Some("comes from an anchor (*alias) that may be used elsewhere")
    } else if node.tagged {
        Some("carries a YAML tag")
    } else if node.anchor.is_some() {
        Some("is anchored and reused elsewhere in the file")
    } else if var.form == Form::Map
        && var.origin == Origin::Own
        && shadowed_in_merge(tree, service, var)
    {
        Some("hides another value merged in with <<, which would come back")
    } else {
        None
    };
    if let Some(why) = awkward {
        finding.level = Level::Warning;
        finding.message = format!(
            "{} holds a literal credential, but its value {why}; move it out by hand",
            var.name
        );
        return Some(finding);
    }
    // The image, and how the other file sets the same variable, are out of
    // sight: moving it here could leave both NAME and NAME_FILE set once
    // Compose merges the files, which entrypoints refuse.
    // A service whose definition continues in another file, or whose
    // anchored mapping another service merges with another image: a
    // rename here would reach what harden cannot judge.
    if let Some(why) = &service.partial {
        finding.level = Level::Warning;
        let how = if service.split {
            ", the same way in every file that sets it"
        } else {
            ""
        };
        finding.message = format!(
            "{} holds a literal credential, but {why}; move it out by hand{how}",
            var.name
        );
        return Some(finding);
    }
    let env_path = format!("services/{}/environment/{}", service.name, var.name);

    let literal = match kind {
        SecretValue::Mixed => {
            finding.level = Level::Warning;
            finding.message = format!(
                "{} holds a literal password inside a value that also uses interpolation; move that password out by hand",
                var.name
            );
            return Some(finding);
        }
        SecretValue::Placeholder { ref name, .. } if conflicting_uses(state, name, value) => {
            finding.level = Level::Warning;
            finding.message = format!(
                "{} has a default credential, but ${{{name}}} is interpolated elsewhere in the file with another default or none; make them agree, then move the default to .env",
                var.name
            );
            return Some(finding);
        }
        SecretValue::Placeholder { name, default } => {
            let required = required_var(&name);
            finding.edits.push(replace_value(var, &env_path, &required));
            if !ctx.around.dotenv.contains_key(&name) {
                state
                    .env_names
                    .entry(name.clone())
                    .or_insert_with(|| default.clone());
                finding.moved.push(MovedValue::EnvFile {
                    name: name.clone(),
                    value: default,
                });
            }
            finding.message = format!(
                "{} had a default credential in ${{{name}:-...}}: now required as ${{{name}:?...}}; the default goes to .env with --write",
                var.name
            );
            return Some(finding);
        }
        SecretValue::Literal(literal) => literal,
    };
    let plain = matches!(
        &tree.node(var.node).kind,
        NodeKind::Scalar {
            style: ScalarStyle::Plain,
            ..
        }
    );
    if plain && var.form == Form::Map && crate::patch::render::is_special_scalar(&literal) {
        // Compose reads `012345` or `1e3` as a number and passes its own
        // rendering of it; moving the text would change the value.
        finding.level = Level::Warning;
        finding.message = format!(
            "{} holds a literal credential written as a bare number; quote it, then run harden again to move it out",
            var.name
        );
        return Some(finding);
    }

    let why = match file_secret(ctx, state, service, var, &env_path, &literal) {
        Ok(done) => return Some(done.into_finding(finding)),
        Err(why) => why,
    };

    // Interpolation names are `[A-Za-z_][A-Za-z0-9_]*`; others get a clean one.
    let sanitize = |s: &str| {
        s.to_ascii_uppercase()
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
    };
    let fallback = sanitize(&format!("{}_{}", service.name, var.name));
    let valid = var
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !var.name.starts_with(|c: char| c.is_ascii_digit());
    let preferred = if valid {
        var.name.clone()
    } else {
        fallback.clone()
    };
    let env_name = state.env_name(&preferred, &fallback, &literal);
    finding
        .edits
        .push(replace_value(var, &env_path, &required_var(&env_name)));
    if ctx.around.dotenv.get(&env_name) != Some(&literal) {
        finding.moved.push(MovedValue::EnvFile {
            name: env_name.clone(),
            value: literal,
        });
    }
    finding.message = format!(
        "{} held a literal credential: now ${{{env_name}:?...}}, value goes to .env with --write ({why})",
        var.name
    );
    Some(finding)
}

/// The edits and message of a move to a file secret.
struct FileSecret {
    edits: Vec<PlannedEdit>,
    moved: MovedValue,
    message: String,
    level: super::Level,
}

impl FileSecret {
    fn into_finding(self, mut finding: Finding) -> Finding {
        finding.edits = self.edits;
        finding.moved.push(self.moved);
        finding.message = self.message;
        finding.level = self.level;
        finding
    }
}

fn file_secret(
    ctx: &Context,
    state: &mut State,
    service: &Service,
    var: &EnvVar,
    env_path: &str,
    literal: &str,
) -> Result<FileSecret, String> {
    let tree = ctx.tree;
    // Settings can declare that the image reads `NAME_FILE`.
    let declared = ctx.service_settings(service).file_env.contains(&var.name);
    let profile = ctx.profile(service);
    let file_var = match profile {
        _ if declared => format!("{}_FILE", var.name),
        None => {
            return Err(format!(
                "image {} unknown, so whether it reads {}_FILE is unknown and the value stays a variable; if it does, list {} under file_env in x-harden or harden.toml",
                ctx.image_label(service),
                var.name,
                var.name
            ));
        }
        Some(p) => match p.file_variant(&var.name) {
            Some(file_var) => file_var,
            None if p.rejects_file_env.contains(&var.name) => {
                return Err(format!("{} exits when {}_FILE is set", p.id, var.name));
            }
            None => return Err(format!("{} is not known to read {}_FILE", p.id, var.name)),
        },
    };
    let reader_from_image = profile.and_then(|p| p.file_env_read_as.clone());
    let image_id = profile.map_or_else(|| ctx.image_label(service), |p| p.id.clone());
    if let Origin::Merged { anchor } = &var.origin {
        let anchor = anchor
            .as_ref()
            .map_or("an anchor".to_string(), |a| format!("the anchor &{a}"));
        return Err(format!(
            "the value is shared through {anchor}, so other services keep reading it as a variable"
        ));
    }
    if var.origin != Origin::Own {
        return Err("the value is inherited".into());
    }
    // A renamed variable changes for every service sharing the block or
    // the key: they would lose NAME and get a NAME_FILE they do not mount.
    if let Some(env) = service.field("environment").map(|f| f.value)
        && (is_alias(tree, env) || tree.node(env).anchor.is_some())
    {
        return Err(format!(
            "its environment block is shared through an anchor, so other services would lose {}",
            var.name
        ));
    }
    if var.key.is_some_and(|k| tree.node(k).anchor.is_some()) {
        return Err(format!(
            "the name {} is anchored and used elsewhere in the file",
            var.name
        ));
    }
    if service.environment(tree).iter().any(|v| v.name == file_var) {
        return Err(format!("{file_var} is already set"));
    }
    // Services that extend this one inherit the renamed variable: each of
    // their images must read it as a file too.
    for child in super::extends_children(ctx, service) {
        let inherits = child
            .environment(tree)
            .iter()
            .any(|v| v.name == var.name && matches!(v.origin, Origin::Extends { .. }));
        let reads_file = ctx
            .profile(child)
            .and_then(|p| p.file_variant(&var.name))
            .is_some();
        if inherits && !reads_file {
            return Err(format!(
                "{} extends it and its image is not known to read {file_var}",
                child.name
            ));
        }
    }
    if let Some(place) = references_variable(ctx, service, &var.name) {
        return Err(format!(
            "its {place} uses ${}, which a {file_var} secret would remove from the container",
            var.name
        ));
    }
    let secret = state.secret_name(&service.name, &var.name);
    let target = format!("/run/secrets/{secret}");
    let mut edits = Vec::new();
    match (var.form, var.key) {
        (Form::Map, Some(key)) => {
            edits.push(PlannedEdit {
                path: env_path.to_string(),
                op: EditOp::RenameKey {
                    key,
                    name: file_var.clone(),
                },
            });
            edits.push(PlannedEdit {
                path: env_path.to_string(),
                op: EditOp::ReplaceScalar {
                    node: var.node,
                    value: NewValue::str(target.as_str()),
                },
            });
        }
        _ => edits.push(PlannedEdit {
            path: env_path.to_string(),
            op: EditOp::ReplaceScalar {
                node: var.node,
                value: NewValue::Str(format!("{file_var}={target}")),
            },
        }),
    }
    let listed =
        extend_list(ctx, service, "secrets", std::slice::from_ref(&secret)).map_err(|r| r.0)?;
    edits.extend(listed);
    let file = format!("./secrets/{secret}");
    let definition = NewValue::map(vec![("file", NewValue::str(file.as_str()))]);
    edits.push(add_top_level_entry(ctx, "secrets", &secret, definition).map_err(|r| r.0)?);

    let user = service.user(tree);
    let reader = match user.as_deref().and_then(numeric_user) {
        Some((uid, _)) if uid != 0 => Some(uid.to_string()),
        _ => reader_from_image,
    };
    let mut message = format!(
        "{} moved to secret {secret} ({file}, written with --write); {} now reads {file_var}",
        var.name, image_id
    );
    let mut severity = Level::Note;
    if let Some(uid) = &reader {
        severity = Level::Warning;
        message.push_str(&format!(
            "; it is read as uid {uid}: the host file {file} must be readable by uid {uid}, because Compose does not apply uid/gid/mode to file secrets outside swarm"
        ));
    }
    Ok(FileSecret {
        edits,
        moved: MovedValue::SecretFile {
            path: file,
            value: literal.to_string(),
            reader_uid: reader,
        },
        message,
        level: severity,
    })
}

/// Where the service's own commands use `$NAME` (entrypoint, command or
/// health check), which would break if the variable left the container.
fn references_variable(ctx: &Context, service: &Service, name: &str) -> Option<&'static str> {
    let tree = ctx.tree;
    let uses = |node: Option<NodeId>| {
        let Some(node) = node else { return false };
        let texts: Vec<&str> = match tree.scalar(node) {
            Some(s) => vec![s],
            None => tree
                .items(node)
                .iter()
                .filter_map(|&i| tree.scalar(i))
                .collect(),
        };
        texts.iter().any(|t| {
            t.match_indices(name).any(|(i, _)| {
                let before = &t[..i];
                let after = t[i + name.len()..].chars().next();
                (before.ends_with('$') || before.ends_with("${"))
                    && after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
            })
        })
    };
    let healthcheck = service
        .value("healthcheck")
        .and_then(|h| tree.get(h, "test"));
    [
        ("entrypoint", service.value("entrypoint")),
        ("command", service.value("command")),
        ("health check", healthcheck),
    ]
    .into_iter()
    .find(|(_, node)| uses(*node))
    .map(|(place, _)| place)
}

/// Whether a variable written in the service's own `environment` mapping
/// hides one of the same name that a `<<` merge brings into it.
fn shadowed_in_merge(tree: &crate::syntax::SyntaxTree, service: &Service, var: &EnvVar) -> bool {
    let Some(map) = service.value("environment") else {
        return false;
    };
    tree.entries(map)
        .iter()
        .filter(|e| tree.scalar(e.key) == Some("<<"))
        .flat_map(|e| {
            if tree.is_sequence(e.value) {
                tree.items(e.value).to_vec()
            } else {
                vec![e.value]
            }
        })
        .any(|source| crate::model::merged_fields(tree, source).contains_key(&var.name))
}

/// Whether `${NAME}` appears elsewhere in a form whose value would change
/// once `.env` sets it: with another default, or with none (empty when
/// unset). Required forms (`${NAME:?msg}`) already expect a value.
fn conflicting_uses(state: &State, name: &str, this: &str) -> bool {
    state.interpolations.get(name).is_some_and(|uses| {
        uses.iter().any(|u| {
            u != this
                && !u.starts_with(&format!("${{{name}:?"))
                && !u.starts_with(&format!("${{{name}?"))
        })
    })
}

/// Every interpolated variable of a text, with the expressions using it.
fn interpolations(text: &str) -> HashMap<String, HashSet<String>> {
    let mut found: HashMap<String, HashSet<String>> = HashMap::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = text[i..].find('$') {
        let start = i + offset;
        i = start + 1;
        match bytes.get(start + 1) {
            Some(b'$') => i = start + 2,
            Some(b'{') => {
                // Balanced braces: `${A:-${B}}` is one expression.
                let mut depth = 0usize;
                let mut end = None;
                for (j, &b) in bytes.iter().enumerate().skip(start + 1) {
                    match b {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j + 1);
                                break;
                            }
                        }
                        b'\n' => break,
                        _ => {}
                    }
                }
                let Some(end) = end else { continue };
                let expr = &text[start..end];
                let name: String = expr[2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.entry(name).or_default().insert(expr.to_string());
                }
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let name: String = text[start + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found
                    .entry(name.clone())
                    .or_default()
                    .insert(format!("${name}"));
            }
            _ => {}
        }
    }
    found
}

fn required_var(name: &str) -> String {
    format!("${{{name}:?set {name} in .env}}")
}

fn replace_value(var: &EnvVar, path: &str, new_value: &str) -> PlannedEdit {
    let value = match var.form {
        Form::List => format!("{}={new_value}", var.name),
        _ => new_value.to_string(),
    };
    PlannedEdit {
        path: path.to_string(),
        op: EditOp::ReplaceScalar {
            node: var.node,
            value: NewValue::Str(value),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolations_are_collected_with_their_expressions() {
        let found = interpolations("a: ${A:-x} $B $$C ${D:-${A}} ${A:-x}");
        assert_eq!(found["A"].len(), 2);
        assert!(found["A"].contains("${A:-x}") && found["A"].contains("${A}"));
        assert!(found.contains_key("B") && found.contains_key("D") && !found.contains_key("C"));
    }

    #[test]
    fn names_that_hold_credentials() {
        for n in [
            "POSTGRES_PASSWORD",
            "APP_KEY",
            "DD_APP_KEY",
            "LICENSE_KEY",
            "ENCRYPTION_PASSPHRASE",
            "DB_PASS",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "api_key",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "POSTGRES_PASSWORD_FILE",
            "TOKEN_TTL",
            "PASSWORD_MIN_LENGTH",
            "SECRET_NAME",
            "PASSPORT",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn classifies_values() {
        assert_eq!(
            classify("DB_PASSWORD", "hunter2"),
            Some(SecretValue::Literal("hunter2".into()))
        );
        assert_eq!(classify("DB_PASSWORD", "${DB_PASSWORD}"), None);
        assert_eq!(classify("DB_PASSWORD", "${DB_PASSWORD:?set it}"), None);
        assert_eq!(
            classify("DB_PASSWORD", "${DB_PASSWORD:-postgres}"),
            Some(SecretValue::Placeholder {
                name: "DB_PASSWORD".into(),
                default: "postgres".into()
            })
        );
        assert_eq!(
            classify("DATABASE_URL", "postgres://u:pw@db/x").map(|_| ()),
            Some(())
        );
        assert_eq!(classify("DATABASE_URL", "postgres://u:${PW:?x}@db/x"), None);
        assert_eq!(
            classify("DATABASE_URL", "postgres://u:pw@${HOST}/x"),
            Some(SecretValue::Mixed)
        );
        assert_eq!(classify("SECRET_ENABLED", "true"), None);
        assert_eq!(
            classify("DB_PASSWORD", "hunter2${SUFFIX}"),
            Some(SecretValue::Mixed)
        );
        assert_eq!(classify("DB_PASSWORD", "${PREFIX}${SUFFIX}"), None);
        assert_eq!(classify("LOG_LEVEL", "debug"), None);
        assert_eq!(
            classify("PW", "a$$b"),
            Some(SecretValue::Literal("a$b".into()))
                .filter(|_| false)
                .or(None)
        );
    }
}
