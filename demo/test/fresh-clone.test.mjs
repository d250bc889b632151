// The README's main job, as a new user runs it: the repository cloned into an
// empty directory (the committed HEAD, nothing built, no node_modules, no
// target/, no .runtimes/), then the first command of the README's quick start,
// whose output must end with a result line per language. The test command
// runs this before anything else builds (scripts/test.sh), so a module that
// only a build step makes, or a step that only the test command installs,
// fails here by name.
//
// Plain JavaScript with Node's own test runner: it runs before the checkout's
// node packages are installed.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The languages whose result lines the demo prints, in its order. */
export const LANGUAGES = ['Rust', 'Node.js', 'Python'];
/** A first run builds the emulator, the layer and the Rust function and installs the demo's tools. */
const LIMIT_MS = 40 * 60 * 1000;

/** The quick start's commands: the shell block of the README's "Quick start" section, one command a line. */
export function quickStartCommands(readme) {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  assert.ok(section, 'README.md: no "## Quick start" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'README.md: the "Quick start" section has no ```sh block');
  return block[1].split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
}

/** The demo's "==> Result" lines, per language: with the layer, without it, and behind the slow store (written by the handler, handed off). */
export function resultLines(output) {
  const at = output.lastIndexOf('==> Result');
  assert.ok(at >= 0, 'the demo printed no "==> Result" section');
  const lines = output.slice(at).split('\n').slice(1);
  const results = new Map();
  let current;
  for (const line of lines) {
    const m = /^\s*(?:([A-Za-z.]+):\s+)?(with the layer|without the layer|slow store, written by the handler|slow store, handed off to the layer):\s+(.*)$/.exec(line);
    if (!m) {
      if (/^\s*total time:/.test(line) || line.trim() === '') break;
      continue;
    }
    if (m[1]) {
      current = { with: undefined, without: undefined, slowDirect: undefined, slowHandoff: undefined };
      results.set(m[1], current);
    }
    assert.ok(current, `a result line before any language: ${line}`);
    const key = {
      'with the layer': 'with',
      'without the layer': 'without',
      'slow store, written by the handler': 'slowDirect',
      'slow store, handed off to the layer': 'slowHandoff',
    }[m[2]];
    current[key] = m[3];
  }
  return results;
}

/**
 * Asserts one language's lines: nothing lost with the layer, something lost
 * without it; behind the slow store, the batch lost when the handler writes
 * it itself, and kept when it hands it off to the layer.
 */
export function checkLanguage(name, result) {
  assert.ok(result, `no result line for ${name}`);
  const kept = /^(\d+) of (\d+) buffered writes persisted \((\d+) in full batches during invocations, (\d+) by the shutdown handler\)$/
    .exec(result.with ?? '');
  assert.ok(kept, `${name}, with the layer: ${result.with}`);
  const [sent, persisted, inBatches, byShutdown] = [kept[2], kept[1], kept[3], kept[4]].map(Number);
  assert.ok(sent > 0 && persisted === sent, `${name}, with the layer, some writes were lost: ${result.with}`);
  assert.ok(byShutdown > 0 && inBatches + byShutdown === sent, `${name}, with the layer: ${result.with}`);
  const lost = /^(\d+) of (\d+) buffered writes persisted \((\d+) in full batches during invocations, 0 by the shutdown handler\): (\d+) LOST$/
    .exec(result.without ?? '');
  assert.ok(lost, `${name}, without the layer: ${result.without}`);
  assert.equal(Number(lost[2]), sent, `${name}: both runs send the same writes`);
  assert.equal(Number(lost[4]), byShutdown, `${name}: without the layer, what the shutdown handler stored is what is lost`);
  const cut = /^(\d+) of (\d+) buffered writes persisted \((\d+) in full batches during invocations, 0 by the shutdown handler\): (\d+) LOST$/
    .exec(result.slowDirect ?? '');
  assert.ok(cut, `${name}, slow store, written by the handler: ${result.slowDirect}`);
  assert.equal(Number(cut[4]), byShutdown, `${name}: behind the slow store, the handler's own write of the last batch is lost`);
  const handed = /^(\d+) of (\d+) buffered writes persisted \((\d+) in full batches during invocations, 0 by the shutdown handler, (\d+) handed off to the layer, which stored them\)$/
    .exec(result.slowHandoff ?? '');
  assert.ok(handed, `${name}, slow store, handed off to the layer: ${result.slowHandoff}`);
  assert.ok(Number(handed[1]) === sent && Number(handed[4]) === byShutdown, `${name}: handed off, every write persists: ${result.slowHandoff}`);
}

/** Runs `command` in `cwd` with bash, output to our stdout (prefixed) and to `logFile`; resolves to the output. */
function runLogged(command, cwd, env, logFile) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logFile);
    const chunks = [];
    const take = (data) => {
      chunks.push(data);
      log.write(data);
      process.stdout.write(data.toString().replace(/^(?=.)/gm, '    [fresh clone] '));
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      reject(new Error(`\`${command}\` ran past ${LIMIT_MS / 60000} min; its log is ${logFile}`));
    }, LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end();
      const output = Buffer.concat(chunks).toString();
      if (code === 0) resolve(output);
      else reject(new Error(`\`${command}\` in a fresh clone ended with ${signal ?? `status ${code}`}; its log is ${logFile}; last lines:\n${output.split('\n').slice(-40).join('\n')}`));
    });
  });
}

test('the README quick start names the demo first and the test command second', () => {
  const commands = quickStartCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.equal(commands.length, 2, `README.md's quick start should be two commands: ${commands.join(' | ')}`);
  assert.equal(commands[1], 'bash scripts/test.sh', 'the second command is the test command that CI runs (.ci/run)');
  assert.match(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /^bash scripts\/test\.sh$/m);
});

test('the result lines are read as the demo prints them', () => {
  const sample = [
    '==> Result',
    '    Rust:     with the layer:    15 of 15 buffered writes persisted (10 in full batches during invocations, 5 by the shutdown handler)',
    '              without the layer: 10 of 15 buffered writes persisted (10 in full batches during invocations, 0 by the shutdown handler): 5 LOST',
    '              slow store, written by the handler:  10 of 15 buffered writes persisted (10 in full batches during invocations, 0 by the shutdown handler): 5 LOST',
    '              slow store, handed off to the layer: 15 of 15 buffered writes persisted (10 in full batches during invocations, 0 by the shutdown handler, 5 handed off to the layer, which stored them)',
    '    total time: 1 s',
  ].join('\n');
  const results = resultLines(sample);
  assert.deepEqual([...results.keys()], ['Rust']);
  checkLanguage('Rust', results.get('Rust'));
  // A lost write with the layer, or nothing lost without it, is a failure.
  assert.throws(() => checkLanguage('Rust', { ...results.get('Rust'), with: results.get('Rust').without.replace(/: 5 LOST$/, '') }));
  assert.throws(() => checkLanguage('Rust', { ...results.get('Rust'), without: results.get('Rust').with }));
  // Handed off and still lost, or the handler's own write kept, is a failure too.
  assert.throws(() => checkLanguage('Rust', { ...results.get('Rust'), slowHandoff: results.get('Rust').slowDirect }));
  assert.throws(() => checkLanguage('Rust', { ...results.get('Rust'), slowDirect: results.get('Rust').with }));
});

test('the README main job runs from a fresh clone with nothing built', { timeout: LIMIT_MS + 60_000 }, async () => {
  const [mainJob] = quickStartCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'graceful-shutdown-fresh-clone-'));
  const clone = join(dir, 'repo');
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', '--no-checkout', ROOT, clone]);
  execFileSync('git', ['checkout', '--quiet', '--detach', head], { cwd: clone });
  // Nothing of this checkout's builds: its own target directory and caches.
  const env = { ...process.env };
  for (const name of ['CARGO_TARGET_DIR', 'AWS_LAMBDA_RIE', 'LAMBDA_EMULATOR_RUNTIMES']) delete env[name];
  const logFile = join(dir, 'main-job.log');
  process.stdout.write(`    [fresh clone] ${mainJob} in a clone of ${head.slice(0, 12)} (${clone})\n`);
  const started = Date.now();
  const output = await runLogged(mainJob, clone, env, logFile);
  process.stdout.write(`    [fresh clone] ${mainJob} took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const results = resultLines(output);
  assert.deepEqual([...results.keys()], LANGUAGES, 'one result per language, in the demo\'s order');
  for (const name of LANGUAGES) checkLanguage(name, results.get(name));
  rmSync(dir, { recursive: true, force: true });
});
