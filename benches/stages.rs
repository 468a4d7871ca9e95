//! Per-stage benchmarks: parse to model, rules, plan, patch, verify, and
//! the whole pipeline, on generated stacks of 10, 500 and 5,000 services
//! and on the largest real files of the shared corpus.
//!
//! `cargo bench --bench stages` runs them; `cargo bench --no-run` (CI)
//! only builds them. The real files are read from `HARDEN_CORPUS` (the
//! corpus folder) or `../shared/corpus` beside the checkout; without
//! them those inputs are skipped with a note.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use divan::Bencher;
use harden::settings::Settings;
use harden::source::SourceFile;
use harden::{Reading, plan};

#[path = "support/generate.rs"]
mod generate;

fn main() {
    divan::main();
}

/// Generated stacks by service count, and real files by corpus name.
const INPUTS: &[&str] = &[
    "generated-10",
    "generated-500",
    "generated-5000",
    "024-cp-all-in-one-oauth",
    "005-deploy-sourcegraph-docker-main",
    "100-mailcow-dockerized-main",
];

/// Fewer samples than divan's default: the 5,000-service stack takes a
/// noticeable time per run.
const SAMPLES: u32 = 20;

fn corpus_dir() -> PathBuf {
    std::env::var_os("HARDEN_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        PathBuf::from,
    )
}

/// The text of one input, made or read once per process.
fn text(name: &str) -> Option<String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(name.to_string())
        .or_insert_with(|| match name.strip_prefix("generated-") {
            Some(count) => count.parse().ok().map(generate::compose),
            None => {
                let path = corpus_dir().join("real").join(format!("{name}.yml"));
                let text = std::fs::read_to_string(&path).ok();
                if text.is_none() {
                    eprintln!("skipped {name}: {} not found", path.display());
                }
                text
            }
        })
        .clone()
}

/// The input as harden reads stdin: no files beside it.
fn source(name: &str) -> Option<SourceFile> {
    text(name).map(|t| SourceFile::new(name, None, t))
}

/// Reads the input, the strict reader's verdict included.
fn read(src: SourceFile, settings: &Settings) -> Reading {
    let mut reading = Reading::new(src, settings).expect("benchmark input reads");
    reading.strict_verdict().expect("benchmark input is valid");
    reading
}

fn reading(name: &str) -> Option<Reading> {
    Some(read(source(name)?, &Settings::default()))
}

#[divan::bench(args = INPUTS, sample_count = SAMPLES)]
fn parse_to_model(bencher: Bencher, name: &str) {
    let Some(src) = source(name) else { return };
    let settings = Settings::default();
    bencher
        .with_inputs(|| src.clone())
        .bench_values(|src| read(src, &settings));
}

#[divan::bench(args = INPUTS, sample_count = SAMPLES)]
fn rules(bencher: Bencher, name: &str) {
    let Some(reading) = reading(name) else { return };
    bencher.bench(|| reading.check());
}

#[divan::bench(args = INPUTS, sample_count = SAMPLES)]
fn plan_edits(bencher: Bencher, name: &str) {
    let Some(reading) = reading(name) else { return };
    let findings = reading.check();
    bencher.bench(|| plan(&findings));
}

#[divan::bench(args = INPUTS, sample_count = SAMPLES)]
fn patch(bencher: Bencher, name: &str) {
    let Some(reading) = reading(name) else { return };
    let (plan, _) = plan(&reading.check());
    bencher.bench(|| reading.patch(&plan).expect("patches"));
}

#[divan::bench(args = INPUTS, sample_count = SAMPLES)]
fn verify(bencher: Bencher, name: &str) {
    let Some(reading) = reading(name) else { return };
    let (plan, moved) = plan(&reading.check());
    let patched = reading.patch(&plan).expect("patches");
    bencher.bench(|| reading.verify(&plan, &patched, &moved).expect("verifies"));
}

#[divan::bench(args = INPUTS, sample_count = SAMPLES)]
fn whole(bencher: Bencher, name: &str) {
    let Some(src) = source(name) else { return };
    let settings = Settings::default();
    bencher
        .with_inputs(|| src.clone())
        .bench_values(|src| harden::harden(src, &settings).expect("hardens"));
}
