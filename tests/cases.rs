//! The shared failure cases (`tests/cases/<case>/input.yml`, copied from
//! the project's case collection): each test asserts what the case's
//! EXPECT.md requires of the patched YAML, the diff and the warnings.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{RunOutput, TempDir, strings};

/// Runs `harden input.yml` (plus `extra` flags) inside a copy of the case.
fn run_case(case: &str, extra: &[&str]) -> (TempDir, RunOutput) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(case);
    let dir = TempDir::new(case);
    copy_dir(&source, dir.path());
    let mut args = vec!["input.yml"];
    args.extend_from_slice(extra);
    let out = support::run_in(dir.path(), &args, None);
    (dir, out)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("case folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Patched YAML of a successful run, read with merges resolved.
fn hardened(case: &str) -> (String, Value, String) {
    let (_dir, out) = run_case(case, &[]);
    assert_eq!(out.code, Some(0), "{case}: {}", out.stderr_str());
    let text = out.stdout_str();
    let value = harden::strict::read_value(&text)
        .unwrap_or_else(|| panic!("{case}: output does not parse"));
    (text, value, out.stderr_str())
}

fn input(case: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/cases")
            .join(case)
            .join("input.yml"),
    )
    .expect("input")
}

fn service<'v>(v: &'v Value, name: &str) -> &'v Value {
    &v["services"][name]
}

/// Targets of a service's tmpfs entries (short syntax, options dropped).
fn tmpfs_targets(v: &Value) -> Vec<String> {
    strings(&v["tmpfs"])
        .iter()
        .map(|s| s.split(':').next().unwrap_or_default().to_string())
        .collect()
}

/// Networks of a service; no key means the implicit `default`.
fn networks(v: &Value) -> Vec<String> {
    match &v["networks"] {
        Value::Null => vec!["default".into()],
        Value::Array(_) => strings(&v["networks"]),
        Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn is_internal(doc: &Value, network: &str) -> bool {
    doc["networks"][network]["internal"] == Value::Bool(true)
}

fn oracle_accepts_output(case: &str, env: &[(&str, &str)]) {
    let Some(_) = support::oracle() else {
        eprintln!("{case}: compose oracle not configured (HARDEN_ORACLE); skipped that check");
        return;
    };
    let (dir, out) = run_case(case, &[]);
    std::fs::write(dir.path().join("hardened.yml"), &out.stdout).expect("write output");
    for file in ["db_password.txt", "app.conf"] {
        let _ = std::fs::write(dir.path().join(file), "x");
    }
    let result = support::oracle_accepts_full(dir.path(), Path::new("hardened.yml"), env);
    assert!(
        result.is_ok(),
        "{case}: compose rejects the output: {result:?}"
    );
}

#[test]
fn case_04_required_interpolation_stays_literal() {
    let (text, doc, _) = hardened("04-required-var-interpolation");
    for expr in [
        "${APP_TAG:?APP_TAG must be set}",
        "${CACHE_TTL:-300}",
        "${GREETING-hello}",
        "${APP_MEM:-512m}",
        "${DB_PASSWORD:?set DB_PASSWORD}",
    ] {
        assert!(text.contains(expr), "{expr} lost");
    }
    assert!(
        service(&doc, "app").get("deploy").is_none(),
        "app must not get deploy limits next to mem_limit"
    );
    let db = service(&doc, "db");
    if db.get("secrets").is_some() {
        assert_ne!(db["read_only"], Value::Bool(true));
        assert!(db["environment"].get("POSTGRES_PASSWORD").is_none());
    }
}

#[test]
fn case_06_ports_keep_quoting_and_stay_published() {
    let (text, doc, _) = hardened("06-port-sexagesimal-quoting");
    for line in [
        "      - \"2222:22\"",
        "      - \"3000:3000\"",
        "      - \"30000-30009:30000-30009\"",
        "      - \"127.0.0.1:53:53/udp\"",
        "      - 2121:21",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} changed");
    }
    for name in ["git", "ftp", "resolver"] {
        let nets = networks(service(&doc, name));
        assert!(
            nets.iter().any(|n| !is_internal(&doc, n)),
            "{name} lost its published network"
        );
    }
}

#[test]
fn case_07_quoted_lookalikes_stay_quoted() {
    let (_dir, out) = run_case("07-yaml11-scalar-quoting", &["--diff"]);
    assert_eq!(out.code, Some(0));
    let diff = out.stdout_str();
    assert!(
        !diff
            .lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "diff removes lines:\n{diff}"
    );
    let (_, doc, _) = hardened("07-yaml11-scalar-quoting");
    assert_eq!(service(&doc, "migrate")["restart"], "no");
    assert_eq!(service(&doc, "php")["environment"]["BUILD_ID"], "0123");
    assert_eq!(
        service(&doc, "php")["environment"]["PHP_SHORT_OPEN_TAG"],
        "On"
    );
}

#[test]
fn case_08_octal_modes_are_untouched_and_new_ones_unambiguous() {
    let (text, _, _) = hardened("08-octal-mode-literals");
    assert!(text.contains("        mode: 0444\n"));
    assert!(text.contains("          mode: 0o1770\n"));
    assert!(text.contains("size: 16777216"));
    let input = input("08-octal-mode-literals");
    for line in text.lines().filter(|l| l.trim_start().starts_with("mode:")) {
        assert!(input.lines().any(|i| i == line), "new mode line {line}");
    }
    assert!(!text.contains("mode=0o"));
    assert_eq!(
        text.matches("/app/tmp").count(),
        1,
        "the existing tmpfs target must not be duplicated"
    );
}

#[test]
fn case_09_comments_survive_in_order_and_nothing_is_removed() {
    let (_dir, out) = run_case("09-comments-preserved", &["--diff"]);
    let diff = out.stdout_str();
    assert!(
        !diff
            .lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "diff removes lines:\n{diff}"
    );
    let (text, _, _) = hardened("09-comments-preserved");
    let comments = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(comments(&text), comments(&input("09-comments-preserved")));
    assert!(text.contains("    image: example/billing-api:5.2   # pinned, see release notes\n"));
    let original = input("09-comments-preserved");
    let tail: Vec<&str> = original.lines().rev().take(2).collect();
    let out_tail: Vec<&str> = text.lines().rev().take(2).collect();
    assert_eq!(tail, out_tail, "trailing comment block moved");
}

#[test]
fn case_11_clients_keep_reaching_isolated_backends() {
    let (text, doc, _) = hardened("11-default-network-split");
    for (a, b) in [("web", "api"), ("api", "db"), ("api", "cache")] {
        let na = networks(service(&doc, a));
        let nb = networks(service(&doc, b));
        assert!(
            na.iter().any(|n| nb.contains(n)),
            "{a} and {b} share no network: {na:?} {nb:?}"
        );
    }
    for (name, svc) in doc["services"].as_object().expect("services") {
        for net in networks(svc) {
            assert!(
                net == "default" || doc["networks"].get(&net).is_some(),
                "{name} uses undeclared {net}"
            );
        }
    }
    assert!(
        networks(service(&doc, "web"))
            .iter()
            .any(|n| !is_internal(&doc, n))
    );
    for name in ["db", "cache"] {
        assert!(
            networks(service(&doc, name))
                .iter()
                .all(|n| is_internal(&doc, n)),
            "{name} not isolated"
        );
    }
    assert!(
        !networks(service(&doc, "web"))
            .iter()
            .any(|n| is_internal(&doc, n)),
        "web joined the backend"
    );
    assert!(text.contains("      DB_HOST: db\n") && text.contains("      CACHE_HOST: cache\n"));
    oracle_accepts_output("11-default-network-split", &[]);
}

#[test]
fn case_12_network_mode_services_get_no_networks() {
    let (text, doc, _) = hardened("12-network-mode-exclusive");
    for name in ["downloader", "node-exporter"] {
        let svc = service(&doc, name);
        for key in ["networks", "ports", "expose", "hostname", "dns"] {
            assert!(svc.get(key).is_none(), "{name} got {key}");
        }
    }
    assert!(
        text.contains("    network_mode: \"service:vpn\"\n")
            && text.contains("    network_mode: host\n")
    );
    assert!(strings(&service(&doc, "vpn")["cap_add"]).contains(&"NET_ADMIN".to_string()));
    oracle_accepts_output("12-network-mode-exclusive", &[]);
}

#[test]
fn case_14_copied_in_secrets_and_configs_block_read_only() {
    let (_, doc, err) = hardened("14-secret-env-readonly-clash");
    for (name, svc) in doc["services"].as_object().expect("services") {
        if svc["read_only"] != Value::Bool(true) {
            continue;
        }
        for section in ["secrets", "configs"] {
            for item in svc[section].as_array().into_iter().flatten() {
                let source = item
                    .as_str()
                    .or_else(|| item["source"].as_str())
                    .unwrap_or_default();
                let def = &doc[section][source];
                assert!(
                    def.get("file").is_some() || def.get("external").is_some(),
                    "{name} read_only with {source}"
                );
            }
        }
    }
    let env = &service(&doc, "db")["environment"];
    assert!(
        !(env.get("POSTGRES_PASSWORD").is_some() && env.get("POSTGRES_PASSWORD_FILE").is_some())
    );
    assert!(
        err.contains("proxy") && err.contains("read_only") && err.contains("caddyfile"),
        "{err}"
    );
    assert!(
        doc["configs"]["caddyfile"].get("content").is_some(),
        "config dropped"
    );
    oracle_accepts_output("14-secret-env-readonly-clash", &[("DB_PASSWORD", "x")]);
}

#[test]
fn case_15_file_variables_only_where_the_image_reads_them() {
    let (text, doc, err) = hardened("15-no-file-suffix-support");
    let notifier = &service(&doc, "notifier")["environment"];
    assert!(notifier.get("SMTP_PASSWORD_FILE").is_none());
    let value = notifier["SMTP_PASSWORD"].as_str().unwrap_or_default();
    assert!(
        value == "correct-horse-battery-staple" || value.starts_with("${SMTP_PASSWORD"),
        "{value}"
    );
    assert!(
        err.contains("notifier") && err.contains("SMTP_PASSWORD"),
        "{err}"
    );
    let db = service(&doc, "db");
    for var in ["MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD"] {
        let env = &db["environment"];
        if env.get(var).is_some() {
            continue;
        }
        let path = env[format!("{var}_FILE")].as_str().expect("file variable");
        let secret = path.strip_prefix("/run/secrets/").expect("secret path");
        assert!(strings(&db["secrets"]).contains(&secret.to_string()));
        assert!(doc["secrets"][secret].get("file").is_some());
    }
    assert!(
        !text.contains("another-long-literal-value")
            && !text.contains("root-literal-value-please-rotate")
    );
    for var in ["SMTP_HOST", "SMTP_USER"] {
        assert!(notifier.get(var).is_some());
    }
    assert!(
        !err.contains("correct-horse") && !err.contains("literal-value"),
        "a secret value reached stderr"
    );
}

#[test]
fn case_17_duplicate_keys_are_refused_with_both_lines() {
    let (dir, out) = run_case("17-duplicate-keys", &[]);
    assert_eq!(out.code, Some(2));
    let err = out.stderr_str();
    for needle in ["restart", "environment", "api", "4", "10", "5", "11"] {
        assert!(err.contains(needle), "{needle} missing from: {err}");
    }
    assert!(!out.stdout_str().contains("services:"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("input.yml")).expect("input"),
        input("17-duplicate-keys")
    );
}

#[test]
fn case_18_tmpfs_is_writable_by_the_service_user() {
    let (text, doc, _) = hardened("18-tmpfs-nonroot-user");
    let renderer = service(&doc, "renderer");
    if renderer["read_only"] == Value::Bool(true) {
        let targets = tmpfs_targets(renderer);
        assert!(
            targets.contains(&"/tmp".to_string()) && targets.contains(&"/app/.cache".to_string())
        );
        for entry in strings(&renderer["tmpfs"]) {
            assert!(
                entry.contains("uid=1000") && entry.contains("gid=1000")
                    || entry.contains("mode=1777"),
                "{entry}"
            );
        }
    }
    for entry in strings(&service(&doc, "api")["tmpfs"]) {
        assert!(entry.contains("mode=1777"), "{entry}");
    }
    assert!(text.contains("      - ./templates:/app/templates:ro\n"));
}

#[test]
fn case_20_known_images_get_their_writable_paths() {
    let (_, doc, _) = hardened("20-readonly-writable-paths");
    let web = service(&doc, "web");
    assert_eq!(web["read_only"], Value::Bool(true));
    let targets = tmpfs_targets(web);
    assert!(targets.contains(&"/var/cache/nginx".to_string()));
    assert!(targets.iter().any(|t| t == "/var/run" || t == "/run"));
    let db = service(&doc, "db");
    assert_eq!(db["read_only"], Value::Bool(true));
    let targets = tmpfs_targets(db);
    assert!(
        targets
            .iter()
            .any(|t| ["/var/run/postgresql", "/run/postgresql"].contains(&t.as_str()))
    );
    assert!(targets.contains(&"/tmp".to_string()));
    assert!(
        !targets
            .iter()
            .any(|t| t == "/var/lib/postgresql/data" || t == "/usr/share/nginx/html")
    );
    oracle_accepts_output("20-readonly-writable-paths", &[]);
}

#[test]
fn case_21_entrypoints_that_chown_keep_their_capabilities() {
    let (_, doc, _) = hardened("21-capdrop-chown-entrypoint");
    let has = |svc: &Value, caps: &[&str]| {
        let added = strings(&svc["cap_add"]);
        caps.iter().all(|c| added.iter().any(|a| a == c))
    };
    let cache = service(&doc, "cache");
    assert!(strings(&cache["cap_drop"]).contains(&"ALL".to_string()));
    assert!(
        has(cache, &["CHOWN", "SETUID", "SETGID"])
            && (has(cache, &["DAC_OVERRIDE"]) || has(cache, &["DAC_READ_SEARCH"]))
    );
    let db = service(&doc, "db");
    assert!(
        has(db, &["CHOWN", "SETUID", "SETGID", "FOWNER"])
            && (has(db, &["DAC_OVERRIDE"]) || has(db, &["DAC_READ_SEARCH"]))
    );
    let app = service(&doc, "app");
    assert!(strings(&app["cap_drop"]).contains(&"ALL".to_string()));
    assert!(app.get("cap_add").is_none());
}

#[test]
fn case_22_file_capability_binaries_keep_theirs() {
    let (_, doc, err) = hardened("22-capdrop-file-caps");
    let edge = service(&doc, "edge");
    assert!(strings(&edge["cap_drop"]).contains(&"ALL".to_string()));
    assert!(strings(&edge["cap_add"]).contains(&"NET_BIND_SERVICE".to_string()));
    assert!(service(&doc, "app").get("cap_add").is_none());
    assert!(!err.to_lowercase().contains("verified"));
}

#[test]
fn case_23_extends_from_another_file_adds_nothing_that_conflicts() {
    let (text, doc, err) = hardened("23-extends-inherited");
    assert!(text.contains("    extends:\n      file: common.yml\n      service: jvm-base\n"));
    assert!(text.contains("    extends: api\n"));
    for name in ["api", "worker"] {
        let svc = service(&doc, name);
        for key in ["mem_limit", "deploy", "tmpfs", "cpus", "pids_limit"] {
            assert!(svc.get(key).is_none(), "{name} got {key}");
        }
        assert!(svc["environment"].get("JAVA_TOOL_OPTIONS").is_none());
    }
    assert!(err.contains("api") && err.contains("common.yml"), "{err}");
    oracle_accepts_output("23-extends-inherited", &[]);
}

#[test]
fn case_24_included_resources_are_not_redeclared() {
    let (text, doc, err) = hardened("24-include-conflicts");
    assert!(text.contains("include:\n  - path: ./db/compose.yml\n"));
    for (section, name) in [
        ("services", "db"),
        ("networks", "backend"),
        ("volumes", "pgdata"),
        ("secrets", "db_password"),
    ] {
        assert!(
            doc[section].get(name).is_none(),
            "{section}.{name} redeclared"
        );
    }
    assert!(err.contains("include"), "{err}");
    let app = networks(service(&doc, "app"));
    assert!(app.contains(&"default".to_string()) && app.contains(&"backend".to_string()));
    oracle_accepts_output("24-include-conflicts", &[]);
}

#[test]
fn case_25_many_aliases_stay_aliases() {
    let (text, doc, _) = hardened("25-long-file-many-aliases");
    let aliases = |t: &str| {
        t.split(|c: char| c.is_whitespace() || c == '[' || c == ',')
            .filter(|w| w.starts_with('*'))
            .count()
    };
    assert_eq!(aliases(&text), aliases(&input("25-long-file-many-aliases")));
    assert!(text.matches('&').count() >= 3);
    let services = doc["services"].as_object().expect("services");
    assert_eq!(services.len(), 151);
    for (name, svc) in services {
        if name.starts_with("worker-") {
            assert_eq!(svc["logging"]["driver"], "json-file");
            assert_eq!(svc["environment"]["TZ"], "UTC");
            assert_eq!(svc["restart"], "unless-stopped");
            assert_eq!(svc["read_only"], Value::Bool(true));
        }
    }
    let (_dir, out) = run_case("25-long-file-many-aliases", &["--diff"]);
    let diff = out.stdout_str();
    assert!(
        !diff
            .lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---"))
    );
    let (again, _, _) = hardened("25-long-file-many-aliases");
    assert_eq!(again, text, "output is not deterministic");
}

#[test]
fn case_27_secret_for_a_non_root_service_warns_about_the_file_owner() {
    let (text, doc, err) = hardened("27-secret-perms-nonroot");
    let db = service(&doc, "db");
    if db.get("secrets").is_some() {
        let env = &db["environment"];
        assert!(
            env.get("POSTGRESQL_PASSWORD").is_none()
                && env.get("POSTGRESQL_PASSWORD_FILE").is_some()
        );
        let secret = strings(&db["secrets"]).remove(0);
        assert!(err.contains("1001") && err.contains(&secret), "{err}");
    } else {
        assert!(err.contains("POSTGRESQL_PASSWORD"));
    }
    assert!(!text.contains("literal-db-pass-0042"));
    assert!(!err.contains("literal-db-pass-0042"));
}
