/**
 * The cold-start `hello` reports: sent at install, without waiting. The
 * request is written to its connection on the next tick, right behind the
 * connect (see reporter.ts), so init code that keeps the thread busy after
 * install() cannot hold it back past the 300 ms the extension gives a
 * connection; and nothing of it is left for the first invocation to share
 * the CPU with, on a small CPU share, but the answer. A `hello` refused
 * anyway (400) is sent again a little later. Never delays init, never keeps a
 * thread alive.
 */
import type { Report } from './report.js';
import type { Reporter } from './reporter.js';

const ATTEMPTS = 3;
const RETRY_MS = 250;

function sendOne(reporter: Reporter, hello: Report, attempts: number): void {
  void reporter.send(hello).done.then((status) => {
    if (status === 400 && attempts > 1) {
      setTimeout(() => sendOne(reporter, hello, attempts - 1), RETRY_MS).unref();
    }
  });
}

export function sendHellos(reporter: Reporter, hellos: readonly Report[]): void {
  for (const hello of hellos) sendOne(reporter, hello, ATTEMPTS);
}
