#!/usr/bin/env bash
# The Node.js function library (node/, npm lambda-graceful-shutdown): its build
# (limits generated from spec/limits.json; tsc to ESM, CommonJS and types), the
# unit tests on this machine's Node, on the Node 22 of the runtime client and on
# Node 24, then the end-to-end tests: the real aws-lambda-ric on Node 22 (and
# one case on Node 24) with the real
# shutdown layer in the emulator (on demand and Managed Instances, the shared
# cases of tests/cases/) and under AWS's Runtime Interface Emulator (needs
# root and unshare, as 40-rie.sh), and the packed tarball installed in a
# fresh directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$SECONDS
lap() { printf '[75-node] %s (%ds)\n' "$1" $((SECONDS - t0)); }

# Built by 05-build.sh; a no-op then, and enough when this suite runs alone.
# The emulator's binary, lambda-emulator, is built by gracefulctl; the shared
# cases run on shutdown-conformance (graceful-shutdown-conformance).
cargo build -p gracefulctl -p graceful-shutdown-extension -p graceful-shutdown-conformance
node22=.runtimes/node/bin/node
node24=.runtimes/node24/bin/node
# The RIE for the tests under it: installed by 40-rie.sh (scripts/rie-compare.sh,
# which pins it); when this suite runs alone, installed here the same way.
bash scripts/install-rie.sh >/dev/null
cd node
pnpm run build
lap "built"
node --test --test-concurrency=1 test/unit/*.test.mjs
lap "unit tests on $(node --version)"
"../$node22" --test --test-concurrency=1 test/unit/*.test.mjs
lap "unit tests on $("../$node22" --version)"
"../$node24" --test --test-concurrency=1 test/unit/*.test.mjs
lap "unit tests on $("../$node24" --version)"
node --test --test-concurrency=1 test/e2e/*.test.mjs
lap "end-to-end tests"
