// The construct refuses at synth time exactly the port and timeout values the
// extension and the function libraries refuse at run time: the settings
// vectors of spec/vectors/settings.json (written by the Rust code that defines
// them), read here. The construct's messages name the property (`port`,
// `timeout`) rather than the variable, and say how to fix it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { checkPort, checkTimeout } from '../lib/validation';
import { REPO_DIR } from './helpers';

interface ValueCase {
  readonly variable: string;
  readonly value: string;
  readonly accepted?: number;
  readonly error?: string;
}

const { values } = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'spec', 'vectors', 'settings.json'), 'utf8')) as
  { values: ValueCase[] };
/** The cases whose value a CDK user could write as a number: whole decimal numbers. */
const numeric = (variable: string) => values.filter((c) => c.variable === variable && /^\s*\+?\d+\s*$/.test(c.value));

test('the vectors hold accepted and refused numbers for both settings', () => {
  for (const variable of ['GRACEFUL_SHUTDOWN_PORT', 'GRACEFUL_SHUTDOWN_TIMEOUT_MS']) {
    const cases = numeric(variable);
    assert.ok(cases.some((c) => c.accepted !== undefined), variable);
    assert.ok(cases.some((c) => c.error !== undefined), variable);
  }
});

test('`port` is accepted or refused as the extension accepts or refuses GRACEFUL_SHUTDOWN_PORT', () => {
  for (const c of numeric('GRACEFUL_SHUTDOWN_PORT')) {
    const port = Number(c.value.trim());
    if (c.accepted !== undefined) {
      assert.equal(checkPort(port), c.accepted, c.value);
    } else {
      assert.throws(() => checkPort(port), (e: Error) => {
        assert.match(e.message, /^`port` is /, c.value);
        // A reserved port is refused naming the same user as the extension's message.
        const usedBy = /not used by (.*) \(default/.exec(c.error ?? '')?.[1];
        if (usedBy !== undefined) assert.ok(e.message.includes(`used by ${usedBy}`), `${e.message} / ${c.error}`);
        return true;
      }, c.value);
    }
  }
});

test('`timeout` is accepted or refused as the extension accepts or refuses GRACEFUL_SHUTDOWN_TIMEOUT_MS', () => {
  for (const c of numeric('GRACEFUL_SHUTDOWN_TIMEOUT_MS')) {
    const ms = Number(c.value.trim());
    if (!Number.isSafeInteger(ms)) continue; // past 2^53 no Duration holds the value
    if (c.accepted !== undefined) {
      assert.equal(checkTimeout(Duration.millis(ms)), c.accepted, c.value);
    } else {
      assert.throws(() => checkTimeout(Duration.millis(ms)), (e: Error) => /^`timeout` is /.test(e.message), c.value);
    }
  }
});
