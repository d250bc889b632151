/**
 * The cold-start `hello` reports: sent after the rest of init, in the
 * background. The extension gives a connection 300 ms to send its request,
 * and init code that keeps the thread busy would hold the write back, so they
 * wait for the next turn of the event loop; a `hello` refused that way (400)
 * is sent again a little later. Never delays init, never keeps a thread alive.
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
  setImmediate(() => {
    for (const hello of hellos) sendOne(reporter, hello, ATTEMPTS);
  }).unref();
}
