// build() and trigger() against a loopback server speaking the extension's
// side of the protocol: the hello at build, the reports in order with the
// secret and the worker id, exactly once, and the missing-extension warning.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { GracefulShutdown, workerId } from 'lambda-graceful-shutdown';
import { encodeRequest } from '../../dist/esm/report.js';
import { tcpReporter } from '../../dist/esm/reporter.js';
import { fakeExtension, recordingLogger } from '../helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'gs-node-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'ab'.repeat(32);
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });

test('build sends hello, trigger reports every step in order and resolves to the summary', async () => {
  const ext = await fakeExtension();
  try {
    const log = recordingLogger();
    const handle = new GracefulShutdown({ port: ext.port, timeoutMs: 250, secretFile }, { logger: log })
      .onShutdown('flush', async () => {})
      .onShutdown('close-pool', () => {
        throw new Error('already closed');
      })
      .build();
    assert.equal(handle.extensionAttached, true);
    await ext.waitFor(1);
    const summary = await handle.trigger();
    await ext.waitFor(7);
    assert.deepEqual(
      summary.handlers.map((h) => [h.name, h.index, h.status]),
      [['flush', 0, 'completed'], ['close-pool', 1, 'failed']],
    );
    const me = workerId();
    assert.equal(me, String(process.pid));
    const bodies = ext.bodies();
    assert.deepEqual(bodies.map((b) => b.type), ['hello', 'shutdownStarted', 'started', 'finished', 'started', 'failed', 'allDone']);
    assert.ok(bodies.every((b) => b.worker === me));
    assert.deepEqual(bodies[0], { type: 'hello', pid: process.pid, handlers: ['flush', 'close-pool'], timeoutMs: 250, concurrent: false, worker: me });
    // The exact bytes, secret included.
    assert.equal(ext.requests[1], encodeRequest(ext.port, secret, { type: 'shutdownStarted', signal: 'trigger' }, me));
    assert.equal(bodies[5].error, 'Error: already closed');
    assert.deepEqual(log.lines.filter(([l]) => l === 'warn'), []);
  } finally {
    await ext.close();
  }
});

test('handlers run exactly once, whatever the number of triggers', async () => {
  let runs = 0;
  const handle = new GracefulShutdown({ port: 4471, timeoutMs: 250, secretFile: join(dir, 'absent') }, { logger: recordingLogger() })
    .onShutdown('count', () => {
      runs += 1;
    })
    .build();
  const [a, b] = await Promise.all([handle.trigger(), handle.trigger()]);
  const c = await handle.trigger();
  assert.equal(runs, 1);
  assert.equal(a, b);
  assert.equal(a, c);
  assert.equal(a.signal, 'trigger');
});

test('the reports of many handlers arrive in the order they were sent', async () => {
  const ext = await fakeExtension();
  try {
    const reporter = tcpReporter(ext.port, 's', '1/2');
    for (let i = 0; i < 40; i++) reporter.send({ type: 'started', handler: `h${i}`, index: i });
    assert.equal(await reporter.flush(10_000), true, 'all written');
    await ext.waitFor(40);
    assert.deepEqual(ext.bodies().map((b) => b.index), Array.from({ length: 40 }, (_, i) => i));
  } finally {
    await ext.close();
  }
});

test('an extension that never answers costs a bounded wait and breaks nothing', async () => {
  const ext = await fakeExtension({ status: 0 });
  try {
    const reporter = tcpReporter(ext.port, 's');
    const d = reporter.send({ type: 'started', handler: 'x', index: 0 });
    await d.written;
    assert.equal(await d.done, undefined);
    assert.equal(await reporter.flush(1000), true);
  } finally {
    await ext.close();
  }
});

test('a missing extension: one warning at build naming the handlers, nothing sent, handlers still run', async () => {
  const script = `
    const { GracefulShutdown } = require('lambda-graceful-shutdown');
    const lines = [];
    const logger = { info() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    const cfg = { port: 4471, timeoutMs: 250, secretFile: ${JSON.stringify(join(dir, 'missing'))} };
    const a = new GracefulShutdown(cfg, { logger }).onShutdown('flush', () => {}).onShutdown('close-pool', () => {}).build();
    new GracefulShutdown(cfg, { logger }).onShutdown('again', () => {}).build();
    a.trigger().then((s) => { console.log(JSON.stringify({ lines, completed: s.completed, attached: a.extensionAttached })); });
  `;
  const { execFileSync } = await import('node:child_process');
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: new URL('../..', import.meta.url) }).toString());
  assert.equal(out.completed, 2);
  assert.equal(out.attached, false);
  assert.equal(out.lines.length, 1, 'once per process');
  assert.match(out.lines[0], /the graceful-shutdown extension is not attached \(GRACEFUL_SHUTDOWN_SECRET_FILE: .*missing does not exist\)/);
  assert.match(out.lines[0], /Lambda sends no SIGTERM/);
  assert.match(out.lines[0], /will NOT run when the environment is retired: flush, close-pool\./);
  assert.match(out.lines[0], /attach the graceful-shutdown layer/);
});

test('a secret file that could break the header is refused', async () => {
  const bad = join(dir, 'injected');
  writeFileSync(bad, 'abc\r\nx-evil: 1');
  const log = recordingLogger();
  const handle = new GracefulShutdown({ port: 4471, timeoutMs: 250, secretFile: bad }, { logger: log }).build();
  assert.equal(handle.extensionAttached, false);
});

test('bad arguments name what is wrong', () => {
  assert.throws(() => new GracefulShutdown().onShutdown('x', 42), /onShutdown\("x"\): handler: expected a function, got number/);
  assert.throws(() => new GracefulShutdown().onShutdown(7, () => {}), /onShutdown: name: expected a string, got number/);
});
