#!/usr/bin/env bash
# The CDK construct library: jsii compile (its prebuild runs the layer build
# and puts the prebuilt layer zips, both flavours, in the package), the shipped layers
# against a fresh layer build, synth tests (prebuilt and source layers,
# metrics), real cargo-lambda builds for arm64 and x86_64, jsii-pacmak
# packages, a Python smoke test of the built wheel, and TypeScript and Python
# apps synthesized from the packed artifacts outside the repository without
# any Rust tool on the PATH.
set -euo pipefail
cd "$(dirname "$0")/../../construct"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
t0=$SECONDS
lap() { printf '[30-construct] %s (%ds)\n' "$1" $((SECONDS - t0)); }

pnpm run build
lap "jsii compiled the package"

rm -rf .test-build
pnpm exec tsc -p tsconfig.test.json
node --test --test-concurrency=1 .test-build/limits.test.js .test-build/layers.test.js .test-build/bundling.test.js \
  .test-build/synth.test.js .test-build/prebuilt.test.js .test-build/metrics.test.js .test-build/build.test.js
lap "node tests (shipped layers, synth, metrics and real cargo-lambda builds)"

rm -rf dist
pnpm exec jsii-pacmak --targets python
test -f dist/python/cdk_lambda_graceful_shutdown-*.whl
# The package is self-contained: it ships both prebuilt layers, and the
# extension crate to build the layer from source.
contents=$(python3 -c '
import glob, io, tarfile, zipfile
wheel = zipfile.ZipFile(glob.glob("dist/python/*.whl")[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
print("\n".join(tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))).getnames()))')
for f in lib/index.js LICENSE layers/graceful-shutdown-arm64.zip layers/graceful-shutdown-x86_64.zip layers/graceful-shutdown-handoff-arm64.zip layers/graceful-shutdown-handoff-x86_64.zip rust-src/Cargo.toml rust-src/Cargo.lock rust-src/spec/limits.json \
         rust-src/rust/extension/Cargo.toml rust-src/rust/extension/src/main.rs rust-src/rust/protocol/src/lib.rs; do
  grep -qx "package/$f" <<<"$contents" || { echo "the packaged library lacks $f" >&2; exit 1; }
done
if grep -q '^package/rust-src/target/' <<<"$contents"; then echo "the packaged library holds a Cargo build (rust-src/target)" >&2; exit 1; fi
lap "jsii-pacmak (python)"

# Go and Java: the bindings are generated and Go's parse, but not compiled:
# the registries reachable here serve no version of cargo-lambda-cdk's Go
# module (the module proxy answers 403 "This module version is not
# available"), nor aws-cdk-lib 2.273.0 for Go or its Maven jar, which the
# builds need.
pnpm exec jsii-pacmak --targets go java --code-only
gofmt -e -l dist/go >/dev/null
for cls in GracefulShutdown GracefulShutdownAspect GracefulShutdownFunction GracefulShutdownLayer ShutdownLimits; do
  test -f "dist/go/cdklambdagracefulshutdown/$cls.go"
  test -f "dist/java/src/main/java/io/github/gracefulshutdown/cdk/$cls.java"
done
lap "jsii-pacmak (go, java: code only)"

.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall dist/python/*.whl
(cd test/python && ../../.venv/bin/python -m unittest -v test_smoke.py)
lap "Python smoke test"

bash test/packed/run.sh
lap "TypeScript and Python apps from the packed artifacts, outside the repository, no Rust tools"
