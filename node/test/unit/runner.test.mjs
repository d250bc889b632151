// Running the handlers: order, concurrency, isolation, the budget, skipped
// handlers, and the reports sent on the way.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { runHandlers } from '../../dist/esm/runner.js';
import { recordingLogger, recordingReporter } from '../helpers.mjs';

async function run(handlers, { concurrent = false, budgetMs = 250 } = {}) {
  const reporter = recordingReporter();
  const log = recordingLogger();
  const summary = await runHandlers(
    handlers.map(([name, fn]) => ({ name, run: fn })),
    { concurrent, budgetMs, start: performance.now(), signal: 'trigger', reporter, log },
  );
  return { summary, reports: reporter.reports, log: log.lines };
}

const strip = (reports) => reports.map((r) => (r.durationMs === undefined ? r : { ...r, durationMs: 'n' }));

test('in order: one after another, each reported started then finished', async () => {
  const events = [];
  const h = (name, ms) => async () => {
    events.push(`start ${name}`);
    await sleep(ms);
    events.push(`end ${name}`);
  };
  const { summary, reports } = await run([['a', h('a', 15)], ['b', h('b', 1)], ['sync', () => events.push('sync')]]);
  assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b', 'sync']);
  assert.equal(summary.completed, 3);
  assert.equal(summary.allCompleted, true);
  assert.ok(summary.handlers[0].durationMs >= 14, `${summary.handlers[0].durationMs}`);
  assert.deepEqual(strip(reports), [
    { type: 'shutdownStarted', signal: 'trigger' },
    { type: 'started', handler: 'a', index: 0 },
    { type: 'finished', handler: 'a', index: 0, durationMs: 'n' },
    { type: 'started', handler: 'b', index: 1 },
    { type: 'finished', handler: 'b', index: 1, durationMs: 'n' },
    { type: 'started', handler: 'sync', index: 2 },
    { type: 'finished', handler: 'sync', index: 2, durationMs: 'n' },
    { type: 'allDone', completed: 3, failed: 0, timedOut: 0, totalMs: summary.totalMs },
  ]);
});

test('concurrently: all start at once; the total is the longest, not the sum', async () => {
  const events = [];
  const h = (name, ms) => async () => {
    events.push(`start ${name}`);
    await sleep(ms);
    events.push(`end ${name}`);
  };
  const { summary, reports } = await run([['slow', h('slow', 60)], ['fast', h('fast', 1)]], { concurrent: true });
  assert.deepEqual(events, ['start slow', 'start fast', 'end fast', 'end slow']);
  assert.equal(summary.completed, 2);
  assert.deepEqual(reports.slice(0, 3), [
    { type: 'shutdownStarted', signal: 'trigger' },
    { type: 'started', handler: 'slow', index: 0 },
    { type: 'started', handler: 'fast', index: 1 },
  ]);
});

test('isolation: a throw, a rejection, a non-Error are that handler only; the others run', async () => {
  const ran = [];
  const { summary, reports, log } = await run([
    ['throws', () => { throw new TypeError('bad pool'); }],
    ['rejects', async () => { throw new Error('flush failed'); }],
    ['rejects-string', () => Promise.reject('nope')],
    ['rejects-object', () => Promise.reject({ code: 42 })],
    ['ok', () => ran.push('ok')],
  ]);
  assert.deepEqual(ran, ['ok']);
  assert.deepEqual(
    summary.handlers.map((h) => [h.name, h.status, h.error]),
    [
      ['throws', 'failed', 'TypeError: bad pool'],
      ['rejects', 'failed', 'Error: flush failed'],
      ['rejects-string', 'failed', 'nope'],
      ['rejects-object', 'failed', '{"code":42}'],
      ['ok', 'completed', undefined],
    ],
  );
  assert.equal(summary.failed, 4);
  assert.deepEqual(reports.filter((r) => r.type === 'failed').map((r) => [r.handler, r.error]), [
    ['throws', 'TypeError: bad pool'],
    ['rejects', 'Error: flush failed'],
    ['rejects-string', 'nope'],
    ['rejects-object', '{"code":42}'],
  ]);
  assert.ok(log.some(([level, m]) => level === 'error' && m.includes('"throws" failed') && m.includes('TypeError: bad pool')));
  assert.deepEqual(reports.at(-1), { type: 'allDone', completed: 1, failed: 4, timedOut: 0, totalMs: summary.totalMs });
});

test('error texts are cut to the protocol limit', async () => {
  const { summary } = await run([['big', () => { throw new Error('x'.repeat(5000)); }]]);
  assert.ok(summary.handlers[0].error.length <= 1024);
  assert.ok(summary.handlers[0].error.endsWith('…'));
});

test('budget, in order: the handler running at the end is abandoned and timed out, the rest skipped', async () => {
  let aborted;
  const ran = [];
  const { summary, reports, log } = await run(
    [
      ['quick', () => ran.push('quick')],
      ['hangs', (signal) => new Promise(() => signal.addEventListener('abort', () => (aborted = signal.reason)))],
      ['never', () => ran.push('never')],
    ],
    { budgetMs: 100 },
  );
  assert.deepEqual(ran, ['quick']);
  assert.deepEqual(summary.handlers.map((h) => h.status), ['completed', 'timedOut', 'skipped']);
  assert.deepEqual([summary.completed, summary.timedOut, summary.skipped, summary.failed], [1, 1, 1, 0]);
  assert.ok(summary.totalMs >= 99 && summary.totalMs < 100 + 1000, `${summary.totalMs}`);
  assert.match(String(aborted), /the 100 ms shutdown budget ran out/);
  assert.deepEqual(strip(reports.slice(3)), [
    { type: 'started', handler: 'hangs', index: 1 },
    { type: 'timedOut', handler: 'hangs', index: 1, durationMs: 'n' },
    { type: 'allDone', completed: 1, failed: 0, timedOut: 1, totalMs: summary.totalMs },
  ]);
  assert.equal(summary.handlers[2].durationMs, 0);
  assert.ok(log.some(([level, m]) => level === 'warn' && m.includes('"never" skipped')));
});

test('budget, concurrently: every handler still running is timed out', async () => {
  const { summary } = await run(
    [
      ['a', () => new Promise(() => {})],
      ['b', () => sleep(1)],
      ['c', () => new Promise(() => {})],
    ],
    { concurrent: true, budgetMs: 100 },
  );
  assert.deepEqual(summary.handlers.map((h) => h.status), ['timedOut', 'completed', 'timedOut']);
  assert.equal(summary.skipped, 0);
});

test('no handlers: still started and done', async () => {
  const { summary, reports } = await run([]);
  assert.equal(summary.allCompleted, true);
  assert.deepEqual(reports.map((r) => r.type), ['shutdownStarted', 'allDone']);
});

test('a handler starts only once its started report is written, and then at once', async () => {
  // A reporter whose `started` write is held until the test lets it go.
  const events = [];
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const reporter = {
    enabled: true,
    send(report) {
      events.push(`send ${report.type}`);
      const written = report.type === 'started' ? held.then(() => events.push('written started')) : Promise.resolve();
      return { written, done: written.then(() => 202) };
    },
    flush: async () => true,
  };
  const summary = runHandlers([{ name: 'h', run: () => events.push('handler') }], {
    concurrent: false,
    budgetMs: 10_000,
    start: performance.now(),
    signal: 'trigger',
    reporter,
    log: recordingLogger(),
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, ['send shutdownStarted', 'send started']);
  release();
  assert.equal((await summary).completed, 1);
  assert.deepEqual(events.slice(2, 4), ['written started', 'handler']);
});

test('a report carries a handler name cut to the protocol limit; the summary keeps the name', async () => {
  const long = 'n'.repeat(300);
  const { summary, reports } = await run([[long, () => {}]]);
  assert.equal(summary.handlers[0].name, long);
  for (const r of reports.filter((r) => r.handler !== undefined)) {
    assert.ok(r.handler.length <= 128 && r.handler.endsWith('…'), r.handler);
  }
});
