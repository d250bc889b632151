#!/usr/bin/env bash
# Formatting, lints (warnings are errors), then the unit and integration tests
# of every Rust crate in the workspace.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo build --workspace --all-targets
cargo test --workspace
