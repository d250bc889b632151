#!/usr/bin/env bash
# The construct library's Python smoke test runs in its own virtualenv, with
# the Python packages of the CDK that the wheel built by jsii-pacmak needs.
# The same packages are kept as wheels in construct/.wheels, for the test
# that installs the built wheel into a fresh virtualenv without an index.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=construct/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r construct/test/python/requirements.txt
"$venv/bin/python" -m pip download --quiet --disable-pip-version-check -d construct/.wheels -r construct/test/python/requirements.txt
