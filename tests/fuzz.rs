//! A fuzzer of Compose-shaped YAML: random stacks built from the shapes
//! real files use (anchors and merges, flow style, long and short syntax,
//! credentials, tags, CRLF), then mutated line by line. The property: harden
//! never panics, and whenever it succeeds its output reads back, a second
//! run changes nothing and every comment survives in order; the audit and
//! every report format never panic either.
//!
//! Runs for `HARDEN_FUZZ_SECONDS` (`.ci/run` sets a bounded time); a plain
//! `cargo test` says it skipped. Failing inputs are saved under
//! `target/fuzz-failures/` to become regression fixtures.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use harden::output::report::{self, FileFindings, Format};
use harden::source::SourceFile;

/// xorshift64*: small, seedable, the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const IMAGES: &[&str] = &[
    "postgres:16",
    "redis:7.4",
    "nginx",
    "nginx:1.27",
    "mysql:8",
    "mongo:7",
    "traefik:v3.1",
    "grafana/grafana:11.0.0",
    "example/app:1.0",
    "${IMAGE:-alpine:3.20}",
    "bitnami/redis:7",
    "docker:27-dind",
    "\"python:3.12-slim\"",
    "quay.io/minio/minio",
    "rabbitmq:3.13",
];
const PORTS: &[&str] = &[
    "\"8080:80\"",
    "80",
    "\"127.0.0.1:5432:5432\"",
    "\"0.0.0.0:6379:6379\"",
    "\"[::]:80:80\"",
    "\"${PORT:-3000}:3000\"",
    "\"8000-8010:8000-8010\"",
    "55_432",
    "\"${IP:-0.0.0.0}:9000:9000\"",
];
const VOLUMES: &[&str] = &[
    "/var/run/docker.sock:/var/run/docker.sock:ro",
    "./data:/data",
    "/etc:/host-etc",
    "db:/var/lib/postgresql/data",
    "/etc/localtime:/etc/localtime:ro",
    "/proc:/host/proc:ro,rslave",
    "${HOME}/x:/x",
    "/usr/src/app/node_modules",
];
const ENV: &[&str] = &[
    "POSTGRES_PASSWORD: hunter2-fz",
    "API_TOKEN: \"tok-fz-1\"",
    "DEBUG: \"true\"",
    "DATABASE_URL: postgres://u:pw-fz@db/x",
    "DB_PASSWORD: ${DB_PASSWORD:-changeme}",
    "GF_SECURITY_ADMIN_PASSWORD: admin",
    "PORT: 8080",
    "APP_KEY: base64:abc",
    "REDIS_PASSWORD: \"\"",
    "SECRET_KEY_BASE: 0123456789abcdef",
];
const SCALARS: &[&str] = &[
    "privileged: true",
    "privileged: yes",
    "read_only: false",
    "read_only: true",
    "user: root",
    "user: \"1000:1000\"",
    "network_mode: host",
    "pid: host",
    "ipc: host",
    "userns_mode: host",
    "cgroup_parent: batch",
    "mem_limit: 512m",
    "cpus: 0.5",
    "pids_limit: -1",
    "restart: always",
    "command: redis-server --requirepass x",
    "entrypoint: [\"/start.sh\"]",
    "init: true",
    "depends_on: [db]",
    "extends: base",
    "extends: {file: other.yml, service: x}",
];
const LISTS: &[(&str, &[&str])] = &[
    (
        "security_opt",
        &[
            "seccomp:unconfined",
            "no-new-privileges:true",
            "label=disable",
            "apparmor:unconfined",
        ],
    ),
    (
        "cap_add",
        &["NET_ADMIN", "SYS_ADMIN", "CHOWN", "ALL", "cap_sys_ptrace"],
    ),
    ("cap_drop", &["ALL", "NET_RAW"]),
    ("tmpfs", &["/tmp", "/run:mode=1777"]),
    ("networks", &["default", "backend"]),
];

/// One service in block style with `indent` spaces per level.
fn service(rng: &mut Rng, name: &str, unit: &str, out: &mut String) {
    let i1 = unit;
    let i2 = unit.repeat(2);
    let i3 = unit.repeat(3);
    let anchor = if rng.chance(10) {
        format!(" &{name}")
    } else {
        String::new()
    };
    out.push_str(&format!("{i1}{name}:{anchor}\n"));
    if rng.chance(15) {
        out.push_str(&format!("{i2}<<: *common\n"));
    }
    if rng.chance(90) {
        out.push_str(&format!("{i2}image: {}\n", rng.pick(IMAGES)));
    }
    for _ in 0..rng.below(4) {
        out.push_str(&format!("{i2}{}\n", rng.pick(SCALARS)));
    }
    if rng.chance(50) {
        out.push_str(&format!("{i2}environment:\n"));
        for _ in 0..1 + rng.below(3) {
            let entry = rng.pick(ENV);
            if rng.chance(30) {
                out.push_str(&format!("{i3}- {}\n", entry.replacen(": ", "=", 1)));
            } else {
                out.push_str(&format!("{i3}{entry}\n"));
            }
        }
    }
    if rng.chance(40) {
        let items: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(PORTS)).collect();
        if rng.chance(30) {
            out.push_str(&format!("{i2}ports: [{}]\n", items.join(", ")));
        } else {
            out.push_str(&format!("{i2}ports:\n"));
            for item in items {
                out.push_str(&format!("{i3}- {item}\n"));
            }
        }
    }
    if rng.chance(40) {
        out.push_str(&format!("{i2}volumes:\n"));
        for _ in 0..1 + rng.below(3) {
            out.push_str(&format!("{i3}- {}\n", rng.pick(VOLUMES)));
        }
    }
    for (key, items) in LISTS {
        if rng.chance(15) {
            out.push_str(&format!("{i2}{key}: [{}]\n", rng.pick(items)));
        }
    }
    if rng.chance(15) {
        out.push_str(&format!(
            "{i2}deploy:\n{i3}resources:\n{i3}{unit}limits:\n{i3}{unit}{unit}memory: 256M\n"
        ));
    }
    if rng.chance(10) {
        out.push_str(&format!("{i2}healthcheck:\n{i3}disable: true\n"));
    }
    if rng.chance(20) {
        out.push_str(&format!("{i2}# a comment in {name}\n"));
    }
}

fn stack(rng: &mut Rng) -> String {
    let unit = if rng.chance(20) { "    " } else { "  " };
    let mut out = String::new();
    if rng.chance(20) {
        out.push_str("# stack comment\n");
    }
    if rng.chance(30) {
        out.push_str(&format!(
            "x-common: &common\n{unit}restart: unless-stopped\n{unit}user: \"1000\"\n"
        ));
    }
    out.push_str("services:\n");
    let count = 1 + rng.below(6);
    for n in 0..count {
        let name = ["base", "db", "web", "api", "cache", "worker", "proxy"][n % 7];
        if rng.chance(10) {
            out.push_str(&format!(
                "{unit}{name}: {{image: {}, ports: [{}]}}\n",
                rng.pick(IMAGES),
                rng.pick(PORTS)
            ));
        } else {
            service(rng, name, unit, &mut out);
        }
    }
    if rng.chance(20) {
        out.push_str("networks:\n  backend: {}\n");
    }
    if rng.chance(15) {
        out.push_str("volumes:\n  db:\n");
    }
    out
}

/// Line-level mutations: drop, duplicate, swap, re-indent, tag, break.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..rng.below(3) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len());
        match rng.below(8) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let line = lines[i].clone();
                lines.insert(i, line);
            }
            2 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            3 => lines[i] = format!(" {}", lines[i]),
            4 => lines[i] = lines[i].replacen(": ", ": !reset ", 1),
            5 => lines[i].push_str(" # harden: ignore[writable-root-fs]"),
            6 => {
                let cut = rng.below(lines[i].len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|&c| lines[i].is_char_boundary(c))
                    .unwrap_or(0);
                lines[i].truncate(cut);
            }
            _ => lines[i] = lines[i].replacen(':', ": {", 1),
        }
    }
    let eol = if rng.chance(15) { "\r\n" } else { "\n" };
    let mut out = lines.join(eol);
    if rng.chance(90) {
        out.push_str(eol);
    }
    out
}

fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.find(" #")
                .or_else(|| l.trim_start().starts_with('#').then_some(0))
                .map(|i| l[i..].trim().to_string())
        })
        .filter(|c| c.starts_with('#'))
        .collect()
}

/// Checks one input in `dir`, as `--write` leaves it; `Err` says what
/// broke.
fn check(dir: &Path, text: &str) -> Result<bool, String> {
    let run = || -> Result<bool, String> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let path = dir.join("compose.yml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let src = SourceFile::new("compose.yml", Some(&path), text.to_string());
        if let Ok(audit) = harden::audit(src, &Default::default()) {
            let files = [FileFindings {
                src: &audit.src,
                findings: &audit.findings,
            }];
            for format in [Format::Text, Format::Json, Format::Sarif, Format::Github] {
                let _ = report::render(format, &files, &[]);
            }
        }
        let src = SourceFile::new("compose.yml", Some(&path), text.to_string());
        let Ok(first) = harden::harden(src, &Default::default()) else {
            return Ok(false);
        };
        let out = first.output();
        // What `--write` leaves: the file, its secret files and `.env`.
        harden::output::write::write_all(&path, &out, &first.moved)
            .map_err(|e| format!("--write failed: {e}"))?;
        let again = SourceFile::new("compose.yml", Some(&path), out.clone());
        let second = harden::harden(again, &Default::default())
            .map_err(|e| format!("the output does not read back: {e}"))?;
        if second.output() != out {
            return Err("a second run changed the output".into());
        }
        let before = comments(text);
        let after = comments(&out);
        let mut rest = after.iter();
        if !before.iter().all(|c| rest.any(|a| a == c)) {
            return Err("a comment was lost or moved".into());
        }
        Ok(true)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(result) => result,
        Err(_) => Err("panicked".into()),
    }
}

#[test]
fn fuzz_compose_shaped_inputs() {
    let Some(seconds) = std::env::var("HARDEN_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        eprintln!("fuzz: HARDEN_FUZZ_SECONDS not set: fuzzing skipped");
        return;
    };
    let seed = std::env::var("HARDEN_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let work = std::env::temp_dir().join(format!("harden-fuzz-{}", std::process::id()));
    std::panic::set_hook(Box::new(|_| {}));
    let (mut runs, mut hardened, mut failures) = (0u64, 0u64, Vec::new());
    while Instant::now() < deadline {
        let base = stack(&mut rng);
        let text = if rng.chance(70) {
            mutate(&mut rng, &base)
        } else {
            base
        };
        runs += 1;
        let result = check(&work, &text);
        hardened += u64::from(result == Ok(true));
        if let Err(why) = result {
            std::fs::create_dir_all(&dir).expect("failures folder");
            let path = dir.join(format!("{seed:x}-{runs}.yml"));
            std::fs::write(&path, &text).expect("save failing input");
            failures.push(format!("{}: {why}", path.display()));
            if failures.len() >= 20 {
                break;
            }
        }
    }
    let _ = std::panic::take_hook();
    let _ = std::fs::remove_dir_all(&work);
    eprintln!(
        "fuzz: {runs} inputs in {seconds} s (seed {seed:#x}), {hardened} hardened, {} failing",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "fuzz failures:\n{}",
        failures.join("\n")
    );
}
