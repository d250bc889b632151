// Worker threads get no signal events: with the main-thread part loaded, a
// SIGTERM to the process runs every worker's handlers, then the process ends
// by the signal.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { startChild } from '../child.mjs';

const pkgDir = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gs-node-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('SIGTERM runs the handlers of every worker thread through the main-thread part', async () => {
  const output = join(dir, 'out.txt');
  const c = startChild([new URL('../fixtures/workers-main.mjs', import.meta.url).pathname], {
    cwd: pkgDir,
    env: { WORKERS: '3', WORKERS_OUTPUT: output, GRACEFUL_SHUTDOWN_SECRET_FILE: '/nonexistent/secret' },
  });
  await c.waitFor((l) => l.text === 'ready', 20_000, 'the workers installed');
  c.child.kill('SIGTERM');
  const end = await c.exited;
  assert.equal(end.signal, 'SIGTERM', c.stderr());
  const lines = readFileSync(output, 'utf8').trim().split('\n').filter((l) => !l.startsWith('warn '));
  const threads = new Set(lines.map((l) => l.split(' ')[0]));
  assert.equal(threads.size, 3, `${lines.join('\n')}\n${c.raw.join('\n')}\n${c.stderr()}`);
  for (const t of threads) assert.deepEqual(lines.filter((l) => l.startsWith(`${t} `)), [`${t} flush`, `${t} close-pool`]);
  assert.ok(!lines.some((l) => l.startsWith('error ')), lines.join('\n'));
});
