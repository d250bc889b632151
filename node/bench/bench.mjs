// Side-by-side figures for the Node.js library against the hand-written
// pattern of the articles (`process.on('SIGTERM', async () => { ...;
// process.exit(0); })`), median and spread (p10-p90) over repeated runs:
//
//   import + install      fresh Node 22 processes, measured inside each, after the
//                         built-in modules the runtime client has already loaded
//   per-invoke latency    the real client in the emulator, invocations interleaved
//                         between an environment with the library and one without
//   SIGTERM -> first handler   a real signal to an idle Node 22 process (same monotonic clock)
//   SIGTERM -> process gone    the real client in the emulator, shutdown layer attached
//
// Usage: node bench/bench.mjs [--runs N] [--json FILE]   (after pnpm run build, and
// the Rust builds and scripts/setup.sh for the emulator rows). Every loop is
// bounded by its count; every child by a timeout.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { emulate, makeFunction, nodeBin, packageDir } from '../test/e2e/lambda.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, json: { type: 'string' } } });
const RUNS = Math.max(3, Math.min(200, Number(values.runs)));

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
  return { n: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s.at(-1) };
}
const fmt = (st, unit = 'ms', digits = 2) =>
  `${st.median.toFixed(digits)} ${unit} (p10 ${st.p10.toFixed(digits)}, p90 ${st.p90.toFixed(digits)}, n=${st.n})`;

const rows = [];
function row(name, lib, hand, extra = {}) {
  rows.push({ name, library: lib, handWritten: hand, ...extra });
  console.log(`${name.padEnd(28)} library ${fmt(lib)} | hand-written ${fmt(hand)}`);
}

// --- import + install -------------------------------------------------------
// The built-in modules the runtime client (aws-lambda-ric 4.0.2) has loaded
// before it imports the handler module: loaded first, outside the timing.
const clientBuiltins = ['node:fs', 'node:http', 'node:net', 'node:os', 'node:path', 'node:util', 'node:worker_threads'];
const preload = clientBuiltins.map((m) => `await import('${m}');`).join(' ');
const installLib = `
  ${preload}
  const t0 = process.hrtime.bigint();
  const { GracefulShutdown } = await import('lambda-graceful-shutdown');
  GracefulShutdown.fromEnv().onShutdown('flush', async () => {}).onShutdown('close-pool', () => {}).install();
  console.log(Number(process.hrtime.bigint() - t0) / 1e6);
  process.kill(process.pid, 'SIGKILL');`;
const installHand = `
  ${preload}
  const t0 = process.hrtime.bigint();
  process.on('SIGTERM', async () => { process.exit(0); });
  console.log(Number(process.hrtime.bigint() - t0) / 1e6);
  process.kill(process.pid, 'SIGKILL');`;
function timeChild(source) {
  const out = execFileSync(nodeBin, ['--input-type=module', '-e', source], {
    cwd: packageDir,
    env: { ...process.env, GRACEFUL_SHUTDOWN_SECRET_FILE: '/nonexistent/secret' },
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 30_000,
  }).toString();
  return Number(out.trim().split('\n').at(-1));
}
function timeChildKilled(source) {
  try {
    return timeChild(source);
  } catch (e) {
    // The child ends itself with SIGKILL (no exit path): read what it printed.
    return Number(e.stdout.toString().trim().split('\n').at(-1));
  }
}
{
  const lib = [];
  const hand = [];
  for (let i = 0; i < RUNS; i++) {
    lib.push(timeChildKilled(installLib));
    hand.push(timeChildKilled(installHand));
  }
  row('import + install', stats(lib), stats(hand));
}

// --- SIGTERM -> first handler ---------------------------------------------------
const idleLib = `
  import { GracefulShutdown } from 'lambda-graceful-shutdown';
  GracefulShutdown.fromEnv({ logger: { info() {}, warn() {}, error() {} } })
    .onShutdown('first', () => { process.stdout.write('handler ' + process.hrtime.bigint() + '\\n'); })
    .install();
  setInterval(() => {}, 60_000);
  process.stdout.write('ready\\n');`;
const idleHand = `
  process.on('SIGTERM', async () => { process.stdout.write('handler ' + process.hrtime.bigint() + '\\n'); process.exit(0); });
  setInterval(() => {}, 60_000);
  process.stdout.write('ready\\n');`;
function sigtermToHandler(source) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, ['--input-type=module', '-e', source], {
      cwd: packageDir,
      env: { ...process.env, GRACEFUL_SHUTDOWN_SECRET_FILE: '/nonexistent/secret' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let out = '';
    let sent;
    child.stdout.on('data', (d) => {
      out += d;
      if (sent === undefined && out.includes('ready\n')) {
        sent = process.hrtime.bigint();
        child.kill('SIGTERM');
      }
      const m = /handler (\d+)\n/.exec(out);
      if (m && sent !== undefined) {
        clearTimeout(guard);
        child.kill('SIGKILL');
        resolve(Number(BigInt(m[1]) - sent) / 1e6);
      }
    });
    child.on('exit', () => {
      clearTimeout(guard);
      if (!/handler \d+\n/.test(out)) reject(new Error(`no handler line: ${out}`));
    });
  });
}
{
  const lib = [];
  const hand = [];
  for (let i = 0; i < RUNS; i++) {
    lib.push(await sigtermToHandler(idleLib));
    hand.push(await sigtermToHandler(idleHand));
  }
  row('SIGTERM -> first handler', stats(lib), stats(hand));
}

// --- the real client in the emulator ---------------------------------------------
const libFn = makeFunction({
  'index.mjs': `
    import { GracefulShutdown } from 'lambda-graceful-shutdown';
    GracefulShutdown.fromEnv().onShutdown('flush', async () => {}).onShutdown('close-pool', () => {}).install();
    export const handler = async (event) => ({ ok: true, event });`,
});
const handFn = makeFunction(
  {
    'index.mjs': `
    process.on('SIGTERM', async () => { console.log('flushed'); process.exit(0); });
    export const handler = async (event) => ({ ok: true, event });`,
  },
  { pkgDir: null },
);
const bareFn = makeFunction({ 'index.mjs': 'export const handler = async (event) => ({ ok: true, event });' }, { pkgDir: null });

function invokeLatencies(run) {
  const at = new Map(run.events.filter((e) => e.kind === 'invoke').map((e) => [e.request_id, e.at_ms]));
  return run.events.filter((e) => e.kind === 'response' && at.has(e.request_id)).map((e) => e.at_ms - at.get(e.request_id));
}
{
  const gone = { lib: [], hand: [] };
  const killed = { lib: 0, hand: 0 };
  const invoke = { lib: [], bare: [] };
  const INVOCATIONS = 100;
  const emuRuns = Math.max(3, Math.ceil(RUNS / 2));
  for (let i = 0; i < emuRuns; i++) {
    const a = await emulate(libFn, { args: ['--invocations', String(INVOCATIONS)] });
    const b = await emulate(bareFn, { args: ['--invocations', String(INVOCATIONS)] });
    const h = await emulate(handFn);
    invoke.lib.push(...invokeLatencies(a).slice(1)); // the first invocation is cold
    invoke.bare.push(...invokeLatencies(b).slice(1));
    gone.lib.push(a.sigtermToGoneMs);
    gone.hand.push(h.sigtermToGoneMs);
    if (a.runtimeExit?.signal === 'SIGKILL') killed.lib += 1;
    if (h.runtimeExit?.signal === 'SIGKILL') killed.hand += 1;
  }
  const lib = stats(invoke.lib);
  const bare = stats(invoke.bare);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // The emulator times in 0.1 ms steps: the means resolve finer than the medians.
  const ratio = mean(invoke.lib) / mean(invoke.bare);
  rows.push({ name: 'per-invoke latency', library: lib, without: bare, ratioOfMeans: ratio, ratioOfMedians: lib.median / bare.median });
  console.log(
    `${'per-invoke latency'.padEnd(28)} library ${fmt(lib)} | without ${fmt(bare)} | ratio of means ${ratio.toFixed(3)}, of medians ${(lib.median / bare.median).toFixed(3)}`,
  );
  row('SIGTERM -> process gone', stats(gone.lib), stats(gone.hand), { sigkilled: killed, of: emuRuns });
  console.log(`${''.padEnd(28)} SIGKILLed: library ${killed.lib}/${emuRuns}, hand-written ${killed.hand}/${emuRuns}`);
}

if (values.json) writeFileSync(values.json, `${JSON.stringify({ node: process.version, client: 'aws-lambda-ric 4.0.2 on Node 22', rows }, null, 2)}\n`);
