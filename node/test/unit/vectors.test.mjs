// The contract's vectors (spec/vectors/*.json, written by the Rust code that
// defines the contract: rust/lambda-graceful-shutdown/tests/vectors.rs): the
// report bytes, the text cuts, the hello split and the settings with their
// exact messages, each made here by this library's own code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { configFromLookup, parsePort, parseTimeoutMs } from '../../dist/esm/config.js';
import { encodeRequest, fit, helloReports, jsonStringLen, reportJson } from '../../dist/esm/report.js';

const load = (name) => JSON.parse(readFileSync(new URL(`../../../spec/vectors/${name}`, import.meta.url), 'utf8'));

/** The report of a vector, with the fields in the order the library's own code builds them. */
function build(fields) {
  switch (fields.type) {
    case 'hello': {
      const { pid, handlers, timeoutMs, concurrent, firstIndex } = fields;
      return { type: 'hello', pid, handlers, timeoutMs, concurrent, ...(firstIndex === undefined ? {} : { firstIndex }) };
    }
    case 'shutdownStarted': return { type: 'shutdownStarted', signal: fields.signal };
    case 'started': return { type: 'started', handler: fields.handler, index: fields.index };
    case 'finished': return { type: 'finished', handler: fields.handler, index: fields.index, durationMs: fields.durationMs };
    case 'failed':
      return { type: 'failed', handler: fields.handler, index: fields.index, durationMs: fields.durationMs, error: fields.error };
    case 'timedOut': return { type: 'timedOut', handler: fields.handler, index: fields.index, durationMs: fields.durationMs };
    case 'allDone':
      return { type: 'allDone', completed: fields.completed, failed: fields.failed, timedOut: fields.timedOut, totalMs: fields.totalMs };
    default: throw new Error(`unknown report type ${fields.type}`);
  }
}

test('every report is byte for byte what the Rust encoder writes', () => {
  const { port, secret, cases } = load('reports.json');
  const kinds = new Set(cases.map((c) => c.report.type));
  assert.deepEqual([...kinds].sort(), ['allDone', 'failed', 'finished', 'hello', 'shutdownStarted', 'started', 'timedOut']);
  for (const c of cases) {
    const worker = c.worker ?? undefined;
    const report = build(c.report);
    assert.equal(reportJson(report, worker), c.body, JSON.stringify(c.report));
    assert.equal(encodeRequest(port, secret, report, worker), c.request, JSON.stringify(c.report));
  }
});

test('texts are cut exactly as the Rust side cuts them', () => {
  const { cases } = load('fit.json');
  assert.ok(cases.length > 50);
  for (const c of cases) {
    for (const [max, expected] of c.cuts) {
      const got = fit(c.text, max);
      assert.equal(got, expected, `${JSON.stringify(c.text)} to ${max}`);
      assert.ok(jsonStringLen(got) <= max);
    }
  }
});

test('hellos are split exactly as the Rust side splits them', () => {
  const { cases } = load('hello.json');
  assert.ok(cases.some((c) => c.hellos.length > 1), 'the vectors include a split');
  for (const c of cases) {
    const worker = c.worker ?? undefined;
    const hellos = helloReports(c.pid, c.names, c.timeoutMs, c.concurrent, worker);
    assert.deepEqual(hellos.map((h) => reportJson(h, worker)), c.hellos);
  }
});

test('settings are read, and refused word for word, as the vectors say', () => {
  const { library, values } = load('settings.json');
  for (const c of library) {
    const { config, problems } = configFromLookup((name) => c.env[name]);
    assert.deepEqual(config, { port: c.port, timeoutMs: c.timeoutMs, secretFile: c.secretFile }, JSON.stringify(c.env));
    assert.deepEqual(problems.map((p) => p.message), c.problems, JSON.stringify(c.env));
  }
  const parse = { GRACEFUL_SHUTDOWN_PORT: parsePort, GRACEFUL_SHUTDOWN_TIMEOUT_MS: parseTimeoutMs };
  for (const c of values) {
    const parsed = parse[c.variable](c.value);
    if ('accepted' in c) assert.deepEqual(parsed, { ok: true, value: c.accepted }, JSON.stringify(c));
    else {
      assert.equal(parsed.ok, false, JSON.stringify(c));
      assert.equal(`${c.variable}: expected ${parsed.expected}, got ${JSON.stringify(c.value)}`, c.error);
    }
  }
});
