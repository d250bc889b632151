// The package's copy of spec/limits.json (generated before every build) must
// equal the repository's, and so must the Rust sources shipped with it.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ShutdownLimits } from '../lib';
import { LIMITS } from '../lib/limits.generated';
import { PKG_DIR, REPO_DIR } from './helpers';

const spec = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'spec', 'limits.json'), 'utf8'));

test('the generated limits equal spec/limits.json', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(LIMITS)), spec);
});

test('ShutdownLimits exposes the names and limits of the spec', () => {
  assert.equal(ShutdownLimits.EXTENSION_NAME, spec.extensionName);
  assert.equal(ShutdownLimits.PORT_ENV, 'GRACEFUL_SHUTDOWN_PORT');
  assert.equal(ShutdownLimits.TIMEOUT_ENV, 'GRACEFUL_SHUTDOWN_TIMEOUT_MS');
  assert.equal(ShutdownLimits.METRICS_ENV, spec.env.metrics);
  assert.equal(ShutdownLimits.DEFAULT_PORT, spec.port.default);
  assert.equal(ShutdownLimits.MIN_PORT, spec.port.min);
  assert.equal(ShutdownLimits.MAX_PORT, spec.port.max);
  assert.equal(ShutdownLimits.DEFAULT_TIMEOUT_MS, spec.timeoutMs.default);
  assert.equal(ShutdownLimits.MIN_TIMEOUT_MS, spec.timeoutMs.min);
  assert.equal(ShutdownLimits.MAX_TIMEOUT_MS, spec.timeoutMs.max);
  assert.equal(ShutdownLimits.MAX_EXTENSIONS, spec.maxExtensions);
  assert.equal(ShutdownLimits.MAX_LAYERS, spec.maxLayers);
  assert.deepEqual(ShutdownLimits.reservedPorts(), spec.port.reserved);
  assert.equal(ShutdownLimits.reservedBy(9001), 'the Lambda Runtime API');
  assert.equal(ShutdownLimits.reservedBy(4471), undefined);
});

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

test('the package ships the Rust sources of the extension and the protocol unchanged', () => {
  for (const crate of ['extension', 'protocol']) {
    const src = path.join(REPO_DIR, 'rust', crate, 'src');
    const copy = path.join(PKG_DIR, 'rust-src', 'rust', crate, 'src');
    assert.deepEqual(filesUnder(copy), filesUnder(src), `files of rust/${crate}/src`);
    for (const file of filesUnder(src)) {
      assert.equal(fs.readFileSync(path.join(copy, file), 'utf8'), fs.readFileSync(path.join(src, file), 'utf8'), `rust/${crate}/src/${file}`);
    }
  }
  assert.equal(fs.readFileSync(path.join(PKG_DIR, 'rust-src', 'spec', 'limits.json'), 'utf8'),
    fs.readFileSync(path.join(REPO_DIR, 'spec', 'limits.json'), 'utf8'));
});

test('the shipped workspace holds only the shipped crates, without their dev-dependencies', () => {
  const workspace = fs.readFileSync(path.join(PKG_DIR, 'rust-src', 'Cargo.toml'), 'utf8');
  assert.match(workspace, /^members = \["rust\/extension","rust\/protocol"\]$/m);
  assert.doesNotMatch(workspace, /path = "rust\/(emulator|lambda-graceful-shutdown|cli)"/);
  assert.match(workspace, /^\[profile\.release\]$/m);
  const extension = fs.readFileSync(path.join(PKG_DIR, 'rust-src', 'rust', 'extension', 'Cargo.toml'), 'utf8');
  assert.match(extension, /^name = "graceful-shutdown-extension"$/m);
  assert.match(extension, /^name = "graceful-shutdown"$/m);
  assert.doesNotMatch(extension, /dev-dependencies/);
});

test('the shipped Cargo.lock needs no change to build (cargo --locked accepts it)', () => {
  execFileSync('cargo', ['metadata', '--locked', '--format-version', '1', '--manifest-path', path.join(PKG_DIR, 'rust-src', 'Cargo.toml')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const lock = fs.readFileSync(path.join(PKG_DIR, 'rust-src', 'Cargo.lock'), 'utf8');
  assert.match(lock, /^name = "graceful-shutdown-extension"$/m);
  assert.doesNotMatch(lock, /^name = "graceful-shutdown-emulator"$/m);
});
