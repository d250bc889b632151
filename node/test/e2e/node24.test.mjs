// The same client, aws-lambda-ric 4.0.2 (its native part is built once, on
// Node 22: it is a Node-API addon, which Node 24 loads as it is), on Node 24
// (nodejs24.x) in the emulator with the real shutdown layer: the handlers run,
// the verdict names them, and the process ends by itself after its reports.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

import { emulate, makeFunction, node24Bin } from './lambda.mjs';

if (!existsSync(node24Bin)) throw new Error(`missing Node 24 (bash scripts/setup.sh installs it): ${node24Bin}`);

test('Node 24: both handlers ok on the real client, the runtime ends itself by SIGTERM before its share', async () => {
  const fn = makeFunction(
    {
      'index.mjs': `
import { GracefulShutdown } from 'lambda-graceful-shutdown';
console.log('runtime node ' + process.version);
GracefulShutdown.fromEnv()
  .onShutdown('flush', () => new Promise((r) => setTimeout(r, 10)))
  .onShutdown('close-pool', () => {})
  .install();
export const handler = async () => ({ ok: true });
`,
    },
    { node: node24Bin },
  );
  const run = await emulate(fn, { args: ['--invocations', '2'] });
  assert.equal(run.code, 0, run.text);
  assert.ok(run.runtimeLines().some((l) => /runtime node v24\./.test(l)), run.text);
  assert.deepEqual(run.signals(), ['SIGTERM'], run.text);
  assert.equal(run.runtimeExit?.signal, 'SIGTERM', run.text);
  assert.ok(run.sigtermToGoneMs < 300, `${run.sigtermToGoneMs} ms\n${run.text}`);
  assert.match(run.verdict ?? '', /outcome=completed reason=spindown handlers=2\/2 total_ms=\d+ flush=ok\(\d+ms\) close-pool=ok\(\d+ms\)/, run.text);
});
