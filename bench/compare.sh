#!/usr/bin/env bash
# Whole-process comparison of harden with its peers (issue 6).
#
#   bash bench/compare.sh [CORPUS]
#
# CORPUS is the shared corpus folder (its real/*.yml files are used); it
# defaults to $HARDEN_CORPUS, then to ../shared/corpus beside the repo.
#
# 1. installs the tools: hyperfine from Debian; the PyPI peers
#    compose-harden and compose-lint (and matplotlib) into a venv, and
#    the npm peer dclint into its own prefix, all under bench/.work/,
# 2. builds harden and the input generator in release mode,
# 3. writes the generated inputs (10, 500 and 5,000 services),
# 4. runs each tool once on each input to see whether it does its job
#    there (a peer that crashes or refuses a file is marked as failing
#    and not timed),
# 5. times each tool on each input with `hyperfine -N` (no shell), then
#    the whole corpus: harden in one process, and every tool in a loop
#    of one process per file,
#    and measures harden's peak memory per input with GNU time,
# 6. calls bench/report.py, which writes docs/benchmarks.md and
#    docs/benchmarks.png from this run's hyperfine JSON.
#
# Run as root on Debian 12 with Node.js >= 20.19 and a Rust toolchain; it
# reaches only the package registries. A full run takes about 15 minutes
# on 2 cores. Not part of .ci/run: it is too slow.
#
# Settings (environment): HARDEN_RUNS (default 30) and PEER_RUNS (10)
# timed runs per file, BATCH_RUNS (3) per corpus loop; SMALL_REAL, the
# small corpus files to time (names in CORPUS/real).
set -euo pipefail

# Peer versions studied in shared/notes/peers.md. The Python ones are
# pinned in bench/requirements.txt too.
COMPOSE_HARDEN_VERSION=0.2.0
COMPOSE_LINT_VERSION=0.36.2
DCLINT_VERSION=3.1.0

HARDEN_RUNS=${HARDEN_RUNS:-30}
HARDEN_WARMUP=3
PEER_RUNS=${PEER_RUNS:-10}
PEER_WARMUP=1
BATCH_RUNS=${BATCH_RUNS:-3}
BATCH_WARMUP=1

# Small real files: a two-service web stack, a small stack with anchors
# and merge keys, and a typical five-service app. The largest files of
# the corpus are added below, whatever they are.
SMALL_REAL=${SMALL_REAL:-"111-awesome-compose-wordpress-mysql.yml 013-mariadb-docker-replication-semisync.yml 016-mastodon-main.yml"}
LARGEST_REAL=2

section() { printf '\n===== %s =====\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd -P)
CORPUS=${1:-${HARDEN_CORPUS:-$ROOT/../shared/corpus}}
[ -d "$CORPUS/real" ] || die "corpus not found: $CORPUS/real (pass the corpus folder as the first argument)"
CORPUS=$(cd "$CORPUS" && pwd -P)

WORK=$ROOT/bench/.work
VENV=$WORK/venv
NPM_PREFIX=$WORK/npm
INPUTS=$WORK/inputs
RESULTS=$WORK/results
mkdir -p "$WORK"
# Another build on the machine skews the times: the report shows the load.
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)

# ---------------------------------------------------------------- tools
section "tools"
export DEBIAN_FRONTEND=noninteractive
apt_missing=()
command -v hyperfine >/dev/null 2>&1 || apt_missing+=(hyperfine)
# GNU time, for harden's peak memory (the shell builtin cannot tell it).
[ -x /usr/bin/time ] || apt_missing+=(time)
# Debian's own Python 3.11 for the venv (compose-lint needs >= 3.11).
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "apt-get install ${apt_missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi
hyperfine --version

if ! command -v cargo >/dev/null 2>&1 && [ -f "${HOME:-/root}/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "${HOME:-/root}/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found: a Rust toolchain is needed to build harden"

# dclint 3.1.0 needs Node.js >= 20.19 (Debian 12's own nodejs is 18).
command -v node >/dev/null 2>&1 || die "node not found: dclint needs Node.js >= 20.19"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "dclint $DCLINT_VERSION needs Node.js >= 20.19; this is $(node --version)"

if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  -r bench/requirements.txt
PY=$VENV/bin/python

# --prefix keeps dclint and its node_modules inside bench/.work/npm.
if [ "$("$NPM_PREFIX/node_modules/.bin/dclint" --version 2>/dev/null)" != "$DCLINT_VERSION" ]; then
  npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error "dclint@$DCLINT_VERSION"
fi

section "build harden (release)"
cargo build --release --locked --bin harden --example generate
HARDEN=$ROOT/target/release/harden
GENERATE=$ROOT/target/release/examples/generate

# The commands compared. The file is appended to each. "audit" reports
# the hazards; "fix" prints the fixed file (or a diff) and writes nothing.
TOOLS="harden compose-harden compose-lint dclint"
declare -A CMD
CMD[harden,audit]="$HARDEN --check"
CMD[harden,fix]="$HARDEN"
CMD[compose-harden,audit]="$VENV/bin/compose-harden scan"
CMD[compose-harden,fix]="$VENV/bin/compose-harden fix --dry-run"
CMD[compose-lint,audit]="$VENV/bin/compose-lint check"
CMD[compose-lint,fix]="$VENV/bin/compose-lint fix"
CMD[dclint,audit]="$NPM_PREFIX/node_modules/.bin/dclint"
CMD[dclint,fix]="$NPM_PREFIX/node_modules/.bin/dclint --fix-dry-run"

# ---------------------------------------------------------------- inputs
section "inputs"
rm -rf "$INPUTS" "$RESULTS"
mkdir -p "$INPUTS" "$RESULTS"

# inputs.tsv: label, kind (small, large or generated), services, bytes, path
printf 'label\tkind\tservices\tbytes\tpath\n' >"$RESULTS/inputs.tsv"
add_input() { # label kind services path
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(wc -c <"$4")" "$4" >>"$RESULTS/inputs.tsv"
}
# The service count of a corpus file, from the corpus manifest.
manifest_services() {
  awk -F'\t' -v f="real/$1" '$1 == f { print $7 }' "$CORPUS/MANIFEST.tsv" 2>/dev/null || true
}

# In order of size: small files, the largest corpus files, then the
# large generated ones.
for n in 10 500 5000; do
  "$GENERATE" "$n" >"$INPUTS/generated-$n.yml"
done
add_input generated-10 small 10 "$INPUTS/generated-10.yml"
for name in $SMALL_REAL; do
  [ -f "$CORPUS/real/$name" ] || die "small corpus file not found: $CORPUS/real/$name"
  add_input "${name%.yml}" small "$(manifest_services "$name")" "$CORPUS/real/$name"
done
# The largest files of the corpus, by size.
for path in $(ls -S "$CORPUS"/real/*.yml | head -n "$LARGEST_REAL"); do
  name=$(basename "$path")
  add_input "${name%.yml}" large "$(manifest_services "$name")" "$path"
done
add_input generated-500 generated 500 "$INPUTS/generated-500.yml"
add_input generated-5000 generated 5000 "$INPUTS/generated-5000.yml"
column -t -s $'\t' "$RESULTS/inputs.tsv"

# ---------------------------------------------------------------- failures
# judge TOOL RC STDOUT STDERR FILE: prints nothing when the tool did its
# job on FILE, else a short reason. A nonzero exit alone is no failure:
# the audits exit 1 when they find hazards.
judge() {
  local tool=$1 rc=$2 out=$3 err=$4 file=$5 reason=""
  case $tool in
    harden)
      # 0 done, 1 hazards found; 2 bad input or usage, 3 internal error.
      [ "$rc" -le 1 ] || reason="exit $rc: $(head -n 1 "$err")"
      ;;
    compose-harden)
      # Exit 1 also means "score below 100": look for a Python traceback.
      if grep -q '^Traceback' "$err"; then
        reason="crash: $(grep -E '^[A-Za-z_.]+(Error|Exception)' "$err" | tail -n 1)"
      elif [ "$rc" -gt 1 ]; then
        reason="exit $rc: $(tail -n 1 "$err")"
      fi
      ;;
    compose-lint)
      # 0 clean, 1 findings, 2 error or a file it did not lint whole.
      [ "$rc" -le 1 ] || reason="exit $rc: $(grep -m 1 . "$err")"
      ;;
    dclint)
      # Exit 1 also means findings. A crash prints a JavaScript "Error:"
      # on stderr; a file it refuses is reported as "unknown-error".
      if grep -q '^Error' "$err"; then
        reason="crash: $(grep -m 1 '^Error' "$err")"
      elif grep -q 'unknown-error' "$out"; then
        reason="refused: $(grep -m 1 'unknown-error' "$out" | sed -E 's/^ *[0-9]+:[0-9]+ +error +//; s/ +unknown-error *$//')"
      elif [ "$rc" -gt 1 ]; then
        reason="exit $rc: $(grep -m 1 . "$err")"
      fi
      ;;
  esac
  # The report names the file already; its folder means nothing there.
  reason=${reason//"$file: "/}
  reason=$(printf '%s' "${reason//$(dirname "$file")\//}" | tr '\t\n' '  ')
  if [ ${#reason} -gt 200 ]; then reason="${reason:0:200}…"; fi
  printf '%s' "$reason"
}

# try TOOL MODE FILE: runs the command once; prints the reason it failed.
try() {
  local rc=0
  ${CMD[$1,$2]} "$3" >"$WORK/try.out" 2>"$WORK/try.err" </dev/null || rc=$?
  judge "$1" "$rc" "$WORK/try.out" "$WORK/try.err" "$3"
}

# median_ms JSON: the median of a hyperfine export, in ms.
median_ms() {
  "$PY" -c 'import json, sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$1"
}

# measure INPUT MODE TOOL WARMUP RUNS COMMAND: times COMMAND with
# hyperfine into RESULTS/INPUT.MODE.TOOL.json, adds that to index.tsv and
# prints the median. -N: no shell between hyperfine and the command; -i:
# the audits exit 1 when they find hazards (hyperfine's warnings about
# that go to hyperfine.log).
measure() {
  local input=$1 mode=$2 tool=$3 warmup=$4 runs=$5 command=$6
  local json=$input.$mode.$tool.json
  if ! hyperfine -N -i --style none --warmup "$warmup" --runs "$runs" --export-json "$RESULTS/$json" \
    --command-name "$tool" "$command" </dev/null 2>>"$RESULTS/hyperfine.log"; then
    tail -n 20 "$RESULTS/hyperfine.log" >&2
    die "hyperfine failed on: $command"
  fi
  printf '%s\t%s\t%s\t%s\t\n' "$input" "$mode" "$tool" "$json" >>"$RESULTS/index.tsv"
  printf '%-48s %-5s %-15s %9s ms\n' "$input" "$mode" "$tool" "$(median_ms "$RESULTS/$json")"
}

# index.tsv: one line per timing (json set) or failure (reason set).
printf 'input\tmode\ttool\tjson\treason\n' >"$RESULTS/index.tsv"

# ---------------------------------------------------------------- per file
section "per file: hyperfine -N, harden $HARDEN_WARMUP+$HARDEN_RUNS runs, peers $PEER_WARMUP+$PEER_RUNS"
tail -n +2 "$RESULTS/inputs.tsv" | while IFS=$'\t' read -r label kind services bytes path; do
  for mode in audit fix; do
    for tool in $TOOLS; do
      reason=$(try "$tool" "$mode" "$path")
      if [ -n "$reason" ]; then
        printf '%s\t%s\t%s\t\t%s\n' "$label" "$mode" "$tool" "$reason" >>"$RESULTS/index.tsv"
        printf '%-48s %-5s %-15s FAILS: %s\n' "$label" "$mode" "$tool" "$reason"
        continue
      fi
      runs=$PEER_RUNS warmup=$PEER_WARMUP
      if [ "$tool" = harden ]; then runs=$HARDEN_RUNS warmup=$HARDEN_WARMUP; fi
      measure "$label" "$mode" "$tool" "$warmup" "$runs" "${CMD[$tool,$mode]} $path"
    done
  done
done

# ---------------------------------------------------------------- memory
section "harden's peak memory (GNU time, maximum resident set of 3 runs)"
# memory.tsv: input, mode, bytes of the input, peak resident KiB.
printf 'input\tmode\tbytes\tpeak_kib\n' >"$RESULTS/memory.tsv"
tail -n +2 "$RESULTS/inputs.tsv" | while IFS=$'\t' read -r label kind services bytes path; do
  for mode in audit fix; do
    peak=0
    for _ in 1 2 3; do
      # shellcheck disable=SC2086 # the command is words on purpose
      /usr/bin/time -f '%M' -o "$RESULTS/time.out" ${CMD[harden,$mode]} "$path" >/dev/null 2>&1 </dev/null || true
      kib=$(tail -n 1 "$RESULTS/time.out")
      [ "$kib" -gt "$peak" ] && peak=$kib
    done
    printf '%s\t%s\t%s\t%s\n' "$label" "$mode" "$bytes" "$peak" >>"$RESULTS/memory.tsv"
    printf '%-48s %-5s %9s KiB (input %s bytes)\n' "$label" "$mode" "$peak" "$bytes"
  done
done

# ---------------------------------------------------------------- corpus
CORPUS_FILES=("$CORPUS"/real/*.yml)
section "whole corpus: ${#CORPUS_FILES[@]} files"
# In inputs.tsv the corpus has kind "batch" and its file count as services.
printf 'corpus\tbatch\t%s\t%s\t%s\n' "${#CORPUS_FILES[@]}" "$(cat "${CORPUS_FILES[@]}" | wc -c)" "$CORPUS/real" >>"$RESULTS/inputs.tsv"

# Which files each tool fails on, in audit mode (the mode timed below).
# corpus-failures.tsv: tool, file, reason; one line per failure.
printf 'tool\tfile\treason\n' >"$RESULTS/corpus-failures.tsv"
for tool in $TOOLS; do
  count=0
  for path in "${CORPUS_FILES[@]}"; do
    reason=$(try "$tool" audit "$path")
    [ -n "$reason" ] || continue
    count=$((count + 1))
    printf '%s\t%s\t%s\n' "$tool" "$(basename "$path")" "$reason" >>"$RESULTS/corpus-failures.tsv"
    printf '%s fails on %s: %s\n' "$tool" "$(basename "$path")" "$reason"
  done
  echo "$tool fails on $count of ${#CORPUS_FILES[@]} files"
done

# harden in one process: `harden --check FILE...`. (`harden --check DIR`
# looks only for compose.yaml, docker-compose.yml and the like, and the
# corpus files have other names.)
measure corpus batch harden "$HARDEN_WARMUP" "$HARDEN_RUNS" "$HARDEN --check ${CORPUS_FILES[*]}"

# Every tool in a shell loop, one process per file.
for tool in $TOOLS; do
  measure corpus loop "$tool" "$BATCH_WARMUP" "$BATCH_RUNS" \
    "bash $ROOT/bench/loop.sh '${CMD[$tool,audit]}' ${CORPUS_FILES[*]}"
done

# ---------------------------------------------------------------- report
section "report"
{
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'cpu\t%s\n' "$(grep -m 1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  printf 'cores\t%s\n' "$(nproc)"
  printf 'memory\t%s\n' "$(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
  printf 'kernel\t%s\n' "$(uname -sr)"
  printf 'load\t%s at the start, %s at the end (1, 5, 15 min)\n' "$LOAD_START" "$(cut -d ' ' -f 1-3 /proc/loadavg)"
  printf 'harden\t%s (commit %s%s)\n' "$("$HARDEN" --version)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$(git diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes')"
  printf 'compose-harden\t%s\n' "$("$VENV/bin/compose-harden" --version)"
  printf 'compose-lint\t%s\n' "$("$VENV/bin/compose-lint" --version)"
  printf 'dclint\tdclint %s\n' "$("$NPM_PREFIX/node_modules/.bin/dclint" --version)"
  printf 'python\t%s\n' "$("$PY" --version)"
  printf 'node\tNode.js %s\n' "$(node --version)"
  printf 'rustc\t%s\n' "$(rustc --version)"
  printf 'hyperfine\t%s\n' "$(hyperfine --version)"
  printf 'runs\tharden %s+%s, peers %s+%s, corpus loops %s+%s (warm-up+timed)\n' \
    "$HARDEN_WARMUP" "$HARDEN_RUNS" "$PEER_WARMUP" "$PEER_RUNS" "$BATCH_WARMUP" "$BATCH_RUNS"
} >"$RESULTS/machine.tsv"

"$PY" bench/report.py "$RESULTS" docs
echo "raw hyperfine JSON: $RESULTS"
