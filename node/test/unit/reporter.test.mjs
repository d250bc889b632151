// The report transport: a report counts as delivered once its request is
// written to the kernel (the extension reads what reached its socket even once
// the function is gone), and that is what `written` resolves on, without
// waiting for the answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encodeRequest } from '../../dist/esm/report.js';
import { tcpReporter } from '../../dist/esm/reporter.js';
import { startChild } from '../child.mjs';
import { fakeExtension } from '../helpers.mjs';

const REPORTER = new URL('../../dist/esm/reporter.js', import.meta.url).href;

test('a report whose write resolved reaches the extension even if the process is SIGKILLed at once', async () => {
  // Never answered: nothing but the written request can get there.
  const extension = await fakeExtension({ status: 0 });
  try {
    const code =
      `const { tcpReporter } = await import(${JSON.stringify(REPORTER)});\n` +
      `const r = tcpReporter(${extension.port}, 's3cr3t', '7');\n` +
      "r.send({ type: 'shutdownStarted', signal: 'SIGTERM' });\n" +
      "await r.send({ type: 'started', handler: 'slow', index: 0 }).written;\n" +
      "process.kill(process.pid, 'SIGKILL');\n";
    const child = startChild(['--input-type=module', '-e', code]);
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL', child.stderr());
    await extension.waitFor(2);
    assert.deepEqual(extension.requests, [
      encodeRequest(extension.port, 's3cr3t', { type: 'shutdownStarted', signal: 'SIGTERM' }, '7'),
      encodeRequest(extension.port, 's3cr3t', { type: 'started', handler: 'slow', index: 0 }, '7'),
    ]);
  } finally {
    await extension.close();
  }
});

test('written resolves without waiting for an answer, in the order the reports were sent', async () => {
  const extension = await fakeExtension({ status: 0 });
  try {
    const reporter = tcpReporter(extension.port, 's');
    const reports = [0, 1, 2].map((index) => ({ type: 'started', handler: `h${index}`, index }));
    const deliveries = reports.map((report) => reporter.send(report));
    await Promise.all(deliveries.map((d) => d.written));
    assert.equal(await reporter.flush(10_000), true, 'flush waits for the writes only');
    await extension.waitFor(3);
    assert.deepEqual(extension.requests, reports.map((report) => encodeRequest(extension.port, 's', report)));
    // No answer ever came: the exchange ends at its timeout, with no status.
    assert.deepEqual(await Promise.all(deliveries.map((d) => d.done)), [undefined, undefined, undefined]);
  } finally {
    await extension.close();
  }
});
