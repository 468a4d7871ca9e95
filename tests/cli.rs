//! The command-line contract: output modes, exit codes, `--write` and the
//! promise that secret values never reach the terminal.

mod support;

use std::path::Path;

use support::TempDir;

const STACK: &str = "services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: planted-pg-value-7781   # rotate
  api:
    image: example/api:1
    environment:
      - API_TOKEN=planted-token-value-4410
      - DB_HOST=db
";

fn write_stack(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path().join("compose.yml");
    std::fs::write(&path, STACK).expect("write compose file");
    path
}

#[test]
fn default_prints_patched_yaml_and_notes_without_secret_values() {
    let dir = TempDir::new("cli-default");
    write_stack(&dir);
    let out = support::run_in(dir.path(), &["compose.yml"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr_str());
    let yaml = out.stdout_str();
    assert!(yaml.contains("POSTGRES_PASSWORD_FILE: /run/secrets/db_postgres_password   # rotate"));
    assert!(yaml.contains("API_TOKEN=${API_TOKEN:?set API_TOKEN in .env}"));
    let err = out.stderr_str();
    assert!(
        err.contains("compose.yml:5:7: note[secret-in-environment]: db: POSTGRES_PASSWORD moved"),
        "{err}"
    );
    for planted in ["planted-pg-value-7781", "planted-token-value-4410"] {
        assert!(
            !yaml.contains(planted) && !err.contains(planted),
            "{planted} leaked"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yml")).expect("read"),
        STACK
    );
    assert!(!dir.path().join("secrets").exists() && !dir.path().join(".env").exists());
}

#[test]
fn diff_applies_with_patch() {
    let dir = TempDir::new("cli-diff");
    write_stack(&dir);
    let yaml = support::run_in(dir.path(), &["compose.yml"], None).stdout;
    let diff = support::run_in(dir.path(), &["compose.yml", "--diff"], None);
    assert_eq!(diff.code, Some(0));
    assert!(
        diff.stdout_str()
            .starts_with("--- a/compose.yml\n+++ b/compose.yml\n")
    );
    let patched =
        support::run_program("patch", &["-p1", "--quiet"], dir.path(), Some(&diff.stdout));
    assert_eq!(patched.code, Some(0), "{}", patched.stderr_str());
    assert_eq!(
        std::fs::read(dir.path().join("compose.yml")).expect("read"),
        yaml
    );
}

#[test]
fn check_exits_one_until_the_file_is_hardened() {
    let dir = TempDir::new("cli-check");
    write_stack(&dir);
    let before = support::run_in(dir.path(), &["compose.yml", "--check"], None);
    assert_eq!(before.code, Some(1));
    // The report goes to stdout; nothing is written.
    assert!(before.stdout_str().contains("high[secret-in-environment]"));
    assert!(before.stdout_str().contains("fixed by `harden --write`"));
    let write = support::run_in(dir.path(), &["compose.yml", "--write"], None);
    assert_eq!(write.code, Some(0), "{}", write.stderr_str());
    // What is left has no automatic fix: low-severity hazards of the
    // unknown api image (root user, no health check).
    let after = support::run_in(dir.path(), &["compose.yml", "--check"], None);
    assert_eq!(after.code, Some(1), "{}", after.stdout_str());
    let report = after.stdout_str();
    assert!(report.contains("low[running-as-root]: api"), "{report}");
    assert!(
        report.ends_with("(2 low); none has an automatic fix\n"),
        "{report}"
    );
    let medium = support::run_in(
        dir.path(),
        &["compose.yml", "--check", "--fail-on", "medium"],
        None,
    );
    assert_eq!(medium.code, Some(0), "{}", medium.stdout_str());
    let ignored = support::run_in(
        dir.path(),
        &[
            "compose.yml",
            "--check",
            "--ignore",
            "running-as-root,missing-healthcheck",
        ],
        None,
    );
    assert_eq!(ignored.code, Some(0), "{}", ignored.stdout_str());
    assert_eq!(ignored.stdout_str(), "no findings in 1 file\n");
}

#[cfg(unix)]
#[test]
fn write_saves_moved_values_first_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;

    let dir = TempDir::new("cli-write");
    let path = write_stack(&dir);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    std::fs::write(dir.path().join(".env"), "EXISTING=1\n").expect("env");
    let out = support::run_in(dir.path(), &["compose.yml", "-w"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr_str());

    let secret = dir.path().join("secrets/db_postgres_password");
    assert_eq!(
        std::fs::read_to_string(&secret).expect("secret"),
        "planted-pg-value-7781"
    );
    assert_eq!(
        std::fs::metadata(&secret)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let env = std::fs::read_to_string(dir.path().join(".env")).expect("env");
    assert_eq!(env, "EXISTING=1\nAPI_TOKEN='planted-token-value-4410'\n");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o640
    );
    let written = std::fs::read_to_string(&path).expect("compose");
    assert!(written.contains("POSTGRES_PASSWORD_FILE") && !written.contains("planted"));
    assert!(!out.stderr_str().contains("planted"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn write_never_overwrites_an_existing_secret_file() {
    let dir = TempDir::new("cli-keep-secret");
    write_stack(&dir);
    std::fs::create_dir(dir.path().join("secrets")).expect("mkdir");
    std::fs::write(
        dir.path().join("secrets/db_postgres_password"),
        "already-there",
    )
    .expect("secret");
    let out = support::run_in(dir.path(), &["compose.yml", "--write"], None);
    assert_eq!(out.code, Some(0));
    let kept =
        std::fs::read_to_string(dir.path().join("secrets/db_postgres_password")).expect("secret");
    assert_eq!(kept, "already-there");
    assert!(
        out.stderr_str().contains("not overwritten"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn stdin_is_read_with_a_dash() {
    let out = support::run(&["-"], Some(STACK.as_bytes()));
    assert_eq!(out.code, Some(0), "{}", out.stderr_str());
    assert!(out.stdout_str().contains("read_only: true"));
    let write = support::run(&["-", "--write"], Some(STACK.as_bytes()));
    assert_eq!(write.code, Some(2));
}

#[test]
fn bad_input_exits_two_with_a_location_and_writes_nothing() {
    let dir = TempDir::new("cli-bad");
    let cases: &[(&str, &[u8])] = &[
        ("tabs.yml", b"services:\n\tweb:\n\t\timage: x\n"),
        ("unclosed.yml", b"services:\n  web:\n    image: \"nginx\n"),
        ("conflict.yml", b"services:\n<<<<<<< HEAD\n  web: {}\n=======\n  api: {}\n>>>>>>> x\n"),
        ("alias.yml", b"services:\n  web: *nothing\n"),
        ("two-docs.yml", b"services: {}\n---\nservices: {}\n"),
        ("list.yml", b"- a\n- b\n"),
        ("services-list.yml", b"services:\n  - web\n"),
        ("latin1.yml", b"services:\n  web:\n    image: caf\xe9\n"),
        ("secret-in-error.yml", b"services:\n  web:\n    environment:\n      DB_PASSWORD: planted-err-secret\n   bad: [\n"),
        ("secret-on-error-line.yml", b"services:\n  web:\n    environment:\n      DB_PASSWORD: \"planted-err-secret\n"),
        ("duplicate-secret.yml", b"services:\n  web:\n    environment:\n      DB_PASSWORD: planted-a\n      DB_PASSWORD: planted-b\n"),
    ];
    for (name, bytes) in cases {
        std::fs::write(dir.path().join(name), bytes).expect("write");
        let out = support::run_in(dir.path(), &[name, "--write"], None);
        assert_eq!(out.code, Some(2), "{name}: {}", out.stderr_str());
        assert!(out.stdout.is_empty(), "{name}");
        assert!(
            support::has_line_col(&out.stderr_str()),
            "{name}: {}",
            out.stderr_str()
        );
        assert!(
            out.stderr_str().starts_with(name),
            "{name}: {}",
            out.stderr_str()
        );
        assert!(
            !out.stderr_str().contains("planted"),
            "{name} leaked a secret"
        );
        assert_eq!(
            &std::fs::read(dir.path().join(name)).expect("read"),
            bytes,
            "{name} was modified"
        );
    }
    for missing in ["nope.yml", "."] {
        let out = support::run_in(dir.path(), &[missing], None);
        assert_eq!(out.code, Some(2), "{missing}");
        assert!(out.stderr_str().contains(missing));
    }
    assert!(!Path::new(&dir.path().join("secrets")).exists());
}

#[test]
fn unchanged_file_prints_itself_and_an_empty_diff() {
    let dir = TempDir::new("cli-unchanged");
    let done = "services:\n  cache:\n    image: redis:7.4\n    healthcheck: {test: [\"CMD\", \"redis-cli\", \"ping\"]}\n    read_only: true\n    cap_drop: [ALL]\n    security_opt: [\"no-new-privileges:true\"]\n    mem_limit: 256m\n    cpus: 0.5\n    pids_limit: 128\n    networks: [back]\nnetworks:\n  back:\n    internal: true\n";
    std::fs::write(dir.path().join("c.yml"), done).expect("write");
    let out = support::run_in(dir.path(), &["c.yml"], None);
    assert_eq!(out.stdout_str(), done, "{}", out.stderr_str());
    let diff = support::run_in(dir.path(), &["c.yml", "--diff"], None);
    assert!(diff.stdout.is_empty());
    assert_eq!(
        support::run_in(dir.path(), &["c.yml", "--check"], None).code,
        Some(0)
    );
}

#[test]
fn harden_toml_beside_the_file_is_read_and_a_bad_one_is_refused() {
    let dir = TempDir::new("cli-settings");
    write_stack(&dir);
    std::fs::write(
        dir.path().join("harden.toml"),
        "ignore = [\"flat-network\"]\n\n[services.api]\nfile_env = [\"API_TOKEN\"]\nmemory = \"2G\"\n",
    )
    .expect("settings");
    let out = support::run_in(dir.path(), &["compose.yml"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr_str());
    let yaml = out.stdout_str();
    assert!(
        yaml.contains("API_TOKEN_FILE=/run/secrets/api_token"),
        "{yaml}"
    );
    assert!(yaml.contains("memory: 2G"));
    assert!(
        !yaml.contains("internal: true"),
        "flat-network should be off"
    );

    std::fs::write(
        dir.path().join("harden.toml"),
        "[services.api]\nmemroy = \"2G\"\n",
    )
    .expect("settings");
    let bad = support::run_in(dir.path(), &["compose.yml"], None);
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr_str().contains("harden.toml:2:"),
        "{}",
        bad.stderr_str()
    );
    assert!(bad.stdout.is_empty());

    let other = dir.path().join("other.toml");
    std::fs::write(&other, "ignore = [\"no-such-rule\"]\n").expect("settings");
    let refused = support::run_in(dir.path(), &["compose.yml", "--config", "other.toml"], None);
    assert_eq!(refused.code, Some(2));
    assert!(refused.stderr_str().contains("no-such-rule"));
}

#[test]
fn rules_lists_every_rule_and_explain_prints_its_page() {
    let list = support::run(&["rules"], None);
    assert_eq!(list.code, Some(0));
    let text = list.stdout_str();
    for meta in harden::rules::metas() {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(meta.id))
            .unwrap_or_else(|| panic!("{} missing from `harden rules`", meta.id));
        assert!(row.contains(meta.severity.as_str()) && row.ends_with(meta.summary));
    }
    let page = support::run(&["explain", "privileged-container"], None);
    assert_eq!(page.code, Some(0));
    let page = page.stdout_str();
    assert!(page.starts_with("# `privileged-container`: the container runs privileged\n"));
    assert!(
        page.contains("## Fixed")
            && page.ends_with("Severity: critical. Fix: none, reported only.\n")
    );
    let notice = support::run(&["explain", "unknown-image"], None);
    assert_eq!(notice.code, Some(0));
    assert!(notice.stdout_str().contains("a notice, not a rule"));
    let unknown = support::run(&["explain", "no-such-rule"], None);
    assert_eq!(unknown.code, Some(2));
    assert!(unknown.stderr_str().contains("unknown rule `no-such-rule`"));
}

#[test]
fn select_and_ignore_choose_rules_and_reject_unknown_ids() {
    let dir = TempDir::new("cli-select");
    write_stack(&dir);
    let only = support::run_in(
        dir.path(),
        &[
            "compose.yml",
            "--format",
            "json",
            "--select",
            "secret-in-environment",
        ],
        None,
    );
    assert_eq!(only.code, Some(0), "{}", only.stderr_str());
    let findings: serde_json::Value = serde_json::from_slice(&only.stdout).expect("JSON");
    let rules: Vec<&str> = findings
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["secret-in-environment", "secret-in-environment"]);

    // The patched YAML follows the same choice: only the secrets move.
    let yaml = support::run_in(
        dir.path(),
        &["compose.yml", "--select", "secret-in-environment"],
        None,
    );
    assert_eq!(yaml.code, Some(0), "{}", yaml.stderr_str());
    let yaml = yaml.stdout_str();
    assert!(yaml.contains("POSTGRES_PASSWORD_FILE") && !yaml.contains("read_only"));

    // Spaces after commas are fine.
    let spaced = support::run_in(
        dir.path(),
        &[
            "compose.yml",
            "--check",
            "--select",
            "writable-root-fs, secret-in-environment",
        ],
        None,
    );
    assert_eq!(spaced.code, Some(1), "{}", spaced.stderr_str());

    // Only what is shown counts for --fail-on.
    let high = support::run_in(
        dir.path(),
        &[
            "compose.yml",
            "--check",
            "--min-severity",
            "high",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(high.code, Some(1), "{}", high.stderr_str());
    let shown: serde_json::Value = serde_json::from_slice(&high.stdout).expect("JSON");
    assert!(
        shown
            .as_array()
            .expect("array")
            .iter()
            .all(|f| f["severity"] == "high" || f["severity"] == "critical"),
        "{shown}"
    );
    let none = support::run_in(
        dir.path(),
        &["compose.yml", "--check", "--min-severity", "critical"],
        None,
    );
    assert_eq!(none.code, Some(0), "{}", none.stdout_str());

    // --fail-on decides an exit code only --check has.
    let lonely = support::run_in(dir.path(), &["compose.yml", "--fail-on", "high"], None);
    assert_eq!(lonely.code, Some(2));

    let bad = support::run_in(
        dir.path(),
        &["compose.yml", "--ignore", "writable-root"],
        None,
    );
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr_str()
            .contains("--ignore: unknown rule `writable-root`")
    );
    assert!(bad.stdout.is_empty());
}

#[test]
fn folders_and_several_files_make_one_report() {
    let dir = TempDir::new("cli-folder");
    let app = dir.path().join("app");
    let ops = dir.path().join("ops");
    let hidden = dir.path().join(".cache");
    for d in [&app, &ops, &hidden] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let privileged = "services:\n  agent:\n    image: example/agent:1.0\n    privileged: true\n";
    std::fs::write(app.join("compose.yaml"), STACK).expect("write");
    std::fs::write(app.join("compose.override.yml"), privileged).expect("write");
    std::fs::write(ops.join("docker-compose.prod.yml"), privileged).expect("write");
    std::fs::write(ops.join("compose.dev.yml"), privileged).expect("write");
    std::fs::write(hidden.join("compose.yml"), privileged).expect("write");
    std::fs::write(ops.join("notes.yml"), "not: compose\n").expect("write");

    let out = support::run_in(
        dir.path(),
        &[".", "--check", "--format", "json", "--fail-on", "critical"],
        None,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr_str());
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut files: Vec<&str> = findings
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    files.dedup();
    assert_eq!(
        files,
        [
            "./app/compose.override.yml",
            "./app/compose.yaml",
            "./ops/docker-compose.prod.yml"
        ]
    );

    // Printing patched YAML for several files at once is refused.
    let many = support::run_in(
        dir.path(),
        &["app/compose.yaml", "ops/docker-compose.prod.yml"],
        None,
    );
    assert_eq!(many.code, Some(2));
    assert!(many.stdout.is_empty());
    // A folder without compose files is a mistake worth an error.
    std::fs::create_dir_all(dir.path().join("docs")).expect("mkdir");
    let empty = support::run_in(dir.path(), &["docs", "--check"], None);
    assert_eq!(empty.code, Some(2), "{}", empty.stderr_str());
    assert!(empty.stderr_str().contains("docs: no compose files"));
}

#[test]
fn one_bad_file_does_not_hide_the_others() {
    let dir = TempDir::new("cli-mixed");
    write_stack(&dir);
    std::fs::write(dir.path().join("broken.yml"), "services:\n  a: [\n").expect("write");
    let out = support::run_in(dir.path(), &["broken.yml", "compose.yml", "--check"], None);
    assert_eq!(out.code, Some(2));
    assert!(
        support::has_line_col(&out.stderr_str()),
        "{}",
        out.stderr_str()
    );
    assert!(
        out.stdout_str()
            .contains("compose.yml:5:7: high[secret-in-environment]")
    );
}

#[test]
fn no_report_format_prints_a_credential_value() {
    const PLANTED: &[&str] = &[
        "s3cr3t-planted-value",
        "planted-list-token-2291",
        "planted-url-pw-5530",
        "planted-default-pw-8812",
        "planted-flow-pw-6604",
    ];
    // Credentials in each shape, some right above a line a hazard points at
    // (the text report prints that line).
    let stack = "services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: \"s3cr3t-planted-value\"
  api:
    image: example/api:1
    environment:
      - API_TOKEN=planted-list-token-2291
      - DATABASE_URL=postgres://app:planted-url-pw-5530@db/app
      - SESSION_SECRET=${SESSION_SECRET:-planted-default-pw-8812}
  cache:
    image: redis:7.4
    environment: {REDIS_PASSWORD: planted-flow-pw-6604}
";
    let dir = TempDir::new("cli-report-secrets");
    std::fs::write(dir.path().join("compose.yml"), stack).expect("write");
    let reported = [
        ("text", "high[secret-in-environment]"),
        ("json", "\"rule\": \"secret-in-environment\""),
        ("sarif", "\"ruleId\": \"secret-in-environment\""),
        ("github", "title=harden secret-in-environment "),
    ];
    for (format, marker) in reported {
        for check in [false, true] {
            let mut args = vec!["compose.yml", "--format", format];
            if check {
                args.push("--check");
            }
            let out = support::run_in(dir.path(), &args, None);
            assert_eq!(out.code, Some(u8::from(check).into()), "{args:?}");
            let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
            // The credentials are reported, so the output had the chance.
            assert_eq!(
                stdout.matches(marker).count(),
                PLANTED.len(),
                "{args:?}: {stdout}"
            );
            for planted in PLANTED {
                assert!(
                    !stdout.contains(planted) && !stderr.contains(planted),
                    "{args:?}: {planted} leaked\n{stdout}\n{stderr}"
                );
            }
        }
    }
}

/// A base file and the override Compose merges over it: each is hardened
/// on its own, and the merged project must still load.
#[test]
fn layers_stay_consistent_when_written_one_by_one() {
    let dir = TempDir::new("cli-layers");
    let base = "services:
  web:
    image: nginx:1.27
  db:
    image: postgres:16
    environment:
      POSTGRES_DB: app
";
    let layer = "services:
  web:
    security_opt:
      - no-new-privileges:true
    tmpfs:
      - /tmp
  db:
    ports:
      - \"5432:5432\"
    environment:
      POSTGRES_PASSWORD: layer-pw-4471
  mail:
    image: mailpit/mailpit:v1.20
";
    std::fs::write(dir.path().join("compose.yaml"), base).expect("write");
    std::fs::write(dir.path().join("compose.override.yaml"), layer).expect("write");
    // One settings file serves both layers, each naming services of the other.
    std::fs::write(
        dir.path().join("harden.toml"),
        "[services.mail]\nmemory = \"128M\"\n[services.web]\nmemory = \"256M\"\n",
    )
    .expect("write");

    // The layer's own hazards are reported; what its partial services lack
    // is not, since the base may set it.
    let check = support::run_in(
        dir.path(),
        &["compose.override.yaml", "--check", "--format", "json"],
        None,
    );
    let findings: serde_json::Value = serde_json::from_slice(&check.stdout).expect("JSON");
    let found: Vec<(String, String)> = findings
        .as_array()
        .expect("array")
        .iter()
        .map(|f| {
            (
                f["service"].as_str().unwrap_or("").to_string(),
                f["rule"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        found.contains(&("db".into(), "published-on-all-interfaces".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("mail".into(), "writable-root-fs".into())),
        "{found:?}"
    );
    assert!(
        found.iter().all(|(s, r)| s == "mail"
            || r == "published-on-all-interfaces"
            || r == "secret-in-environment"),
        "{found:?}"
    );

    let out = support::run_in(dir.path(), &[".", "--write"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(
        err.contains("postgres publishes ports in compose.override.yaml"),
        "{err}"
    );
    let written_base = std::fs::read_to_string(dir.path().join("compose.yaml")).expect("read");
    let written_layer =
        std::fs::read_to_string(dir.path().join("compose.override.yaml")).expect("read");
    // The layer lists no-new-privileges for web: the base must not repeat it.
    assert_eq!(
        written_base.matches("no-new-privileges").count(),
        1,
        "{written_base}"
    );
    assert!(!written_base.contains("internal: true"), "{written_base}");
    // Nor a tmpfs target the layer mounts, in whatever spelling.
    let web = &written_base[..written_base.find("  db:").expect("db follows web")];
    assert!(web.contains("- /run") && !web.contains("- /tmp"), "{web}");
    // The layer's credential is reported, not moved: the base may set the
    // same variable another way, and NAME with NAME_FILE stops postgres.
    assert!(written_layer.starts_with(layer), "{written_layer}");
    assert!(
        err.contains("POSTGRES_PASSWORD holds a literal credential, but the rest"),
        "{err}"
    );
    assert!(!err.contains("layer-pw-4471"), "{err}");

    if support::oracle().is_some() {
        let merged = support::run_program(
            support::oracle().expect("oracle"),
            &[
                "-f",
                "compose.yaml",
                "-f",
                "compose.override.yaml",
                "config",
                "-q",
            ],
            dir.path(),
            None,
        );
        assert_eq!(merged.code, Some(0), "{}", merged.stderr_str());
    }
}

/// The README's sample report is what the tool prints today.
#[test]
fn readme_sample_report_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let command = "$ harden examples/audit.yml --check --fail-on high --min-severity high\n";
    let start = readme.find(command).expect("the sample command in README") + command.len();
    let sample = &readme[start..start + readme[start..].find("```").expect("end of sample")];
    let out = support::run_in(
        root,
        &[
            "examples/audit.yml",
            "--check",
            "--fail-on",
            "high",
            "--min-severity",
            "high",
        ],
        None,
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout_str(), sample);
}

/// Inputs that are not regular files (a FIFO, a device, a terminal-like
/// stdin) used to hang harden or eat the memory; now each run ends with
/// the exit code its compose file deserves.
#[cfg(unix)]
#[test]
fn files_that_never_end_are_not_read() {
    let dir = TempDir::new("cli-endless");
    write_stack(&dir);
    support::mkfifo(&dir.path().join(".env"));
    let out = support::run_guarded(dir.path(), &["compose.yml", "--check"], 30);
    assert_eq!(out.code, Some(1), "FIFO .env: {}", out.stderr_str());

    for target in ["/dev/zero", "/dev/stdin"] {
        let dir = TempDir::new("cli-env-file");
        let text = format!("services:\n  web:\n    image: nginx\n    env_file: {target}\n");
        std::fs::write(dir.path().join("compose.yml"), text).expect("write");
        let out = support::run_guarded(dir.path(), &["compose.yml", "--check"], 30);
        assert_eq!(out.code, Some(1), "env_file {target}: {}", out.stderr_str());
    }

    let dir = TempDir::new("cli-env-zero");
    write_stack(&dir);
    std::os::unix::fs::symlink("/dev/zero", dir.path().join(".env")).expect("link");
    let out = support::run_guarded(dir.path(), &["compose.yml", "--check"], 30);
    assert_eq!(out.code, Some(1), ".env -> /dev/zero: {}", out.stderr_str());

    // A FIFO harden.toml beside the file is not a settings file; one
    // named with --config is an error.
    support::mkfifo(&dir.path().join("harden.toml"));
    let out = support::run_guarded(dir.path(), &["compose.yml", "--check"], 30);
    assert_eq!(out.code, Some(1), "FIFO harden.toml: {}", out.stderr_str());
    let args = ["compose.yml", "--check", "--config", "/dev/zero"];
    let out = support::run_guarded(dir.path(), &args, 30);
    assert_eq!(out.code, Some(2), "--config /dev/zero");
    let err = out.stderr_str();
    assert!(
        err.contains("/dev/zero: error: not a regular file"),
        "{err}"
    );

    let dir = TempDir::new("cli-compose-fifo");
    support::mkfifo(&dir.path().join("compose.yml"));
    let out = support::run_guarded(dir.path(), &["compose.yml", "--check"], 30);
    assert_eq!(out.code, Some(2), "FIFO compose.yml");
    let err = out.stderr_str();
    assert!(
        err.contains("compose.yml: error: not a regular file"),
        "{err}"
    );
    let out = support::run_guarded(dir.path(), &[".", "--check"], 30);
    assert_eq!(out.code, Some(2), "FIFO found by folder search");
}

/// A compose file over 64 MiB is refused by name, before it is parsed.
#[test]
fn huge_compose_files_are_refused() {
    let dir = TempDir::new("cli-huge");
    let path = dir.path().join("compose.yml");
    // Sparse: no disk is used for the zeros.
    let file = std::fs::File::create(&path).expect("create");
    file.set_len((64 << 20) + 1).expect("grow");
    let out = support::run_in(dir.path(), &["compose.yml", "--check"], None);
    assert_eq!(out.code, Some(2));
    let err = out.stderr_str();
    assert!(
        err.contains("compose.yml: error: larger than 64 MiB"),
        "{err}"
    );
}

/// Folder search does not follow a link out of the folder: a
/// `compose.yml` pointing at `/dev/zero` (or anywhere else) is skipped.
#[cfg(unix)]
#[test]
fn folder_search_skips_links_out_of_the_folder() {
    let outside = TempDir::new("cli-outside");
    write_stack(&outside);
    let dir = TempDir::new("cli-links");
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("compose.yml")).expect("link");
    let out = support::run_guarded(dir.path(), &[".", "--check"], 30);
    assert_eq!(out.code, Some(2), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("no compose files"),
        "{}",
        out.stderr_str()
    );

    std::fs::create_dir(dir.path().join("app")).expect("mkdir");
    std::os::unix::fs::symlink(
        outside.path().join("compose.yml"),
        dir.path().join("app/compose.yaml"),
    )
    .expect("link");
    std::os::unix::fs::symlink(outside.path(), dir.path().join("other")).expect("link");
    std::fs::write(
        dir.path().join("app/real.yml"),
        "services:\n  web:\n    image: nginx:1.27\n",
    )
    .expect("write");
    std::os::unix::fs::symlink("real.yml", dir.path().join("app/docker-compose.yml"))
        .expect("link");
    let out = support::run_guarded(dir.path(), &[".", "--format", "json"], 30);
    assert_eq!(out.code, Some(0), "{}", out.stderr_str());
    let report = out.stdout_str();
    assert!(report.contains("app/docker-compose.yml"), "{report}");
    assert!(
        !report.contains("planted") && !report.contains("compose.yaml"),
        "{report}"
    );
}

/// `--write` appends to `.env`; one it cannot read in full is left alone
/// rather than replaced by the new entries.
#[test]
fn write_keeps_a_dotenv_it_cannot_read() {
    let dir = TempDir::new("cli-env-latin1");
    write_stack(&dir);
    let env = b"OLD=caf\xe9\n";
    std::fs::write(dir.path().join(".env"), env).expect("env");
    let out = support::run_in(dir.path(), &["compose.yml", "--write"], None);
    assert_eq!(out.code, Some(2), "{}", out.stderr_str());
    assert!(out.stderr_str().contains(".env: error: is not valid UTF-8"));
    assert_eq!(std::fs::read(dir.path().join(".env")).expect("env"), env);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yml")).expect("read"),
        STACK
    );
}

/// Redaction looks only at the shown part of a line and `safe_line`
/// finds a line by its offset: a 200 KB line full of marker words and
/// 20,000 findings took minutes in a debug build. No timed assert: the
/// runs only have to finish (about 0.2 s and 8 s in a debug build; most
/// of the latter is spent outside the report, in `unknown_images`).
#[test]
fn huge_lines_and_many_findings_are_reported() {
    let dir = TempDir::new("cli-big");
    let line = format!(
        "services: {{web: {{image: nginx, command: \"{}\"}}}}\n",
        "passpass".repeat(25_000)
    );
    std::fs::write(dir.path().join("line.yml"), &line).expect("write");
    let out = support::run_in(dir.path(), &["line.yml", "--check"], None);
    assert_eq!(out.code, Some(1), "{}", out.stderr_str());
    let report = out.stdout_str();
    assert!(
        report.contains("\"passpasspass") && report.len() < 4000,
        "{report}"
    );

    let mut many = String::from("services:\n");
    for i in 0..20_000 {
        many.push_str(&format!("  s{i}:\n    image: nginx\n"));
    }
    std::fs::write(dir.path().join("many.yml"), many).expect("write");
    let out = support::run_in(
        dir.path(),
        &["many.yml", "--check", "--select", "unpinned-image"],
        None,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr_str());
    assert!(
        out.stdout_str()
            .ends_with("20000 findings in 1 file (20000 low); none has an automatic fix\n")
    );
}

/// Names and values from the file reach the terminal with their control
/// characters escaped, and the caret keeps its place after a tab.
#[test]
fn reports_escape_terminal_controls_and_align_the_caret() {
    let dir = TempDir::new("cli-escapes");
    let text = "services:\n  \"web\\e[31m\":\n    image: \"nginx\\r\\e[2K\"\n  app: {image: \"café:1\",\tprivileged: true}\n";
    std::fs::write(dir.path().join("compose.yml"), text).expect("write");
    let check = support::run_in(dir.path(), &["compose.yml", "--check"], None);
    let default = support::run_in(dir.path(), &["compose.yml"], None);
    for out in [check.stdout_str(), default.stderr_str()] {
        assert!(!out.contains(['\r', '\u{1b}']), "{out:?}");
        assert!(out.contains(r"web\u{1b}[31m: "), "{out}");
        assert!(out.contains(r"nginx\r\u{1b}[2K"), "{out}");
    }
    let report = check.stdout_str();
    let caret = format!("\n   | {}\t^\n", " ".repeat(24));
    assert!(report.contains(&caret), "{report:?}");
}

/// One file named several ways is reported once, under its first name.
#[test]
fn a_file_named_twice_is_reported_once() {
    let dir = TempDir::new("cli-twice");
    std::fs::create_dir(dir.path().join("b")).expect("mkdir");
    std::fs::write(dir.path().join("b/compose.yml"), STACK).expect("write");
    let once = support::run_in(dir.path(), &["b/compose.yml", "--check"], None);
    let args = ["b", "b/compose.yml", "./b/", "--check"];
    let out = support::run_in(dir.path(), &args, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr_str());
    // The folder search spells it `b/compose.yml` too.
    assert_eq!(out.stdout_str(), once.stdout_str());
    assert!(
        out.stdout_str().contains("in 1 file ("),
        "{}",
        out.stdout_str()
    );
}

/// `--write` puts secrets and `.env` beside the compose file, never
/// through a link that leads out of its folder.
#[cfg(unix)]
#[test]
fn write_refuses_links_out_of_the_project() {
    use std::os::unix::fs::symlink;

    for link in ["secrets", ".env"] {
        let dir = TempDir::new("cli-links-out");
        let project = dir.path().join("project");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&project).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        let target = if link == "secrets" {
            outside.clone()
        } else {
            outside.join("bashrc")
        };
        symlink(&target, project.join(link)).expect("link");
        std::fs::write(project.join("compose.yml"), STACK).expect("write");

        let out = support::run_in(&project, &["compose.yml", "--write"], None);
        assert_eq!(out.code, Some(2), "{link}: {}", out.stderr_str());
        assert!(
            out.stderr_str()
                .contains("outside the compose file's folder"),
            "{}",
            out.stderr_str()
        );
        assert_eq!(
            std::fs::read_dir(&outside).expect("outside").count(),
            0,
            "{link}: something was written outside"
        );
        assert_eq!(
            std::fs::read_to_string(project.join("compose.yml")).expect("read"),
            STACK
        );
    }
}

/// Every kind of bad input: exit 2, the file and the line where it goes
/// wrong, nothing on stdout and nothing written.
#[test]
fn every_bad_input_kind_names_its_line() {
    let dir = TempDir::new("cli-bad-kinds");
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "indent.yml",
            b"services:\n  web:\n    image: x\n   ports: []\n",
            ":4:",
        ),
        ("tabs.yml", b"services:\n\tweb:\n\t\timage: x\n", ":2:"),
        (
            "unclosed.yml",
            b"services:\n  web:\n    image: \"nginx\n",
            ":3:",
        ),
        (
            "conflict.yml",
            b"services:\n<<<<<<< HEAD\n  web: {}\n=======\n  api: {}\n>>>>>>> x\n",
            ":2:1: error: a merge-conflict marker",
        ),
        (
            "duplicate.yml",
            b"services:\n  web:\n    image: a\n    image: b\n",
            ":4:",
        ),
        ("alias.yml", b"services:\n  web: *nothing\n", ":2:"),
        (
            "alias-key.yml",
            b"x-name: &name TZ\nservices:\n  app:\n    image: nginx:1.27\n    environment:\n      *name : UTC\n",
            ":6:7: error: an alias (*name) as a mapping key is not supported",
        ),
        ("two-docs.yml", b"services: {}\n---\nservices: {}\n", ":2:1"),
        ("scalar.yml", b"just text\n", ":1:1"),
        ("list.yml", b"- a\n- b\n", ":1:1"),
        ("services-list.yml", b"services:\n  - web\n", ":2:"),
        (
            "latin1.yml",
            b"services:\n  web:\n    image: caf\xe9\n",
            ":3:",
        ),
        (
            "binary.yml",
            b"services:\n  web:\n    image: a\x00b\n",
            ":3:",
        ),
        ("empty.yml", b"", ":1:1"),
        ("comments-only.yml", b"# nothing here yet\n", ":1:1"),
    ];
    for (name, bytes, at) in cases {
        std::fs::write(dir.path().join(name), bytes).expect("write");
        let out = support::run_in(dir.path(), &[name, "--write"], None);
        let err = out.stderr_str();
        assert_eq!(out.code, Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
        assert!(err.starts_with(&format!("{name}{at}")), "{name}: {err}");
        assert_eq!(
            &std::fs::read(dir.path().join(name)).expect("read"),
            bytes,
            "{name}"
        );
    }
    assert!(!dir.path().join("secrets").exists() && !dir.path().join(".env").exists());
}

/// A byte order mark is accepted and kept.
#[test]
fn a_byte_order_mark_is_kept() {
    let dir = TempDir::new("cli-bom");
    let text = "\u{feff}services:\n  web:\n    image: nginx:1.27\n";
    std::fs::write(dir.path().join("compose.yml"), text).expect("write");
    let out = support::run_in(dir.path(), &["compose.yml", "--write"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr_str());
    let written = std::fs::read_to_string(dir.path().join("compose.yml")).expect("read");
    assert!(
        written
            .starts_with("\u{feff}services:\n  web:\n    image: nginx:1.27\n    read_only: true"),
        "{written}"
    );
    assert_eq!(written.matches('\u{feff}').count(), 1);
}

/// Alias bombs and runaway nesting stop at the reader's limits with a
/// clear error, not a hang or a stack overflow.
#[test]
fn resource_bombs_fail_cleanly() {
    let dir = TempDir::new("cli-bombs");
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12u8 {
        let (name, prev) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        let refs = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    bomb.push_str("services:\n  web:\n    image: nginx\n    labels: *l\n");
    let mut nested = String::from("services:\n  web:\n    image: nginx\n    labels:\n");
    for i in 0..200 {
        nested.push_str(&format!("{}k{i}:\n", " ".repeat(6 + 2 * i)));
    }
    let flow = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    for (name, text, says) in [
        ("bomb.yml", bomb, "alias bombs"),
        ("nested.yml", nested, "nests deeper"),
        ("flow.yml", flow, "recursion limit"),
    ] {
        std::fs::write(dir.path().join(name), &text).expect("write");
        let out = support::run_in(dir.path(), &[name, "--check"], None);
        assert_eq!(out.code, Some(2), "{name}: {}", out.stderr_str());
        assert!(
            out.stderr_str().contains(says),
            "{name}: {}",
            out.stderr_str()
        );
        assert!(support::has_line_col(&out.stderr_str()), "{name}");
    }
}

/// Many files at once are shared out among threads; what comes out must
/// not depend on how many: the same bytes on stdout and stderr, in the
/// order the files were given, and the same exit code.
#[test]
fn several_files_give_the_same_output_whatever_the_jobs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<String> = std::fs::read_dir(&root)
        .expect("fixtures")
        .flatten()
        .filter(|d| d.path().is_dir())
        .flat_map(|d| {
            std::fs::read_dir(d.path())
                .expect("fixture folder")
                .flatten()
        })
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    // Reverse order, so a sorted output would show; a bad file in the middle.
    files.reverse();
    let dir = TempDir::new("cli-jobs");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "services:\n  app:\n   image: x\n  - broken\n").expect("write");
    files.insert(files.len() / 2, bad.display().to_string());
    assert!(files.len() > 50, "{} fixtures", files.len());

    for mode in [
        &["--diff"][..],
        &["--format", "json"],
        &["--check"],
        &["--format", "sarif"],
    ] {
        let run = |jobs: &str| {
            let mut args: Vec<&str> = mode.to_vec();
            args.extend(["--jobs", jobs]);
            args.extend(files.iter().map(String::as_str));
            support::run(&args, None)
        };
        let one = run("1");
        assert_eq!(one.code, Some(2), "{mode:?}: {}", one.stderr_str());
        for jobs in ["2", "7"] {
            let many = run(jobs);
            assert_eq!(many.code, one.code, "{mode:?} --jobs {jobs}");
            assert!(
                many.stdout == one.stdout,
                "{mode:?} --jobs {jobs}: stdout differs"
            );
            assert_eq!(
                many.stderr_str(),
                one.stderr_str(),
                "{mode:?} --jobs {jobs}"
            );
        }
        if mode == ["--format", "json"] {
            let findings: serde_json::Value = serde_json::from_slice(&one.stdout).expect("JSON");
            let mut order: Vec<&str> = findings
                .as_array()
                .expect("array")
                .iter()
                .filter_map(|f| f["file"].as_str())
                .collect();
            order.dedup();
            let given: Vec<&str> = files
                .iter()
                .map(String::as_str)
                .filter(|f| order.contains(f))
                .collect();
            assert_eq!(order, given, "files in the order given");
        }
    }
    let zero = support::run(&["--jobs", "0", "--check", &files[0]], None);
    assert_eq!(zero.code, Some(2), "{}", zero.stderr_str());
}
