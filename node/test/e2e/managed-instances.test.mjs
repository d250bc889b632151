// Lambda Managed Instances: the Node.js client loads the handler only in
// worker threads, where Node emits no signal events. With the main-thread
// part (NODE_OPTIONS=--import lambda-graceful-shutdown/register) every
// worker's handlers run and report as their own worker; without it, they do
// not run, and each worker says why at init. The emulator's managed-runtime
// mode runs the real aws-lambda-ric on Node 22, with
// AWS_LAMBDA_MAX_CONCURRENCY set by --max-concurrency.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { emulate, makeFunction } from './lambda.mjs';

const REGISTER = { NODE_OPTIONS: '--import lambda-graceful-shutdown/register' };
// Two worker threads (the client starts 8 per vCPU unless told).
const WORKERS = { AWS_LAMBDA_NODEJS_WORKER_COUNT: '2' };

const source = `
import { isMainThread } from 'node:worker_threads';
import { GracefulShutdown } from 'lambda-graceful-shutdown';
GracefulShutdown.fromEnv()
  .onShutdown('flush', () => new Promise((r) => setTimeout(r, 10)))
  .onShutdown('close-pool', () => { if (isMainThread) throw new Error('ran on the main thread'); })
  .install();
export const handler = async () => ({ ok: true });
`;

/** The worker labels and ids of a several-worker verdict: { w1: '123/1', ... }. */
function workers(verdict) {
  return Object.fromEntries([...verdict.matchAll(/ (w\d+)=(\S+)/g)].filter(([, , v]) => /^"?\d+(\/\d+)?"?$/.test(v)).map(([, k, v]) => [k, v]));
}

test('with the main-thread part: every worker thread runs its handlers, reported per worker; the process ends by itself', async () => {
  const fn = makeFunction({ 'index.mjs': source });
  const run = await emulate(fn, { runtime: 'nodejs22.x', args: ['--max-concurrency', '2', '--invocations', '2'], env: { ...REGISTER, ...WORKERS } });
  assert.equal(run.code, 0, run.text);
  assert.deepEqual(run.signals(), ['SIGTERM'], run.text);
  assert.equal(run.runtimeExit?.signal, 'SIGTERM', run.text);
  const v = run.verdict ?? '';
  assert.match(v, /outcome=completed reason=spindown workers=2 handlers=4\/4 /, run.text);
  const ids = workers(v);
  assert.deepEqual(Object.keys(ids), ['w1', 'w2'], run.text);
  // Worker threads of one process: <pid>/<threadId>, the same pid.
  const [a, b] = Object.values(ids).map((id) => id.split('/'));
  assert.equal(a[0], b[0], run.text);
  assert.notEqual(a[1], b[1], run.text);
  for (const w of ['w1', 'w2']) {
    assert.match(v, new RegExp(` ${w}\\.flush=ok\\(\\d+ms\\) ${w}\\.close-pool=ok\\(\\d+ms\\)`), run.text);
  }
});

test('without it: each worker warns at init that its handlers will not run, and the process dies of the SIGTERM', async () => {
  const fn = makeFunction({ 'index.mjs': source });
  const run = await emulate(fn, { runtime: 'nodejs22.x', args: ['--max-concurrency', '2'], env: WORKERS });
  const warnings = run.runtimeLines().filter((l) => l.includes('install() in a worker thread, where Node.js emits no signal events'));
  assert.equal(warnings.length, 2, run.text);
  assert.equal(run.runtimeExit?.signal, 'SIGTERM', run.text);
  assert.ok(!run.runtimeLines().some((l) => l.includes('running 2 shutdown handler')), run.text);
  assert.match(run.verdict ?? '', /outcome=runtime_killed/, run.text);
});

test('the main-thread part is harmless on demand: the handler module on the main thread, one worker', async () => {
  const fn = makeFunction({ 'index.mjs': source.replace("if (isMainThread) throw new Error('ran on the main thread');", '') });
  const run = await emulate(fn, { runtime: 'nodejs22.x', env: REGISTER });
  assert.equal(run.runtimeExit?.signal, 'SIGTERM', run.text);
  assert.match(run.verdict ?? '', /outcome=completed reason=spindown handlers=2\/2 total_ms=\d+ flush=ok\(\d+ms\) close-pool=ok\(\d+ms\)/, run.text);
});
