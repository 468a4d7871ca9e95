//! The KICS Docker Compose test suite (a peer's positive and negative files
//! per rule) read as an audit benchmark: every positive of a mapped rule is
//! flagged on the line KICS expects, and no negative is, except where this
//! file says why we deliberately differ.
//!
//! The suite lives outside the repository: `HARDEN_KICS` names its folder
//! (`.ci/run` sets it); without it the test says it skipped.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A KICS rule folder and the harden rules that cover its hazard.
struct Mapped {
    folder: &'static str,
    rules: &'static [&'static str],
}

const MAPPED: &[Mapped] = &[
    Mapped {
        folder: "cgroup_not_default",
        rules: &["cgroup-parent"],
    },
    // KICS flags any `cap_add` and a missing `cap_drop`; we flag a missing
    // `cap_drop: [ALL]` (default-capabilities) and added capabilities that
    // break isolation (dangerous-capability).
    Mapped {
        folder: "container_capabilities_unrestricted",
        rules: &["default-capabilities", "dangerous-capability"],
    },
    Mapped {
        folder: "container_traffic_not_bound_to_host_interface",
        rules: &["published-on-all-interfaces"],
    },
    Mapped {
        folder: "cpus_not_limited",
        rules: &["unbounded-resources"],
    },
    Mapped {
        folder: "default_seccomp_profile_disabled",
        rules: &["unconfined-security-profile"],
    },
    Mapped {
        folder: "docker_socket_mounted_in_container",
        rules: &["docker-socket-mount"],
    },
    Mapped {
        folder: "healthcheck_not_set",
        rules: &["missing-healthcheck"],
    },
    Mapped {
        folder: "memory_not_limited",
        rules: &["unbounded-resources"],
    },
    Mapped {
        folder: "pids_limit_not_set",
        rules: &["unbounded-resources"],
    },
    // What a missing `security_opt` lacks is `no-new-privileges`.
    Mapped {
        folder: "security_opt_not_set",
        rules: &["no-new-privileges"],
    },
    Mapped {
        folder: "shared_host_user_namespace",
        rules: &["host-namespace"],
    },
    // The socket is the most sensitive host path; we report it under its
    // own rule.
    Mapped {
        folder: "volume_has_sensitive_host_directory",
        rules: &["sensitive-host-mount", "docker-socket-mount"],
    },
    // Despite its name, the KICS rule is about bind propagation.
    Mapped {
        folder: "volume_mounted_in_multiple_containers",
        rules: &["shared-mount-propagation"],
    },
];

/// KICS rules with no harden counterpart, and why.
const UNMAPPED: &[(&str, &str)] = &[
    (
        "networks_not_set",
        "retired upstream; a service on the implicit default network is a hazard only when it is a datastore others reach, which flat-network covers",
    ),
    (
        "shared_volumes_between_containers",
        "sharing a named volume between services is how Compose stacks share data, not a hazard in itself (KICS rates it INFO)",
    ),
];

/// Lines KICS expects on a positive that we deliberately do not report.
const NOT_FLAGGED: &[(&str, &str, usize, &str)] = &[
    (
        "cpus_not_limited",
        "positive3.yaml",
        3,
        "KICS reports an empty `deploy:` twice (service line and `deploy:` line); we report it once, at `deploy:`",
    ),
    (
        "memory_not_limited",
        "positive3.yaml",
        3,
        "KICS reports an empty `deploy:` twice (service line and `deploy:` line); we report it once, at `deploy:`",
    ),
];

/// KICS negatives we deliberately flag with a mapped rule.
const FLAGGED_NEGATIVES: &[(&str, &str, &str)] = &[
    (
        "cpus_not_limited",
        "negative1.yaml",
        "CPU and memory are limited but the number of processes is not (CIS 5.28); one rule covers all three limits",
    ),
    (
        "cpus_not_limited",
        "negative2.yaml",
        "CPU and memory are limited but the number of processes is not (CIS 5.28); one rule covers all three limits",
    ),
    (
        "memory_not_limited",
        "negative1.yaml",
        "CPU and memory are limited but the number of processes is not (CIS 5.28); one rule covers all three limits",
    ),
    (
        "memory_not_limited",
        "negative2.yaml",
        "CPU and memory are limited but the number of processes is not (CIS 5.28); one rule covers all three limits",
    ),
    (
        "security_opt_not_set",
        "negative1.yaml",
        "KICS counts any `security_opt` as set, even `apparmor:unconfined` alone; we ask for `no-new-privileges` (and report the unconfined profile under its own rule)",
    ),
];

/// Files harden rejects (exit 2) because Compose would reject them too.
const REJECTED: &[(&str, &str, &str)] = &[
    (
        "volume_has_sensitive_host_directory",
        "positive3.yaml",
        "`services:` holds `image: docker`, a scalar where a service mapping must be; Compose rejects the file",
    ),
    (
        "volume_has_sensitive_host_directory",
        "negative2.yaml",
        "`services:` holds `image: docker`, a scalar where a service mapping must be; Compose rejects the file",
    ),
];

fn suite() -> Option<PathBuf> {
    let dir = std::env::var_os("HARDEN_KICS").map(PathBuf::from)?;
    assert!(
        dir.join("README.md").is_file(),
        "HARDEN_KICS={} is not the KICS suite folder",
        dir.display()
    );
    Some(dir)
}

/// Lines a positive file must be flagged on, from KICS's expected results.
fn expected_lines(folder: &Path) -> BTreeMap<String, BTreeSet<usize>> {
    let path = folder.join("test/positive_expected_result.json");
    let text = std::fs::read_to_string(&path).expect("expected results");
    let list: serde_json::Value = serde_json::from_str(&text).expect("expected results JSON");
    let mut lines: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for item in list.as_array().expect("an array") {
        let file = item["filename"].as_str().expect("filename").to_string();
        let line = item["line"].as_u64().expect("line") as usize;
        lines.entry(file).or_default().insert(line);
    }
    lines
}

enum Outcome {
    /// Lines of findings of the mapped rules.
    Lines(BTreeSet<usize>),
    Rejected(String),
}

fn run(path: &Path, rules: &[&str]) -> Outcome {
    let file = path.to_string_lossy();
    let out = support::run(&["--format", "json", &file], None);
    match out.code {
        Some(0) => {}
        Some(2) => return Outcome::Rejected(out.stderr_str()),
        _ => panic!("{file}: {} {}", out.status_text(), out.stderr_str()),
    }
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let lines = findings
        .as_array()
        .expect("an array of findings")
        .iter()
        .filter(|f| rules.contains(&f["rule"].as_str().unwrap_or("")))
        .map(|f| f["line"].as_u64().expect("line") as usize)
        .collect();
    Outcome::Lines(lines)
}

#[test]
fn kics_positives_are_flagged_and_negatives_are_not() {
    let Some(root) = suite() else {
        eprintln!("kics: HARDEN_KICS not set: peer suite skipped");
        return;
    };
    let known: BTreeSet<&str> = harden::rules::rule_ids().into_iter().collect();
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    let mut scored = (0, 0);

    let folders: BTreeSet<String> = std::fs::read_dir(&root)
        .expect("suite folder")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for folder in &folders {
        let mapped = MAPPED.iter().any(|m| m.folder == folder);
        let unmapped = UNMAPPED.iter().any(|(f, _)| f == folder);
        if mapped == unmapped {
            problems.push(format!("{folder}: map it to our rules or say why not"));
        }
    }

    for mapped in MAPPED {
        for rule in mapped.rules {
            assert!(known.contains(rule), "{}: no rule {rule}", mapped.folder);
        }
        let folder = root.join(mapped.folder);
        let expected = expected_lines(&folder);
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder.join("test"))
            .expect("test folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let here = format!("{}/{name}", mapped.folder);
            let lines = match run(&path, mapped.rules) {
                Outcome::Rejected(err) => {
                    if REJECTED
                        .iter()
                        .any(|(f, n, _)| *f == mapped.folder && *n == name)
                    {
                        used.insert(format!("rejected {here}"));
                    } else {
                        problems.push(format!("{here}: rejected: {err}"));
                    }
                    continue;
                }
                Outcome::Lines(lines) => lines,
            };
            if name.starts_with("positive") {
                scored.0 += 1;
                for line in expected.get(&name).into_iter().flatten() {
                    if lines.contains(line) {
                        continue;
                    }
                    let excused = NOT_FLAGGED
                        .iter()
                        .any(|(f, n, l, _)| *f == mapped.folder && *n == name && l == line);
                    if excused {
                        used.insert(format!("not flagged {here}:{line}"));
                    } else {
                        problems.push(format!(
                            "{here}: line {line} not flagged by {:?} (flagged: {lines:?})",
                            mapped.rules
                        ));
                    }
                }
                if !expected.contains_key(&name) {
                    problems.push(format!("{here}: positive without expected lines"));
                }
            } else if name.starts_with("negative") {
                scored.1 += 1;
                if lines.is_empty() {
                    continue;
                }
                let excused = FLAGGED_NEGATIVES
                    .iter()
                    .any(|(f, n, _)| *f == mapped.folder && *n == name);
                if excused {
                    used.insert(format!("flagged {here}"));
                } else {
                    problems.push(format!(
                        "{here}: negative flagged on lines {lines:?} by {:?}",
                        mapped.rules
                    ));
                }
            }
        }
    }

    // A documented difference that no longer happens must go.
    for (f, n, l, _) in NOT_FLAGGED {
        if !used.contains(&format!("not flagged {f}/{n}:{l}")) {
            problems.push(format!(
                "{f}/{n}:{l} is flagged now: drop it from NOT_FLAGGED"
            ));
        }
    }
    for (f, n, _) in FLAGGED_NEGATIVES {
        if !used.contains(&format!("flagged {f}/{n}")) {
            problems.push(format!(
                "{f}/{n} is not flagged now: drop it from FLAGGED_NEGATIVES"
            ));
        }
    }
    for (f, n, _) in REJECTED {
        if !used.contains(&format!("rejected {f}/{n}")) {
            problems.push(format!("{f}/{n} is accepted now: drop it from REJECTED"));
        }
    }

    eprintln!(
        "kics: {} rule folders mapped, {} not; {} positive and {} negative files checked",
        MAPPED.len(),
        UNMAPPED.len(),
        scored.0,
        scored.1
    );
    assert!(problems.is_empty(), "KICS suite:\n{}", problems.join("\n"));
}
