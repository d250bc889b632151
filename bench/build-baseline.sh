#!/usr/bin/env bash
# Builds the benchmark's baseline extension (bench/lambda-extension-baseline,
# on the official lambda-extension crate) exactly as the shutdown layer is
# built: cargo-lambda, release profile of the workspace, static musl, one
# binary per architecture, zipped as a layer (extensions/<name>).
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
  cargo lambda build --release --extension -p "$NAME" --target "$triple" >&2
  out="$TARGET_DIR/bench/$arch"
  mkdir -p "$out/extensions"
  cp "$TARGET_DIR/lambda/extensions/$NAME" "$out/extensions/$NAME"
  chmod 755 "$out/extensions/$NAME"
  python3 - "$out" "$NAME" <<'PY'
import os, sys, zipfile
out, name = sys.argv[1], sys.argv[2]
zip_path = os.path.join(out, f"{name}-layer.zip")
with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo(f"extensions/{name}", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(os.path.join(out, "extensions", name), "rb") as f:
        z.writestr(info, f.read(), compresslevel=9)
print(zip_path)
PY
done
