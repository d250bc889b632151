#!/usr/bin/env bash
# The demo app and the offline deploy round trip: type-check the CDK app and
# the demo runner, then bootstrap, deploy and cdk-assets publish against moto
# on loopback, and run each deployed function (Rust, Node.js on aws-lambda-ric,
# Python on awslambdaric) and the layer in the local lifecycle emulator, with
# and without the layer, and with it behind a slow store, the last batch
# written by the handler or handed off to the layer (demo/test/demo.test.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
export NODE_NO_WARNINGS=1
pnpm exec tsc -p tsconfig.json
node --import tsx --test --test-concurrency=1 --test-reporter=spec demo/test/helpers.test.ts demo/test/demo.test.ts
