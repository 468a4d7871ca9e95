#!/usr/bin/env bash
# Runs a command once per file, as a shell loop in CI would:
#
#   bash bench/loop.sh 'COMMAND ARGS' FILE...
#
# bench/compare.sh times this to compare tools that take one file per
# process on the whole corpus. COMMAND ARGS is split on spaces (no paths
# with spaces). Output and exit codes are thrown away: audits exit 1
# when they find hazards, and failures are counted separately.
command=$1
shift
for file in "$@"; do
  # shellcheck disable=SC2086 # word splitting of the command is wanted
  $command "$file" >/dev/null 2>&1 || true
done
