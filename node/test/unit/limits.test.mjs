import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { LIMITS } from 'lambda-graceful-shutdown';

test('the bundled limits are exactly spec/limits.json', () => {
  const spec = JSON.parse(readFileSync(new URL('../../../spec/limits.json', import.meta.url), 'utf8'));
  assert.deepEqual(LIMITS, spec);
});
