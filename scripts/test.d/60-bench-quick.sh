#!/usr/bin/env bash
# The benchmark in quick mode (few repetitions, no cold build), so that it
# cannot rot: it must run end to end and write every metric with sane values.
# No timing target is asserted here; the full run (`pnpm run bench`) is not
# part of the tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
log="$target/bench/logs/quick-run.log"
mkdir -p "$(dirname "$log")"
rm -f "$target/bench/results/latest.json"
BENCH_QUICK=1 bash bench/run.sh > "$log"
cat "$log"
grep -q '^| metric | graceful-shutdown (this layer) | lambda-extension crate (Rust) | restmachine-aws (Python) | floor: register + wait, std only | target |$' "$log" \
  || { echo "60-bench-quick: the printed table has no header row (see $log)" >&2; exit 1; }
python3 bench/tests/check_results.py "$target/bench/results/latest.json" quick
