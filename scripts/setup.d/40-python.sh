#!/usr/bin/env bash
# Test tools of the Python library (python/): a virtualenv at python/.venv with
# pytest, build and setuptools (the wheel and sdist are built in the tests),
# and restmachine + restmachine-aws for the adapter's tests. The library itself
# has no dependencies. Safe to re-run: skipped when the pins are unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=python/.venv
stamp="$venv/.installed-$(sha256sum python/requirements-test.txt | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
  touch "$stamp"
fi
echo "python library test tools: $("$venv/bin/python" -m pytest --version 2>&1) ($("$venv/bin/python" --version))"
