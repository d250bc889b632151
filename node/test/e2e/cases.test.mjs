// The shared end-to-end cases (tests/cases/shutdown.json), the same as the
// Rust and Python libraries run, with the Node.js probe on the real
// aws-lambda-ric in the emulator and the real shutdown layer. The cases and
// their check are in cases.mjs (with the one documented difference of a
// Node.js function: `code:0` reads `signal:SIGTERM`).
import { mkdtempSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

import { cases, check, probeSource, readLines } from './cases.mjs';
import { emulate, makeFunction, scratch } from './lambda.mjs';

const work = mkdtempSync(join(scratch, 'cases-'));

/** The runtime process of this case: the client's node, with this PROBE_OUTPUT. */
function runtimePid(output) {
  const marker = `PROBE_OUTPUT=${output}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (env.includes(marker) && cmd.includes('aws-lambda-ric')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function sigtermPending(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    return [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].some((m) => (BigInt(`0x${m[1]}`) & (1n << 14n)) !== 0n);
  } catch {
    return false;
  }
}

/**
 * Send `count` more SIGTERMs once the first handler started (the emulator's
 * command line has no such fault), each after the previous one was delivered.
 * Driven by the probe's output file (inotify, re-checked every 20 ms) and
 * /proc: observable events, bounded in time. The runtime's pid is found as
 * soon as it has written anything, so that the signals follow the handler's
 * start within a millisecond or so, well inside its 100 ms.
 */
async function extraSigterms(output, count) {
  const deadline = Date.now() + 30_000;
  const dir = dirname(output);
  let wake = () => {};
  const watcher = watch(dir, () => wake());
  const changed = () =>
    new Promise((resolve) => {
      wake = resolve;
      setTimeout(resolve, 20).unref();
    });
  try {
    let pid;
    for (;;) {
      const lines = readLines(output);
      if (pid === undefined && lines.length > 0) pid = runtimePid(output);
      if (pid !== undefined && lines.some((l) => l.startsWith('start '))) break;
      if (Date.now() > deadline) throw new Error(pid ? 'no handler started' : 'runtime process not found');
      await changed();
    }
    let sent = 0;
    for (let i = 0; i < count; i++) {
      process.kill(pid, 'SIGTERM');
      sent += 1;
      while (sigtermPending(pid)) {
        if (Date.now() > deadline) throw new Error('SIGTERM stayed pending');
        await new Promise((r) => setImmediate(r));
      }
    }
    return sent;
  } finally {
    watcher.close();
  }
}

for (const c of cases) {
  test(c.name, async () => {
    const dir = mkdtempSync(join(work, `${c.name.slice(0, 40)}-`));
    const output = join(dir, 'probe-output.txt');
    const fn = makeFunction({ 'index.mjs': probeSource });
    const args = [
      '--invocations', String(c.invocations),
      '--timeout-ms', String(c.timeoutMs),
      '--runtime-share-ms', String(c.runtimeShareMs),
      '--shutdown-ms', String(c.shutdownMs),
    ];
    c.events.forEach((event, i) => {
      const file = join(dir, `event-${i}.json`);
      writeFileSync(file, event);
      args.push('--event', file);
    });
    const extra = c.extraSigterms ? extraSigterms(output, c.extraSigterms) : Promise.resolve(0);
    const run = await emulate(fn, {
      layer: c.layer,
      args,
      env: { PROBE_HANDLERS: c.handlers, PROBE_OUTPUT: output, ...c.env },
    });
    const sent = await extra;
    check(c, run, readLines(output), sent);
  });
}
