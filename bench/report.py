#!/usr/bin/env python3
"""Writes docs/benchmarks.md and docs/benchmarks.png from one run of
bench/compare.sh:

    python bench/report.py RESULTS_DIR DOCS_DIR

RESULTS_DIR holds what compare.sh wrote: inputs.tsv (the files timed),
index.tsv (one line per tool, input and mode: the hyperfine JSON, or why
the tool failed there), corpus-failures.tsv (the corpus files each tool
fails on), machine.tsv and the hyperfine JSON exports. Every number in the two outputs comes from
these files, so the table and the plot always show the same run.

Needs matplotlib (installed in bench/.work/venv by compare.sh).
"""

import csv
import json
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write the PNG only
import matplotlib.pyplot as plt  # noqa: E402

PEERS = ["compose-harden", "compose-lint", "dclint"]
TOOLS = ["harden"] + PEERS
COLORS = {
    "harden": "#c0392b",
    "compose-harden": "#5d6d7e",
    "compose-lint": "#2e86c1",
    "dclint": "#28b463",
}

# The commands, as the table's readers would type them (compare.sh runs
# the same with full paths).
COMMANDS = {
    "audit": {
        "harden": "harden --check F",
        "compose-harden": "compose-harden scan F",
        "compose-lint": "compose-lint check F",
        "dclint": "dclint F",
    },
    "fix": {
        "harden": "harden F",
        "compose-harden": "compose-harden fix --dry-run F",
        "compose-lint": "compose-lint fix F",
        "dclint": "dclint --fix-dry-run F",
    },
}

# Goals of issue 6.
GOAL_SMALL_RATIO = 20  # per small file, harden this many times faster than the fastest peer
GOAL_500_MS = 20  # 500 services
GOAL_5000_FACTOR = 10  # 5,000 services under this many times the 500 figure
GOAL_CORPUS_MS = 500  # the whole corpus in one process
GOAL_CORES = 2
GOAL_MEMORY_FACTOR = 10  # peak memory under this many times the input size ...
GOAL_MEMORY_EXTRA_MIB = 10  # ... plus this many MiB


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def median_ms(path):
    """The median wall time of a hyperfine JSON export, in ms."""
    with open(path) as f:
        return json.load(f)["results"][0]["median"] * 1000


def fmt_ms(ms):
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}"


def fmt_ratio(r):
    return f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"


def fmt_size(n):
    n = int(n)
    return f"{n / 1024:,.1f} KiB" if n >= 1024 else f"{n} B"


class Run:
    """One run of compare.sh, read from its results folder."""

    def __init__(self, results):
        results = Path(results)
        self.inputs = read_tsv(results / "inputs.tsv")
        self.machine = {r[0]: r[1] for r in csv.reader(open(results / "machine.tsv"), delimiter="\t")}
        # (input, mode, tool) -> median in ms, or the reason it failed
        self.ms = {}
        self.failed = {}
        for row in read_tsv(results / "index.tsv"):
            key = (row["input"], row["mode"], row["tool"])
            if row["json"]:
                self.ms[key] = median_ms(results / row["json"])
            else:
                self.failed[key] = row["reason"]
        # (input, mode) -> (input bytes, peak resident KiB) of harden
        self.memory = {}
        if (results / "memory.tsv").exists():
            for row in read_tsv(results / "memory.tsv"):
                self.memory[(row["input"], row["mode"])] = (int(row["bytes"]), int(row["peak_kib"]))
        # tool -> {reason: [corpus files it fails on for that reason]}
        self.corpus_failures = {}
        for row in read_tsv(results / "corpus-failures.tsv"):
            self.corpus_failures.setdefault(row["tool"], {}).setdefault(row["reason"], []).append(row["file"])

    def corpus_failure_count(self, tool):
        return sum(len(files) for files in self.corpus_failures.get(tool, {}).values())

    def per_file_inputs(self):
        return [i for i in self.inputs if i["kind"] != "batch"]

    def corpus(self):
        return next(i for i in self.inputs if i["kind"] == "batch")


class Notes:
    """Numbered notes under the table, one per distinct text."""

    def __init__(self):
        self.texts = []

    def ref(self, text):
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


def table(run):
    """The Markdown table: medians in ms, each peer's with its ratio to harden."""
    notes = Notes()
    head = ["input", "services", "size", "mode", "harden ms"] + [f"{p} ms (÷ harden)" for p in PEERS]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---:", "---:", "---"] + ["---:"] * 4) + "|"]

    def cell(key, harden_ms, note=None):
        if key in run.failed:
            return "fails " + notes.ref(f"{key[2]} on `{key[0]}`: {run.failed[key]}")
        if key not in run.ms:
            return "–"
        ms = run.ms[key]
        text = fmt_ms(ms)
        if harden_ms and key[2] != "harden":
            text += f" ({fmt_ratio(ms / harden_ms)})"
        if note:
            text += " " + notes.ref(note)
        return text

    for inp in run.per_file_inputs():
        for mode in ("audit", "fix"):
            harden_ms = run.ms.get((inp["label"], mode, "harden"))
            row = [f"`{inp['label']}`", inp["services"] or "?", fmt_size(inp["bytes"]), mode]
            row += [cell((inp["label"], mode, t), harden_ms) for t in TOOLS]
            lines.append("| " + " | ".join(row) + " |")

    corpus = run.corpus()
    files = corpus["services"]
    batch = run.ms.get(("corpus", "batch", "harden"))
    lines.append(
        f"| corpus, one process for all files | {files} files | {fmt_size(corpus['bytes'])} | audit "
        f"| {cell(('corpus', 'batch', 'harden'), None)} | – | – | – |"
    )
    loop_harden = run.ms.get(("corpus", "loop", "harden"))
    row = ["corpus, one process per file", f"{files} files", fmt_size(corpus["bytes"]), "audit"]
    for t in TOOLS:
        note = None
        if t in run.corpus_failures:
            reasons = "; ".join(
                f"{', '.join(f'`{f}`' for f in names)}: {reason}" for reason, names in run.corpus_failures[t].items()
            )
            note = (f"{t} fails on {run.corpus_failure_count(t)} of {files} corpus files "
                    f"(their runs are still in the loop's time): {reasons}")
        row.append(cell(("corpus", "loop", t), loop_harden, note))
    lines.append("| " + " | ".join(row) + " |")

    out = "\n".join(lines) + "\n"
    if notes.texts:
        out += "\n" + "\n".join(f"{i + 1}. {t}" for i, t in enumerate(notes.texts)) + "\n"
    if batch and loop_harden:
        out += (
            f"\nOn the corpus, `harden --check` with all {files} files in one process takes "
            f"{fmt_ms(batch)} ms; each peer's loop is {', '.join(peer_vs_batch(run, batch))} that.\n"
        )
    return out


def peer_vs_batch(run, batch):
    return [f"{p} {fmt_ratio(run.ms[('corpus', 'loop', p)] / batch)}" for p in PEERS if ("corpus", "loop", p) in run.ms]


def goals(run):
    """One line per goal of issue 6: met or not, with the numbers."""
    lines = []

    def verdict(ok):
        return "**met**" if ok else "**not met**"

    # 1. Small files: harden >= 20x faster than the fastest peer, per file and mode.
    worst = None
    checked = []
    missing = []
    for inp in run.per_file_inputs():
        if inp["kind"] != "small":
            continue
        for mode in ("audit", "fix"):
            h = run.ms.get((inp["label"], mode, "harden"))
            peers = {p: run.ms[(inp["label"], mode, p)] for p in PEERS if (inp["label"], mode, p) in run.ms}
            if h is None or not peers:
                missing.append(f"{inp['label']} ({mode})")
                continue
            fastest = min(peers, key=peers.get)
            ratio = peers[fastest] / h
            checked.append(ratio)
            if worst is None or ratio < worst[0]:
                worst = (ratio, inp["label"], mode, h, fastest, peers[fastest])
    if worst:
        ratio, label, mode, h, peer, peer_ms = worst
        ok = ratio >= GOAL_SMALL_RATIO and not missing
        lines.append(
            f"- {verdict(ok)}: per small file, harden at least {GOAL_SMALL_RATIO}× faster than the fastest peer. "
            f"Lowest ratio {fmt_ratio(ratio)} on `{label}` ({mode}: harden {fmt_ms(h)} ms, {peer} {fmt_ms(peer_ms)} ms); "
            f"{sum(r >= GOAL_SMALL_RATIO for r in checked)} of {len(checked)} file and mode pairs reach it."
            + (f" No timing for {', '.join(missing)}." if missing else "")
        )

    # 2. and 3. 500 and 5,000 generated services, in both modes.
    for mode in ("audit", "fix"):
        ms500 = run.ms.get(("generated-500", mode, "harden"))
        ms5000 = run.ms.get(("generated-5000", mode, "harden"))
        if ms500 is not None:
            lines.append(
                f"- {verdict(ms500 < GOAL_500_MS)}: 500 services under {GOAL_500_MS} ms ({mode}, "
                f"`{COMMANDS[mode]['harden']}`): {fmt_ms(ms500)} ms."
            )
        if ms500 is not None and ms5000 is not None:
            factor = ms5000 / ms500
            lines.append(
                f"- {verdict(factor < GOAL_5000_FACTOR)}: 5,000 services under {GOAL_5000_FACTOR}× the 500 figure "
                f"({mode}): {fmt_ms(ms5000)} ms, {factor:.1f}× {fmt_ms(ms500)} ms."
            )

    # 4. The whole corpus in one process.
    batch = run.ms.get(("corpus", "batch", "harden"))
    if batch is not None:
        cores = int(run.machine.get("cores", "0"))
        caveat = "" if cores == GOAL_CORES else f" (this machine has {cores} cores; the goal is for {GOAL_CORES})"
        lines.append(
            f"- {verdict(batch < GOAL_CORPUS_MS)}: the whole corpus ({run.corpus()['services']} files) in one "
            f"`harden --check` run under {GOAL_CORPUS_MS} ms on {GOAL_CORES} cores: {fmt_ms(batch)} ms{caveat}."
        )

    # 5. Peak memory under 10x the input size plus 10 MB, for every input.
    if run.memory:
        over = [
            (label, mode, size, kib)
            for (label, mode), (size, kib) in run.memory.items()
            if kib * 1024 > memory_limit(size)
        ]
        checked = len(run.memory)
        detail = (
            "over it: "
            + "; ".join(
                f"`{label}` {mode} {fmt_mib(kib * 1024)} MiB for {fmt_size(size)} (limit {fmt_mib(memory_limit(size))} MiB)"
                for label, mode, size, kib in sorted(over, key=lambda o: o[2])
            )
            if over
            else "every input and mode is under it"
        )
        lines.append(
            f"- {verdict(not over)}: peak memory under {GOAL_MEMORY_FACTOR}× the input size plus "
            f"{GOAL_MEMORY_EXTRA_MIB} MB ({checked} input and mode pairs, maximum resident set): {detail}."
        )
    return "\n".join(lines) + "\n"


def memory_limit(size):
    """The memory goal for an input of `size` bytes, in bytes."""
    return GOAL_MEMORY_FACTOR * size + GOAL_MEMORY_EXTRA_MIB * 1024 * 1024


def fmt_mib(n):
    return f"{n / (1024 * 1024):.1f}"


def memory_table(run):
    """harden's peak memory per input, beside the goal's limit."""
    if not run.memory:
        return ""
    rows = [
        "| input | size | audit MiB | fix MiB | limit MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for inp in run.per_file_inputs():
        audit = run.memory.get((inp["label"], "audit"))
        fix = run.memory.get((inp["label"], "fix"))
        if not audit and not fix:
            continue
        size = (audit or fix)[0]
        cells = [fmt_mib(m[1] * 1024) if m else "–" for m in (audit, fix)]
        rows.append(f"| {inp['label']} | {fmt_size(size)} | {cells[0]} | {cells[1]} | {fmt_mib(memory_limit(size))} |")
    return "\n".join(rows) + "\n"


def markdown(run, png_name):
    m = run.machine
    out = [
        "# Benchmarks: harden and its peers, whole process",
        "",
        "Written by `bash bench/compare.sh` (issue 6); do not edit by hand, run it again. "
        "Each number is the median wall time of a whole process (start-up, reading, work, output) "
        "measured by `hyperfine -N` (no shell in between) on the same files in the same run. "
        "Output goes to /dev/null.",
        "",
        "## Machine and tools",
        "",
        f"- {m['date']}; {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['kernel']}",
        f"- load average: {m['load']}",
        f"- {m['harden']}; {m['compose-harden']} and {m['compose-lint']} (PyPI, on {m['python']}); "
        f"{m['dclint']} (npm, on {m['node']}); {m['rustc']}; {m['hyperfine']}",
        f"- runs: {m['runs']}",
        "",
        "## Goals",
        "",
        goals(run),
        "Where the time and memory go, and why a goal is not met: "
        "[design notes](design.md#goals-not-met-and-why).",
        "",
        "## Times",
        "",
        "Median ms; after each peer's time, how many times harden's time (in the same row) it is. "
        "A peer that crashes on a file or refuses it is marked *fails* and not timed.",
        "",
        table(run),
        "Commands, with `F` the file:",
        "",
    ]
    for mode in ("audit", "fix"):
        out.append(f"- {mode}: " + ", ".join(f"`{c}`" for c in COMMANDS[mode].values()))
    out += [
        "- corpus, one process for all files: `harden --check F1 F2 …` (`harden --check DIR` only looks "
        "for files named like `compose.yaml` or `docker-compose.yml`)",
        "- corpus, one process per file: `bench/loop.sh` runs each tool's audit command in a bash loop",
        "",
        "Inputs: `generated-N` come from `cargo run --release --example generate -- N` "
        "(groups of proxy, app, worker, database and cache, with an anchor merged by `<<`); "
        "the others are files of the shared corpus (`corpus/real/`). "
        f"The small files of the first goal: {inputs_of_kind(run, 'small')}; "
        f"the largest corpus files: {inputs_of_kind(run, 'large')}.",
        "",
        f"![Median time per file and tool, log scale]({png_name})",
        "",
    ]
    if run.memory:
        out += [
            "## Memory",
            "",
            "harden's peak resident memory (the maximum of 3 runs, GNU time `%M`), "
            "with the goal's limit: 10× the input size plus 10 MB.",
            "",
            memory_table(run),
        ]
    return "\n".join(out)


def inputs_of_kind(run, kind):
    return ", ".join(f"`{i['label']}`" for i in run.inputs if i["kind"] == kind) or "none"


def wrap(label, services):
    return textwrap.fill(label, 18, break_on_hyphens=True) + f"\n({services} services)"


def plot(run, path):
    inputs = run.per_file_inputs()
    fig = plt.figure(figsize=(13, 12), layout="constrained")
    grid = fig.add_gridspec(3, 1, height_ratios=[4, 4, 2.2])
    width = 0.2

    for row, mode in enumerate(("audit", "fix")):
        ax = fig.add_subplot(grid[row])
        for i, tool in enumerate(TOOLS):
            offset = (i - (len(TOOLS) - 1) / 2) * width
            for x, inp in enumerate(inputs):
                key = (inp["label"], mode, tool)
                if key in run.ms:
                    ms = run.ms[key]
                    ax.bar(x + offset, ms, width, color=COLORS[tool], label=tool if x == 0 else None)
                    ax.text(x + offset, ms * 1.08, fmt_ms(ms), ha="center", va="bottom", fontsize=7, rotation=90)
                elif key in run.failed:
                    ax.text(x + offset, 0.55, "fails", ha="center", va="bottom", fontsize=8, rotation=90,
                            color=COLORS[tool], fontweight="bold")
        ax.set_yscale("log")
        per_file = [ms for (name, _, _), ms in run.ms.items() if name != "corpus"]
        ax.set_ylim(0.5, max(per_file) * 4)
        ax.set_xticks(range(len(inputs)), [wrap(i["label"], i["services"] or "?") for i in inputs], fontsize=8)
        ax.set_ylabel("median ms (log scale)")
        commands = ", ".join(COMMANDS[mode].values())
        ax.set_title(f"{mode}: {commands}", fontsize=10, loc="left")
        ax.grid(axis="y", which="major", alpha=0.3)
        if row == 0:
            ax.legend(loc="upper left", ncols=4, fontsize=9)

    # The whole corpus: harden in one process, then each tool in a loop.
    ax = fig.add_subplot(grid[2])
    files = run.corpus()["services"]
    bars = [("harden, one process", run.ms.get(("corpus", "batch", "harden")), "harden")]
    for t in TOOLS:
        failing = run.corpus_failure_count(t)
        label = f"{t}, loop" + (f"\n({failing} files fail)" if failing else "")
        bars.append((label, run.ms.get(("corpus", "loop", t)), t))
    bars = [b for b in bars if b[1] is not None]
    for y, (label, ms, tool) in enumerate(bars):
        ax.barh(y, ms, color=COLORS[tool])
        ax.text(ms * 1.05, y, f"{fmt_ms(ms)} ms", va="center", fontsize=8)
    ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=9)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=max(b[1] for b in bars) * 4)
    ax.set_xlabel("median ms (log scale)")
    ax.set_title(f"audit of the whole corpus ({files} files): one process, or a loop of one process per file",
                 fontsize=10, loc="left")
    ax.grid(axis="x", which="major", alpha=0.3)

    m = run.machine
    fig.suptitle(f"Whole-process time, median of hyperfine -N runs ({m['date']}, {m['cpu']}, {m['cores']} cores)",
                 fontsize=11)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RESULTS_DIR DOCS_DIR")
    run = Run(sys.argv[1])
    docs = Path(sys.argv[2])
    docs.mkdir(parents=True, exist_ok=True)
    plot(run, docs / "benchmarks.png")
    (docs / "benchmarks.md").write_text(markdown(run, "benchmarks.png"))
    print(f"wrote {docs / 'benchmarks.md'} and {docs / 'benchmarks.png'}")


if __name__ == "__main__":
    main()
