#!/usr/bin/env bash
# `pnpm run publish-assets [cdk synth options]`: synthesizes the demo app, then
# publishes its assets (the template, the function's zip, the layer's zip) with
# `cdk-assets` only, for pipelines that publish and deploy in separate steps.
# Every option goes to `cdk synth` (for example `-c architecture=x86_64`, or
# `--output DIR`, whose asset manifest is then the one published).
set -euo pipefail
cd "$(dirname "$0")/../.."

STACK=GracefulShutdownDemo
out=cdk.out
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --output | -o)
      [ $((i + 1)) -lt ${#args[@]} ] || { echo "publish-assets: ${args[i]} needs a directory: ${args[i]} DIR" >&2; exit 2; }
      out=${args[i + 1]} ;;
    --output=* | -o=*) out=${args[i]#*=} ;;
  esac
done

cdk synth "$STACK" --quiet "$@"
exec cdk-assets --path "$out/$STACK.assets.json" --verbose publish
