#!/usr/bin/env bash
# Builds the benchmark's baseline extension (bench/lambda-extension-baseline,
# on the official lambda-extension crate) and its floor (bench/minimal-extension,
# register and wait on the standard library alone) exactly as the shutdown layer is
# built: by the layer build itself (scripts/build-layers.sh, from spec/layer.json):
# cargo-lambda, the workspace's size-tuned `extension` profile, static musl, one
# binary per architecture, zipped as a layer by cargo-lambda (extensions/<name>).
#
#   target/bench/<arch>/extensions/<name>
#   target/bench/<arch>/<name>-layer.zip
#
# Usage: bash bench/build-baseline.sh [x86_64|arm64 ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

NAMES=(lambda-extension-baseline minimal-extension)
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

packages=()
for NAME in "${NAMES[@]}"; do packages+=(--package "$NAME"); done
bash scripts/build-layers.sh --out "$TARGET_DIR/bench" "${packages[@]}" "$@" >&2
