/**
 * The channel between the main thread and worker threads of one process.
 *
 * Node emits signal events on the main thread only. On Lambda Managed
 * Instances the runtime client loads the handler module only in worker
 * threads, so a worker's handlers are started by the main thread: on SIGTERM
 * it broadcasts `shutdown`, each worker runs its handlers and reports them to
 * the extension itself (as worker `<pid>/<threadId>`), then answers `done`.
 * A BroadcastChannel reaches every thread of the process by name, whichever
 * copy of this package (ESM or CommonJS) each thread loaded.
 */
import { BroadcastChannel } from 'node:worker_threads';

export const CHANNEL_NAME = 'lambda-graceful-shutdown';

/** Set by the main-thread part (`lambda-graceful-shutdown/register`) for the worker threads it relays to. */
export const RELAY_ENV = 'GRACEFUL_SHUTDOWN_NODE_RELAY';

export type RelayMessage =
  | { kind: 'installed'; worker: string }
  /** `at`: when the signal arrived, in epoch milliseconds (performance.timeOrigin + performance.now()). */
  | { kind: 'shutdown'; signal: string; at: number }
  | { kind: 'done'; worker: string };

export function isRelayMessage(data: unknown): data is RelayMessage {
  return typeof data === 'object' && data !== null && typeof (data as { kind?: unknown }).kind === 'string';
}

/** An unref'd channel: listening never keeps a thread alive. */
export function openChannel(onMessage: (m: RelayMessage) => void): BroadcastChannel {
  const channel = new BroadcastChannel(CHANNEL_NAME);
  channel.onmessage = (event) => {
    const data = (event as MessageEvent).data;
    if (isRelayMessage(data)) onMessage(data);
  };
  (channel as unknown as { unref(): void }).unref();
  return channel;
}
