// The layer zips shipped in the package, both flavours (the default layer and
// the handoff one), are what the project's own layer build makes from the
// current sources: the layer build runs again here (scripts/build-layers.sh
// --flavour all, incremental), and the binary in each shipped zip must be the
// one it produced, byte for byte. A package built before a change
// to the extension therefore fails here instead of shipping a stale layer.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import AdmZip = require('adm-zip');
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { GracefulShutdownLayer } from '../lib';
import { PKG_DIR, REPO_DIR } from './helpers';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MACHINES: Record<string, number> = { arm64: 183, x86_64: 62 };
const ARCHES = [Architecture.ARM_64, Architecture.X86_64];

test('the package ships one prebuilt layer zip per architecture and flavour', () => {
  for (const arch of ARCHES) {
    assert.equal(GracefulShutdownLayer.prebuiltZip(arch), path.join(PKG_DIR, 'layers', `graceful-shutdown-${arch.name}.zip`));
    assert.equal(GracefulShutdownLayer.prebuiltZip(arch, false), path.join(PKG_DIR, 'layers', `graceful-shutdown-${arch.name}.zip`));
    assert.equal(GracefulShutdownLayer.prebuiltZip(arch, true), path.join(PKG_DIR, 'layers', `graceful-shutdown-handoff-${arch.name}.zip`));
  }
  assert.equal(GracefulShutdownLayer.prebuiltZip(), path.join(PKG_DIR, 'layers', 'graceful-shutdown-arm64.zip'));
  assert.equal(GracefulShutdownLayer.prebuiltZip(undefined, true), path.join(PKG_DIR, 'layers', 'graceful-shutdown-handoff-arm64.zip'));
  assert.deepEqual(fs.readdirSync(path.join(PKG_DIR, 'layers')).sort(), [
    'graceful-shutdown-arm64.zip', 'graceful-shutdown-handoff-arm64.zip', 'graceful-shutdown-handoff-x86_64.zip', 'graceful-shutdown-x86_64.zip',
  ]);
  // package.json ships them all.
  const files: string[] = JSON.parse(fs.readFileSync(path.join(PKG_DIR, 'package.json'), 'utf8')).files;
  for (const zip of fs.readdirSync(path.join(PKG_DIR, 'layers'))) assert.ok(files.includes(`layers/${zip}`), `package.json files lacks layers/${zip}`);
  assert.throws(() => GracefulShutdownLayer.prebuiltZip(Architecture.custom('riscv64')),
    /^Error: `architecture` is riscv64, which the shutdown layer cannot be built for/);
});

test('the shipped zips hold exactly the binary the layer build makes now', () => {
  const targetDir = path.resolve(REPO_DIR, process.env.CARGO_TARGET_DIR ?? 'target');
  const lock = path.join(targetDir, '.build-layers.lock');
  fs.mkdirSync(targetDir, { recursive: true });
  // Build and read under the layer build's lock, so that no concurrent build swaps the outputs meanwhile.
  const out = execFileSync('flock', [lock, 'bash', '-c',
    'bash scripts/build-layers.sh --flavour all arm64 x86_64 >&2 && for a in arm64 x86_64; do '
      + 'echo "$a $(sha256sum < "$1/lambda/$a/extensions/graceful-shutdown")"; '
      + 'echo "handoff-$a $(sha256sum < "$1/lambda/$a/handoff/extensions/graceful-shutdown")"; done',
    'check', targetDir], { cwd: REPO_DIR, env: { ...process.env, BUILD_LAYERS_LOCK_HELD: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const built: Record<string, string> = Object.fromEntries(out.toString().trim().split('\n').map((line) => {
    const [arch, hash] = line.split(/\s+/);
    return [arch, hash];
  }));
  assert.deepEqual(Object.keys(built), ['arm64', 'handoff-arm64', 'x86_64', 'handoff-x86_64']);
  for (const arch of ARCHES) {
    for (const handoff of [false, true]) {
      const name = `${handoff ? 'handoff-' : ''}${arch.name}`;
      const zip = new AdmZip(GracefulShutdownLayer.prebuiltZip(arch, handoff));
      const entries = zip.getEntries();
      // Both flavours hold the same extension, under the same name: only the zip differs.
      assert.deepEqual(entries.map((e) => e.entryName), ['extensions/', 'extensions/graceful-shutdown'], name);
      const entry = entries[1];
      assert.equal((entry.attr >>> 16) & 0o777, 0o755, `${name}: the extension must be executable in the layer`);
      const binary = entry.getData();
      assert.equal(binary.readUInt16LE(18), MACHINES[arch.name], `${name}: ELF machine`);
      assert.equal(sha256(binary), built[name],
        `${name}: the shipped layer is not what scripts/build-layers.sh builds now: rebuild the package (pnpm run build)`);
    }
    assert.notEqual(built[arch.name], built[`handoff-${arch.name}`], `${arch.name}: the two flavours are different builds`);
  }
});
