// The shared end-to-end cases (tests/cases/shutdown.json), the same as the
// Rust and Python libraries run, with the Node.js probe on the real
// aws-lambda-ric in the emulator and the real shutdown layer.
//
// One documented difference: where a case expects the runtime to end by
// itself with `code:0`, a Node.js function on the real client ends by the
// signal it got (see src/end.ts: process.exit() hangs there), so `code:0`
// reads `signal:SIGTERM` here. Every other expectation is the case's own.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

import { emulate, makeFunction, repo, scratch } from './lambda.mjs';

const NODE_CLEAN_EXIT = 'signal:SIGTERM';
const data = JSON.parse(readFileSync(join(repo, 'tests', 'cases', 'shutdown.json'), 'utf8'));
const cases = data.cases.map((c) => ({ ...data.defaults, ...c, env: { ...data.defaults.env, ...(c.env ?? {}) } }));
const probeSource = readFileSync(new URL('../fixtures/probe/index.mjs', import.meta.url), 'utf8');
const work = mkdtempSync(join(scratch, 'cases-'));

const readLines = (path) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

/** The value of `key=` in the verdict's key=value pairs (before ` -- `). */
function verdictField(verdict, key) {
  const head = verdict.split(' -- ')[0];
  for (const [, name, value] of head.matchAll(/((?:"(?:[^"\\]|\\.)*"|\S+))=((?:"(?:[^"\\]|\\.)*"|\S+))/g)) {
    if (name === key) return value;
  }
  throw new assert.AssertionError({ message: `no ${key}= in ${verdict}` });
}

function exitOf(event) {
  if (!event) return undefined;
  return event.signal ? `signal:${event.signal}` : `code:${event.code}`;
}

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
    const lines = readLines(output);
    const expect = c.expect;
    const ctx = `case ${c.name}:\n${run.text}\noutput: ${JSON.stringify(lines)}`;
    const verdict = run.verdict;
    if (expect.lifecycleOk) assert.equal(run.code, 0, ctx);
    if (expect.noVerdict) assert.equal(verdict, undefined, ctx);
    let json;
    if (verdict?.trimStart().startsWith('{')) json = JSON.parse(verdict);
    for (const key of ['reason', 'outcome', 'handlers']) {
      if (!(key in expect)) continue;
      assert.ok(verdict, `no verdict line: ${ctx}`);
      let got;
      if (json) got = key === 'handlers' ? `${json.handlers.filter((h) => h.status === 'ok').length}/${json.handlers.length}` : json[key];
      else got = verdictField(verdict, key);
      assert.equal(got, expect[key], `${key}; ${ctx}`);
    }
    for (const [name, status] of Object.entries(expect.statuses ?? {})) {
      const got = verdictField(verdict ?? '', name);
      assert.ok(got === status || got.startsWith(`${status}(`), `${name}: ${got}, want ${status}; ${ctx}`);
    }
    if (expect.verdictEndsWith) assert.ok((verdict ?? '').endsWith(expect.verdictEndsWith), ctx);
    for (const text of expect.verdictContains ?? []) assert.ok((verdict ?? '').includes(text), ctx);
    if (expect.jsonVerdict) {
      assert.ok(json, `the verdict is not JSON: ${ctx}`);
      expect.jsonVerdict.forEach((want, i) => {
        const got = json.handlers[i];
        assert.equal(got.name, want.name, ctx);
        assert.equal(got.status, want.status, ctx);
        if (want.errorContains) assert.ok((got.error ?? '').includes(want.errorContains), ctx);
      });
    }
    if (expect.runtimeSignals) {
      assert.equal(sent, c.extraSigterms, ctx);
      assert.deepEqual(run.signals(), expect.runtimeSignals.slice(0, expect.runtimeSignals.length - sent), ctx);
    }
    if (expect.runtimeExit) {
      const want = expect.runtimeExit === 'code:0' ? NODE_CLEAN_EXIT : expect.runtimeExit;
      assert.equal(exitOf(run.runtimeExit), want, ctx);
    }
    if (expect.extensionExit) assert.equal(exitOf(run.event('graceful-shutdown', 'exited')), expect.extensionExit, ctx);
    if (expect.runtimeExitWithinMsOfSigterm) {
      assert.ok(run.sigtermToGoneMs !== undefined && run.sigtermToGoneMs <= expect.runtimeExitWithinMsOfSigterm, `${run.sigtermToGoneMs} ms; ${ctx}`);
    }
    if (expect.output) assert.deepEqual(lines, expect.output, ctx);
    for (const l of expect.outputContains ?? []) assert.ok(lines.includes(l), `${l} missing; ${ctx}`);
    for (const l of expect.outputLacks ?? []) assert.ok(!lines.includes(l), `${l} present; ${ctx}`);
    for (const [l, n] of Object.entries(expect.outputCount ?? {})) assert.equal(lines.filter((x) => x === l).length, n, ctx);
    for (const text of expect.runtimeLogContains ?? []) assert.ok(run.runtimeLines().some((l) => l.includes(text)), `${text} not logged; ${ctx}`);
  });
}
