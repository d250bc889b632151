// The same library and cases under AWS's Runtime Interface Emulator, on demand
// and in its managed-instances mode: the verdict names each handler with its
// status, and the runtime ends by itself before its share (no SIGKILL).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { makeFunction } from './lambda.mjs';
import { underRie } from './rie.mjs';

const source = (extra = '') => `
import { GracefulShutdown } from 'lambda-graceful-shutdown';
GracefulShutdown.fromEnv()
  .onShutdown('flush', () => new Promise((r) => setTimeout(r, 10)))
  .onShutdown('close-pool', () => {})
  ${extra}
  .install();
export const handler = async () => ({ ok: true });
`;

test('RIE: handlers complete, the verdict names them, the runtime ends by itself', async () => {
  const run = await underRie(makeFunction({ 'index.mjs': source() }));
  assert.match(run.verdict ?? '', /outcome=completed reason=SandboxTerminated handlers=2\/2 total_ms=\d+ flush=ok\(\d+ms\) close-pool=ok\(\d+ms\)/, run.text);
  assert.equal(run.runtimeKilled, false, run.text);
  assert.ok(run.sigtermToGoneMs < 300, `${run.sigtermToGoneMs} ms\n${run.text}`);
});

test('RIE: a handler that blocks past the share is reported running; the RIE kills the runtime', async () => {
  const run = await underRie(
    makeFunction({ 'index.mjs': source(".onShutdown('blocks', () => { const end = Date.now() + 5000; while (Date.now() < end); }).onShutdown('after', () => {})") }),
  );
  assert.equal(run.runtimeKilled, true, run.text);
  assert.match(run.verdict ?? '', /outcome=runtime_killed .*flush=ok\(\d+ms\) close-pool=ok\(\d+ms\) blocks=running after=not_started .*cut off while running blocks/, run.text);
});

test("RIE: the article's process.exit(0) in a SIGTERM listener hangs until the SIGKILL", async () => {
  const run = await underRie(
    makeFunction({ 'index.mjs': "process.on('SIGTERM', () => { console.log('cleanup done'); process.exit(0); });\nexport const handler = async () => ({});" }, { pkgDir: null }),
  );
  assert.ok(run.lines.some((l) => l.includes('cleanup done')), run.text);
  assert.equal(run.runtimeKilled, true, run.text);
});

test('RIE managed-instances mode: every worker thread runs its handlers through the main-thread part, reported per worker', async () => {
  const run = await underRie(makeFunction({ 'index.mjs': source() }), {
    env: {
      AWS_LAMBDA_MAX_CONCURRENCY: '2',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances',
      AWS_LAMBDA_NODEJS_WORKER_COUNT: '2',
      NODE_OPTIONS: '--import lambda-graceful-shutdown/register',
    },
  });
  // This mode logs JSON: the verdict's handlers carry their worker's label.
  const v = run.verdictJson;
  assert.ok(v, run.text);
  assert.equal(v.outcome, 'completed', run.text);
  assert.equal(v.workers.length, 2, run.text);
  assert.deepEqual(v.workers.map((w) => w.outcome), ['completed', 'completed'], run.text);
  assert.deepEqual(
    v.handlers.map((h) => `${h.worker}.${h.name}=${h.status}`).sort(),
    ['w1.close-pool=ok', 'w1.flush=ok', 'w2.close-pool=ok', 'w2.flush=ok'],
    run.text,
  );
  const [a, b] = v.workers.map((w) => w.worker.split('/'));
  assert.equal(a[0], b[0], 'worker threads of one process');
  assert.notEqual(a[1], b[1]);
  // The process ended itself, by its own SIGTERM raised again, not by the RIE's SIGKILL.
  assert.equal(run.runtimeKilled, false, run.text);
  assert.ok(run.lines.some((l) => /Name:runtime Cause:signaled Signo:15\b/.test(l)), run.text);
  // The main thread's own line is JSON too, as the client writes its workers' lines; it
  // ends the process inside the runtime's 300 ms share, counted from the signal. (The
  // RIE's own timing adds the kernel's teardown of a process of several threads and the
  // RIE's reaction, which a busy machine stretches past 300 ms; the RIE's managed-instances
  // share is longer, and the status above says the SIGKILL did not come.)
  const ending = run.lines.filter((l) => l.includes('graceful-shutdown: ending the process by SIGTERM'));
  assert.equal(ending.length, 1, run.text);
  const end = JSON.parse(ending[0]);
  assert.equal(end.level, 'INFO');
  const afterSignal = Number(/by SIGTERM (\d+) ms after the signal/.exec(end.message)?.[1]);
  assert.ok(afterSignal < 300, `ended ${afterSignal} ms after the signal (RIE: ${run.sigtermToGoneMs} ms)\n${run.text}`);
});
