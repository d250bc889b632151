// The package's ESM and CommonJS entry points expose the same API, with types.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import * as esm from 'lambda-graceful-shutdown';

const require = createRequire(import.meta.url);
const pkgDir = new URL('../..', import.meta.url);

test('ESM and CommonJS give the same exports', () => {
  const cjs = require('lambda-graceful-shutdown');
  const names = ['GracefulShutdown', 'ShutdownHandle', 'LIMITS', 'configFromLookup', 'defaultConfig', 'workerId', 'handoff', 'awsJsonRequest'];
  assert.deepEqual(Object.keys(esm).sort(), names.sort());
  for (const n of names) assert.ok(n in cjs, `CommonJS lacks ${n}`);
  assert.equal(typeof cjs.GracefulShutdown.fromEnv, 'function');
  assert.match(require.resolve('lambda-graceful-shutdown'), /dist\/cjs\/index\.js$/);
});

test('a CommonJS program uses it with require', () => {
  const out = execFileSync(
    process.execPath,
    ['-e', "const { GracefulShutdown } = require('lambda-graceful-shutdown'); const h = new GracefulShutdown({port:4471,timeoutMs:250,secretFile:'/nonexistent'}, {logger:{info(){},warn(){},error(){}}}).onShutdown('a', () => {}).build(); h.trigger().then(s => console.log(s.handlers[0].status))"],
    { cwd: pkgDir },
  );
  assert.equal(out.toString().trim(), 'completed');
});

test('types are declared for both entry points', () => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8'));
  for (const entry of ['.', './register', './handoff']) {
    const e = pkg.exports[entry];
    for (const key of ['types', 'import', 'require']) assert.ok(existsSync(new URL(e[key], pkgDir)), `${entry} ${key}`);
  }
  const dts = readFileSync(new URL(pkg.exports['.'].types, pkgDir), 'utf8');
  assert.match(dts, /GracefulShutdown/);
  const gs = readFileSync(new URL('dist/types/graceful-shutdown.d.ts', pkgDir), 'utf8');
  assert.match(gs, /onShutdown\(name: string, handler: ShutdownHandler\): this;/);
  assert.match(readFileSync(new URL('dist/types/handle.d.ts', pkgDir), 'utf8'), /trigger\(\): Promise<Summary>;/);
  assert.equal(pkg.dependencies, undefined, 'no runtime dependencies');
});
