#!/usr/bin/env bash
# Builds the benchmark's baseline extension (bench/lambda-extension-baseline,
# on the official lambda-extension crate) exactly as the shutdown layer is
# built (same flags as scripts/build-layers.sh): cargo-lambda, release profile
# of the workspace, static musl, one binary per architecture, zipped as a
# layer by cargo-lambda (extensions/<name>).
#
#   target/bench/<arch>/extensions/lambda-extension-baseline
#   target/bench/<arch>/lambda-extension-baseline-layer.zip
#
# Usage: bash bench/build-baseline.sh [x86_64|arm64 ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=lambda-extension-baseline
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(x86_64 arm64)

for arch in "${archs[@]}"; do
  case "$arch" in
    x86_64) triple=x86_64-unknown-linux-musl ;;
    arm64) triple=aarch64-unknown-linux-musl ;;
    *) echo "build-baseline.sh: unknown architecture '$arch'; use x86_64 or arm64" >&2; exit 2 ;;
  esac
  out="$TARGET_DIR/bench/$arch"
  rm -rf "$out"
  cargo lambda build --release --extension -p "$NAME" \
    --target "$triple" --lambda-dir "$out" --output-format zip >&2
  mv "$out/extensions/$NAME.zip" "$out/$NAME-layer.zip"
  install -m 0755 "$TARGET_DIR/$triple/release/$NAME" "$out/extensions/$NAME"
done
