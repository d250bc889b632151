// The report bodies and requests, byte for byte what the Rust protocol crate
// writes (the expected strings are those of rust/protocol/src/report.rs and of
// the per-worker section of docs/protocol.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encodeRequest, fit, helloReports, jsonStringLen, parseStatus, reportJson } from '../../dist/esm/report.js';

test('the request is exact', () => {
  assert.equal(
    encodeRequest(4471, 's3cr3t', { type: 'shutdownStarted', signal: 'SIGTERM' }),
    'POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n' +
      'x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 45\r\nConnection: close\r\n\r\n' +
      '{"type":"shutdownStarted","signal":"SIGTERM"}',
  );
  assert.equal(
    encodeRequest(4471, 's3cr3t', { type: 'started', handler: 'flush', index: 0 }, '4242'),
    'POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n' +
      'x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 62\r\nConnection: close\r\n\r\n' +
      '{"type":"started","handler":"flush","index":0,"worker":"4242"}',
  );
});

test('Content-Length counts bytes, not characters', () => {
  const req = encodeRequest(1, 's', { type: 'started', handler: '日本', index: 1 });
  const body = req.slice(req.indexOf('\r\n\r\n') + 4);
  assert.equal(body, '{"type":"started","handler":"日本","index":1}');
  assert.match(req, new RegExp(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
  assert.equal(Buffer.byteLength(body), body.length + 4);
});

test('every report type has the Rust field order, camelCase, worker last', () => {
  const cases = [
    [{ type: 'finished', handler: 'flush', index: 0, durationMs: 12 }, undefined, '{"type":"finished","handler":"flush","index":0,"durationMs":12}'],
    [{ type: 'allDone', completed: 2, failed: 1, timedOut: 0, totalMs: 40 }, undefined, '{"type":"allDone","completed":2,"failed":1,"timedOut":0,"totalMs":40}'],
    [
      { type: 'hello', pid: 7, handlers: ['flush', 'close-pool'], timeoutMs: 250, concurrent: true },
      undefined,
      '{"type":"hello","pid":7,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":true}',
    ],
    [
      { type: 'hello', pid: 4242, handlers: ['flush', 'close-pool'], timeoutMs: 250, concurrent: false },
      '4242',
      '{"type":"hello","pid":4242,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":false,"worker":"4242"}',
    ],
    [{ type: 'shutdownStarted', signal: 'SIGTERM' }, '4242', '{"type":"shutdownStarted","signal":"SIGTERM","worker":"4242"}'],
    [{ type: 'finished', handler: 'flush', index: 0, durationMs: 3 }, '88/2', '{"type":"finished","handler":"flush","index":0,"durationMs":3,"worker":"88/2"}'],
    [
      { type: 'failed', handler: 'flush', index: 0, durationMs: 3, error: 'boom' },
      '4242',
      '{"type":"failed","handler":"flush","index":0,"durationMs":3,"error":"boom","worker":"4242"}',
    ],
    [{ type: 'timedOut', handler: 'flush', index: 0, durationMs: 250 }, '4242', '{"type":"timedOut","handler":"flush","index":0,"durationMs":250,"worker":"4242"}'],
    [
      { type: 'allDone', completed: 2, failed: 0, timedOut: 0, totalMs: 13 },
      '4242',
      '{"type":"allDone","completed":2,"failed":0,"timedOut":0,"totalMs":13,"worker":"4242"}',
    ],
    // Field order is the encoder's, not the object's.
    [{ index: 3, handler: 'x', type: 'started' }, undefined, '{"type":"started","handler":"x","index":3}'],
  ];
  for (const [report, worker, json] of cases) assert.equal(reportJson(report, worker), json);
  assert.equal(Buffer.byteLength(reportJson(cases[3][0], '4242')), 112);
  assert.equal(Buffer.byteLength(reportJson(cases[5][0], '88/2')), 78);
});

test('fit cuts by escaped bytes on a character boundary', () => {
  assert.equal(fit('flush', 128), 'flush');
  const exact = 'é'.repeat(64);
  assert.equal(fit(exact, 128), exact, '128 bytes fit in 128');
  const long = '日本'.repeat(1000);
  const cut = fit(long, 1024);
  assert.ok(jsonStringLen(cut) <= 1024);
  assert.ok(jsonStringLen(cut) > 1024 - 6);
  assert.ok(cut.endsWith('…'));
  assert.ok(long.startsWith(cut.slice(0, -1)));
  const controls = '\u0001'.repeat(300);
  assert.equal(jsonStringLen(controls), 1800);
  assert.ok(jsonStringLen(fit(controls, 128)) <= 128);
  assert.ok(fit(controls, 128).startsWith('\u0001'));
  assert.equal(jsonStringLen('"\\\n'), 6);
  assert.equal(fit('abcdef', 2), 'ab');
  // Never splits a surrogate pair.
  const emoji = '😱'.repeat(100);
  const e = fit(emoji, 20);
  assert.equal(e, '😱'.repeat(4) + '…');
});

test('jsonStringLen is what JSON.stringify writes, for any string', () => {
  // A seeded generator over every kind of code unit: ASCII, controls, quotes,
  // BMP, astral pairs and lone surrogates.
  let seed = 12345;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pools = [() => rand(0x20), () => 0x20 + rand(0x60), () => 0x80 + rand(0x780), () => 0x800 + rand(0xd000), () => 0xd800 + rand(0x800)];
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const len = rand(40);
    for (let j = 0; j < len; j++) {
      s += rand(8) === 0 ? String.fromCodePoint(0x10000 + rand(0xfffff)) : String.fromCharCode(pools[rand(pools.length)]());
    }
    assert.equal(jsonStringLen(s), Buffer.byteLength(JSON.stringify(s)) - 2, JSON.stringify(s));
    const max = rand(64);
    assert.ok(jsonStringLen(fit(s, max)) <= max);
  }
});

test('hello is one report when the names fit', () => {
  const hellos = helloReports(7, ['flush', 'close-pool'], 250, true);
  assert.equal(hellos.length, 1);
  assert.equal(reportJson(hellos[0]), '{"type":"hello","pid":7,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":true}');
  assert.equal(helloReports(7, [], 250, false).length, 1);
});

test('many long names are split across hellos that each fit, worker counted', () => {
  const names = Array.from({ length: 100 }, (_, i) => `${i}-${'ß'.repeat(200)}`);
  const worker = '4294967295/65535';
  const hellos = helloReports(4294967295, names, 4294967295, false, worker);
  assert.ok(hellos.length > 1);
  const all = [];
  for (const hello of hellos) {
    const json = reportJson(hello, worker);
    assert.ok(Buffer.byteLength(json) <= 4096, `${Buffer.byteLength(json)} bytes`);
    const parsed = JSON.parse(json);
    assert.equal(parsed.firstIndex ?? 0, all.length);
    all.push(...parsed.handlers);
  }
  assert.deepEqual(all, names.map((n) => fit(n, 128)));
  // Tight: each but the last could not take one more name.
  for (let i = 0; i + 1 < hellos.length; i++) {
    const next = hellos[i + 1].handlers[0];
    assert.ok(Buffer.byteLength(reportJson(hellos[i], worker)) + jsonStringLen(next) + 3 > 4096);
  }
});

test('status lines', () => {
  assert.equal(parseStatus('HTTP/1.1 202 Accepted\r\n'), 202);
  assert.equal(parseStatus('HTTP/1.0 401 Unauthorized\r\n\r\n'), 401);
  assert.equal(parseStatus('SSH-2.0\r\n'), undefined);
  assert.equal(parseStatus(''), undefined);
});

test('the cuts are those of spec/limits.json', async () => {
  const { readFileSync } = await import('node:fs');
  const spec = JSON.parse(readFileSync(new URL('../../../spec/limits.json', import.meta.url), 'utf8'));
  const report = await import('../../dist/esm/report.js');
  assert.deepEqual(
    [report.MAX_NAME_BYTES, report.MAX_ERROR_BYTES, report.MAX_WORKER_BYTES],
    [spec.maxNameBytes, spec.maxErrorBytes, spec.maxWorkerBytes],
  );
  // And they are what the encoder cuts to.
  const [hello] = helloReports(1, ['n'.repeat(5000)], 250, false);
  assert.equal(Buffer.byteLength(hello.handlers[0]), spec.maxNameBytes);
  const body = JSON.parse(reportJson({ type: 'started', handler: 'h', index: 0 }, 'w'.repeat(500)));
  assert.equal(Buffer.byteLength(body.worker), spec.maxWorkerBytes);
  assert.ok(body.worker.endsWith('…'));
});
