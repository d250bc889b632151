// The handoff end to end (docs/protocol.md, Handoff): a shutdown handler of a
// Node.js function on the real aws-lambda-ric (Node 22) hands a request off
// with `handoff`; the real shutdown layer of the handoff flavour takes it and
// sends it, in the lifecycle emulator (SIGTERM, the runtime's share, the
// runtime gone, then SHUTDOWN and the rest of the phase for the extension),
// to an HTTP endpoint on loopback run by this test, which stands for the
// service the function writes to. With the default layer the handoff is
// refused with 501, and the handler is told why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { driverBin } from './conformance.mjs';
import { emulate, handoffLayer, makeFunction, scratch, shutdownLayer } from './lambda.mjs';

/**
 * The function: its one shutdown handler hands one request to HANDOFF_URL and
 * appends what `handoff` returned to HANDOFF_OUTPUT, one JSON line.
 */
const fn = makeFunction({
  'index.mjs': `
    import { appendFileSync } from 'node:fs';
    import { GracefulShutdown, handoff } from 'lambda-graceful-shutdown';
    GracefulShutdown.fromEnv()
      .onShutdown('flush', async () => {
        const result = await handoff({
          id: 'flush-1',
          method: 'POST',
          url: process.env.HANDOFF_URL,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pid: process.pid, note: 'caf\\u00e9' }),
        });
        appendFileSync(process.env.HANDOFF_OUTPUT, JSON.stringify(result) + '\\n');
      })
      .install();
    export const handler = async (event) => ({ ok: true, event });`,
});

/**
 * The service: keeps every request and answers 200 after 600 ms, longer than
 * the runtime's share, so that the delivery can only end once the runtime has
 * gone (the slow service under test, not a synchronisation).
 */
const received = [];
const endpoint = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    setTimeout(() => res.end('{}'), 600);
  });
});
before(async () => {
  endpoint.listen(0, '127.0.0.1');
  await once(endpoint, 'listening');
});
after(() => endpoint.close());

async function runHandoff(layer) {
  received.length = 0;
  const output = join(mkdtempSync(join(scratch, 'handoff-')), 'results.jsonl');
  const run = await emulate(fn, {
    layer,
    env: { HANDOFF_URL: `http://127.0.0.1:${endpoint.address().port}/flush`, HANDOFF_OUTPUT: output },
  });
  const results = existsSync(output)
    ? readFileSync(output, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
  return { run, results, ctx: `${run.text}\nhandoff results: ${JSON.stringify(results)}\nreceived: ${JSON.stringify(received)}` };
}

/** The verdict line parsed by the one verdict parser (shutdown-conformance --read-verdict). */
function readVerdict(line, ctx) {
  assert.ok(line, `no verdict line\n${ctx}`);
  const done = spawnSync(driverBin, ['--read-verdict'], { input: `${line}\n`, encoding: 'utf8', timeout: 60_000 });
  assert.equal(done.status, 0, `the verdict does not parse: ${done.stderr}\n${line}`);
  return JSON.parse(done.stdout).verdict;
}

test('a handed-off request is delivered after the runtime has gone; the verdict says handoff=1/1', async () => {
  const { run, results, ctx } = await runHandoff(handoffLayer());
  assert.equal(run.code, 0, ctx);
  // The handler got the extension's answer: taken, one request, one held.
  assert.deepEqual(results, [{ ok: true, status: 202, message: '', accepted: 1, held: 1 }], ctx);
  // The endpoint got the request as the handler built it.
  assert.equal(received.length, 1, ctx);
  const [got] = received;
  assert.equal(got.path, '/flush', ctx);
  assert.equal(got.headers['content-type'], 'application/json', ctx);
  const body = JSON.parse(got.body);
  assert.equal(body.note, 'café', ctx);
  assert.ok(Number.isInteger(body.pid), ctx);
  // Its answer came 600 ms later, after the runtime had gone: only the extension was left to take it.
  const delivered = run.logs.find((l) => l.source === 'graceful-shutdown' && l.line.includes('handoff: delivered'));
  assert.ok(delivered, ctx);
  const gone = run.runtimeExit;
  assert.ok(gone, `the runtime never exited\n${ctx}`);
  assert.ok(delivered.at_ms > gone.at_ms, ctx);
  const verdict = readVerdict(run.verdict, ctx);
  assert.equal(verdict.outcome, 'completed', ctx);
  assert.deepEqual(verdict.handoff, { handedOff: 1, delivered: 1, deadLettered: 0, refused: 0 }, ctx);
  assert.match(run.verdict, / handoff=1\/1\b/, ctx);
});

test('the default layer refuses with 501: returned to the handler and logged, nothing sent', async () => {
  const { run, results, ctx } = await runHandoff(shutdownLayer());
  assert.equal(run.code, 0, ctx);
  assert.equal(results.length, 1, ctx);
  const [result] = results;
  assert.equal(result.ok, false, ctx);
  assert.equal(result.status, 501, ctx);
  assert.match(result.message, /handoff flavour/, ctx);
  assert.deepEqual(received, [], ctx);
  // The library logged the refusal once, with the status and the extension's message.
  const logged = run.runtimeLines().filter((l) => l.includes('graceful-shutdown: handoff refused (501 Not Implemented)'));
  assert.equal(logged.length, 1, ctx);
  assert.ok(logged[0].includes(result.message), ctx);
  const verdict = readVerdict(run.verdict, ctx);
  assert.equal(verdict.outcome, 'completed', ctx);
  assert.equal(verdict.handoff?.refused, 1, ctx);
  assert.equal(verdict.handoff?.handedOff, 0, ctx);
});
