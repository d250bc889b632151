#!/usr/bin/env bash
# The demo in one command on a fresh machine: installs what it needs
# (scripts/setup.sh: pnpm, cargo-lambda and zig, Rust targets, moto, node
# packages; safe to re-run), then runs `pnpm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# pip may put console scripts (cargo-lambda, moto_server) in the user's base.
PATH="$PATH:$(python3 -c 'import site; print(site.getuserbase())')/bin"; export PATH
pnpm run demo
