#!/usr/bin/env bash
# Fidelity against AWS's Runtime Interface Emulator: scripts/rie-compare.sh
# installs the pinned RIE with go install (cached in the target directory) and
# runs rust/emulator/tests/rie.rs. Go is a prerequisite of this project, so with
# CI=true a missing prerequisite (Go, root, unshare) or a failed install fails
# the suite; elsewhere the suite passes and says loudly what did not run.
set -euo pipefail
cd "$(dirname "$0")/../.."

not_run() {
  if [ "${CI:-}" = true ]; then
    echo "RIE comparison NOT RUN: $1 (CI=true, so this fails the suite)" >&2
    exit 1
  fi
  printf '\n*** RIE comparison NOT RUN: %s ***\n\n' "$1"
  exit 0
}

if [ -z "${AWS_LAMBDA_RIE:-}" ] && ! command -v go >/dev/null 2>&1; then
  not_run "go is not installed (install Go 1.26.6 or later, or set AWS_LAMBDA_RIE)"
fi
[ "$(id -u)" = 0 ] || not_run "it needs root (a private mount namespace for /opt/extensions)"
command -v unshare >/dev/null 2>&1 || not_run "unshare (util-linux) is not installed"

status=0
bash scripts/rie-compare.sh || status=$?
case "$status" in
  0) ;;
  3) not_run "the RIE could not be installed (the reason is above)" ;;
  *) echo "RIE comparison FAILED (exit status $status)" >&2; exit "$status" ;;
esac
