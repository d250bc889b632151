/**
 * The worker-thread side of a shutdown (Lambda Managed Instances): Node emits
 * no signal events in worker threads, so the handlers installed here run when
 * the main thread relays the signal over the channel (see relay.ts), report
 * as this worker, and answer `done`; the main thread ends the process.
 */
import { isMainThread, threadId } from 'node:worker_threads';

import type { ShutdownHandle } from './handle.js';
import type { Logger } from './log.js';
import { openChannel, RELAY_ENV } from './relay.js';
import { flushLimit } from './exit.js';

/** This thread's id in reports: `<pid>` on the main thread, `<pid>/<threadId>` in a worker thread. */
export function workerId(): string {
  return isMainThread ? String(process.pid) : `${process.pid}/${threadId}`;
}

export function listenForRelay(handle: ShutdownHandle, log: Logger): void {
  if (!process.env[RELAY_ENV]) {
    log.warn(
      'graceful-shutdown: install() in a worker thread, where Node.js emits no signal events, and the main-thread ' +
        'part is not loaded: these shutdown handlers will not run. Set NODE_OPTIONS="--import lambda-graceful-shutdown/register" ' +
        "(with the package resolvable from the function's directory), or on Lambda Managed Instances let the CDK construct set it.",
    );
  }
  const me = workerId();
  const channel = openChannel((m) => {
    if (m.kind !== 'shutdown') return;
    // The signal's moment on this thread's clock (each thread has its own time origin).
    const start = Number.isFinite(m.at) ? Math.min(performance.now(), m.at - performance.timeOrigin) : performance.now();
    void handle.run(m.signal, start).then(async () => {
      await handle.reporter.flush(flushLimit(performance.now() - start));
      channel.postMessage({ kind: 'done', worker: me });
    });
  });
  channel.postMessage({ kind: 'installed', worker: me });
}
