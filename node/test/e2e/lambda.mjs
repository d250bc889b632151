// End-to-end harness: a function directory run by the real Node.js runtime
// client (aws-lambda-ric on Node 22, installed under .runtimes/ by setup) in
// the local lifecycle emulator, with the real shutdown layer. Each run gets
// its own report port (leased, see ../ports.mjs) and its own secret file.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { leasePort } from '../ports.mjs';

export const packageDir = fileURLToPath(new URL('../..', import.meta.url));
export const repo = join(packageDir, '..');
const target = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
export const emulatorBin = join(target, 'debug', 'lambda-emulator');
export const extensionBin = join(target, 'debug', 'graceful-shutdown');
/** The handoff flavour of the layer, in its own target directory (scripts/test.d/05-build.sh). */
export const handoffExtensionBin = join(target, 'handoff', 'debug', 'graceful-shutdown');
export const runtimes = join(repo, '.runtimes');
export const nodeBin = join(runtimes, 'node', 'bin', 'node');
export const ricEntry = join(runtimes, 'node', 'node_modules', 'aws-lambda-ric', 'index.mjs');
/** Node 24 (scripts/setup.sh), for running the same client on nodejs24.x. */
export const node24Bin = join(runtimes, 'node24', 'bin', 'node');

for (const [what, path] of [
  ['the emulator (cargo build -p gracefulctl --bin lambda-emulator)', emulatorBin],
  ['the shutdown extension (cargo build -p graceful-shutdown-extension)', extensionBin],
  ['Node 22 for the runtime client (bash scripts/setup.sh)', nodeBin],
  ['aws-lambda-ric (bash scripts/setup.sh)', ricEntry],
]) {
  if (!existsSync(path)) throw new Error(`missing ${what}: ${path}`);
}

/** This test process's temporary directory, removed when it exits. */
export const scratch = mkdtempSync(join(tmpdir(), 'gs-node-e2e-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/**
 * A function directory: `files` (name → source), the package resolvable as
 * `lambda-graceful-shutdown` from `pkgDir` (the workspace package, or an
 * installed tarball), and a `bootstrap` that runs the official client on
 * `node` (Node 22 unless told).
 */
export function makeFunction(files, { pkgDir = packageDir, node = nodeBin } = {}) {
  const dir = mkdtempSync(join(scratch, 'fn-'));
  for (const [name, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), source);
  }
  if (pkgDir) {
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(pkgDir, join(dir, 'node_modules', 'lambda-graceful-shutdown'));
  }
  // As in Lambda, the runtime starts in the function's directory (/var/task):
  // NODE_OPTIONS=--import resolves packages from there.
  writeFileSync(
    join(dir, 'bootstrap'),
    `#!/bin/sh\ncd "$(dirname "$0")"\nexport LAMBDA_TASK_ROOT="\${LAMBDA_TASK_ROOT:-$PWD}"\nexec ${JSON.stringify(node)} ${JSON.stringify(ricEntry)} "$_HANDLER"\n`,
  );
  chmodSync(join(dir, 'bootstrap'), 0o755);
  return dir;
}

const layers = new Map();
/** A layer of `binary` as extensions/graceful-shutdown, copied once per test process. */
function layerOf(binary) {
  let layer = layers.get(binary);
  if (!layer) {
    layer = mkdtempSync(join(scratch, 'layer-'));
    mkdirSync(join(layer, 'extensions'));
    copyFileSync(binary, join(layer, 'extensions', 'graceful-shutdown'));
    chmodSync(join(layer, 'extensions', 'graceful-shutdown'), 0o755);
    layers.set(binary, layer);
  }
  return layer;
}

/** The shutdown layer (the default flavour). */
export function shutdownLayer() {
  return layerOf(extensionBin);
}

/** The handoff flavour of the shutdown layer (built with `--features handoff`). */
export function handoffLayer() {
  if (!existsSync(handoffExtensionBin)) {
    throw new Error(
      `missing the handoff flavour of the shutdown layer (CARGO_TARGET_DIR=target/handoff cargo build -p graceful-shutdown-extension --features handoff): ${handoffExtensionBin}`,
    );
  }
  return layerOf(handoffExtensionBin);
}

/**
 * Run the emulator on `fn` (with the shutdown layer unless `layer: false`, or
 * the layer directory `layer`) and return its JSON timeline with helpers.
 */
export async function emulate(fn, { env = {}, args = [], layer: withLayer = true, handler = 'index.handler', runtime } = {}) {
  const lease = await leasePort();
  try {
    const secretFile = join(mkdtempSync(join(scratch, 'secret-')), 'secret');
    const vars = {
      _HANDLER: handler,
      GRACEFUL_SHUTDOWN_PORT: String(lease.port),
      GRACEFUL_SHUTDOWN_SECRET_FILE: secretFile,
      ...env,
    };
    const argv = ['--function-dir', fn, '--json', ...args];
    // With `runtime`, the emulator runs the official client itself (its managed-runtime mode).
    if (runtime) argv.push('--runtime', runtime, '--handler', handler);
    if (withLayer) argv.push('--layer-dir', typeof withLayer === 'string' ? withLayer : shutdownLayer());
    for (const [k, v] of Object.entries(vars)) argv.push('--env', `${k}=${v}`);
    const child = spawn(emulatorBin, argv, {
      env: { ...process.env, LAMBDA_EMULATOR_RUNTIMES: runtimes },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // A run takes about a second; a wedged one is ended, and fails the test.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = await new Promise((resolve) => child.on('exit', (...a) => resolve(a)));
    clearTimeout(guard);
    let parsed;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw new Error(`the emulator (exit ${code}) printed no JSON timeline:\n${stdout}\n${stderr}`);
    }
    return new Run(parsed, code, stderr);
  } finally {
    await lease.release();
  }
}

export class Run {
  constructor({ events, logs }, code, stderr) {
    this.events = events;
    this.logs = logs;
    this.code = code;
    this.stderr = stderr;
  }
  /** Everything, for assertion messages. */
  get text() {
    const lines = [
      ...this.events.map((e) => ({ at: e.at_ms, s: `${e.source} ${e.kind} ${JSON.stringify(e)}` })),
      ...this.logs.map((l) => ({ at: l.at_ms, s: `${l.source} ${l.stream === 'stderr' ? '!' : '|'} ${l.line}` })),
    ].sort((a, b) => a.at - b.at);
    return lines.map((l) => `${l.at.toFixed(1).padStart(8)} ${l.s}`).join('\n') + (this.stderr ? `\n${this.stderr}` : '');
  }
  event(source, kind, pick = () => true) {
    return this.events.find((e) => e.source === source && e.kind === kind && pick(e));
  }
  signals(source = 'runtime') {
    return this.events.filter((e) => e.source === source && e.kind === 'signal').map((e) => e.signal);
  }
  /** The runtime's exit: { code } or { signal }. */
  get runtimeExit() {
    return this.event('runtime', 'exited');
  }
  /** Milliseconds from the runtime's SIGTERM to its exit. */
  get sigtermToGoneMs() {
    const term = this.event('runtime', 'signal', (e) => e.signal === 'SIGTERM');
    const gone = this.runtimeExit;
    return term && gone ? gone.at_ms - term.at_ms : undefined;
  }
  runtimeLines() {
    return this.logs.filter((l) => l.source === 'runtime').map((l) => l.line);
  }
  get verdict() {
    return this.logs.find((l) => l.source === 'graceful-shutdown' && l.line.includes('graceful-shutdown verdict'))?.line;
  }
}
