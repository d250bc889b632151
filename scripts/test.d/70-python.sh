#!/usr/bin/env bash
# The Python library (python/): unit tests, the shared end-to-end cases
# (tests/cases/) with the real shutdown layer and the real awslambdaric in the
# emulator, thread polling off and on, and the packaging round trip.
# Needs setup.d/40-python.sh; the shared cases run on shutdown-conformance.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
# Built by 05-build.sh; a no-op then, and enough when this suite runs alone:
# the emulator (gracefulctl's lambda-emulator), the layer, and the driver of
# the shared cases, shutdown-conformance.
cargo build -p gracefulctl -p graceful-shutdown-extension -p graceful-shutdown-conformance
python/.venv/bin/python -m pytest -q -p no:cacheprovider python/tests
# The unit tests (the standard library only) on the other supported CPythons
# setup found; which ones ran is printed.
ran=()
for venv in python/.venv-3.*; do
  [ -x "$venv/bin/python" ] || continue
  "$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests/test_core.py python/tests/test_limits_and_config.py \
    python/tests/test_params.py python/tests/test_report.py python/tests/test_reporter.py python/tests/test_runner.py python/tests/test_handoff.py
  ran+=("$("$venv/bin/python" --version)")
done
echo "python unit tests also passed on: ${ran[*]:-no other interpreter on this machine} (and on $(python/.venv/bin/python --version), everything)"
echo "python suite: $(( $(date +%s) - start )) s"
