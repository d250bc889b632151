#!/usr/bin/env bash
# Runs every test of the project. First, before anything of this checkout is
# built: the generated modules match spec/ (scripts/generate.mjs --check), and
# the README's main job runs in a fresh clone of HEAD with nothing built and
# prints every language's result (demo/test/fresh-clone.test.mjs). Then it
# installs what the suites need and runs scripts/test.d/ in name order.
# Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
printf '==> the generated modules match spec/\n'
node scripts/generate.mjs --check
printf '\n==> the README main job in a fresh clone\n'
node --test --test-reporter=spec demo/test/fresh-clone.test.mjs
bash scripts/setup.sh
# Suites that install what they need when run alone (bench/run.sh) skip it.
export GRACEFUL_SHUTDOWN_SETUP_DONE=1
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
