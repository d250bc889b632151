#!/usr/bin/env bash
# Debug build of every crate and test target, then the release builds of the
# shutdown layer for both architectures (checked by rust/extension/tests/artifacts.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --workspace --all-targets
bash scripts/build-layers.sh
