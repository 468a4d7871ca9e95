//! One check per row of the image table: a small service using the image,
//! hardened, with the facts that matter asserted and the result snapshotted.

mod support;

use std::path::Path;

use harden::knowledge::{Knowledge, ReadOnly, StartUser};
use harden::source::SourceFile;
use serde_json::Value;
use support::strings;

#[test]
fn every_image_row_hardens_as_its_facts_say() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/images"));
    settings.set_prepend_module_to_snapshot(false);
    let knowledge = Knowledge::builtin();
    settings.bind(|| {
        for row in &knowledge.images {
            let image = match &row.tag_contains {
                Some(tag) => format!("{}:1-{tag}", row.names[0]),
                None => format!("{}:1", row.names[0]),
            };
            // A secret variable the image reads as a file, when it has one.
            let secret = row.file_env.iter().find(|v| row.secret_env.contains(v) || v.contains("PASSWORD"));
            let env = secret.map(|v| format!("    environment:\n      {v}: \"literal-test-value\"\n")).unwrap_or_default();
            // A switch the image's health check needs (traefik's --ping).
            let command = row.healthcheck_needs.first().map(|n| format!("    command: [\"{n}\"]\n")).unwrap_or_default();
            let text = format!("services:\n  svc:\n    image: {image}\n{command}{env}  client:\n    image: example/client:1\n    depends_on: [svc]\n");
            let src = SourceFile::new(&format!("{}.yml", row.id), None, text);
            let outcome = harden::harden(src, &Default::default()).unwrap_or_else(|e| panic!("{}: {e}", row.id));
            let out = outcome.output();
            let doc = harden::strict::read_value(&out).expect("output reads back");
            let svc = &doc["services"]["svc"];
            let id = &row.id;

            if row.read_only == Some(ReadOnly::No) {
                assert!(svc.get("read_only").is_none(), "{id}: read_only added to an image that cannot run so");
            } else {
                assert_eq!(svc["read_only"], Value::Bool(true), "{id}");
                let targets: Vec<String> = strings(&svc["tmpfs"]).iter().map(|t| t.split(':').next().unwrap_or_default().to_string()).collect();
                for path in &row.tmpfs {
                    assert!(targets.contains(path), "{id}: tmpfs {path} missing from {targets:?}");
                }
            }

            let added = strings(&svc["cap_add"]);
            let mut needed: Vec<String> = row.file_caps.clone();
            if row.start_user != Some(StartUser::Nonroot) {
                needed.extend(row.cap_add.iter().cloned());
            }
            for cap in &needed {
                assert!(added.contains(cap), "{id}: cap_add lacks {cap}: {added:?}");
            }
            assert!(strings(&svc["cap_drop"]).contains(&"ALL".to_string()), "{id}");

            if let Some(var) = secret {
                let env = &svc["environment"];
                let file_var = row.file_variant(var).expect("listed variable has a file form");
                assert!(env.get(var).is_none() && env.get(&file_var).is_some(), "{id}: {var} not moved to {file_var}");
                assert!(!out.contains("literal-test-value"), "{id}: secret value left in the file");
            }

            let internal = strings(&svc["networks"]).iter().all(|n| doc["networks"][n]["internal"] == Value::Bool(true));
            assert_eq!(row.role.is_backend(), svc.get("networks").is_some() && internal, "{id}: network placement");
            if !row.healthcheck.is_empty() {
                assert!(svc.get("healthcheck").is_some(), "{id}: no health check");
            }
            insta::assert_snapshot!(id.as_str(), out);
        }
    });
}
