#!/usr/bin/env python3
"""Hardening figures for the shared corpus, before and after `harden`.

Runs `harden FILE` on every `$HARDEN_CORPUS/real/*.yml` (each from a copy in
a fresh temp dir), loads input and output with PyYAML (Compose's `!reset` /
`!override` tags tolerated, `<<` merge keys resolved), and over all services
computes:

  - % with `read_only: true`                       goal >= 85 %
  - % with `ALL` in `cap_drop`                     goal >= 95 %
  - % with a memory limit (`mem_limit` or
    `deploy.resources.limits.memory`)               goal 100 %
  - literal secret values left in `environment`    goal 0
  - datastores that publish no ports and have no
    `network_mode`, all of whose networks are
    declared `internal: true`                      goal 100 %

It prints the figures for the inputs and the outputs, the offenders in the
output (file, service, what; never a secret value), and exits 1 when a goal
is missed or harden fails on a file, 2 when it cannot run at all.

Environment: HARDEN_CORPUS (required), HARDEN_BIN (default
target/debug/harden beside this script's repository).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

GOALS = {
    "read_only": 85.0,
    "cap_drop": 95.0,
    "memory": 100.0,
    "isolated": 100.0,
}
MAX_LISTED = 60  # offenders listed per kind; the rest are counted

# Image repositories (registry, tag, digest and `library/` stripped) that are
# datastores, caches or queues. The first group is the project's list; the
# second names the official repositories of the same products that the
# corpus uses (they are the same software under another repository name).
DATASTORES = {
    "postgres", "mysql", "mariadb", "mongo", "redis", "valkey", "memcached",
    "rabbitmq", "elasticsearch", "opensearch", "zookeeper",
    "clickhouse/clickhouse-server", "influxdb", "bitnami/postgresql",
    "bitnami/mysql", "bitnami/mariadb", "bitnami/redis", "bitnami/mongodb",
    "apache/kafka", "confluentinc/cp-kafka", "bitnami/kafka", "minio/minio",
} | {
    "valkey/valkey", "opensearchproject/opensearch",
    "elasticsearch/elasticsearch", "confluentinc/cp-zookeeper",
}

SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)",
    re.IGNORECASE,
)
NOT_SECRET_SUFFIX = re.compile(r"(_FILE|_PATH|_FILE_PATH)$", re.IGNORECASE)
# Names that contain a secret word but name a setting about a secret, not a
# secret (found in the corpus: `..._CREDENTIALS_PROVIDER: BASIC`,
# `..._REFRESH_TOKEN_ENABLED: true`, `..._SECRET_PARAM_..._LOCATION: /path`,
# `REGISTRY_AUTH_TOKEN_REALM: https://...`). Confluent's
# `KAFKA_SSL_*_CREDENTIALS` hold the name of a file under /etc/kafka/secrets.
NOT_SECRET_NAME = re.compile(
    r"(_(ENABLED|PROVIDER|SOURCE|CLASS|ISSUER|REALM|SERVICE|LOCATION|MECHANISM"
    r"|PROTOCOL|SERVERS|FACTOR|ROOTCERTBUNDLE)$|^KAFKA_SSL_\w*_CREDENTIALS$)",
    re.IGNORECASE,
)
# A value that is only a flag is not a secret (`ALLOW_EMPTY_PASSWORD: yes`).
FLAG_VALUES = {"true", "false", "yes", "no", "on", "off"}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^\s/:@]*):([^\s/@]*)@")


# --------------------------------------------------------------------------
# YAML loading


class ComposeLoader(yaml.SafeLoader):
    """SafeLoader that accepts Compose's `!reset` and `!override` tags."""


class Reset:
    """A value tagged `!reset`: Compose removes it, so it counts as absent."""


def _construct_override(loader: yaml.SafeLoader, node: yaml.Node):
    # `!override X` is X (it only matters when files are merged).
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
    return loader.yaml_constructors[tag](loader, node)


ComposeLoader.add_constructor("!reset", lambda loader, node: Reset())
ComposeLoader.add_constructor("!override", _construct_override)


def drop_resets(value):
    if isinstance(value, dict):
        return {k: drop_resets(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [drop_resets(v) for v in value if not isinstance(v, Reset)]
    return None if isinstance(value, Reset) else value


def load(data: bytes):
    return drop_resets(yaml.load(data, Loader=ComposeLoader))


# --------------------------------------------------------------------------
# Interpolation-aware value analysis


@dataclass
class Ref:
    """`${NAME<op>word}` or `$NAME` inside a string."""

    start: int
    end: int
    name: str
    op: str  # "", ":-", "-", ":?", "?", ":+", "+"
    word: str


def scan(value: str) -> tuple[list[Ref], bool]:
    """Top-level references in `value`, and whether any literal text (a
    character outside every reference, `$$` included) is present."""
    refs: list[Ref] = []
    literal = False
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c != "$":
            literal = True
            i += 1
            continue
        if value.startswith("$$", i):
            literal = True
            i += 2
            continue
        if value.startswith("${", i):
            m = NAME.match(value, i + 2)
            if not m:
                literal = True
                i += 1
                continue
            j = m.end()
            op = ""
            for candidate in (":-", ":?", ":+", "-", "?", "+"):
                if value.startswith(candidate, j):
                    op = candidate
                    break
            k = j + len(op)
            depth = 1
            while k < n:
                if value[k] == "{":
                    depth += 1
                elif value[k] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            if k >= n or (not op and k != j):
                literal = True  # unterminated or malformed: treat as text
                i += 1
                continue
            refs.append(Ref(i, k + 1, m.group(0), op, value[j + len(op) : k]))
            i = k + 1
            continue
        m = NAME.match(value, i + 1)
        if m:
            refs.append(Ref(i, m.end(), m.group(0), "", ""))
            i = m.end()
        else:
            literal = True
            i += 1
    return refs, literal


def carries_literal(value: str) -> bool:
    """True when `value` yields literal text with no variable set: text
    outside references, or a non-empty default / alternative that does."""
    refs, literal = scan(value)
    if literal:
        return True
    for r in refs:
        if r.op.endswith(("-", "+")) and r.word and carries_literal(r.word):
            return True
    return False


def effective_literal(value: str) -> str:
    """The text `value` yields with no variable set (defaults applied)."""
    refs, _ = scan(value)
    out, pos = [], 0
    for r in refs:
        out.append(value[pos : r.start])
        if r.op.endswith("-"):
            out.append(effective_literal(r.word))
        pos = r.end
    out.append(value[pos:])
    return "".join(out).replace("$$", "$")


def url_with_literal_password(value: str) -> bool:
    """A `scheme://user:password@` whose password is (or defaults to) literal,
    at the top level of `value` or inside a default."""
    refs, _ = scan(value)
    masked = list(value)
    for idx, r in enumerate(refs):
        # Keep the positions; hide the reference's text behind one marker.
        masked[r.start : r.end] = [f"\x00{idx}\x00"] + [""] * (r.end - r.start - 1)
    masked_text = "".join(masked)
    refs_by_marker = {f"\x00{i}\x00": r for i, r in enumerate(refs)}
    for m in URL_CREDENTIALS.finditer(masked_text):
        password = m.group(2)
        for marker, r in refs_by_marker.items():
            password = password.replace(marker, value[r.start : r.end])
        if password and carries_literal(password):
            return True
    return any(
        r.op.endswith(("-", "+")) and url_with_literal_password(r.word) for r in refs
    )


def env_items(env) -> list[tuple[str, object]]:
    if isinstance(env, dict):
        return [(str(k), v) for k, v in env.items()]
    items = []
    if isinstance(env, list):
        for entry in env:
            if entry is None:
                continue
            text = str(entry)
            if "=" in text:
                k, v = text.split("=", 1)
                items.append((k.strip(), v))
            else:
                items.append((text.strip(), None))
    return items


def scalar_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    return None  # nested structure: not an environment value


def secret_findings(env) -> list[tuple[str, str]]:
    """(variable, reason) for each literal secret in an environment block."""
    found = []
    for name, raw in env_items(env):
        value = scalar_text(raw)
        if not value:
            continue
        if (
            SECRET_NAME.search(name)
            and not NOT_SECRET_SUFFIX.search(name)
            and not NOT_SECRET_NAME.search(name)
            and effective_literal(value).strip().lower() not in FLAG_VALUES
        ):
            refs, literal = scan(value)
            literal_default = any(
                r.op.endswith(("-", "+")) and r.word and carries_literal(r.word)
                for r in refs
            )
            # Text around a reference without a literal default (a config
            # blob like `... clientSecret="$SECRET";`) takes its secret from
            # the variable: not counted.
            if literal_default:
                found.append((name, "literal default"))
                continue
            if literal and not refs:
                found.append((name, "literal value"))
                continue
        if url_with_literal_password(value):
            found.append((name, "URL with a literal password"))
    return found


# --------------------------------------------------------------------------
# Service analysis


def image_repository(image) -> str | None:
    if not isinstance(image, str):
        return None
    img = image.strip()
    # Whole image from a variable with a default: use the default.
    refs, literal = scan(img)
    if not literal and len(refs) == 1 and refs[0].op.endswith("-"):
        img = refs[0].word
    # A leading variable is a registry prefix (`${REGISTRY:-}mariadb:10`).
    while True:
        refs, _ = scan(img)
        if refs and refs[0].start == 0:
            img = img[refs[0].end :].lstrip("/")
        else:
            break
    # Hide remaining references (tags) so their colons do not confuse us.
    refs, _ = scan(img)
    for r in reversed(refs):
        img = img[: r.start] + "X" + img[r.end :]
    img = img.split("@", 1)[0]
    parts = img.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    parts[-1] = parts[-1].split(":", 1)[0]
    repo = "/".join(parts).lower()
    if repo.startswith("library/"):
        repo = repo[len("library/") :]
    return repo or None


def truthy(v) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() == "true")


def has_memory_limit(svc: dict) -> bool:
    if svc.get("mem_limit") not in (None, ""):
        return True
    node = svc
    for key in ("deploy", "resources", "limits"):
        node = node.get(key) if isinstance(node, dict) else None
    return isinstance(node, dict) and node.get("memory") not in (None, "")


def drops_all(svc: dict) -> bool:
    caps = svc.get("cap_drop")
    if isinstance(caps, str):
        caps = [caps]
    return isinstance(caps, list) and any(
        str(c).strip().upper() in ("ALL", "CAP_ALL") for c in caps
    )


def service_networks(svc: dict) -> list[str]:
    nets = svc.get("networks")
    if isinstance(nets, dict) and nets:
        return [str(k) for k in nets]
    if isinstance(nets, list) and nets:
        return [str(n) for n in nets]
    return ["default"]


@dataclass
class Figures:
    services: int = 0
    read_only: int = 0
    cap_drop: int = 0
    memory: int = 0
    secrets: int = 0
    datastores: int = 0
    isolated: int = 0
    # Services that extend a service in another file, which the corpus does
    # not hold: neither harden nor Compose can see what they inherit, so
    # the per-service figures leave them out and list them instead.
    unseen: int = 0
    offenders: dict[str, list[str]] = field(default_factory=dict)

    def offend(self, kind: str, text: str) -> None:
        self.offenders.setdefault(kind, []).append(text)


def services_of(doc) -> dict:
    if not isinstance(doc, dict):
        return {}
    services = doc.get("services")
    return services if isinstance(services, dict) else {}


def merge_extended(parent, child):
    """Child over parent, as `extends` does it (close enough for these
    figures): mappings merge, sequences add up, scalars of the child win."""
    if isinstance(parent, dict) and isinstance(child, dict):
        out = dict(parent)
        for k, v in child.items():
            out[k] = merge_extended(parent[k], v) if k in parent else v
        return out
    if isinstance(parent, list) and isinstance(child, list):
        return parent + [v for v in child if v not in parent]
    return child


def effective_services(doc) -> dict:
    """Services with `extends` from the same file resolved (`extends` from
    another file is left as written: that file is not here)."""
    services = services_of(doc)
    done: dict = {}

    def resolve(name, seen):
        if name in done:
            return done[name]
        svc = services.get(name)
        svc = dict(svc) if isinstance(svc, dict) else {}
        ext = svc.get("extends")
        parent = ext if isinstance(ext, str) else None
        if isinstance(ext, dict) and not ext.get("file"):
            parent = ext.get("service")
        if isinstance(parent, str) and parent in services and parent not in seen:
            svc.pop("extends")
            svc = merge_extended(resolve(parent, seen | {name}), svc)
        done[name] = svc
        return svc

    return {name: resolve(name, frozenset()) for name in services}


def extends_elsewhere(services: dict, name: str, seen=frozenset()) -> bool:
    """Whether the service (or a same-file parent) extends another file."""
    svc = services.get(name)
    ext = svc.get("extends") if isinstance(svc, dict) else None
    if isinstance(ext, dict) and ext.get("file"):
        return True
    parent = ext if isinstance(ext, str) else (ext.get("service") if isinstance(ext, dict) else None)
    return isinstance(parent, str) and parent not in seen and extends_elsewhere(services, parent, seen | {name})


def measure(label: str, doc, fig: Figures) -> None:
    top_networks = doc.get("networks") if isinstance(doc, dict) else None
    top_networks = top_networks if isinstance(top_networks, dict) else {}
    raw = services_of(doc)
    for name, svc in effective_services(doc).items():
        where = f"{label}: {name}"
        if extends_elsewhere(raw, name):
            fig.unseen += 1
            fig.offend("unseen", f"{where}: extends a service in a file missing here; not counted")
            continue
        if not any(key in svc for key in ("image", "build")):
            # A layer (an override file): the rest of the service is in a
            # file merged with this one, which harden leaves alone.
            fig.unseen += 1
            fig.offend("unseen", f"{where}: no image or build, a layer of another file; not counted")
            continue
        fig.services += 1
        if truthy(svc.get("read_only")):
            fig.read_only += 1
        else:
            fig.offend("read_only", f"{where}: no read_only: true")
        if drops_all(svc):
            fig.cap_drop += 1
        else:
            fig.offend("cap_drop", f"{where}: no ALL in cap_drop")
        if has_memory_limit(svc):
            fig.memory += 1
        else:
            fig.offend("memory", f"{where}: no memory limit")
        for var, why in secret_findings(svc.get("environment")):
            fig.secrets += 1
            fig.offend("secrets", f"{where}: environment {var}: {why}")
        repo = image_repository(svc.get("image"))
        if repo in DATASTORES and not svc.get("ports") and not svc.get("network_mode"):
            fig.datastores += 1
            open_nets = [
                n
                for n in service_networks(svc)
                if not (
                    isinstance(top_networks.get(n), dict)
                    and truthy(top_networks[n].get("internal"))
                )
            ]
            if open_nets:
                fig.offend(
                    "isolated",
                    f"{where} ({repo}): network(s) not internal: {', '.join(open_nets)}",
                )
            else:
                fig.isolated += 1


# --------------------------------------------------------------------------


def pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 100.0


def run_harden(binary: Path, src: Path) -> tuple[int, bytes]:
    with tempfile.TemporaryDirectory(prefix="harden-metrics-") as tmp:
        copy = Path(tmp) / src.name
        shutil.copyfile(src, copy)
        env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
        proc = subprocess.run(
            [str(binary), src.name],
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
        return proc.returncode, proc.stdout


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    corpus = os.environ.get("HARDEN_CORPUS")
    if not corpus:
        print("corpus_metrics: set HARDEN_CORPUS to the corpus folder", file=sys.stderr)
        return 2
    real = sorted(Path(corpus, "real").glob("*.yml"))
    if not real:
        print(f"corpus_metrics: no real/*.yml under {corpus}", file=sys.stderr)
        return 2
    binary = Path(os.environ.get("HARDEN_BIN") or root / "target" / "debug" / "harden")
    if not os.access(binary, os.X_OK):
        print(f"corpus_metrics: harden binary not found: {binary}", file=sys.stderr)
        return 2

    before, after = Figures(), Figures()
    failures: list[str] = []
    for path in real:
        label = path.name
        data = path.read_bytes()
        try:
            doc_in = load(data)
        except yaml.YAMLError as e:
            failures.append(f"{label}: input does not load with PyYAML ({type(e).__name__})")
            continue
        measure(label, doc_in, before)
        try:
            code, out = run_harden(binary, path)
        except subprocess.TimeoutExpired:
            failures.append(f"{label}: harden timed out")
            continue
        if code != 0:
            # Its stderr is not shown: a parser snippet could quote a secret.
            failures.append(f"{label}: harden exited {code} (run it by hand to see why)")
            continue
        try:
            doc_out = load(out)
        except yaml.YAMLError as e:
            failures.append(f"{label}: output does not load with PyYAML ({type(e).__name__})")
            continue
        if set(services_of(doc_in)) != set(services_of(doc_out)):
            failures.append(f"{label}: the output's services differ from the input's")
        measure(label, doc_out, after)

    rows = [
        ("services", str(before.services), str(after.services), "", None),
        ("not counted (defined in another file)", str(before.unseen), str(after.unseen), "", None),
        ("read_only: true", f"{pct(before.read_only, before.services):.1f}%",
         f"{pct(after.read_only, after.services):.1f}%", f">= {GOALS['read_only']:.0f}%",
         pct(after.read_only, after.services) >= GOALS["read_only"]),
        ("cap_drop: [ALL]", f"{pct(before.cap_drop, before.services):.1f}%",
         f"{pct(after.cap_drop, after.services):.1f}%", f">= {GOALS['cap_drop']:.0f}%",
         pct(after.cap_drop, after.services) >= GOALS["cap_drop"]),
        ("memory limit", f"{pct(before.memory, before.services):.1f}%",
         f"{pct(after.memory, after.services):.1f}%", "100%",
         pct(after.memory, after.services) >= GOALS["memory"]),
        ("literal secrets in env", str(before.secrets), str(after.secrets), "0",
         after.secrets == 0),
        ("isolated datastores",
         f"{before.isolated}/{before.datastores} ({pct(before.isolated, before.datastores):.0f}%)",
         f"{after.isolated}/{after.datastores} ({pct(after.isolated, after.datastores):.0f}%)",
         "100%", pct(after.isolated, after.datastores) >= GOALS["isolated"]),
    ]
    print(f"== corpus metrics: {len(real)} files, harden = {binary}")
    print(f"{'figure':<24} {'input':>16} {'output':>16}  {'goal':<8} result")
    for name, b, a, goal, ok in rows:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        print(f"{name:<24} {b:>16} {a:>16}  {goal:<8} {verdict}")

    missed = [name for name, *_, ok in rows if ok is False]
    if after.offenders:
        print("\n== offenders in the output (file: service: what)")
        for kind in ("secrets", "isolated", "memory", "cap_drop", "read_only"):
            items = after.offenders.get(kind, [])
            for line in items[:MAX_LISTED]:
                print(f"  {line}")
            if len(items) > MAX_LISTED:
                print(f"  ... and {len(items) - MAX_LISTED} more ({kind})")
    if failures:
        print("\n== files harden could not process")
        for f in failures:
            print(f"  {f}")
    if missed or failures:
        print(
            f"\ncorpus metrics: FAILED ({len(missed)} goal(s) missed"
            f"{': ' + ', '.join(missed) if missed else ''}; {len(failures)} file failure(s))"
        )
        return 1
    print("\ncorpus metrics: all goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
