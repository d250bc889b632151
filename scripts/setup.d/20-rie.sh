#!/usr/bin/env bash
# Installs AWS's Lambda Runtime Interface Emulator (aws-lambda-rie) with
# `go install`, for the emulator's fidelity comparison (scripts/test.d/40-rie.sh).
# Optional: without Go, or when the module proxy does not serve the module,
# it says why and setup goes on; the comparison suite then reports that it
# could not run.
set -euo pipefail

MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
VERSION=v1.30

if ! command -v go >/dev/null 2>&1; then
  echo "aws-lambda-rie: Go is not installed; skipping the RIE install"
  exit 0
fi
bin="$(go env GOPATH)/bin/aws-lambda-rie"
if [ -x "$bin" ]; then
  echo "aws-lambda-rie: already installed at $bin"
  exit 0
fi
log="$(mktemp)"
if go install "${MODULE}@${VERSION}" >"$log" 2>&1; then
  echo "aws-lambda-rie: installed at $bin"
else
  echo "aws-lambda-rie: go install ${MODULE}@${VERSION} failed; the RIE comparison will not run:"
  sed 's/^/  /' "$log"
fi
rm -f "$log"
