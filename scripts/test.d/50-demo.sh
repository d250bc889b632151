#!/usr/bin/env bash
# The offline deploy round trip: bootstrap, deploy and cdk-assets publish
# against moto on loopback, then the deployed function and layer run in the
# local lifecycle emulator, with and without the layer.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NODE_NO_WARNINGS=1
node --import tsx --test --test-reporter=spec scripts/demo/demo.test.ts
