#!/usr/bin/env bash
# A Node.js shop's CDK app from the packed package, outside the repository:
# `npm pack` the built package (construct/), install the tarball into
# <dir>/node-shop with aws-cdk-lib, constructs and TypeScript (the versions the
# package is built against, from the pnpm store or the registry), and compile
# app.ts there. Synthesize with `node app.js <outdir>` in <dir>/node-shop.
# Usage: bash test/packed/node-app.sh <dir>   (prints the tarball's path)
set -euo pipefail
pkg=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?usage: node-app.sh <dir>}
for f in lib/index.js layers/graceful-shutdown-arm64.zip layers/graceful-shutdown-x86_64.zip; do
  [ -f "$pkg/$f" ] || { echo "node-app.sh: construct/$f is missing: build the package first (cd construct && pnpm run build)" >&2; exit 1; }
done
mkdir -p "$dir"
tarball="$dir/$(cd "$pkg" && npm pack --silent --pack-destination "$dir" | tail -1)"
app="$dir/node-shop"
rm -rf "$app"
mkdir "$app"
printf '{ "name": "node-shop", "private": true }\n' >"$app/package.json"
dev() { node -p "require('$pkg/package.json').devDependencies['$1']"; }
(cd "$app" && pnpm add --silent --ignore-workspace --prefer-offline --config.auto-install-peers=true "$tarball" \
  "aws-cdk-lib@$(dev aws-cdk-lib)" "constructs@$(dev constructs)" "typescript@$(dev typescript)" "@types/node@$(dev @types/node)" >&2)
cp "$pkg/test/packed/app.ts" "$app/app.ts"
(cd "$app" && node node_modules/typescript/bin/tsc --strict --module commonjs --target es2022 --types node --skipLibCheck app.ts)
echo "$tarball"
