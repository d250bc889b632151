// The shared end-to-end cases (tests/cases/shutdown.json), the same as every
// function library runs, with the Node.js probe on the real aws-lambda-ric in
// the emulator and the real shutdown layer: one test per case, each run and
// checked by the one driver, shutdown-conformance (see conformance.mjs, with
// the one documented difference of a Node.js function: `code:0` reads
// `signal:SIGTERM`).
import { test } from 'node:test';

import { assertPassed, caseNames, runCase } from './conformance.mjs';

for (const name of caseNames()) {
  test(name, async () => {
    assertPassed(name, await runCase(name));
  });
}
