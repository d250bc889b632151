#!/usr/bin/env bash
# Builds the shutdown layer for Lambda with cargo-lambda, for x86_64 and arm64,
# as static musl binaries (they run on Amazon Linux 2 and 2023 alike), and
# zips each layer:
#   target/lambda/<arch>/extensions/graceful-shutdown   (the binary)
#   target/lambda/<arch>/graceful-shutdown-layer.zip    (extensions/graceful-shutdown, mode 0755)
# The targets, the cargo-lambda command and the layout come from spec/layer.json,
# the binary's name from spec/limits.json (extensionName).
#
# Usage: scripts/build-layers.sh [--out DIR] [--package NAME ...] [x86_64|arm64 ...]
#   (default: both architectures, the shutdown layer into target/lambda)
#   --package NAME  build the workspace's extension package NAME (binary NAME) the
#                   same way instead; repeat it for several (bench/build-baseline.sh)
#   --out DIR       write DIR/<arch>/ instead of target/lambda/<arch>/; each run
#                   replaces DIR/<arch> for the architectures it builds
set -euo pipefail
cd "$(dirname "$0")/.."

# spec QUERY [ARG...]: one value (or list, one per line) of spec/layer.json.
spec() {
  node -e '
    const fs = require("node:fs");
    const read = (name) => JSON.parse(fs.readFileSync(`spec/${name}`, "utf8"));
    const layer = read("layer.json");
    const [query, ...args] = process.argv.slice(1);
    const fail = (message) => { process.stderr.write(`build-layers.sh: ${message}\n`); process.exit(2); };
    const target = (arch) => {
      const spec = Object.hasOwn(layer.architectures, arch) ? layer.architectures[arch] : undefined;
      if (!spec) fail(`unknown architecture '"'"'${arch}'"'"' (expected ${Object.keys(layer.architectures).join(" or ")})`);
      return spec.rustTarget;
    };
    const values = {
      arches: () => Object.keys(layer.architectures),
      target: () => [target(args[0])],
      package: () => [layer.package],
      profile: () => [layer.profile],
      name: () => [read("limits.json").extensionName],
      extensionsDir: () => [layer.layer.extensionsDir],
      mode: () => [layer.layer.mode],
      args: () => layer.build.args.map((arg) => {
        const value = { "{profile}": layer.profile, "{package}": args[0], "{target}": args[1] }[arg];
        if (value === undefined && /[{}]/.test(arg)) fail(`spec/layer.json: build.args holds ${arg}, which is not {profile}, {package} or {target}`);
        return value ?? arg;
      }),
    };
    if (!Object.hasOwn(values, query)) fail(`no such spec value: ${query}`);
    for (const value of values[query]()) console.log(value);
  ' "$@"
}

target_dir="${CARGO_TARGET_DIR:-target}"
out_root="$target_dir/lambda"
packages=()
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "build-layers.sh: --out needs a directory" >&2; exit 2; }; out_root="$2"; shift 2 ;;
    --package) [ $# -ge 2 ] || { echo "build-layers.sh: --package needs a package name" >&2; exit 2; }; packages+=("$2"); shift 2 ;;
    -*) echo "build-layers.sh: unknown option '$1' (expected --out DIR or --package NAME)" >&2; exit 2 ;;
    *) arches+=("$1"); shift ;;
  esac
done
if [ ${#arches[@]} -eq 0 ]; then
  list="$(spec arches)"
  mapfile -t arches <<<"$list"
fi
# The shutdown layer: its package, and its binary named as the extension registers.
layer_package="$(spec package)"
[ ${#packages[@]} -gt 0 ] || packages=("$layer_package")
extensions_dir="$(spec extensionsDir)"
mode="$(spec mode)"
profile="$(spec profile)"
# Check every architecture before anything is removed or built.
declare -A triples
for arch in "${arches[@]}"; do
  triples[$arch]="$(spec target "$arch")"
done

# One layer build at a time per target dir: each run replaces <out>/<arch>.
# A caller that already holds the lock (to copy the outputs under it) says so
# with BUILD_LAYERS_LOCK_HELD=1.
mkdir -p "$target_dir"
if [ "${BUILD_LAYERS_LOCK_HELD:-}" != 1 ]; then
  exec 9>"$target_dir/.build-layers.lock"
  flock 9
fi

for arch in "${arches[@]}"; do
  triple="${triples[$arch]}"
  out="$out_root/$arch"
  rm -rf "$out"
  mkdir -p "$out/$extensions_dir"
  for package in "${packages[@]}"; do
    if [ "$package" = "$layer_package" ]; then
      name="$(spec name)"
      printf '==> shutdown layer for %s (%s)\n' "$arch" "$triple"
    else
      name="$package"
      printf '==> %s for %s (%s)\n' "$name" "$arch" "$triple"
    fi
    list="$(spec args "$package" "$triple")"
    mapfile -t args <<<"$list"
    build="$out/.build-$name"
    cargo "${args[@]}" --lambda-dir "$build" --output-format zip
    mv "$build/$extensions_dir/$name.zip" "$out/$name-layer.zip"
    rm -rf "$build"
    install -m "$mode" "$target_dir/$triple/$profile/$name" "$out/$extensions_dir/$name"
    printf '    binary %s bytes, zipped layer %s bytes\n' \
      "$(wc -c < "$out/$extensions_dir/$name")" "$(wc -c < "$out/$name-layer.zip")"
  done
done
