/**
 * `handoff` as the package exports it: the handoff's code (handoff.ts) is
 * built into a file of its own and loaded on the first call, so that a
 * function that never hands off pays nothing for it at cold start. Loading
 * it costs the first call a file read and its compilation, once.
 */
import type { HandoffRequest, HandoffResult } from './handoff.js';

let loaded: Promise<typeof import('./handoff.js')> | undefined;

/**
 * Hand `requests` to the extension, which sends them after the runtime has
 * gone (within the shutdown phase) and logs what it could not deliver. For a
 * shutdown handler whose work does not fit the runtime's share.
 *
 * One `POST` to the extension on `127.0.0.1:$GRACEFUL_SHUTDOWN_PORT`, whose
 * answer is awaited at most `library.handoffTimeoutMs` (100 ms). Resolves to
 * a `HandoffResult`, `ok` when the extension took the handoff. Any other
 * outcome (the extension refused it, the layer is not attached, the handoff
 * is over `handoff.maxBodyBytes`, no answer in time) is logged as one warning
 * naming the status and the reason, and resolved, never rejected: check
 * `result.ok` if you keep the data otherwise. A request of the wrong shape
 * rejects with a TypeError naming the field. With no requests nothing is
 * sent and the result is `ok`.
 */
export async function handoff(...requests: HandoffRequest[]): Promise<HandoffResult> {
  loaded ??= import('./handoff.js');
  return (await loaded).handoff(...requests);
}
