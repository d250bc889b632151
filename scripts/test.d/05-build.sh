#!/usr/bin/env bash
# Debug build of every crate and test target (and of the handoff flavour of the
# layer), then the release builds of the
# shutdown layer for both architectures (checked by rust/extension/tests/artifacts.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --workspace --all-targets
# The handoff flavour of the shutdown layer, for the emulator's handoff tests,
# in its own target directory so that it does not replace the default layer.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/handoff" cargo build -p graceful-shutdown-extension --features handoff
bash scripts/build-layers.sh
