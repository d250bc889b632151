#!/usr/bin/env bash
# Builds the benchmark's baseline extension (bench/lambda-extension-baseline,
# on the official lambda-extension crate) and its floor (bench/minimal-extension,
# register and wait on the standard library alone) exactly as the shutdown layer is
# built (same flags as scripts/build-layers.sh): cargo-lambda, the workspace's
# size-tuned `extension` profile (--profile extension), static musl, one binary
# per architecture, zipped as a layer by cargo-lambda (extensions/<name>).
#
#   target/bench/<arch>/extensions/<name>
#   target/bench/<arch>/<name>-layer.zip
#
# Usage: bash bench/build-baseline.sh [x86_64|arm64 ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

NAMES=(lambda-extension-baseline minimal-extension)
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
  mkdir -p "$out/extensions"
  for NAME in "${NAMES[@]}"; do
    cargo lambda build --profile extension --extension -p "$NAME" \
      --target "$triple" --lambda-dir "$out/.build-$NAME" --output-format zip >&2
    mv "$out/.build-$NAME/extensions/$NAME.zip" "$out/$NAME-layer.zip"
    rm -rf "$out/.build-$NAME"
    install -m 0755 "$TARGET_DIR/$triple/extension/$NAME" "$out/extensions/$NAME"
  done
done
