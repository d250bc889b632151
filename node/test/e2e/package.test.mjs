// Packaging: `npm pack` gives the tarball users install; installed into a
// fresh directory, it works from there on the real runtime client, from ESM
// and CommonJS alike.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

import { emulate, makeFunction, packageDir, scratch } from './lambda.mjs';

const work = mkdtempSync(join(scratch, 'pack-'));

function pack() {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] });
  const [info] = JSON.parse(out.toString());
  return { tarball: join(work, info.filename), files: info.files.map((f) => f.path).sort() };
}

let installed;
function install() {
  if (installed) return installed;
  const { tarball, files } = pack();
  const app = mkdtempSync(join(work, 'app-'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  // A local tarball without dependencies: npm needs no registry for it.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });
  installed = { app, files, pkg: join(app, 'node_modules', 'lambda-graceful-shutdown') };
  return installed;
}

test('the tarball holds the built package and nothing else', () => {
  const { files } = install();
  assert.ok(files.includes('package.json'));
  assert.ok(files.includes('README.md'));
  assert.ok(files.includes('LICENSE'), 'the tarball carries the Apache-2.0 LICENSE');
  for (const f of ['dist/esm/index.js', 'dist/esm/register.js', 'dist/esm/handoff.js', 'dist/cjs/index.js', 'dist/cjs/register.js', 'dist/cjs/handoff.js', 'dist/types/index.d.ts', 'dist/esm/package.json', 'dist/cjs/package.json']) {
    assert.ok(files.includes(f), `the tarball lacks ${f}`);
  }
  assert.deepEqual(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f)), []);
  assert.ok(!files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'no TypeScript sources');
});

test('installed from the tarball, it loads from ESM and CommonJS with its bundled limits', () => {
  const { app, pkg } = install();
  const spec = JSON.parse(readFileSync(join(packageDir, '..', 'spec', 'limits.json'), 'utf8'));
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "import { LIMITS } from 'lambda-graceful-shutdown'; console.log(JSON.stringify(LIMITS))"], { cwd: app });
  assert.deepEqual(JSON.parse(esm.toString()), spec);
  const cjs = execFileSync(process.execPath, ['-e', "console.log(require.resolve('lambda-graceful-shutdown'), typeof require('lambda-graceful-shutdown').GracefulShutdown)"], { cwd: app });
  assert.equal(cjs.toString().trim(), `${join(realpathSync(pkg), 'dist', 'cjs', 'index.js')} function`);
});

test('installed from the tarball, handoff() loads its own file on first use, from ESM and CommonJS', () => {
  const { app } = install();
  const env = { ...process.env, GRACEFUL_SHUTDOWN_SECRET_FILE: join(app, 'no-secret') };
  const call = "handoff({ method: 'POST', url: 'http://127.0.0.1:9/' })";
  const esm = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `import { handoff } from 'lambda-graceful-shutdown'; console.log(JSON.stringify(await ${call}))`],
    { cwd: app, env, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const cjs = execFileSync(
    process.execPath,
    [
      '-e',
      "const { handoff } = require('lambda-graceful-shutdown');" +
        "const loaded = () => Object.keys(require.cache).some((f) => f.endsWith('/dist/cjs/handoff.js'));" +
        `const before = loaded(); ${call}.then((r) => console.log(JSON.stringify({ before, after: loaded(), status: r.status, message: r.message })));`,
    ],
    { cwd: app, env, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const fromEsm = JSON.parse(esm.toString());
  assert.equal(fromEsm.ok, false);
  assert.match(fromEsm.message, /extension is not attached/);
  const fromCjs = JSON.parse(cjs.toString());
  assert.deepEqual({ before: fromCjs.before, after: fromCjs.after, status: fromCjs.status }, { before: false, after: true, status: null });
  assert.match(fromCjs.message, /extension is not attached/);
});

test('installed from the tarball, its types check in a TypeScript function, ESM and CommonJS', () => {
  const { app } = install();
  const tsc = createRequire(join(packageDir, 'package.json')).resolve('typescript/bin/tsc');
  const source = `
    import { GracefulShutdown, type Summary, type HandlerStatus } from 'lambda-graceful-shutdown';
    const handle = GracefulShutdown.fromEnv({ logger: console })
      .onShutdown('flush', async (signal: AbortSignal) => { signal.throwIfAborted(); })
      .onShutdown('close-pool', () => {})
      .concurrent()
      .build();
    export async function check(): Promise<HandlerStatus[]> {
      const summary: Summary = await handle.trigger();
      return summary.handlers.map((h) => h.status);
    }
  `;
  for (const [file, module] of [['esm.mts', 'nodenext'], ['cjs.cts', 'nodenext']]) {
    writeFileSync(join(app, file), source);
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', module, '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(packageDir, 'node_modules', '@types'), join(app, file)], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  // And a type error is one.
  writeFileSync(join(app, 'bad.mts'), "import { GracefulShutdown } from 'lambda-graceful-shutdown';\nGracefulShutdown.fromEnv().onShutdown(42, () => {});\n");
  assert.throws(() =>
    execFileSync(process.execPath, [tsc, '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(packageDir, 'node_modules', '@types'), join(app, 'bad.mts')], { cwd: app, stdio: 'pipe' }),
  );
});

test('installed from the tarball, it runs on the real client in the emulator', async () => {
  const { pkg } = install();
  const fn = makeFunction(
    {
      'index.mjs': `
        import { GracefulShutdown } from 'lambda-graceful-shutdown';
        GracefulShutdown.fromEnv().onShutdown('flush', async () => {}).onShutdown('close-pool', () => {}).install();
        export const handler = async () => ({ ok: true });`,
    },
    { pkgDir: pkg },
  );
  const run = await emulate(fn);
  assert.equal(run.runtimeExit?.signal, 'SIGTERM', run.text);
  assert.match(run.verdict ?? '', /outcome=completed .*handlers=2\/2 .*flush=ok\(\d+ms\) close-pool=ok\(\d+ms\)/, run.text);
});
