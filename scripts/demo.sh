#!/usr/bin/env bash
# The demo in one command on a fresh machine: installs what it needs
# (scripts/setup.sh: pnpm, cargo-lambda and zig, Rust targets, moto, node
# packages; safe to re-run), then runs `pnpm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm run demo
