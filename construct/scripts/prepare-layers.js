#!/usr/bin/env node
// Runs before `jsii` compiles the package (npm "prebuild", after
// prepare-sources.js): the project's own layer build, scripts/build-layers.sh
// (cargo-lambda, static musl binaries, both architectures, both flavours of
// spec/layer.json), then its zips copied into the package under their
// `prebuiltZip` names: `layers/graceful-shutdown-<arch>.zip` (the default
// layer, which `GracefulShutdownLayer` uses by default) and
// `layers/graceful-shutdown-handoff-<arch>.zip` (its `handoff: true`). Build
// and copy run under the layer build's lock, so that a concurrent layer build
// cannot swap the zips between the two. The copies are build outputs, ignored
// by git; test/layers.test.ts checks that they hold what the layer build makes.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const repoDir = path.resolve(pkgDir, '..');
const spec = JSON.parse(fs.readFileSync(path.join(repoDir, 'spec', 'layer.json'), 'utf8'));
const ARCHES = Object.keys(spec.architectures);
const FLAVOURS = Object.keys(spec.flavours).filter((name) => !name.startsWith('$'));

const targetDir = path.resolve(repoDir, process.env.CARGO_TARGET_DIR || 'target');
const outDir = path.join(pkgDir, 'layers');
fs.mkdirSync(outDir, { recursive: true });
fs.mkdirSync(targetDir, { recursive: true });

const copies = ARCHES.flatMap((arch) => FLAVOURS.map((flavour) => [
  path.join(targetDir, 'lambda', arch, spec.flavours[flavour].layerZip),
  path.join(outDir, spec.flavours[flavour].prebuiltZip.replace('{arch}', arch)),
]));
const script = ['bash scripts/build-layers.sh "$@"', ...copies.map(([from, to]) => `cp ${JSON.stringify(from)} ${JSON.stringify(to)}`)].join(' && ');
const args = [...FLAVOURS.flatMap((flavour) => ['--flavour', flavour]), ...ARCHES];
execFileSync('flock', [path.join(targetDir, '.build-layers.lock'), 'bash', '-c', script, 'build-layers', ...args], {
  cwd: repoDir,
  stdio: 'inherit',
  env: { ...process.env, BUILD_LAYERS_LOCK_HELD: '1' },
});
for (const [from, to] of copies) {
  console.log(`prepare-layers: ${path.relative(pkgDir, to)} (${fs.statSync(to).size} bytes) from ${path.relative(repoDir, from)}`);
}
