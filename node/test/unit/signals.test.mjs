// Real signals to a real Node.js process: the handlers run once, in order; a
// second signal does not interrupt them; the user's own SIGTERM listener and
// its process.exit(); the process ends by the signal it got.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startChild } from '../child.mjs';

const pkgDir = new URL('../..', import.meta.url).pathname;
const fixture = new URL('../fixtures/signal-child.mjs', import.meta.url).pathname;
const env = { GRACEFUL_SHUTDOWN_SECRET_FILE: '/nonexistent/secret', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '250' };
const handlerLines = (lines) => lines.filter((l) => l.handler).map((l) => `${l.handler} ${l.at}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal}: the handlers run in order, then the process ends by ${signal}`, async () => {
    const c = startChild([fixture], { env, cwd: pkgDir });
    await c.waitFor((l) => l.ready, 10_000, 'ready');
    c.child.kill(signal);
    const end = await c.exited;
    assert.deepEqual(handlerLines(c.lines), ['first start', 'first end', 'second end', 'third end']);
    assert.equal(end.signal, signal, c.raw.join('\n') + c.stderr());
    assert.ok(c.lines.some((l) => l.log?.startsWith(`graceful-shutdown: ending the process by ${signal}`)));
    assert.ok(!c.lines.some((l) => 'exitEvent' in l), 'no exit path: ended by the signal');
  });
}

test('a second SIGTERM while the handlers run is logged and does not interrupt them', async () => {
  const c = startChild([fixture], { env: { ...env, CHILD_MODE: 'wait-for-stdin' }, cwd: pkgDir });
  await c.waitFor((l) => l.ready, 10_000, 'ready');
  c.child.kill('SIGTERM');
  await c.waitFor((l) => l.handler === 'first' && l.at === 'start', 10_000, 'the first handler');
  c.child.kill('SIGTERM');
  await c.waitFor((l) => l.log?.includes('SIGTERM received again'), 10_000, 'the second signal logged');
  c.child.stdin.write('go\n');
  const end = await c.exited;
  assert.deepEqual(handlerLines(c.lines), ['first start', 'first end', 'second end', 'third end']);
  assert.equal(end.signal, 'SIGTERM');
});

test("the function's own SIGTERM listener with process.exit(0), registered first: it runs, the exit is held, the handlers run", async () => {
  const c = startChild([fixture], { env: { ...env, CHILD_MODE: 'user-listener-first' }, cwd: pkgDir });
  await c.waitFor((l) => l.ready, 10_000, 'ready');
  c.child.kill('SIGTERM');
  const end = await c.exited;
  assert.ok(c.lines.some((l) => l.user === 'listener ran'));
  assert.ok(c.lines.some((l) => l.log?.includes('process.exit(0) called during shutdown: held until the shutdown handlers finish')));
  assert.deepEqual(handlerLines(c.lines), ['first start', 'first end', 'second end', 'third end']);
  assert.equal(end.signal, 'SIGTERM');
});

test("the function's own SIGTERM listener registered after install runs too", async () => {
  const c = startChild([fixture], { env: { ...env, CHILD_MODE: 'user-listener-after' }, cwd: pkgDir });
  await c.waitFor((l) => l.ready, 10_000, 'ready');
  c.child.kill('SIGTERM');
  const end = await c.exited;
  // Node calls every listener, synchronously; the handlers start right after, in order.
  assert.ok(c.lines.some((l) => l.user === 'listener ran'));
  assert.deepEqual(handlerLines(c.lines), ['first start', 'first end', 'second end', 'third end']);
  assert.equal(end.signal, 'SIGTERM');
});

test('a stray throw or rejection while the handlers run is logged; the rest still run and the process ends by the signal', async () => {
  const c = startChild([fixture], { env: { ...env, CHILD_MODE: 'stray-errors' }, cwd: pkgDir });
  await c.waitFor((l) => l.ready, 10_000, 'ready');
  c.child.kill('SIGTERM');
  const end = await c.exited;
  assert.deepEqual(handlerLines(c.lines), ['first start', 'first end', 'second end', 'third end']);
  assert.ok(c.lines.some((l) => l.log?.includes('uncaught exception during shutdown, logged and ignored: Error: stray throw')), c.raw.join('\n'));
  assert.ok(c.lines.some((l) => l.log?.includes('unhandled rejection during shutdown, logged and ignored: Error: stray rejection')), c.raw.join('\n'));
  assert.equal(end.signal, 'SIGTERM');
});
