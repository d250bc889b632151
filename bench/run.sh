#!/usr/bin/env bash
# `pnpm run bench`: builds what is measured, runs the language rows: the
# Node.js and Python libraries' own benches beside their hand-written patterns
# (node/bench/bench.mjs, python/bench/bench.py), and the Go library's beside
# aws-lambda-go's lambda.WithEnableSIGTERM (go/internal/bench), their tables
# printed first, their JSON beside latest.json (node.json, python.json,
# go.json), checked by bench/tests/check_languages.py; then the benchmark
# harness (bench/harness), which prints the main table, the 128 MB table
# (every library at 128 MB beside its hand-written pattern, with the language
# benches' import + install rows), the layer's two flavours side by side and
# the handoff's table, and writes bench/results/latest.json; a full
# run is then published (bench/publish.py: the tables into bench/README.md,
# the JSON into bench/published.json, both tracked).
#
#   bash bench/run.sh            full run (about 20 minutes, includes a cold build)
#   bash bench/run.sh --quick    few repetitions, no cold build (BENCH_QUICK=1 too)
#
# Environment: BENCH_SYNTH overrides the synth command (default `pnpm run synth`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

quick="${BENCH_QUICK:-0}"
[ "$quick" = "true" ] && quick=1
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --) ;; # `pnpm run bench -- --quick` passes the separator through
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$arg'; use --quick or nothing" >&2; exit 2 ;;
  esac
done
[ "$quick" = "1" ] || quick=0

step() { printf '\n==> %s\n' "$*" >&2; }

# What the bench runs (the runtime clients, the Python library's virtualenv,
# cargo-lambda, the node packages) is installed first, so that it also works
# on a fresh clone; each step of setup is skipped when already done. The
# test command, which has just run setup itself, says so and it is not
# run twice.
if [ "${GRACEFUL_SHUTDOWN_SETUP_DONE:-}" != 1 ]; then
  step "setup (scripts/setup.sh)"
  bash scripts/setup.sh >&2
fi
PATH="$PATH:$(python3 -c 'import site, sysconfig; print(sysconfig.get_path("scripts") + ":" + site.getuserbase() + "/bin")')"; export PATH
TARGET="${CARGO_TARGET_DIR:-target}"

# The harness and the probe function: debug in quick mode (already built by the
# test pipeline); optimised without LTO for the full run, so that the emulator
# doing the timing and the function's side of SIGTERM run at production speed.
if [ "$quick" = "1" ]; then
  profile_args=()
  profile_dir=debug
else
  profile_args=(--profile bench-harness
    --config 'profile.bench-harness.inherits="release"'
    --config 'profile.bench-harness.lto=false'
    --config 'profile.bench-harness.codegen-units=16'
    --config 'profile.bench-harness.opt-level=2')
  profile_dir=bench-harness
fi

step "shutdown layer, both flavours (scripts/build-layers.sh --flavour all)"
bash scripts/build-layers.sh --flavour all >&2

step "baseline extension on the lambda-extension crate (bench/build-baseline.sh)"
bash bench/build-baseline.sh >&2

# The layers measured are copied into a directory of this run, under the
# layer build's lock, so that a build started meanwhile (another checkout's
# test command, the construct's package build) cannot rewrite a zip mid-run.
mkdir -p "$TARGET/bench"
LAYERS="$(mktemp -d "$TARGET/bench/layers.XXXXXX")"
trap 'rm -rf "$LAYERS"' EXIT
mkdir -p "$LAYERS/lambda" "$LAYERS/bench"
flock "$TARGET/.build-layers.lock" bash -c '
  for arch in x86_64 arm64; do
    cp -a "$1/lambda/$arch" "$3/lambda/$arch"
    cp -a "$2/$arch" "$3/bench/$arch"
  done' copy-layers "$TARGET" "$TARGET/bench" "$LAYERS"

step "probe function, benchmark harness and its handoff function (${profile_dir})"
cargo build -p lambda-graceful-shutdown --example probe ${profile_args[@]+"${profile_args[@]}"} >&2
cargo build -p graceful-shutdown-bench ${profile_args[@]+"${profile_args[@]}"} >&2

step "restmachine-aws layer (PyPI)"
RM="$TARGET/bench/restmachine"
REQ=bench/alternatives/restmachine/requirements.txt
# The interpreter itself, not a version-manager shim in front of it: Lambda's
# Python runtime starts /var/lang/bin/python3 directly.
PY="$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')"
stamp="$(sha256sum "$REQ" | cut -c1-16)-$(basename "$PY")"
if [ "$(cat "$RM/.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$RM"
  mkdir -p "$RM/layer/extensions"
  "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --compile --target "$RM/layer/python" -r "$REQ" >&2
  echo "$stamp" > "$RM/.stamp"
fi
# The extension script exactly as the package's own generator writes it
# (`python -m restmachine_aws create-extension`), pointed at the interpreter.
PYTHONPATH="$RM/layer/python" "$PY" -m restmachine_aws create-extension \
  -o "$RM/layer/extensions/restmachine-shutdown" >/dev/null
sed -i "1s|^#!.*|#!$PY|" "$RM/layer/extensions/restmachine-shutdown"
"$PY" - "$RM" <<'PY'
import os, sys, zipfile
rm = sys.argv[1]
layer = os.path.join(rm, "layer")
with zipfile.ZipFile(os.path.join(rm, "restmachine-layer.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for base, dirs, files in os.walk(layer):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            z.write(path, os.path.relpath(path, layer))
PY

# Warm synth: what a user types. Quick mode synthesizes the way the demo test
# does (this machine's architecture, quick release builds), whose cargo
# builds that suite has already made warm.
host_arch=x86_64
[ "$(uname -m)" = "aarch64" ] && host_arch=arm64
if [ "$quick" = "1" ]; then
  synth="${BENCH_SYNTH:-pnpm exec cdk synth --quiet -c architecture=$host_arch -c quickBuild=true}"
else
  synth="${BENCH_SYNTH:-pnpm run synth}"
fi

# The fresh Node.js app is made from the packed construct package: build it
# (jsii and its prebuilt layers) when this checkout has not yet.
if [ ! -f construct/lib/index.js ] || [ ! -f construct/layers/graceful-shutdown-arm64.zip ] || [ ! -f construct/layers/graceful-shutdown-x86_64.zip ]; then
  step "construct package (for the fresh Node.js app)"
  (cd construct && pnpm run build) >&2
fi

# A quick run (the test suite's) writes under the target directory, so that it
# never replaces the published results of a full run.
if [ "$quick" = "1" ]; then out="$TARGET/bench/results/latest.json"; else out=bench/results/latest.json; fi
mkdir -p "$(dirname "$out")"
results="$(cd "$(dirname "$out")" && pwd)"

# The language rows. Their end-to-end rows run the real runtime clients
# (scripts/setup.sh installs them under .runtimes/) in the debug emulator with
# the debug shutdown extension, as the libraries' own tests do.
step "language rows: Node.js (node/bench/bench.mjs), Python (python/bench/bench.py) and Go (go/internal/bench)"
if [ "$quick" = "1" ]; then lang_runs=3 py_invokes=30; else lang_runs=21 py_invokes=300; fi
lang_start=$SECONDS
rm -f "$results/node.json" "$results/python.json" "$results/go.json"
for need in .runtimes/node/bin/node .runtimes/python/bin/python python/.venv/bin/python; do
  [ -x "$need" ] || { echo "bench/run.sh: missing $need: run bash scripts/setup.sh first" >&2; exit 1; }
done
cargo build -p gracefulctl -p graceful-shutdown-extension >&2  # lambda-emulator is a gracefulctl binary
(cd node && pnpm run --silent build) >&2
echo
echo "Node.js library beside the hand-written process.on('SIGTERM', ... process.exit(0)) (median, p10-p90, n):"
(cd node && node bench/bench.mjs --runs "$lang_runs" --json "$results/node.json")
echo
echo "Python library beside the hand-written signal.signal(SIGTERM, ...) (median, p10-p90, n):"
python/.venv/bin/python python/bench/bench.py --runs "$lang_runs" --invokes "$py_invokes" --json "$results/python.json"
echo
echo "Go library beside aws-lambda-go's lambda.WithEnableSIGTERM, and both in one function (median, p10-p90, n):"
(cd go && go run ./internal/bench --runs "$lang_runs" --json "$results/go.json")
python3 bench/tests/check_languages.py "$results" "$lang_runs" >&2
echo "language rows: $((SECONDS - lang_start)) s" >&2

# The functions of the 128 MB table (bench/harness/src/languages.rs): the Go
# library's probe, the Java library's probe (its test classes) and the
# hand-written Java shutdown hook; the Python and Node.js ones run from source.
step "functions at 128 MB: the Go and Java probes, the hand-written Java hook"
mkdir -p "$TARGET/bench/go-probe"
go_probe="$(cd "$TARGET/bench/go-probe" && pwd)/bootstrap"
(cd go && go build -o "$go_probe" ./internal/probe) >&2
(cd java && mvn -q -B --no-transfer-progress -DskipTests test-compile) >&2
rm -rf "$TARGET/bench/handwritten-java"
javac --release 17 -d "$TARGET/bench/handwritten-java" bench/alternatives/handwritten/java/Handwritten.java >&2

step "benchmark ($([ "$quick" = "1" ] && echo quick || echo full))"
cmd="pnpm run bench"
harness_args=(--root "$ROOT"
  --target-dir "$TARGET"
  --probe "$TARGET/$profile_dir/examples/probe"
  --layer-dir "$LAYERS/lambda"
  --baseline-dir "$LAYERS/bench"
  --handoff-function "$TARGET/$profile_dir/bench-handoff-function"
  --restmachine-dir "$RM"
  --synth "$synth"
  --out "$out"
  --language-results "$results"
  --go-probe "$go_probe"
  --java-handwritten "$TARGET/bench/handwritten-java"
  --date "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
if [ "$quick" = "1" ]; then
  harness_args+=(--quick)
  cmd="pnpm run bench --quick"
else
  harness_args+=(--cold-build "bash scripts/build-layers.sh")
fi
BENCH_QUICK= "$TARGET/$profile_dir/graceful-shutdown-bench" "${harness_args[@]}" --command "$cmd"

if [ "$quick" = "0" ]; then
  # Only a complete, sane full run is published.
  python3 bench/tests/check_results.py bench/results/latest.json full >&2
  python3 bench/publish.py bench/results/latest.json bench/results/table.md bench/README.md \
    bench/published.json >&2
fi
