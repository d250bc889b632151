#!/usr/bin/env bash
# Formatting, lints (warnings are errors), then the unit and integration tests
# of every Rust crate in the workspace.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Every crate that can be published carries the license text (Apache-2.0
# asks for it with each copy), the same as the root's.
for manifest in rust/*/Cargo.toml; do
  grep -q '^publish = false' "$manifest" && continue
  crate=$(dirname "$manifest")
  cmp -s LICENSE "$crate/LICENSE" || { echo "10-rust: $crate/LICENSE is missing or differs from LICENSE" >&2; exit 1; }
done
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo build --workspace --all-targets
cargo test --workspace
# The handoff flavour of the shutdown layer (docs/protocol.md, Handoff), in
# its own target directory: the default layer's binary stays the default one.
# Its unit tests, and its lifecycle against the fake Extensions API (the
# release layers' checks, tests/artifacts.rs, are the default flavour's).
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/handoff" cargo test -p graceful-shutdown-extension --features handoff \
  --bin graceful-shutdown --test lifecycle --test workers
