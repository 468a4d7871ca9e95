//! harden: makes Docker Compose files production-ready with minimal,
//! byte-exact edits.
// Input never makes harden panic: no unwrap, expect, panic or unchecked
// indexing outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod dotenv;
pub mod error;
pub mod knowledge;
pub mod layers;
pub mod model;
pub mod output;
pub mod patch;
pub mod plan;
pub mod rules;
pub mod settings;
pub mod source;
pub mod strict;
pub mod surroundings;
pub mod syntax;
pub mod verify;

use error::{HardenError, InputError};
use knowledge::Knowledge;
use model::ComposeModel;
use plan::EditPlan;
use rules::{Context, Finding, MovedValue};
use source::SourceFile;
use surroundings::Surroundings;
use syntax::SyntaxTree;

/// The result of hardening one file.
#[derive(Debug)]
pub struct Outcome {
    pub src: SourceFile,
    pub findings: Vec<Finding>,
    /// The patched text without BOM framing.
    pub patched: String,
    pub moved: Vec<MovedValue>,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        self.patched != self.src.text
    }

    /// The full output bytes, BOM kept.
    pub fn output(&self) -> String {
        self.src.frame(&self.patched)
    }
}

/// Reads, plans, patches and verifies one compose file, with the `.env`
/// and `env_file`s beside it when it came from disk.
pub fn harden(src: SourceFile, settings: &settings::Settings) -> Result<Outcome, HardenError> {
    run(src, settings, true)
}

/// Reads one compose file and finds its hazards without fixing anything:
/// what `--check` and `--format` report. The report does not depend on
/// the fixer, so a file harden cannot patch is still audited.
pub fn audit(src: SourceFile, settings: &settings::Settings) -> Result<Outcome, HardenError> {
    run(src, settings, false)
}

fn run(src: SourceFile, settings: &settings::Settings, fix: bool) -> Result<Outcome, HardenError> {
    let mut reading = Reading::new(src, settings)?;
    let findings = reading.check();
    if !fix {
        reading.strict_verdict()?;
        let patched = reading.src.text.clone();
        return Ok(Outcome {
            src: reading.src,
            findings,
            patched,
            moved: Vec::new(),
        });
    }
    let (plan, moved) = plan(&findings);
    let patched = reading.patch(&plan)?;
    reading.strict_verdict()?;
    if !plan.is_empty() {
        reading.verify(&plan, &patched, &moved)?;
    }
    Ok(Outcome {
        src: reading.src,
        findings,
        patched,
        moved,
    })
}

/// One compose file read into everything the rules look at: the syntax
/// tree, the model, the files beside it and the settings. The pipeline's
/// stages are its methods, in order: [`Reading::new`] (parse to model),
/// [`Reading::check`] (rules), [`plan`], [`Reading::patch`] and
/// [`Reading::verify`], with [`Reading::strict_verdict`] awaited before a
/// report or the verifier; `harden` and `audit` run them, and so do the
/// benchmarks, stage by stage.
pub struct Reading {
    pub src: SourceFile,
    pub tree: SyntaxTree,
    pub model: ComposeModel,
    pub around: Surroundings,
    pub settings: settings::Settings,
    /// serde-saphyr's check of a big text, running beside the other
    /// stages until [`Reading::strict_verdict`] waits for it.
    strict: Option<std::thread::JoinHandle<Result<(), HardenError>>>,
}

impl Reading {
    /// Parses the text, builds the model, reads the `.env`, `env_file`s
    /// and layers beside the file and merges its settings.
    pub fn new(src: SourceFile, settings: &settings::Settings) -> Result<Reading, HardenError> {
        precheck(&src)?;
        // Two readers of the same text, independent of each other. For a
        // big file the strict one runs on a second thread while the tree,
        // the model and the rules take the first; its verdict is awaited
        // before anything is reported or patched. The syntax tree's errors
        // come first either way: they name every location.
        let strict = if src.text.len() >= verify::PARALLEL_FROM {
            let copy = src.clone();
            Some(std::thread::spawn(move || strict_check(&copy)))
        } else {
            None
        };
        let tree = SyntaxTree::parse(&src)?;
        if strict.is_none() {
            strict_check(&src)?;
        }
        let mut model = ComposeModel::build(&src, &tree)?;
        // Read once: the verifier marks the output's services the same way.
        let base = src.path.as_deref().and_then(layers::base_of);
        mark_partial_services(base.as_ref(), &tree, &mut model);
        let dir = src.path.as_deref().map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        });
        let mut around = Surroundings::load(dir.as_deref(), &tree, &model);
        if let Some(path) = src.path.as_deref() {
            around.layers = layers::layers_over(path);
        }
        around.base = base;
        let settings = settings
            .clone()
            .with_compose(&src, &tree, &model, &rules::rule_ids())?;
        Ok(Reading {
            src,
            tree,
            model,
            around,
            settings,
            strict,
        })
    }

    /// The strict reader's verdict on the text (merge keys, alias budget,
    /// nesting), waiting for it when it runs on its own thread.
    pub fn strict_verdict(&mut self) -> Result<(), HardenError> {
        let Some(strict) = self.strict.take() else {
            return Ok(());
        };
        strict.join().unwrap_or_else(|_| {
            Err(HardenError::Internal {
                file: self.src.display_name.clone(),
                message: "the strict reader stopped unexpectedly".into(),
            })
        })
    }

    fn context(&self) -> Context<'_> {
        Context::new(
            &self.src,
            &self.tree,
            &self.model,
            Knowledge::builtin(),
            &self.around,
            &self.settings,
        )
    }

    /// Every rule's findings, with harden's notices, minus what the
    /// settings turn off.
    pub fn check(&self) -> Vec<Finding> {
        let ctx = self.context();
        let mut findings = rules::check_all(&ctx);
        findings.extend(unknown_images(&ctx, &findings));
        findings.extend(file_notes(&self.tree, &self.model));
        findings.extend(anchored_service_notes(&self.tree, &self.model, &findings));
        findings.retain(|f| {
            !self
                .settings
                .ignores(f.rule, f.service.as_deref().unwrap_or(""))
        });
        findings
    }

    /// The text with every planned edit applied, in one pass.
    pub fn patch(&self, plan: &EditPlan) -> Result<String, HardenError> {
        patch::Patcher::new(&self.src, &self.tree)
            .apply(plan)
            .map_err(|message| self.internal(message))
    }

    /// The last gate: see [`verify::verify`].
    pub fn verify(
        &self,
        plan: &EditPlan,
        patched: &str,
        moved: &[MovedValue],
    ) -> Result<(), HardenError> {
        verify::verify(
            &self.src,
            &self.model,
            &self.tree,
            plan,
            patched,
            &self.around.with_moved(moved),
            &self.settings,
        )
        .map_err(|message| {
            // For bug reports: where the rejected text can be inspected.
            if let Some(path) = std::env::var_os("HARDEN_DUMP_REJECTED") {
                let _ = std::fs::write(path, patched);
            }
            self.internal(message)
        })
    }

    fn internal(&self, message: String) -> HardenError {
        HardenError::Internal {
            file: self.src.display_name.clone(),
            message,
        }
    }
}

/// The edits of every finding, in order, and the values they move out of
/// the file.
pub fn plan(findings: &[Finding]) -> (EditPlan, Vec<MovedValue>) {
    let mut plan = EditPlan::default();
    let mut moved = Vec::new();
    for finding in findings {
        plan.edits.extend(finding.edits.iter().cloned());
        moved.extend(finding.moved.iter().cloned());
    }
    (plan, moved)
}

/// Text-level problems the YAML reader would report far from the point.
fn precheck(src: &SourceFile) -> Result<(), HardenError> {
    // Old Mac line breaks (a bare CR) would mix with the LF of new lines.
    if let Some(at) = src
        .text
        .match_indices('\r')
        .map(|(i, _)| i)
        .find(|&i| src.text.as_bytes().get(i + 1) != Some(&b'\n'))
    {
        let (line, col) = src.line_col(at);
        let message = "line breaks here are a bare CR; convert the file to LF or CRLF line endings"
            .to_string();
        return Err(InputError::syntax(src, line, col, message).into());
    }
    // A merge-conflict marker committed by mistake reads as a YAML error
    // far from the point; say what it is.
    let line_starts = std::iter::once(0).chain(src.text.match_indices('\n').map(|(i, _)| i + 1));
    if let Some(at) = line_starts.into_iter().find(|&i| {
        let rest = &src.text[i..];
        [
            "<<<<<<< ",
            "=======\n",
            "=======\r\n",
            ">>>>>>> ",
            "||||||| ",
        ]
        .iter()
        .any(|m| rest.starts_with(m))
            || rest == "======="
    }) {
        let (line, col) = src.line_col(at);
        let message =
            "a merge-conflict marker is left in the file; resolve the conflict first".into();
        return Err(InputError::syntax(src, line, col, message).into());
    }
    Ok(())
}

/// serde-saphyr, the independent reader, checks merge keys, the alias
/// budget and nesting; the syntax tree has reported syntax errors and
/// duplicate keys with every location before.
fn strict_check(src: &SourceFile) -> Result<(), HardenError> {
    let Err((line, col, message)) = strict::check(&src.text) else {
        return Ok(());
    };
    let first = message.lines().next().unwrap_or("invalid YAML");
    // serde-saphyr repeats the position inside its message.
    let first = match first.strip_prefix("error: line ") {
        Some(rest) => rest.split_once(": ").map_or(first, |(_, m)| m),
        None => first,
    };
    // The reader's limits guard against alias bombs and runaway nesting;
    // say so in words.
    let first = if first.contains("budget breached") && first.contains("Depth") {
        "the file nests deeper than harden reads (a limit against runaway nesting)".to_string()
    } else if first.contains("budget breached") {
        format!(
            "the file grows past harden's limit once its aliases are expanded (a guard against alias bombs; {})",
            first.trim_start_matches("budget breached: ")
        )
    } else {
        first.to_string()
    };
    Err(InputError::syntax(src, line, col, first).into())
}

/// Marks the services whose definition continues in another layer of the
/// project: those a base file beside this layer also defines, and those
/// with no image or build, which cannot run from this file alone.
pub(crate) fn mark_partial_services(
    base: Option<&(String, Vec<String>)>,
    tree: &SyntaxTree,
    model: &mut ComposeModel,
) {
    let by_target = mergers(tree, model);
    let unlike: Vec<Option<String>> = model
        .services
        .iter()
        .map(|s| unlike_mergers(tree, model, &by_target, s))
        .collect();
    for (service, unlike) in model.services.iter_mut().zip(unlike) {
        if service.unseen().is_some() {
            continue;
        }
        // What a fix adds to an anchor reaches every service merging it;
        // one that runs another image or sets the keys fixes add in
        // another form (limits, networks, read_only) would get a wrong fix.
        if let Some(why) = unlike {
            service.partial = Some(why);
            continue;
        }
        let runnable = ["image", "build", "extends"]
            .iter()
            .any(|key| service.field(key).is_some());
        if let Some((name, services)) = base
            && services.contains(&service.name)
        {
            service.split = true;
            service.partial = Some(format!(
                "the rest of its definition is in {name}, which this file is merged over; harden reads one file at a time"
            ));
        } else if !runnable {
            service.split = true;
            service.partial = Some(
                "it has no image or build here, so the rest of its definition is in a file this one is merged with; harden reads one file at a time".into(),
            );
        }
    }
}

/// Keys a merging service may set that a fix to the anchor would clash
/// with: Compose rejects legacy and deploy limits side by side, and
/// networks, tmpfs and read_only decide what the fix adds.
const CLASHING_KEYS: &[&str] = &[
    "read_only",
    "tmpfs",
    "user",
    "privileged",
    "mem_limit",
    "memswap_limit",
    "mem_reservation",
    "cpus",
    "cpu_quota",
    "pids_limit",
    "deploy",
    "networks",
    "network_mode",
];

/// Why the services merging this one's anchored mapping make a fix to it
/// unsafe, if they do: one runs another image or sets a clashing key.
fn unlike_mergers(
    tree: &SyntaxTree,
    model: &ComposeModel,
    by_target: &std::collections::HashMap<syntax::NodeId, Vec<usize>>,
    service: &model::Service,
) -> Option<String> {
    tree.node(service.node).anchor.as_ref()?;
    let own_text = |s: &model::Service, key: &str| {
        s.field(key)
            .filter(|f| f.origin == model::Origin::Own)
            .map(|f| tree.scalar(f.value).map(str::to_string))
    };
    mergers_of(by_target, tree, model, service).find_map(|other| {
            let image = own_text(other, "image").flatten();
            let what = if image.is_some() && image != own_text(service, "image").flatten() {
                "another image".to_string()
            } else if own_text(other, "build").is_some() {
                "its own build".to_string()
            } else {
                let key = CLASHING_KEYS
                    .iter()
                    .find(|key| own_text(other, key).is_some())?;
                format!("its own `{key}`")
            };
            Some(format!(
                "its mapping is an anchor that {} merges with {what}, so a fix here would reach it wrongly",
                other.name
            ))
        })
}

/// For each mapping that services take keys from, those services (by
/// position, in file order): the ones merging it through their `<<` key
/// and the ones that are an alias of it. Found in one pass, so anchored
/// services need not compare themselves with every other service.
pub(crate) fn mergers(
    tree: &SyntaxTree,
    model: &ComposeModel,
) -> std::collections::HashMap<syntax::NodeId, Vec<usize>> {
    let mut by_target: std::collections::HashMap<syntax::NodeId, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, service) in model.services.iter().enumerate() {
        let map = service.node;
        let mut targets = Vec::new();
        if tree.resolve(map) != map {
            targets.push(tree.resolve(map));
        }
        for entry in tree.entries(map) {
            if tree.scalar(entry.key) != Some("<<") {
                continue;
            }
            match tree.items(entry.value) {
                [] => targets.push(tree.resolve(entry.value)),
                items => targets.extend(items.iter().map(|&i| tree.resolve(i))),
            }
        }
        targets.sort_unstable();
        targets.dedup();
        for target in targets {
            by_target.entry(target).or_default().push(i);
        }
    }
    by_target
}

/// The services that take the keys of `service`'s own mapping, itself
/// left out.
pub(crate) fn mergers_of<'m>(
    by_target: &std::collections::HashMap<syntax::NodeId, Vec<usize>>,
    tree: &SyntaxTree,
    model: &'m ComposeModel,
    service: &model::Service,
) -> impl Iterator<Item = &'m model::Service> {
    by_target
        .get(&tree.resolve(service.node))
        .into_iter()
        .flatten()
        .filter_map(|&i| model.services.get(i))
        .filter(move |other| other.name != service.name)
}

/// One warning per service whose image harden does not know and that it
/// changed: what was assumed, and how to correct it.
fn unknown_images(ctx: &Context, findings: &[Finding]) -> Vec<Finding> {
    let mut warnings = Vec::new();
    let changed: std::collections::HashSet<&str> = findings
        .iter()
        .filter(|f| !f.edits.is_empty())
        .filter_map(|f| f.service.as_deref())
        .collect();
    for service in &ctx.model.services {
        if ctx.profile(service).is_some() || !changed.contains(service.name.as_str()) {
            continue;
        }
        let message = format!(
            "image {} is unknown: assumed it writes only to /tmp, needs no capabilities after cap_drop ALL and fits generic limits; if it writes elsewhere, needs capabilities (an entrypoint that chowns or switches user) or reads NAME_FILE, say so under x-harden (writable, cap_add, file_env, memory) and test that it starts",
            ctx.image_label(service)
        );
        let at = ctx.tree.node(service.key).start;
        warnings.push(Finding::notice(
            "unknown-image",
            rules::Level::Warning,
            Some(service.name.clone()),
            at,
            message,
        ));
    }
    warnings
}

/// Warnings about the file as a whole: parts harden does not harden.
fn file_notes(tree: &SyntaxTree, model: &ComposeModel) -> Vec<Finding> {
    let warn = |rule, at, message: &str| {
        Finding::notice(rule, rules::Level::Warning, None, at, message.to_string())
    };
    let mut notes = Vec::new();
    if model
        .services_node
        .is_none_or(|n| tree.entries(n).is_empty())
    {
        let at = tree.node(model.root).start;
        notes.push(warn(
            "no-services",
            at,
            "the file defines no services, so there is nothing to harden",
        ));
    }
    if let Some(key) = model.merged_services {
        let message = "services merged into `services` with `<<` live in their anchor: their hazards are reported, but harden does not change them";
        notes.push(warn("merged-services", tree.node(key).start, message));
    }
    if let Some(entry) = tree.get_entry(model.root, "include") {
        let message = "services from included files were not checked or hardened; run harden on each included file";
        notes.push(warn("include", tree.node(entry.key).start, message));
    }
    notes
}

/// A service whose mapping is an anchor merged into others passes the keys
/// harden adds on to them: say so, naming them.
fn anchored_service_notes(
    tree: &SyntaxTree,
    model: &ComposeModel,
    findings: &[Finding],
) -> Vec<Finding> {
    let mut notes = Vec::new();
    let by_target = mergers(tree, model);
    for source in &model.services {
        let Some(anchor) = tree.node(source.node).anchor.as_deref() else {
            continue;
        };
        let edited = findings
            .iter()
            .any(|f| f.service.as_deref() == Some(source.name.as_str()) && !f.edits.is_empty());
        if !edited {
            continue;
        }
        let users: Vec<&str> = mergers_of(&by_target, tree, model, source)
            .map(|u| u.name.as_str())
            .collect();
        if users.is_empty() {
            continue;
        }
        let message = format!(
            "its mapping is the anchor &{anchor}, so keys added to it also reach {} where they do not set their own",
            users.join(", ")
        );
        let at = tree.node(source.key).start;
        notes.push(Finding::notice(
            "merged-service",
            rules::Level::Note,
            Some(source.name.clone()),
            at,
            message,
        ));
    }
    notes
}
