// Loopback ports for the processes under test, cooperating with the Rust test
// kit (rust/testkit/src/ports.rs): a port from 20000-31999 (below the
// ephemeral range), held with an exclusive flock on
// <temp dir>/graceful-shutdown-test-ports/<port>.lock for as long as the
// lease lives. Node has no flock, so a `flock` child holds it (util-linux),
// and says so on stdout once it does.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIRST = 20_000;
const END = 32_000;
const dir = join(tmpdir(), 'graceful-shutdown-test-ports');

async function tryLock(port) {
  const holder = spawn('flock', ['--nonblock', '--exclusive', join(dir, `${port}.lock`), 'sh', '-c', 'echo held; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const held = await new Promise((resolve) => {
    holder.stdout.once('data', () => resolve(true));
    holder.once('exit', () => resolve(false));
    holder.once('error', (e) => {
      throw new Error(`cannot run flock to lease a test port: ${e.message}`);
    });
  });
  if (!held) return undefined;
  const release = async () => {
    if (holder.exitCode !== null) return;
    holder.stdin.end();
    await once(holder, 'exit');
  };
  // Locked: no cooperating test uses it. Skip it if another program does.
  const probe = net.createServer();
  const bindable = await new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bindable) await new Promise((resolve) => probe.close(resolve));
  if (!bindable) {
    await release();
    return undefined;
  }
  return { port, release };
}

let next = (process.pid * 7919) % (END - FIRST);

/** A port held until `release()`: keep it until the process it is given to has exited. */
export async function leasePort() {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < END - FIRST; i++) {
    const port = FIRST + (next++ % (END - FIRST));
    const lease = await tryLock(port);
    if (lease) return lease;
  }
  throw new Error(`no free loopback port in ${FIRST}-${END - 1}: every one is locked or in use`);
}
