// Build: refresh src/limits.generated.ts from the repository's
// spec/limits.json (the one contract; scripts/generate.mjs), compile ESM, CommonJS and the type
// declarations with tsc, then bundle each entry point (index, register) into
// one file per module system with esbuild: a function imports one file at
// cold start instead of a dozen (measured: about 2 ms instead of 6 to 18 ms
// on Node 22). The handoff (src/handoff.ts) is a bundle of its own, which
// index loads on the first handoff() (src/handoff-load.ts), so that its code
// costs nothing at cold start. The package ships the bundles and the
// declarations only.
// Built beside dist/ and swapped in with two renames, so that a process
// loading the package while another one rebuilds it sees the old or the new
// build, never a half-written one.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../../scripts/generate.mjs';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
// src/limits.generated.ts is committed; refresh it if spec/ changed.
generate();

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const dist = join(here, 'dist');
const next = join(here, `.dist-next-${process.pid}`);
rmSync(next, { recursive: true, force: true });
for (const [project, outDirs] of [
  ['tsconfig.esm.json', ['--outDir', join(next, 'esm'), '--declarationDir', join(next, 'types')]],
  ['tsconfig.cjs.json', ['--outDir', join(next, 'cjs')]],
]) {
  execFileSync(process.execPath, [tsc, '-p', join(here, project), ...outDirs], { stdio: 'inherit' });
}
const esbuild = createRequire(import.meta.url)('esbuild');
for (const [dir, format] of [['esm', 'esm'], ['cjs', 'cjs']]) {
  for (const entry of ['index', 'register', 'handoff']) {
    const file = join(next, dir, `${entry}.js`);
    esbuild.buildSync({
      entryPoints: [file],
      outfile: file,
      allowOverwrite: true,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      // Loaded on first use, from beside index.js.
      external: ['./handoff.js'],
      legalComments: 'none',
      logLevel: 'warning',
    });
  }
}
// Each output tree says which module system it uses, whatever the package's "type".
for (const [dir, type] of [['esm', 'module'], ['cjs', 'commonjs']]) {
  mkdirSync(join(next, dir), { recursive: true });
  writeFileSync(join(next, dir, 'package.json'), `${JSON.stringify({ type })}\n`);
}
const old = join(here, `.dist-old-${process.pid}`);
rmSync(old, { recursive: true, force: true });
try {
  renameSync(dist, old);
} catch (e) {
  if (e.code !== 'ENOENT') throw e;
}
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
