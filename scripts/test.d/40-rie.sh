#!/usr/bin/env bash
# Fidelity: the same scenarios under the local emulator and under AWS's Runtime
# Interface Emulator, compared step by step (rust/emulator/tests/rie.rs).
# Needs aws-lambda-rie (scripts/setup.d/20-rie.sh), unshare and root.
set -euo pipefail
cd "$(dirname "$0")/../.."

rie="${AWS_LAMBDA_RIE:-}"
if [ -z "$rie" ] && command -v go >/dev/null 2>&1; then
  rie="$(go env GOPATH)/bin/aws-lambda-rie"
fi
if [ -z "$rie" ] || [ ! -x "$rie" ]; then
  echo "RIE comparison NOT RUN: aws-lambda-rie is not installed (see the 20-rie.sh setup output for why)."
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
  echo "RIE comparison NOT RUN: it needs root and unshare (util-linux) for a private /opt/extensions."
  exit 0
fi
AWS_LAMBDA_RIE="$rie" cargo test -p graceful-shutdown-emulator --features rie --test rie
