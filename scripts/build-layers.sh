#!/usr/bin/env bash
# Builds the shutdown layer for Lambda with cargo-lambda, for x86_64 and arm64,
# as static musl binaries (they run on Amazon Linux 2 and 2023 alike), in each
# of its flavours, and zips each layer:
#   target/lambda/<arch>/extensions/graceful-shutdown            the default layer's binary
#   target/lambda/<arch>/graceful-shutdown-layer.zip             its zip (extensions/graceful-shutdown, mode 0755)
#   target/lambda/<arch>/handoff/extensions/graceful-shutdown    the handoff flavour's binary (--features handoff)
#   target/lambda/<arch>/graceful-shutdown-handoff-layer.zip     its zip (the same extensions/graceful-shutdown)
# The targets, the cargo-lambda command, the flavours and the layout come from
# spec/layer.json, the binary's name from spec/limits.json (extensionName).
#
# Usage: scripts/build-layers.sh [--out DIR] [--flavour NAME|all ...] [--package NAME ...] [x86_64|arm64 ...]
#   (default: both architectures, the shutdown layer's default flavour, into target/lambda)
#   --flavour NAME  build this flavour of the shutdown layer (default, handoff) instead;
#                   repeat it for several, or `all` for every flavour. Only the default
#                   flavour is built unless asked: the handoff flavour's cold build is
#                   several times longer (TLS and SigV4), and only the CDK construct's
#                   package (construct/scripts/prepare-layers.js) ships it
#   --package NAME  build the workspace's extension package NAME (binary NAME) the
#                   same way instead, without features; repeat it for several
#                   (bench/build-baseline.sh)
#   --out DIR       write DIR/<arch>/ instead of target/lambda/<arch>/; each run
#                   replaces the outputs it builds (a flavour's zip and binary)
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
    const flavour = (name) => {
      const spec = !name.startsWith("$") && Object.hasOwn(layer.flavours, name) ? layer.flavours[name] : undefined;
      if (!spec) fail(`unknown flavour '"'"'${name}'"'"' (expected ${flavours().join(" or ")})`);
      return spec;
    };
    const flavours = () => Object.keys(layer.flavours).filter((name) => !name.startsWith("$"));
    const values = {
      arches: () => Object.keys(layer.architectures),
      flavours,
      features: () => [flavour(args[0]).features.join(",")],
      flavourDir: () => [flavour(args[0]).dir],
      layerZip: () => [flavour(args[0]).layerZip],
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
flavours=()
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "build-layers.sh: --out needs a directory" >&2; exit 2; }; out_root="$2"; shift 2 ;;
    --package) [ $# -ge 2 ] || { echo "build-layers.sh: --package needs a package name" >&2; exit 2; }; packages+=("$2"); shift 2 ;;
    --flavour) [ $# -ge 2 ] || { echo "build-layers.sh: --flavour needs a flavour name" >&2; exit 2; }; flavours+=("$2"); shift 2 ;;
    -*) echo "build-layers.sh: unknown option '$1' (expected --out DIR, --flavour NAME or --package NAME)" >&2; exit 2 ;;
    *) arches+=("$1"); shift ;;
  esac
done
if [ ${#arches[@]} -eq 0 ]; then
  list="$(spec arches)"
  mapfile -t arches <<<"$list"
fi
# The shutdown layer: its package, and its binary named as the extension registers.
layer_package="$(spec package)"
if [ ${#packages[@]} -gt 0 ] && [ ${#flavours[@]} -gt 0 ]; then
  echo "build-layers.sh: --flavour is for the shutdown layer, --package for other extensions: pass one or the other" >&2
  exit 2
fi
# What to build, one unit per line of "package flavour" (the flavour is "-" for another package).
units=()
if [ ${#packages[@]} -gt 0 ]; then
  for package in "${packages[@]}"; do
    if [ "$package" = "$layer_package" ]; then units+=("$package default"); else units+=("$package -"); fi
  done
else
  if [ ${#flavours[@]} -eq 0 ]; then
    flavours=(default)
  elif printf '%s\n' "${flavours[@]}" | grep -qx all; then
    list="$(spec flavours)"
    mapfile -t flavours <<<"$list"
  fi
  for flavour in "${flavours[@]}"; do
    spec layerZip "$flavour" >/dev/null # refuses an unknown flavour, by name, before anything is built
    units+=("$layer_package $flavour")
  done
fi
extensions_dir="$(spec extensionsDir)"
mode="$(spec mode)"
profile="$(spec profile)"
# Check every architecture before anything is removed or built.
declare -A triples
for arch in "${arches[@]}"; do
  triples[$arch]="$(spec target "$arch")"
done

# One layer build at a time per target dir: each run replaces its outputs in <out>/<arch>.
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
  mkdir -p "$out"
  for unit in "${units[@]}"; do
    read -r package flavour <<<"$unit"
    list="$(spec args "$package" "$triple")"
    mapfile -t args <<<"$list"
    if [ "$flavour" = - ]; then
      name="$package"
      dir="$out"
      zip="$out/$name-layer.zip"
      printf '==> %s for %s (%s)\n' "$name" "$arch" "$triple"
    else
      name="$(spec name)"
      flavour_dir="$(spec flavourDir "$flavour")"
      dir="$out${flavour_dir:+/$flavour_dir}"
      zip="$out/$(spec layerZip "$flavour")"
      features="$(spec features "$flavour")"
      [ -z "$features" ] || args+=(--features "$features")
      printf '==> shutdown layer, %s flavour, for %s (%s)\n' "$flavour" "$arch" "$triple"
    fi
    rm -rf "$zip" "${dir:?}/$extensions_dir/$name"
    mkdir -p "$dir/$extensions_dir"
    build="$out/.build-$name"
    rm -rf "$build"
    cargo "${args[@]}" --lambda-dir "$build" --output-format zip
    mv "$build/$extensions_dir/$name.zip" "$zip"
    rm -rf "$build"
    install -m "$mode" "$target_dir/$triple/$profile/$name" "$dir/$extensions_dir/$name"
    printf '    binary %s bytes, zipped layer %s bytes\n' \
      "$(wc -c < "$dir/$extensions_dir/$name")" "$(wc -c < "$zip")"
  done
done
