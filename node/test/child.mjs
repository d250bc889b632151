// Run a child program and read its JSON lines as they come, waiting for
// events (never for time).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { prioritized } from './priority.mjs';

/** `node args`, at a higher CPU priority (see priority.mjs). */
export function startChild(args, { env = {}, cwd, node = process.execPath } = {}) {
  const child = spawn(...prioritized(node, args), { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const raw = [];
  let waiters = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    raw.push(line);
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ text: line });
    }
    wake();
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  void exited.then(wake);
  return {
    child,
    lines,
    raw,
    stderr: () => stderr,
    exited,
    /** Wait for a line matching `pick`, at most `ms`. */
    async waitFor(pick, ms = 10_000, what = 'a line') {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = lines.find(pick);
        if (found) return found;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child ended before ${what}: ${raw.join('\n')}\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms: ${raw.join('\n')}\n${stderr}`);
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200).unref();
        });
      }
    },
  };
}
