// The shared end-to-end cases (tests/cases/shutdown.json) that need no
// emulator-only setting, under AWS's Runtime Interface Emulator with the real
// shutdown layer and the real aws-lambda-ric: the same probe and the same
// driver as cases.test.mjs (shutdown-conformance --backend rie, which picks
// those cases and compares the verdict, the probe's output and the log; the
// RIE names the reason of its shutdown SandboxTerminated and keeps no
// timeline, so the reason and the lifecycle keys are not compared there).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertPassed, caseNames, runCase } from './conformance.mjs';
import { rieBin } from './rie.mjs';

const applicable = caseNames('rie');

// The others run in the emulator only (cases.test.mjs); no test is
// registered for them here, so none is reported as skipped.
test('RIE: some shared cases need no emulator-only setting', () => {
  assert.ok(applicable.length > 0, 'the driver runs no shared case under the RIE');
});

for (const name of applicable) {
  test(`RIE: ${name}`, async () => {
    assertPassed(name, await runCase(name, { backend: 'rie', rie: rieBin }));
  });
}
