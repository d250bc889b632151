#!/usr/bin/env bash
# Runs every test of the project: installs what it needs first, then runs the
# suites in scripts/test.d/ in name order. Stops at the first failing suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# pip puts console scripts (cargo-lambda, moto_server) beside the interpreter,
# or in the user's base when it installs with --user.
PATH="$PATH:$(python3 -c 'import site, sysconfig; print(sysconfig.get_path("scripts") + ":" + site.getuserbase() + "/bin")')"; export PATH
export CARGO_TERM_COLOR=never
# A whole run from a fresh clone gains nothing from incremental compilation,
# and its caches would take about a gigabyte of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
passed=0
for suite in scripts/test.d/*.sh; do
  printf '\n==> test suite %s\n' "$(basename "$suite")"
  bash "$suite"
  passed=$((passed + 1))
done
printf '\nsuites: %d passed, 0 failed\n' "$passed"
