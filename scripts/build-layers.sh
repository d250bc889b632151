#!/usr/bin/env bash
# Builds the shutdown layer for Lambda with cargo-lambda, for x86_64 and arm64,
# as static musl binaries (they run on Amazon Linux 2 and 2023 alike), and
# zips each layer:
#   target/lambda/<arch>/extensions/graceful-shutdown   (the binary)
#   target/lambda/<arch>/graceful-shutdown-layer.zip    (extensions/graceful-shutdown, mode 0755)
# Usage: scripts/build-layers.sh [x86_64|arm64 ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(x86_64 arm64)

# One layer build at a time per target dir: each run replaces target/lambda/<arch>.
# A caller that already holds the lock (to copy the outputs under it) says so
# with BUILD_LAYERS_LOCK_HELD=1.
mkdir -p "$target_dir"
if [ "${BUILD_LAYERS_LOCK_HELD:-}" != 1 ]; then
  exec 9>"$target_dir/.build-layers.lock"
  flock 9
fi

for arch in "${arches[@]}"; do
  case "$arch" in
    x86_64) triple=x86_64-unknown-linux-musl ;;
    arm64) triple=aarch64-unknown-linux-musl ;;
    *) echo "build-layers.sh: unknown architecture '$arch' (expected x86_64 or arm64)" >&2; exit 2 ;;
  esac
  out="$target_dir/lambda/$arch"
  printf '==> shutdown layer for %s (%s)\n' "$arch" "$triple"
  rm -rf "$out"
  cargo lambda build --profile extension --extension -p graceful-shutdown-extension \
    --target "$triple" --lambda-dir "$out" --output-format zip
  mv "$out/extensions/graceful-shutdown.zip" "$out/graceful-shutdown-layer.zip"
  install -m 0755 "$target_dir/$triple/extension/graceful-shutdown" "$out/extensions/graceful-shutdown"
  printf '    binary %s bytes, zipped layer %s bytes\n' \
    "$(wc -c < "$out/extensions/graceful-shutdown")" "$(wc -c < "$out/graceful-shutdown-layer.zip")"
done
