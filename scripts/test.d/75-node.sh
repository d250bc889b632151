#!/usr/bin/env bash
# The Node.js function library (node/, npm lambda-graceful-shutdown): its build
# (limits generated from spec/limits.json; tsc to ESM, CommonJS and types), the
# unit tests on this machine's Node and on the Node 22 of the runtime client,
# then the end-to-end tests: the real aws-lambda-ric on Node 22 in the emulator
# with the real shutdown layer, and the packed tarball installed in a fresh
# directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$SECONDS
lap() { printf '[75-node] %s (%ds)\n' "$1" $((SECONDS - t0)); }

# Built by 05-build.sh; a no-op then, and enough when this suite runs alone.
cargo build -p graceful-shutdown-emulator -p graceful-shutdown-extension
node22=.runtimes/node/bin/node
cd node
pnpm run build
lap "built"
node --test --test-concurrency=1 test/unit/*.test.mjs
lap "unit tests on $(node --version)"
"../$node22" --test --test-concurrency=1 test/unit/*.test.mjs
lap "unit tests on $("../$node22" --version)"
node --test --test-concurrency=1 test/e2e/*.test.mjs
lap "end-to-end tests"
