// The shared end-to-end cases (tests/cases/shutdown.json) that need no
// emulator-only knob, under AWS's Runtime Interface Emulator with the real
// shutdown layer and the real aws-lambda-ric: the same probe and the same
// check as cases.test.mjs in the emulator, on the verdict and the probe's
// output. As python/tests/test_rie.py: the RIE names the reason of its
// shutdown SandboxTerminated, so the reason is the one verdict field not
// compared; the lifecycle keys read the emulator's timeline, which the RIE
// has not.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { cases, check, probeSource, readLines } from './cases.mjs';
import { makeFunction, scratch } from './lambda.mjs';
import { underRie } from './rie.mjs';

const COMPARED = new Set([
  'outcome', 'handlers', 'statuses', 'verdictEndsWith', 'verdictContains', 'jsonVerdict',
  'output', 'outputContains', 'outputLacks', 'outputCount', 'runtimeLogContains',
]);

/**
 * What a case needs that the RIE cannot give: its runtime share (300 ms),
 * shutdown phase (2000 ms) and the timeout set here (3 s) are fixed, it
 * always has the layer, sends no extra SIGTERMs and is invoked with `{}`.
 */
function emulatorOnly(c) {
  const knobs = [];
  if (!c.layer) knobs.push('no layer');
  if (c.extraSigterms !== 0) knobs.push(`${c.extraSigterms} extra SIGTERMs`);
  if (c.runtimeShareMs !== 300) knobs.push(`runtimeShareMs ${c.runtimeShareMs}`);
  if (c.shutdownMs !== 2000) knobs.push(`shutdownMs ${c.shutdownMs}`);
  if (c.timeoutMs !== 3000) knobs.push(`timeoutMs ${c.timeoutMs}`);
  if (!c.events.every((e) => e === '{}')) knobs.push('events other than {}');
  return knobs;
}

const work = mkdtempSync(join(scratch, 'rie-cases-'));
const applicable = cases.filter((c) => emulatorOnly(c).length === 0);

// The others run in the emulator only (cases.test.mjs); no test is
// registered for them here, so none is reported as skipped.
test('RIE: some shared cases need no emulator-only knob', () => {
  const left = cases.filter((c) => emulatorOnly(c).length > 0).map((c) => `${c.name}: ${emulatorOnly(c).join(', ')}`);
  assert.ok(applicable.length > 0, `the filter left no case to run under the RIE; emulator only:\n${left.join('\n')}`);
});

for (const c of applicable) {
  test(`RIE: ${c.name}`, async () => {
    const dir = mkdtempSync(join(work, `${c.name.slice(0, 40)}-`));
    const output = join(dir, 'probe-output.txt');
    const fn = makeFunction({ 'index.mjs': probeSource });
    const events = Array.from({ length: c.invocations }, (_, i) => c.events[i % c.events.length]);
    const run = await underRie(fn, {
      events,
      env: { AWS_LAMBDA_FUNCTION_TIMEOUT: String(c.timeoutMs / 1000), PROBE_HANDLERS: c.handlers, PROBE_OUTPUT: output, ...c.env },
    });
    const expect = Object.fromEntries(Object.entries(c.expect).filter(([key]) => COMPARED.has(key)));
    check({ ...c, expect }, run, readLines(output));
  });
}
