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

# The library supports Python 3.9 to 3.14. Its unit tests also run on every
# other CPython of those versions that pyenv has installed on this machine,
# each in a virtualenv of its own holding pytest only (70-python.sh).
pytest_pin=$(grep -E '^pytest==' python/requirements-test.txt)
main=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for py in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python; do
  [ -x "$py" ] || continue
  minor=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  case "$minor" in 3.9 | 3.1[0-4]) ;; *) continue ;; esac
  [ "$minor" != "$main" ] || continue
  extra="python/.venv-$minor"
  if [ ! -e "$extra/.installed-$pytest_pin" ]; then
    rm -rf "$extra"
    "$py" -m venv "$extra"
    "$extra/bin/python" -m pip install --quiet --disable-pip-version-check "$pytest_pin"
    touch "$extra/.installed-$pytest_pin"
  fi
  echo "python library unit tests also on: $("$extra/bin/python" --version)"
done
