#!/usr/bin/env bash
# Fidelity check: the same scenarios under the local emulator and under AWS's
# Runtime Interface Emulator, compared step by step (rust/emulator/tests/rie.rs);
# then the shared cases that apply there, with the Rust library's probe
# (rust/conformance/tests/rust_probe.rs, the conformance driver's RIE backend).
# scripts/test.d/40-rie.sh runs it as part of scripts/test.sh.
#
#   bash scripts/rie-compare.sh            # installs aws-lambda-rie with go install (cached)
#   AWS_LAMBDA_RIE=/path/to/aws-lambda-rie bash scripts/rie-compare.sh
#
# The RIE is pinned here (MODULE, VERSION: the tests of every language read
# these two lines) and installed, cached in the target directory, by
# scripts/install-rie.sh. Its release tags (v1.30, ...) are not semantic
# versions, so the Go module proxy does not serve them (`go install
# ...aws-lambda-rie@v1.30` fails with "reading
# https://proxy.golang.org/github.com/aws/@v/list: 403 Forbidden"), while
# `go list -m github.com/aws/aws-lambda-runtime-interface-emulator@latest`
# resolves to the newest commit as a pseudo-version, which installs. To move
# the pin, put that command's answer in VERSION and rerun this script: the log
# lines rie.rs reads (step_of_rie_line) must still match. The module needs
# Go 1.26.6 or later. Every step is bounded in time.
#
# Exit status: 0 the comparison passed; 3 it could not run (no Go, no root or
# unshare, or the install failed), with the reason on stderr; any other status
# is cargo's or timeout's: the build or the comparison failed.
# Needs root and unshare (util-linux): the RIE scans /opt/extensions, so each
# scenario runs in a private mount namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
VERSION=v0.0.0-20261030222936-bef5c4ba774d
TEST_LIMIT_S=900

cannot_run() { echo "rie-compare: cannot run: $*" >&2; exit 3; }

rie=$(bash scripts/install-rie.sh) || cannot_run "the RIE could not be installed (the reason is above)"
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
  cannot_run "needs root and unshare (util-linux) for a private /opt/extensions"
fi
timeout --kill-after=10 "$TEST_LIMIT_S" cargo build -q --workspace --bins --examples
AWS_LAMBDA_RIE="$rie" timeout --kill-after=10 "$TEST_LIMIT_S" \
  cargo test -p graceful-shutdown-emulator --features rie --test rie
# The shared cases (tests/cases/shutdown.json) that apply under the RIE, with
# the Rust library's probe, through the conformance driver's RIE backend.
AWS_LAMBDA_RIE="$rie" timeout --kill-after=10 "$TEST_LIMIT_S" \
  cargo test -p graceful-shutdown-conformance --features rie --test rust_probe
