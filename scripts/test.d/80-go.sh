#!/usr/bin/env bash
# The Go function library (go/, module github.com/graceful-shutdown/graceful-shutdown-lambda/go):
# go vet, then go test: the unit tests (with the report bytes compared with
# spec/vectors, written by the Rust encoder), and the end-to-end tests: the Go
# probe on aws-lambda-go with the real shutdown layer, every shared case of
# tests/cases/ run and checked by the one driver, shutdown-conformance, in the
# emulator (also on 7 % of a core and on Managed Instances) and, for the
# applicable ones, under AWS's Runtime Interface Emulator (needs root and
# unshare, as 40-rie.sh), and the measurements beside aws-lambda-go's
# lambda.WithEnableSIGTERM.
# Self-sufficient: builds the emulator, the layer and the driver, and installs
# the RIE when it is not there yet. Needs setup.d/80-go.sh (the Go modules).
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$SECONDS
lap() { printf '[80-go] %s (%ds)\n' "$1" $((SECONDS - t0)); }

# Built by 05-build.sh; a no-op then, and enough when this suite runs alone.
# The emulator's binary, lambda-emulator, is built by gracefulctl; the shared
# cases run on shutdown-conformance (graceful-shutdown-conformance), which the
# tests find in the target directory (CARGO_TARGET_DIR, else target/), debug/.
cargo build -p gracefulctl -p graceful-shutdown-extension -p graceful-shutdown-conformance
lap "built the emulator, the layer and the driver"
# The RIE: installed by 40-rie.sh (scripts/rie-compare.sh pins it); when this
# suite runs alone, installed here the same way.
bash scripts/install-rie.sh >/dev/null
cd go
go vet ./...
lap "go vet"
# One package at a time: the end-to-end tests measure shutdown timings, on a
# machine that may have two cores.
# -v: the figures (t.Logf "figure: ...") are printed.
go test -count=1 -p 1 -v ./...
lap "go test (unit and end-to-end)"
