#!/usr/bin/env bash
# From the packed artifacts, outside the repository: `npm pack` the built
# package, install the tarball into a fresh directory with aws-cdk-lib and
# constructs, and synthesize a TypeScript app with Node.js functions on both
# architectures; then install the jsii Python wheel into a fresh virtualenv
# and synthesize a Python CDK app. Both synths run with a PATH that holds node
# (and the venv's python) only: no cargo, cargo-lambda, rustc or docker.
# Needs: `pnpm run build` and `jsii-pacmak --targets python` done in construct/,
# and the wheels of test/python/requirements.txt in construct/.wheels (setup).
# Usage: bash test/packed/run.sh   (from construct/)
set -euo pipefail
unset LAYER_FROM_SOURCE
pkg=$(cd "$(dirname "$0")/../.." && pwd)
here="$pkg/test/packed"
work=$(mktemp -d "${TMPDIR:-/tmp}/graceful-shutdown-packed.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$SECONDS
lap() { printf '[packed] %s (%ds)\n' "$1" $((SECONDS - t0)); }

# The tool-less PATH: node only.
mkdir "$work/bin"
ln -s "$(command -v node)" "$work/bin/node"
for tool in cargo cargo-lambda rustc docker zig; do
  if PATH="$work/bin" command -v "$tool" >/dev/null; then echo "packed: $tool is on the synth PATH" >&2; exit 1; fi
done

# --- the npm tarball ---
tarball=$(bash "$here/node-app.sh" "$work")
app="$work/node-shop"
listing=$(tar -tzf "$tarball")
for f in package/LICENSE package/README.md package/.jsii package/lib/index.js \
         package/layers/graceful-shutdown-arm64.zip package/layers/graceful-shutdown-x86_64.zip \
         package/layers/graceful-shutdown-handoff-arm64.zip package/layers/graceful-shutdown-handoff-x86_64.zip; do
  grep -qx "$f" <<<"$listing" || { echo "packed: the tarball lacks ${f#package/}" >&2; exit 1; }
done
for layer in arm64 x86_64 handoff-arm64 handoff-x86_64; do
  tar -xOzf "$tarball" "package/layers/graceful-shutdown-$layer.zip" | cmp - "$pkg/layers/graceful-shutdown-$layer.zip"
done
lap "npm pack: $(basename "$tarball"), $(wc -c <"$tarball") bytes, with the prebuilt layers (both flavours, both architectures); installed into a fresh directory with aws-cdk-lib and constructs"
start=$(date +%s%N)
(cd "$app" && PATH="$work/bin" node app.js "$app/cdk.out")
lap "TypeScript app synthesized with PATH=node only in $(( ($(date +%s%N) - start) / 1000000 )) ms"
node "$here/check-template.js" "$app/cdk.out" NodeShop "$app/node_modules/cdk-lambda-graceful-shutdown"

# --- the Python wheel ---
wheel=$(ls "$pkg"/dist/python/cdk_lambda_graceful_shutdown-*.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$pkg/.wheels" "$wheel"
lap "installed $(basename "$wheel") into a fresh virtualenv (from the setup's wheels, no index)"
start=$(date +%s%N)
(cd "$work" && PATH="$work/bin" "$work/venv/bin/python" "$here/app.py" "$work/python-shop.out")
lap "Python app synthesized with PATH=node only in $(( ($(date +%s%N) - start) / 1000000 )) ms"
shipped=$("$work/venv/bin/python" -c 'import cdk_lambda_graceful_shutdown, os; print(os.path.dirname(cdk_lambda_graceful_shutdown.__file__))')
# The wheel carries the npm tarball; its layers are the package's.
mkdir "$work/from-wheel"
tar -xzf "$(ls "$shipped"/_jsii/*.jsii.tgz)" -C "$work/from-wheel"
node "$here/check-template.js" "$work/python-shop.out" PythonShop "$work/from-wheel/package"
