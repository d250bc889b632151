// The shared end-to-end cases (tests/cases/shutdown.json) for the Node.js
// probe, and the one check of a run against a case's expectations: used by
// cases.test.mjs (the emulator) and rie-cases.test.mjs (AWS's Runtime
// Interface Emulator).
//
// One documented difference: where a case expects the runtime to end by
// itself with `code:0`, a Node.js function on the real client ends by the
// signal it got (see src/end.ts: process.exit() hangs there), so `code:0`
// reads `signal:SIGTERM` here. Every other expectation is the case's own.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repo } from './lambda.mjs';

export const NODE_CLEAN_EXIT = 'signal:SIGTERM';

const data = JSON.parse(readFileSync(join(repo, 'tests', 'cases', 'shutdown.json'), 'utf8'));
/** Every case, with the file's defaults filled in. */
export const cases = data.cases.map((c) => ({ ...data.defaults, ...c, env: { ...data.defaults.env, ...(c.env ?? {}) } }));

/** The probe function of the cases (tests/cases/shutdown.json, "probe"). */
export const probeSource = readFileSync(new URL('../fixtures/probe/index.mjs', import.meta.url), 'utf8');

/** The lines of a PROBE_OUTPUT file (none when it was never written). */
export const readLines = (path) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

/** The value of `key=` in the verdict's key=value pairs (before ` -- `). */
export function verdictField(verdict, key) {
  const head = verdict.split(' -- ')[0];
  for (const [, name, value] of head.matchAll(/((?:"(?:[^"\\]|\\.)*"|\S+))=((?:"(?:[^"\\]|\\.)*"|\S+))/g)) {
    if (name === key) return value;
  }
  throw new assert.AssertionError({ message: `no ${key}= in ${verdict}` });
}

export function exitOf(event) {
  if (!event) return undefined;
  return event.signal ? `signal:${event.signal}` : `code:${event.code}`;
}

/**
 * Every expectation of case `c` holds for `run`, `lines` being its
 * PROBE_OUTPUT lines and `sent` the extra SIGTERMs the test sent.
 *
 * `run` is the emulator's Run (lambda.mjs); a run elsewhere needs only what
 * the case's expectations read: `text` and `verdict` always, `runtimeLines()`
 * for runtimeLogContains, and the emulator's timeline (`code`, `signals()`,
 * `runtimeExit`, `event()`, `sigtermToGoneMs`) for the lifecycle keys.
 */
export function check(c, run, lines, sent = 0) {
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
}
