#!/usr/bin/env bash
# Stress mode: runs the end-to-end test binaries many times in parallel lanes
# (several times the core count), to catch tests that fail by chance. Not
# part of the test suite (too slow for CI); run it after touching a test,
# the test kit, the library's reports or the emulator.
#
#   bash scripts/stress.sh                 12 lanes x 4 runs of each binary
#   STRESS_LANES=6 STRESS_RUNS=2 bash scripts/stress.sh
#
# Environment:
#   STRESS_LANES      parallel lanes (default 12)
#   STRESS_RUNS       runs of every binary in each lane (default 4)
#   STRESS_TESTS      test targets (default "with_extension shutdown lifecycle fault_matrix")
#   STRESS_RUN_LIMIT  seconds one run of one binary may take before it counts as failed (default 600)
#   STRESS_TIME_LIMIT seconds for the whole stress run; lanes start no new run after it,
#                     and runs not started count as failures (default 3600)
#
# Prints, per binary, the runs, the failures and the failing tests; exits 1 on
# any failure or any run not done in time. Logs stay under <target>/stress/.
set -euo pipefail
cd "$(dirname "$0")/.."

lanes="${STRESS_LANES:-12}"
runs="${STRESS_RUNS:-4}"
tests="${STRESS_TESTS:-with_extension shutdown lifecycle fault_matrix}"
run_limit="${STRESS_RUN_LIMIT:-600}"
time_limit="${STRESS_TIME_LIMIT:-3600}"
for v in lanes runs run_limit time_limit; do
  case "${!v}" in
    ''|*[!0-9]*|0) echo "stress.sh: STRESS_${v^^}: expected a positive whole number, got \"${!v}\"" >&2; exit 2 ;;
  esac
done
target="${CARGO_TARGET_DIR:-target}"
out="$target/stress"
rm -rf "$out"
mkdir -p "$out"

# What the end-to-end tests run: the extension, the probe function, the
# official extension fixture, lambda-emulator (a gracefulctl binary); then
# the test binaries, built once.
echo "stress: building" >&2
cargo build -q -p graceful-shutdown-extension -p official-extension-fixture -p gracefulctl >&2
cargo build -q -p lambda-graceful-shutdown --examples >&2
test_args=()
for t in $tests; do test_args+=(--test "$t"); done
cargo test -q --no-run -p lambda-graceful-shutdown -p graceful-shutdown-extension -p graceful-shutdown-emulator \
  "${test_args[@]}" >&2
# The executables, from cargo's own report of what it built.
cargo test -q --no-run --message-format=json -p lambda-graceful-shutdown -p graceful-shutdown-extension \
  -p graceful-shutdown-emulator "${test_args[@]}" 2>/dev/null \
  | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])
' > "$out/binaries"
for t in $tests; do
  grep -q "^$t " "$out/binaries" || { echo "stress.sh: no test binary named $t (STRESS_TESTS)" >&2; exit 2; }
done

count=$(wc -w <<<"$tests")
echo "stress: $lanes lanes x $runs runs of $count binaries ($((lanes * runs)) runs each), at most ${time_limit} s" >&2
start=$(date +%s)
lane() {
  local lane=$1 names=($tests) i r k name exe log rc
  for ((r = 1; r <= runs; r++)); do
    for ((i = 0; i < ${#names[@]}; i++)); do
      # Lanes start at different binaries, so that every moment has a mix.
      k=$(( (i + lane) % ${#names[@]} ))
      name=${names[$k]}
      log="$out/$name.lane$lane.run$r.log"
      if (( $(date +%s) - start >= time_limit )); then
        echo "$name not-run" >> "$out/lane$lane.results"
        continue
      fi
      exe=$(awk -v n="$name" '$1 == n {print $2}' "$out/binaries")
      rc=0
      timeout --kill-after=10 "$run_limit" "$exe" > "$log" 2>&1 || rc=$?
      if [ "$rc" = 0 ]; then
        echo "$name ok" >> "$out/lane$lane.results"
        rm -f "$log"
      else
        echo "$name failed $log" >> "$out/lane$lane.results"
      fi
    done
  done
}
pids=()
for ((l = 1; l <= lanes; l++)); do
  lane "$l" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
elapsed=$(( $(date +%s) - start ))

cat "$out"/lane*.results > "$out/results"
bad=0
printf '%-16s %5s %7s %8s\n' binary runs failed not-run
for t in $tests; do
  ok=$(grep -c "^$t ok$" "$out/results" || true)
  failed=$(grep -c "^$t failed " "$out/results" || true)
  notrun=$(grep -c "^$t not-run$" "$out/results" || true)
  printf '%-16s %5d %7d %8d\n' "$t" $((ok + failed)) "$failed" "$notrun"
  if [ "$failed" != 0 ] || [ "$notrun" != 0 ]; then bad=1; fi
  { grep "^$t failed " "$out/results" || true; } | while read -r _ _ log; do
    echo "  $log:"
    grep -E '^test .* FAILED$|^---- .* ----$|panicked at' "$log" | sed 's/^/    /' | head -20
  done
done
echo "stress: ${elapsed} s" >&2
exit "$bad"
