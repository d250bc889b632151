#!/usr/bin/env bash
# Installs everything the demo and the tests need, on a machine that has git,
# Node 20 with npm, Rust via rustup, Python 3 with pip, and Go (and, on Debian,
# installs qemu-user-static with apt-get). Safe to re-run:
# every step checks what is already there.
#
#   bash scripts/setup.sh          everything the tests need
#   bash scripts/setup.sh --demo   only what the demo needs (scripts/demo.sh):
#                                  no qemu-user, and of scripts/setup.d/ only
#                                  the files that say `# setup: demo`
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "") for_demo=false ;;
  --demo) for_demo=true ;;
  *) echo "setup.sh: unknown argument \"$1\"; use no argument (everything the tests need) or --demo" >&2; exit 2 ;;
esac

PNPM_VERSION=9.15.9
step() { printf '\n==> %s\n' "$*"; }

step "pnpm ${PNPM_VERSION}"
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "${PNPM_VERSION}" ]; then
  npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}"
fi

step "Python tools (cargo-lambda with zig, moto, cfn-lint)"
python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

step "Rust targets"
rustup target add aarch64-unknown-linux-gnu aarch64-unknown-linux-musl x86_64-unknown-linux-musl >/dev/null

step "qemu-user (runs the other architecture's layer binary in the tests)"
if [ "$for_demo" = true ]; then
  echo "not needed by the demo"
elif ! command -v qemu-aarch64-static >/dev/null 2>&1 || ! command -v qemu-x86_64-static >/dev/null 2>&1; then
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get install -qq -y --no-install-recommends qemu-user-static >/dev/null \
    || { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -qq -y --no-install-recommends qemu-user-static >/dev/null; }
fi

step "Node packages"
if ! pnpm install --frozen-lockfile --reporter=append-only; then
  # A lockfile that no longer matches package.json fails CI; elsewhere, say so and resolve anew.
  [ "${CI:-}" != true ] || { echo "setup: pnpm-lock.yaml does not match package.json; run pnpm install and commit the lockfile" >&2; exit 1; }
  echo "setup: pnpm-lock.yaml does not match package.json; installing without --frozen-lockfile" >&2
  pnpm install --reporter=append-only
fi

for extra in scripts/setup.d/*.sh; do
  [ -e "$extra" ] || continue
  if [ "$for_demo" = true ] && ! grep -qx '# setup: demo' "$extra"; then continue; fi
  step "$(basename "$extra")"
  bash "$extra"
done
