// The signal path, without timing: on SIGTERM the first handler starts before
// Node goes back to the event loop, and shutdownStarted and its `started` are
// in the kernel before it is called, so a handler that then holds the thread
// until the SIGKILL (here: that SIGKILLs the process itself) is still known to
// have started.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { startChild } from '../child.mjs';
import { fakeExtension } from '../helpers.mjs';

const pkgDir = new URL('../..', import.meta.url).pathname;
const fixture = new URL('../fixtures/same-tick-child.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gs-node-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `${'cd'.repeat(32)}\n`, { mode: 0o600 });

test('SIGTERM: the first handler runs in the signal\'s tick, after its started report is written', async () => {
  const ext = await fakeExtension();
  try {
    const c = startChild([fixture], {
      env: { GRACEFUL_SHUTDOWN_PORT: String(ext.port), GRACEFUL_SHUTDOWN_SECRET_FILE: secretFile },
      cwd: pkgDir,
    });
    await c.waitFor((l) => l.ready, 10_000, 'ready');
    await ext.waitFor(1);
    c.child.kill('SIGTERM');
    const end = await c.exited;
    assert.equal(end.signal, 'SIGKILL', c.raw.join('\n') + c.stderr());
    const said = c.lines.map((l) => Object.keys(l)[0]);
    assert.deepEqual(said, ['ready', 'listener', 'handler'], c.raw.join('\n'));
    await ext.waitFor(3);
    assert.deepEqual(
      ext.bodies().map((b) => [b.type, b.signal ?? b.handler]),
      [['hello', undefined], ['shutdownStarted', 'SIGTERM'], ['started', 'kills']],
    );
  } finally {
    await ext.close();
  }
});
