#!/usr/bin/env bash
# Fidelity check: the same scenarios under the local emulator and under AWS's
# Runtime Interface Emulator, compared step by step (rust/emulator/tests/rie.rs).
#
#   bash scripts/rie-compare.sh            # installs aws-lambda-rie with go install
#   AWS_LAMBDA_RIE=/path/to/aws-lambda-rie bash scripts/rie-compare.sh
#
# Not part of scripts/test.sh: the Go module proxy that this project's CI
# reaches answers 403 for the RIE's module, so CI cannot install it. This
# script fails, and says why, when it cannot run the comparison.
# Needs root and unshare (util-linux): the RIE scans /opt/extensions, so each
# scenario runs in a private mount namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
VERSION=v1.30

rie="${AWS_LAMBDA_RIE:-}"
if [ -z "$rie" ]; then
  command -v go >/dev/null 2>&1 || { echo "rie-compare: set AWS_LAMBDA_RIE, or install Go to go install ${MODULE}" >&2; exit 1; }
  rie="$(go env GOPATH)/bin/aws-lambda-rie"
  if [ ! -x "$rie" ]; then
    go install "${MODULE}@${VERSION}" || { echo "rie-compare: go install ${MODULE}@${VERSION} failed; build the RIE from its source and set AWS_LAMBDA_RIE" >&2; exit 1; }
  fi
fi
[ -x "$rie" ] || { echo "rie-compare: AWS_LAMBDA_RIE=$rie is not an executable" >&2; exit 1; }
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
  echo "rie-compare: needs root and unshare (util-linux) for a private /opt/extensions" >&2
  exit 1
fi
cargo build -q --workspace --bins --examples
AWS_LAMBDA_RIE="$rie" cargo test -p graceful-shutdown-emulator --features rie --test rie
