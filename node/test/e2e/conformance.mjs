// The shared end-to-end cases (tests/cases/shutdown.json) run by the one
// driver of every language, shutdown-conformance (rust/conformance): the
// Node.js probe (../fixtures/probe/index.mjs) on the real aws-lambda-ric on
// Node 22, with the real shutdown layer, in the emulator or under AWS's
// Runtime Interface Emulator. The driver reads the cases, runs them, reads
// the verdict and checks every expectation; a test here names the case and
// asserts the driver's answer.
//
// One documented difference: where a case expects the runtime to end by
// itself with `code:0`, a Node.js function on the real client ends by the
// signal it got (see src/end.ts: process.exit() hangs there), so the driver
// is told `--clean-exit signal:SIGTERM`. Every other expectation is the case's own.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { prioritized } from '../priority.mjs';
import { makeFunction, repo, runtimes, scratch, shutdownLayer } from './lambda.mjs';

const target = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
export const driverBin = join(target, 'debug', 'shutdown-conformance');
if (!existsSync(driverBin)) {
  throw new Error(`missing the shared cases' driver ${driverBin}: cargo build -p graceful-shutdown-conformance`);
}

/** How a Node.js function on the official client ends when it ends by itself. */
export const NODE_CLEAN_EXIT = 'signal:SIGTERM';

/** The probe function of the cases (tests/cases/shutdown.json, "probe"). */
export const probeSource = readFileSync(new URL('../fixtures/probe/index.mjs', import.meta.url), 'utf8');

/** The cases the driver runs on `backend` (the RIE: those that need no emulator-only setting). */
export function caseNames(backend = 'emulator') {
  const listed = spawnSync(driverBin, ['--list', '--backend', backend], { encoding: 'utf8', timeout: 60_000 });
  if (listed.status !== 0) throw new Error(`shutdown-conformance --list failed: ${listed.stderr}`);
  return listed.stdout.split('\n').filter(Boolean);
}

/**
 * Run case `name` on the driver with the Node.js probe (a function directory
 * whose bootstrap runs the official client on Node 22) and return
 * `{ code, stdout, stderr }`. Under the RIE the driver and everything it
 * starts run at a higher CPU priority (../priority.mjs), as the RIE tests do.
 */
export async function runCase(name, { backend = 'emulator', args = [], rie } = {}) {
  const fn = makeFunction({ 'index.mjs': probeSource });
  const work = mkdtempSync(join(scratch, 'conformance-'));
  const argv = [
    '--case', name, '--backend', backend,
    '--function', join(fn, 'bootstrap'),
    '--layer', shutdownLayer(),
    '--env', '_HANDLER=index.handler',
    '--clean-exit', NODE_CLEAN_EXIT,
    '--work-dir', work,
    ...(rie ? ['--rie', rie] : []),
    ...args,
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRACEFUL_SHUTDOWN_')));
  env.LAMBDA_EMULATOR_RUNTIMES = runtimes;
  const [command, full] = backend === 'rie' ? prioritized(driverBin, argv) : [driverBin, argv];
  const child = spawn(command, full, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // A case takes a second or two; a wedged run is ended, and fails the test.
  const guard = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const [code] = await new Promise((resolve) => child.on('exit', (...a) => resolve(a)));
  clearTimeout(guard);
  return { code, stdout, stderr };
}

/** The driver checked every expectation of case `name` and all held. */
export function assertPassed(name, run) {
  const text = `shutdown-conformance exit ${run.code}\n${run.stdout}\n${run.stderr}`;
  const lines = run.stdout.split('\n').filter(Boolean);
  assert.equal(run.code, 0, text);
  assert.ok(lines.some((l) => l === `ok ${name}` || l.startsWith(`ok ${name} (`)), text);
  assert.equal(lines.at(-1), '1 passed, 0 failed', text);
}
