#!/usr/bin/env bash
# Unit and integration tests of every Rust crate in the workspace.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --workspace --all-targets
cargo test --workspace
