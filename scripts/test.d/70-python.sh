#!/usr/bin/env bash
# The Python library (python/): unit tests, the shared end-to-end cases
# (tests/cases/) with the real shutdown layer and the real awslambdaric in the
# emulator, thread polling off and on, and the packaging round trip.
# Needs 05-build.sh (the emulator, the layer) and setup.d/40-python.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
python/.venv/bin/python -m pytest -q -p no:cacheprovider python/tests
echo "python suite: $(( $(date +%s) - start )) s"
