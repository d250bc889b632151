/**
 * Ending the process, promptly and for certain, on the real Lambda Node.js
 * runtime client.
 *
 * `process.exit()` does not end a Lambda Node.js function (measured with
 * aws-lambda-ric 4.0.2 on Node 22): Node's exit path joins the libuv thread
 * pool (`uv_library_shutdown`), and one of its threads is inside the client's
 * native `next()` call, a curl request to the Runtime API that never answers
 * once the environment is being retired. The join, and the exit, wait until
 * Lambda SIGKILLs the runtime at the end of its share. `process.reallyExit`
 * takes the same path; `process.abort()` does end it, by SIGABRT, with a core
 * dump and a native stack trace in the logs.
 *
 * So the library ends the process the way a Unix program that handled a
 * fatal signal should: it removes every listener of that signal, which gives
 * the signal its default disposition back, and raises it again. The kernel
 * then ends the process at once, without the thread-pool join; the parent
 * (Lambda) sees it terminated by the signal it sent. Log lines are already
 * out (the console writes to the log pipe synchronously) and the reports have
 * been flushed before this is called.
 */

/** Called instead of process.kill in tests. */
export type Raise = (signal: NodeJS.Signals) => void;

const raiseForReal: Raise = (signal) => {
  process.kill(process.pid, signal);
};

/** Ask for SIGKILL if the re-raised signal has not ended the process by then. */
const FALLBACK_MS = 50;

export function endProcess(signal: 'SIGTERM' | 'SIGINT', raise: Raise = raiseForReal): void {
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.removeAllListeners(s);
  // A parent that started us with the signal ignored is obeyed by Node too:
  // the fallback still ends the process.
  setTimeout(() => raise('SIGKILL'), FALLBACK_MS);
  raise(signal);
}
