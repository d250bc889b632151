// Running a function under AWS's Runtime Interface Emulator (the open-source
// Lambda core), as rust/emulator/tests/rie.rs does: in a private mount and
// PID namespace with the shutdown layer bind-mounted on /opt/extensions.
// The RIE binary is the one scripts/rie-compare.sh installs (pinned there),
// in <target>/rie/<version>/aws-lambda-rie, or AWS_LAMBDA_RIE.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';

import { leasePort } from '../ports.mjs';
import { prioritized } from '../priority.mjs';
import { repo, scratch, shutdownLayer } from './lambda.mjs';

const version = /^VERSION=(\S+)$/m.exec(readFileSync(join(repo, 'scripts', 'rie-compare.sh'), 'utf8'))?.[1];
export const rieBin =
  process.env.AWS_LAMBDA_RIE ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'rie', version ?? 'unknown', 'aws-lambda-rie');
if (!existsSync(rieBin)) {
  throw new Error(`missing the RIE ${rieBin}: bash scripts/rie-compare.sh installs it (or scripts/test.d/75-node.sh does), or set AWS_LAMBDA_RIE`);
}

let shm;
/**
 * Where the RIE's log (and the secret) go: memory (/dev/shm) when there is
 * one. The RIE writes every line of the runtime's output to it; on a disk
 * that other builds fill with dirty pages, a write can block for hundreds of
 * milliseconds in the kernel's writeback throttling, and the RIE with it.
 * Removed when this test process exits, as `scratch` is.
 */
function logScratch() {
  if (shm === undefined) {
    shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/gs-node-rie-') : scratch;
    if (shm !== scratch) process.on('exit', () => rmSync(shm, { recursive: true, force: true }));
  }
  return shm;
}

/** Wait until `check()` is true, re-checking on each turn of the event loop, at most `ms`. */
async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Signal exactly this process; one that already exited is fine. */
function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch (e) {
    if (e.code !== 'ESRCH') throw e;
  }
}

const connects = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

function invoke(port, body) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write(
        `POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    let answer = '';
    s.setTimeout(20_000, () => s.destroy(new Error('no answer from the RIE')));
    s.on('data', (d) => (answer += d));
    s.on('end', () => resolve(answer));
    s.on('error', reject);
  });
}

/**
 * Run `fn` under the RIE, invoke it once per payload of `events` (one after
 * the other, each answered before the next), then SIGTERM the RIE (reason
 * SandboxTerminated) and return its log lines (the RIE's, the runtime's and
 * the extension's output, merged).
 */
export async function underRie(fn, { env = {}, layer = true, events = ['{}'] } = {}) {
  const dir = mkdtempSync(join(logScratch(), 'rie-'));
  const [rieLease, apiLease, reportLease] = [await leasePort(), await leasePort(), await leasePort()];
  const log = join(dir, 'rie.log');
  const script = join(dir, 'rie.sh');
  // The function at /var/task, as in Lambda (the RIE's managed-instances mode
  // looks for /var/task/bootstrap and starts the runtime there, as another
  // user: the directories it reads or writes are opened to it).
  // Only directories of this test process's own (never the system's /tmp).
  for (const d of [scratch, logScratch(), fn, dir]) chmodSync(d, 0o755);
  const secretDir = join(dir, 'secret');
  mkdirSync(secretDir);
  chmodSync(secretDir, 0o1777);
  writeFileSync(
    script,
    'set -e\nmount -t tmpfs tmpfs /opt\nmkdir -p /opt/extensions\n' +
      (layer ? `mount --bind '${join(shutdownLayer(), 'extensions')}' /opt/extensions\n` : '') +
      `mount -t tmpfs tmpfs /var\nmkdir -p /var/task\nmount --bind '${fn}' /var/task\n` +
      `exec '${rieBin}' --log-level debug --runtime-interface-emulator-address 127.0.0.1:${rieLease.port} ` +
      `--runtime-api-address 127.0.0.1:${apiLease.port} /var/task/bootstrap >'${log}' 2>&1\n`,
  );
  // At a higher CPU priority (see ../priority.mjs): the RIE, the extension, the runtime and its threads.
  const child = spawn(
    ...prioritized('unshare', ['--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child=SIGTERM', '--mount-proc', 'sh', script]),
    {
      env: {
        PATH: '/usr/bin:/bin',
        AWS_LAMBDA_FUNCTION_TIMEOUT: '3',
        _HANDLER: 'index.handler',
        LAMBDA_TASK_ROOT: '/var/task',
        GRACEFUL_SHUTDOWN_PORT: String(reportLease.port),
        GRACEFUL_SHUTDOWN_SECRET_FILE: join(secretDir, 'secret'),
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []);
  try {
    await until(() => connects(rieLease.port), 20_000, 'the RIE listening');
    // unshare --fork ignores SIGTERM while it waits: signal the RIE itself, its child.
    let rie;
    await until(() => {
      rie = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined;
      return rie !== undefined;
    }, 5_000, 'the RIE process');
    for (const body of events) {
      const answer = await invoke(rieLease.port, body);
      if (!answer.startsWith('HTTP/1.1 200')) throw new Error(`the RIE answered: ${answer}\n${lines().join('\n')}`);
    }
    // Idle: the runtime asks for the next invocation after its last response, as when Lambda retires it.
    // (On demand the RIE logs each request; in its managed-instances mode, "Received Runtime /next".)
    const nexts = () => lines().filter((l) => /GET \/2018-06-01\/runtime\/invocation\/next|Received Runtime \/next/.test(l)).length;
    const workers = Number(env.AWS_LAMBDA_NODEJS_WORKER_COUNT ?? 1);
    await until(() => nexts() >= workers + events.length, 10_000, 'the runtime idle in /invocation/next').catch((e) => {
      throw new Error(`${e.message}\n${lines().join('\n')}`);
    });
    signal(rie, 'SIGTERM');
    await until(() => lines().some((l) => l.includes('Waiting for runtime domain processes termination')), 10_000, 'the RIE shutdown');
    // The RIE exits after the reset, or on a second SIGTERM; SIGKILL only if it hangs.
    signal(rie, 'SIGTERM');
    const guard = setTimeout(() => signal(rie, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(guard);
    return new RieRun(lines());
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const l of [rieLease, apiLease, reportLease]) await l.release();
  }
}

export class RieRun {
  constructor(lines) {
    this.lines = lines;
  }
  get text() {
    return this.lines.join('\n');
  }
  /** The runtime's output: the RIE merges it with its own and the extension's, so every line. */
  runtimeLines() {
    return this.lines;
  }
  /** The verdict line, text or JSON (the managed-instances mode logs JSON). */
  get verdict() {
    return this.lines.find((l) => l.startsWith('graceful-shutdown verdict: ') || l.includes('"message":"graceful-shutdown verdict"'));
  }
  get verdictJson() {
    const v = this.verdict;
    return v?.startsWith('{') ? JSON.parse(v) : undefined;
  }
  /** The RIE SIGKILLed the runtime at the end of its share. */
  get runtimeKilled() {
    return this.lines.some((l) => l.includes('Sending SIGKILL to runtime') || /Name:runtime Cause:signaled Signo:9\b/.test(l));
  }
  /** Milliseconds (at the RIE log's resolution) from SIGTERM to the runtime's end. */
  get sigtermToGoneMs() {
    const at = (text) => {
      const line = this.lines.find((l) => l.includes(text));
      const m = line && /(\d\d):(\d\d):(\d\d)[,.](\d\d\d)[ Z]/.exec(line);
      return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) : undefined;
    };
    const term = at('Shutting down the runtime.');
    const gone = at('Shutdown the runtime.');
    return term !== undefined && gone !== undefined ? gone - term : undefined;
  }
}
