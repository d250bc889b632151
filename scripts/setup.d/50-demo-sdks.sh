#!/usr/bin/env bash
# setup: demo
# The AWS SDKs that Lambda's managed runtimes provide to function code, for
# the demo's Node.js and Python functions run locally: the deployed zips hold
# only the function and this repository's library, as they would on Lambda,
# where nodejs22.x has the AWS SDK for JavaScript v3 on its module path and
# python3.12 has boto3 in its site-packages. Installed once under
# .runtimes/sdk/ (not committed), laid out as a layer (nodejs/node_modules,
# python/), which the demo gives the emulator as one more search path.
# Safe to re-run: skipped when the pins are unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
BOTO3_VERSION=1.43.11
CLIENT_DYNAMODB_VERSION=3.1162.0
dir=.runtimes/sdk
stamp="$dir/.installed-boto3-$BOTO3_VERSION-client-dynamodb-$CLIENT_DYNAMODB_VERSION"
if [ ! -e "$stamp" ]; then
  rm -rf "$dir"
  mkdir -p "$dir/nodejs" "$dir/python"
  python3 -m pip install --quiet --disable-pip-version-check --no-compile --target "$dir/python" "boto3==$BOTO3_VERSION"
  printf '{ "name": "runtime-sdk", "private": true }\n' >"$dir/nodejs/package.json"
  (cd "$dir/nodejs" && npm install --no-fund --no-audit --loglevel=error --save-exact "@aws-sdk/client-dynamodb@$CLIENT_DYNAMODB_VERSION")
  touch "$stamp"
fi
echo "runtime SDKs for the demo: boto3 $BOTO3_VERSION, @aws-sdk/client-dynamodb $CLIENT_DYNAMODB_VERSION ($dir)"
