#!/usr/bin/env bash
# The Go library's modules (go/go.mod): aws-lambda-go, which only its probe
# function and tests use (the library itself needs the standard library only),
# from the Go module proxy into the module cache. Needs Go 1.26 or later
# (aws-lambda-go v1.55.1's go.mod). Safe to re-run: cached modules are not
# fetched again.
set -euo pipefail
cd "$(dirname "$0")/../../go"
timeout --kill-after=10 600 go mod download
echo "go modules: $(go list -m all | tr '\n' ' ')($(go version))"
