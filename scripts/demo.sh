#!/usr/bin/env bash
# The demo in one command on a fresh machine: installs what it needs
# (scripts/setup.sh: pnpm, cargo-lambda and zig, Rust targets, moto, node
# packages; safe to re-run), then runs `pnpm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo
# pip puts console scripts (cargo-lambda, moto_server) beside the interpreter,
# or in the user's base when it installs with --user.
PATH="$PATH:$(python3 -c 'import site, sysconfig; print(sysconfig.get_path("scripts") + ":" + site.getuserbase() + "/bin")')"; export PATH
pnpm run demo
