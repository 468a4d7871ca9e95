//! End to end: hardened Compose files run on a real Docker engine, and the
//! hardening is in force (docs/e2e.md).
//!
//! Runs only when `HARDEN_DOCKER_HOST` names the socket of an engine with
//! the test images built (`scripts/e2e-docker.sh start` and `build`; `.ci/run`
//! does both); Compose v2 is `HARDEN_ORACLE`. Each test copies a dev-style
//! stack from `tests/e2e/stacks/`, runs `harden --write` on it, starts it
//! under its own project name and takes it down again, also on failure.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{RunOutput, TempDir, oracle, run_in, strings};

const SKIP_MESSAGE: &str = "e2e tests skipped: set HARDEN_DOCKER_HOST (scripts/e2e-docker.sh \
                            start, then build) and HARDEN_ORACLE to run them";

/// Health checks run every 30 s (harden's interval), so the first result
/// comes after about that long.
const HEALTHY_WITHIN: Duration = Duration::from_secs(100);

/// The engine and the clients that drive it.
struct Engine {
    host: String,
    docker: PathBuf,
    compose: PathBuf,
}

/// The engine from the environment, or `None` (the caller says it skipped).
fn engine() -> Option<Engine> {
    let host = std::env::var("HARDEN_DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty());
    let Some(host) = host else {
        println!("{SKIP_MESSAGE}");
        eprintln!("{SKIP_MESSAGE}");
        return None;
    };
    // Asked for, so a missing Compose binary is a failure, not a skip.
    let compose =
        oracle().expect("HARDEN_DOCKER_HOST is set but HARDEN_ORACLE (Compose v2) is not");
    let docker = std::env::var_os("HARDEN_DOCKER_CLI")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("docker"), PathBuf::from);
    Some(Engine {
        host,
        docker,
        compose,
    })
}

impl Engine {
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        for key in ["PATH", "HOME"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("DOCKER_HOST", &self.host);
        cmd.stdin(Stdio::null());
        cmd
    }

    fn docker(&self, args: &[&str]) -> RunOutput {
        output(self.command(&self.docker).args(args), "docker")
    }
}

fn output(cmd: &mut Command, what: &str) -> RunOutput {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    RunOutput {
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code(),
    }
}

/// One hardened stack under its own project name; taken down on drop.
struct Stack<'e> {
    engine: &'e Engine,
    project: String,
    dir: TempDir,
    /// Override files given after `compose.yml` (the wrong hardenings).
    overrides: Vec<String>,
}

impl<'e> Stack<'e> {
    /// Copies `tests/e2e/stacks/CASE` and runs `harden --write` on it.
    fn harden(engine: &'e Engine, case: &str, label: &str) -> Stack<'e> {
        let project = format!("he2e-{label}-{}", std::process::id());
        let dir = TempDir::new(&format!("e2e-{label}"));
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/e2e/stacks")
            .join(case);
        for entry in std::fs::read_dir(&source).expect("read the stack folder") {
            let path = entry.expect("stack folder entry").path();
            let name = path.file_name().expect("file name");
            std::fs::copy(&path, dir.path().join(name)).expect("copy a stack file");
        }

        let out = run_in(dir.path(), &["--write", "compose.yml"], None);
        assert_eq!(
            out.code,
            Some(0),
            "harden --write failed on {case}: {}",
            out.stderr_str()
        );
        Stack {
            engine,
            project,
            dir,
            overrides: Vec::new(),
        }
    }

    /// The same stack with a wrong hardening laid over harden's.
    fn with_override(mut self, file: &str) -> Stack<'e> {
        self.overrides.push(file.to_string());
        self
    }

    fn compose(&self, args: &[&str]) -> RunOutput {
        let mut cmd = self.engine.command(&self.engine.compose);
        cmd.current_dir(self.dir.path())
            .args(["-p", &self.project, "-f", "compose.yml"]);
        for file in &self.overrides {
            cmd.args(["-f", file]);
        }
        output(cmd.args(args), "docker-compose")
    }

    /// `docker-compose up -d` with local images only.
    fn up(&self) {
        let out = self.compose(&["up", "-d", "--pull", "never", "--no-build"]);
        assert_eq!(
            out.code,
            Some(0),
            "docker-compose up failed: {}",
            out.stderr_str()
        );
    }

    /// What harden planned, as Compose reads it (sizes in bytes).
    fn plan(&self, service: &str) -> Value {
        let out = self.compose(&["config", "--format", "json"]);
        assert_eq!(out.code, Some(0), "compose config: {}", out.stderr_str());
        let config: Value = serde_json::from_slice(&out.stdout).expect("compose config JSON");
        config["services"][service].clone()
    }

    fn container(&self, service: &str) -> String {
        let out = self.compose(&["ps", "-aq", service]);
        let id = out.stdout_str().trim().to_string();
        assert!(!id.is_empty(), "no container for {service}");
        id
    }

    fn inspect(&self, service: &str) -> Value {
        let out = self
            .engine
            .docker(&["inspect", "--type", "container", &self.container(service)]);
        assert_eq!(out.code, Some(0), "docker inspect: {}", out.stderr_str());
        let list: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
        list[0].clone()
    }

    /// `sh -c SCRIPT` inside the service's container as `user`.
    fn exec(&self, service: &str, user: &str, script: &str) -> RunOutput {
        let id = self.container(service);
        self.engine
            .docker(&["exec", "-u", user, &id, "sh", "-c", script])
    }

    fn network(&self, name: &str) -> Value {
        let full = format!("{}_{name}", self.project);
        let out = self
            .engine
            .docker(&["network", "inspect", "--format", "{{json .}}", &full]);
        assert_eq!(out.code, Some(0), "network inspect: {}", out.stderr_str());
        serde_json::from_slice(&out.stdout).expect("network JSON")
    }

    fn logs(&self) -> String {
        let out = self.compose(&["logs", "--no-color"]);
        format!("{}{}", out.stdout_str(), out.stderr_str())
    }

    /// Waits until the service runs and has run for `settle` (its start-up
    /// writes are done), then checks it never restarted.
    fn assert_running(&self, service: &str, settle: Duration) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let started = loop {
            let state = &self.inspect(service)["State"];
            if state["Running"] == true {
                break state["StartedAt"].clone();
            }
            assert!(
                state["Status"] != "exited" && Instant::now() < deadline,
                "{service} is not running ({}, exit {}); logs:\n{}",
                state["Status"],
                state["ExitCode"],
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        std::thread::sleep(settle);
        let info = self.inspect(service);
        assert!(
            info["State"]["Running"] == true && info["State"]["StartedAt"] == started,
            "{service} stopped or restarted after starting; logs:\n{}",
            self.logs()
        );
        assert_eq!(info["RestartCount"], 0, "{service} restarted");
    }

    fn assert_healthy(&self, service: &str) {
        let deadline = Instant::now() + HEALTHY_WITHIN;
        loop {
            let health = &self.inspect(service)["State"]["Health"];
            if health["Status"] == "healthy" {
                return;
            }
            assert!(
                health["Status"] != "unhealthy" && Instant::now() < deadline,
                "{service} not healthy: {health}; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Waits for the service to stop; its exit code.
    fn wait_exit(&self, service: &str) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let state = &self.inspect(service)["State"];
            if state["Status"] == "exited" {
                return state["ExitCode"].as_i64().expect("exit code");
            }
            assert!(
                Instant::now() < deadline,
                "{service} still {} after 30 s; logs:\n{}",
                state["Status"],
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// For a wrong hardening: the service stops with an error that
    /// mentions `why`, and never counts as started.
    fn assert_fails(&self, service: &str, why: &str) {
        let code = self.wait_exit(service);
        let logs = self.logs();
        assert_ne!(
            code, 0,
            "{service} exited 0 under a wrong hardening; logs:\n{logs}"
        );
        assert!(
            logs.contains(why),
            "{service} failed (exit {code}) but not with `{why}`; logs:\n{logs}"
        );
    }

    fn file(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- logs of {} ---\n{}", self.project, self.logs());
        }
        let out = self.compose(&["down", "-v", "--timeout", "1", "--remove-orphans"]);
        if out.code != Some(0) {
            eprintln!("docker-compose down {}: {}", self.project, out.stderr_str());
        }
    }
}

/// What a service's hardening must be, from the image table or x-harden.
struct Expected<'a> {
    service: &'a str,
    /// The user its process runs as, after any step-down.
    user: &'a str,
    cap_add: &'a [&'a str],
    tmpfs: &'a [&'a str],
    /// Folders and the user that must be able to write in each: the
    /// service user, or root for what a root entrypoint prepares.
    writes: &'a [(&'a str, &'a str)],
    memory: &'a str,
    cpus: &'a str,
    pids: i64,
}

/// Compose's bytes for a size such as 512M or 1G.
fn bytes(size: &str) -> i64 {
    let (number, unit) = size.split_at(size.len() - 1);
    let factor = match unit {
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => panic!("size {size}"),
    };
    number.parse::<i64>().expect("size number") * factor
}

/// Capability names without the `CAP_` that the engine may add, sorted.
fn caps(v: &Value) -> Vec<String> {
    let mut names: Vec<String> = strings(v)
        .iter()
        .map(|c| c.trim_start_matches("CAP_").to_string())
        .collect();
    names.sort();
    names
}

/// The bounding-set mask of `/proc/PID/status` for these capabilities.
fn cap_mask(names: &[&str]) -> String {
    let bit = |name: &str| match name {
        "CHOWN" => 0,
        "DAC_OVERRIDE" => 1,
        "FOWNER" => 3,
        "KILL" => 5,
        "SETGID" => 6,
        "SETUID" => 7,
        "NET_BIND_SERVICE" => 10,
        _ => panic!("no bit for {name}"),
    };
    let mask: u64 = names.iter().map(|n| 1u64 << bit(n)).sum();
    format!("{mask:016x}")
}

/// Every transform harden applies to one service, checked three ways:
/// harden planned what the table or x-harden says, the engine applied
/// the plan, and the kernel enforces it inside the running container.
fn assert_hardened(stack: &Stack, want: &Expected) {
    let service = want.service;
    let plan = stack.plan(service);

    // The plan.
    assert_eq!(plan["read_only"], true, "{service}: read_only planned");
    assert_eq!(strings(&plan["cap_drop"]), ["ALL"], "{service}: cap_drop");
    assert_eq!(caps(&plan["cap_add"]), want.cap_add, "{service}: cap_add");
    assert!(
        strings(&plan["security_opt"]).contains(&"no-new-privileges:true".to_string()),
        "{service}: no-new-privileges planned"
    );
    let planned_tmpfs: BTreeMap<String, String> = strings(&plan["tmpfs"])
        .iter()
        .map(|spec| match spec.split_once(':') {
            Some((path, options)) => (path.to_string(), options.to_string()),
            None => (spec.clone(), String::new()),
        })
        .collect();
    let paths: Vec<&str> = planned_tmpfs.keys().map(String::as_str).collect();
    let mut want_paths = want.tmpfs.to_vec();
    want_paths.sort();
    assert_eq!(paths, want_paths, "{service}: tmpfs paths");
    let limits = &plan["deploy"]["resources"]["limits"];
    let memory: i64 = limits["memory"]
        .as_str()
        .and_then(|m| m.parse().ok())
        .expect("memory limit planned");
    assert_eq!(memory, bytes(want.memory), "{service}: memory");
    let cpus = limits["cpus"].as_f64().expect("cpus planned");
    assert_eq!(cpus, want.cpus.parse::<f64>().unwrap(), "{service}: cpus");
    assert_eq!(limits["pids"].as_i64(), Some(want.pids), "{service}: pids");

    // The engine.
    let info = stack.inspect(service);
    let host = &info["HostConfig"];
    assert_eq!(host["ReadonlyRootfs"], true, "{service}: ReadonlyRootfs");
    assert_eq!(strings(&host["CapDrop"]), ["ALL"], "{service}: CapDrop");
    assert_eq!(caps(&host["CapAdd"]), want.cap_add, "{service}: CapAdd");
    assert_eq!(host["Memory"].as_i64(), Some(memory), "{service}: Memory");
    let nano = (cpus * 1e9).round() as i64;
    assert_eq!(host["NanoCpus"].as_i64(), Some(nano), "{service}: NanoCpus");
    assert_eq!(
        host["PidsLimit"].as_i64(),
        Some(want.pids),
        "{service}: PidsLimit"
    );
    assert!(
        strings(&host["SecurityOpt"]).contains(&"no-new-privileges:true".to_string()),
        "{service}: SecurityOpt"
    );
    let mut mounted: Vec<String> = host["Tmpfs"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    mounted.sort();
    assert_eq!(mounted, want_paths, "{service}: Tmpfs");

    // The kernel, seen from inside.
    let status = stack.exec(service, "0", "cat /proc/1/status").stdout_str();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(field("CapBnd"), cap_mask(want.cap_add), "{service}: CapBnd");
    assert_eq!(field("NoNewPrivs"), "1", "{service}: NoNewPrivs");
    let uid = want.user.split(':').next().unwrap_or_default();
    assert_eq!(field("Uid"), uid, "{service}: process user");

    let write_root = stack.exec(service, "0", "echo x > /harden-e2e-probe");
    assert_ne!(write_root.code, Some(0), "{service}: / is writable");
    assert!(
        write_root.stderr_str().contains("Read-only file system"),
        "{service}: writing to / failed otherwise: {}",
        write_root.stderr_str()
    );
    for (path, user) in want.writes {
        let probe = format!("echo x > {path}/.harden-e2e-probe && rm {path}/.harden-e2e-probe");
        let out = stack.exec(service, user, &probe);
        assert_eq!(
            out.code,
            Some(0),
            "{service}: {path} not writable by {user}: {}",
            out.stderr_str()
        );
    }

    let cgroup = stack.exec(
        service,
        "0",
        "cd /sys/fs/cgroup && if [ -f memory.max ]; then \
         cat memory.max pids.max cpu.max; else cat memory/memory.limit_in_bytes \
         pids/pids.max cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us; fi",
    );
    let values: Vec<String> = cgroup
        .stdout_str()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let number = |i: usize| values.get(i).and_then(|v| v.parse::<i64>().ok());
    assert_eq!(number(0), Some(memory), "{service}: cgroup memory limit");
    assert_eq!(number(1), Some(want.pids), "{service}: cgroup pids limit");
    let (quota, period) = (number(2), number(3));
    assert_eq!(
        quota.zip(period).map(|(q, p)| q * 1_000_000_000 / p),
        Some(nano),
        "{service}: cgroup CPU quota"
    );
}

/// The secret's value reached the process through `NAME_FILE`: the
/// program recorded `source=file` and the SHA-256 of what it read, which
/// must be that of the file harden wrote, which must hold the value the
/// dev file had. No value is printed, not even on failure.
fn assert_secret_arrived(stack: &Stack, secret: &str, dev_value: &str, recorded: &str) {
    let path = stack.file(&format!("secrets/{secret}"));
    let written = std::fs::read_to_string(&path).expect("secret file written");
    assert!(
        written.trim_end_matches('\n') == dev_value,
        "secrets/{secret} does not hold the value the dev file had"
    );
    // Hashed as the program reads it: `$(cat FILE)` drops final newlines.
    let hashed = output(
        Command::new("sh")
            .args(["-c", "printf '%s' \"$(cat \"$0\")\" | sha256sum"])
            .arg(&path)
            .stdin(Stdio::null()),
        "sha256sum",
    )
    .stdout_str();
    let digest = hashed.split_whitespace().next().expect("digest");
    assert_eq!(
        recorded.split_whitespace().next(),
        Some("source=file"),
        "the program did not read the secret through its _FILE variable"
    );
    assert!(
        recorded == format!("source=file sha256={digest}"),
        "the program read another value than the secret file holds"
    );
}

fn env_names(info: &Value) -> Vec<String> {
    strings(&info["Config"]["Env"])
        .iter()
        .map(|e| e.split('=').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn non_root_app_writes_only_to_its_tmp() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "tmp-writer", "tmp-writer");
    stack.up();
    stack.assert_running("worker", Duration::from_secs(3));
    assert_hardened(
        &stack,
        &Expected {
            service: "worker",
            user: "10001:10001",
            cap_add: &[],
            tmpfs: &["/tmp"],
            writes: &[("/tmp", "10001:10001")],
            memory: "512M",
            cpus: "1.0",
            pids: 256,
        },
    );
}

#[test]
fn non_root_app_without_tmp_tmpfs_fails() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "tmp-writer", "tmp-writer-wrong")
        .with_override("wrong-no-tmpfs.yml");
    stack.up();
    stack.assert_fails(
        "worker",
        "can't create /tmp/scratch.1: Read-only file system",
    );
}

#[test]
fn writable_path_from_x_harden_is_writable() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "spooler", "spooler");
    stack.up();
    stack.assert_running("spooler", Duration::from_secs(3));
    assert_hardened(
        &stack,
        &Expected {
            service: "spooler",
            user: "10002:10002",
            cap_add: &[],
            tmpfs: &["/tmp", "/var/spool/app"],
            writes: &[("/tmp", "10002:10002"), ("/var/spool/app", "10002:10002")],
            memory: "512M",
            cpus: "1.0",
            pids: 256,
        },
    );
}

#[test]
fn writable_path_without_its_tmpfs_fails() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "spooler", "spooler-wrong")
        .with_override("wrong-no-spool-tmpfs.yml");
    stack.up();
    stack.assert_fails(
        "spooler",
        "can't create /var/spool/app/job.1: Read-only file system",
    );
}

/// A known limit, not a wanted result: without `user:` harden cannot know
/// the image runs as 10002, and Docker mounts a tmpfs over a folder the
/// image has with that folder's mode but owned by root (an explicit
/// `mode=` does not change that). harden warns about it (the fixture
/// writable-root-fs/settings-paths-owner.yml); if harden learns to handle
/// it, this test fails: turn it into a passing case then.
#[test]
fn writable_path_of_an_unnamed_image_user_stays_root_owned() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "spooler-no-user", "spooler-no-user");
    stack.up();
    stack.assert_fails(
        "spooler",
        "can't create /var/spool/app/job.1: Permission denied",
    );
}

#[test]
fn secret_reaches_the_app_through_name_file() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "token-reader", "token-reader");
    stack.up();
    stack.assert_running("reader", Duration::from_secs(2));
    assert_hardened(
        &stack,
        &Expected {
            service: "reader",
            user: "10003:10003",
            cap_add: &[],
            tmpfs: &["/tmp"],
            writes: &[("/tmp", "10003:10003")],
            memory: "512M",
            cpus: "1.0",
            pids: 256,
        },
    );

    let info = stack.inspect("reader");
    let names = env_names(&info);
    assert!(
        names.contains(&"API_TOKEN_FILE".to_string()),
        "API_TOKEN_FILE set"
    );
    assert!(
        !names.contains(&"API_TOKEN".to_string()),
        "API_TOKEN left in the environment"
    );
    let target = "/run/secrets/reader_api_token";
    let mounted = info["Mounts"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["Destination"] == target));
    assert!(mounted, "secret not mounted at {target}");
    let readable = stack.exec("reader", "10003:10003", &format!("test -r {target}"));
    assert_eq!(
        readable.code,
        Some(0),
        "secret not readable by the service user"
    );

    let recorded = stack.exec("reader", "10003:10003", "cat /tmp/token-reader.status");
    assert_secret_arrived(
        &stack,
        "reader_api_token",
        "e2e-token-value-for-tests",
        recorded.stdout_str().trim(),
    );
}

#[test]
fn name_file_app_without_its_secret_fails() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "token-reader", "token-reader-wrong")
        .with_override("wrong-no-secret.yml");
    stack.up();
    stack.assert_fails("reader", "cannot read API_TOKEN_FILE");
}

/// Compose does not apply uid, gid or mode to file secrets: the host
/// file's own mode decides. harden writes 0644 for a service that runs as
/// a fixed non-root uid; at 0600 (root's) the app cannot read it.
#[test]
fn name_file_app_with_a_secret_only_root_reads_fails() {
    use std::os::unix::fs::PermissionsExt;
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "token-reader", "token-reader-0600");
    let path = stack.file("secrets/reader_api_token");
    let mode = std::fs::metadata(&path)
        .expect("secret file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644, "harden wrote the secret for uid 10003");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    stack.up();
    stack.assert_fails("reader", "cannot read API_TOKEN_FILE");
}

/// The influxdb stand-in: harden's influxdb row (tmpfs, capabilities,
/// _FILE names, datastore limits, health check) applied to an image with
/// influxdb:2's start-up pattern, and its client on the internal network.
#[test]
fn chowning_datastore_runs_with_table_caps_on_an_internal_network() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "influxdb", "influxdb");
    stack.up();
    stack.assert_running("influxdb", Duration::from_secs(2));
    assert_hardened(
        &stack,
        &Expected {
            service: "influxdb",
            user: "1000:1000",
            cap_add: &["CHOWN", "SETGID", "SETUID"],
            tmpfs: &["/tmp"],
            writes: &[("/tmp", "1000:1000"), ("/var/lib/influxdb2", "1000:1000")],
            memory: "1G",
            cpus: "1.0",
            pids: 512,
        },
    );

    // The data volume was chowned and the setup recorded by the service user.
    let owner = stack.exec("influxdb", "0", "stat -c %u:%g /var/lib/influxdb2");
    assert_eq!(owner.stdout_str().trim(), "1000:1000", "data volume owner");
    let info = stack.inspect("influxdb");
    let names = env_names(&info);
    assert!(names.contains(&"DOCKER_INFLUXDB_INIT_PASSWORD_FILE".to_string()));
    assert!(!names.contains(&"DOCKER_INFLUXDB_INIT_PASSWORD".to_string()));
    let recorded = stack.exec("influxdb", "1000", "cat /var/lib/influxdb2/setup.status");
    assert_secret_arrived(
        &stack,
        "influxdb_docker_influxdb_init_password",
        "e2e-password-value-for-tests",
        recorded.stdout_str().trim(),
    );

    // Only on the internal network; the client joined it and reaches it.
    let backend = stack.network("backend");
    assert_eq!(backend["Internal"], true, "backend network internal");
    let backend_name = format!("{}_backend", stack.project);
    let networks = |service: &str| -> Vec<String> {
        let mut n: Vec<String> = stack.inspect(service)["NetworkSettings"]["Networks"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        n.sort();
        n
    };
    assert_eq!(
        networks("influxdb"),
        std::slice::from_ref(&backend_name),
        "influxdb networks"
    );
    assert!(
        networks("app").contains(&backend_name),
        "app joined backend"
    );
    stack.assert_running("app", Duration::ZERO);
    let reach = stack.exec("app", "0", "wget -q -O - \"$INFLUX_URL/health\"");
    assert_eq!(
        reach.stdout_str().trim(),
        "pass",
        "app reaches influxdb: {}",
        reach.stderr_str()
    );

    stack.assert_healthy("influxdb");
}

#[test]
fn chowning_datastore_without_cap_add_fails() {
    let Some(engine) = engine() else { return };
    let stack =
        Stack::harden(&engine, "influxdb", "influxdb-nocap").with_override("wrong-no-cap-add.yml");
    stack.up();
    stack.assert_fails(
        "influxdb",
        "chown: /var/lib/influxdb2: Operation not permitted",
    );
}

#[test]
fn chowning_datastore_without_setuid_fails() {
    let Some(engine) = engine() else { return };
    let stack =
        Stack::harden(&engine, "influxdb", "influxdb-chown").with_override("wrong-chown-only.yml");
    stack.up();
    stack.assert_fails("influxdb", "su: can't set groups: Operation not permitted");
}

/// The nginx stand-in: harden's nginx row on an image that binds port 80
/// as root with no NET_BIND_SERVICE, then serves as 101:101.
#[test]
fn port_80_server_runs_with_table_caps() {
    let Some(engine) = engine() else { return };
    let stack = Stack::harden(&engine, "nginx", "nginx");
    stack.up();
    stack.assert_running("web", Duration::from_secs(2));
    assert_hardened(
        &stack,
        &Expected {
            service: "web",
            user: "101:101",
            cap_add: &["CHOWN", "SETGID", "SETUID"],
            tmpfs: &["/tmp", "/var/cache/nginx", "/run"],
            writes: &[
                ("/tmp", "101:101"),
                ("/var/cache/nginx/client_temp", "101:101"),
                ("/run", "0:0"),
            ],
            memory: "128M",
            cpus: "0.5",
            pids: 256,
        },
    );
    let listening = stack.exec("web", "0", "netstat -ltn | grep -q ':80 '");
    assert_eq!(listening.code, Some(0), "nothing listens on port 80");
    let owner = stack.exec("web", "0", "stat -c %u /var/cache/nginx/client_temp");
    assert_eq!(
        owner.stdout_str().trim(),
        "101",
        "client_temp chowned to 101"
    );
    stack.assert_running("probe", Duration::ZERO);
    let page = stack.exec("probe", "0", "wget -q -O - http://web/");
    assert_eq!(
        page.stdout_str().trim(),
        "hello from the nginx stand-in",
        "{}",
        page.stderr_str()
    );
    stack.assert_healthy("web");
}

#[test]
fn port_80_server_without_run_tmpfs_fails() {
    let Some(engine) = engine() else { return };
    let stack =
        Stack::harden(&engine, "nginx", "nginx-norun").with_override("wrong-no-run-tmpfs.yml");
    stack.up();
    stack.assert_fails("web", "can't create /run/nginx.pid: Read-only file system");
}

#[test]
fn port_80_server_without_setuid_fails() {
    let Some(engine) = engine() else { return };
    let stack =
        Stack::harden(&engine, "nginx", "nginx-nosetuid").with_override("wrong-no-setuid.yml");
    stack.up();
    stack.assert_fails("web", "httpd: setgroups: Operation not permitted");
}
