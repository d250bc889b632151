/**
 * Running the handlers once: in order or all at once, inside one budget
 * counted from the signal.
 *
 * - In order (the default), each handler gets what is left of the budget. A
 *   handler still running when the budget is gone is abandoned (its
 *   AbortSignal fires; JavaScript cannot stop it otherwise) and reported
 *   `timedOut`. Handlers not started by then are skipped: never run, not
 *   reported one by one (the verdict lists them from `hello`), counted as
 *   skipped in the summary.
 * - Concurrently, every handler starts at once; every one still running at
 *   the end of the budget is abandoned and reported `timedOut`.
 * A throw or a rejection is that handler's failure only.
 */

import type { Logger } from './log.js';
import { fit, MAX_ERROR_BYTES } from './report.js';
import { within, type Reporter } from './reporter.js';

/** A shutdown handler: sync or async. `signal` aborts when its budget is gone. */
export type ShutdownHandler = (signal: AbortSignal) => unknown;

export interface NamedHandler {
  name: string;
  run: ShutdownHandler;
}

export type HandlerStatus = 'completed' | 'failed' | 'timedOut' | 'skipped';

export interface HandlerOutcome {
  name: string;
  /** Position in registration order, from 0. */
  index: number;
  status: HandlerStatus;
  /** The error text, for `failed`. */
  error?: string;
  /** From its start to its end (or to the budget's end); 0 if skipped. */
  durationMs: number;
}

export interface Summary {
  /** `SIGTERM`, `SIGINT` or `trigger`. */
  signal: string;
  handlers: HandlerOutcome[];
  /** From the signal to the last handler's end. */
  totalMs: number;
  completed: number;
  failed: number;
  timedOut: number;
  skipped: number;
  allCompleted: boolean;
}

/** How long `shutdownStarted` may hold the concurrent handlers back, at most. */
const STARTED_WRITE_LIMIT_MS = 20;

export interface RunOptions {
  concurrent: boolean;
  budgetMs: number;
  /** performance.now() at the signal. */
  start: number;
  signal: string;
  reporter: Reporter;
  log: Logger;
}

const ms = (since: number) => Math.max(0, Math.floor(performance.now() - since));

/** Text for whatever a handler threw or rejected with. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) text = error.message ? `${error.name}: ${error.message}` : error.name;
  else if (typeof error === 'string') text = error;
  else {
    try {
      text = JSON.stringify(error) ?? String(error);
    } catch {
      text = String(error);
    }
  }
  return fit(text, MAX_ERROR_BYTES);
}

const TIMED_OUT = Symbol('timedOut');

async function runOne(
  handler: NamedHandler,
  index: number,
  deadline: number,
  opts: RunOptions,
  announced: boolean,
): Promise<HandlerOutcome> {
  const { name } = handler;
  if (!announced) await announce([{ handler: name, index }], deadline, opts.reporter);
  const began = performance.now();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, deadline - performance.now()));
  });
  let result: unknown;
  let error: { e: unknown } | undefined;
  try {
    // Promise.resolve().then runs a synchronous handler inside the promise,
    // so that its throw is a rejection like any other.
    result = await Promise.race([Promise.resolve().then(() => handler.run(abort.signal)), budget]);
  } catch (e) {
    error = { e };
  } finally {
    clearTimeout(timer);
  }
  const durationMs = ms(began);
  if (result === TIMED_OUT) {
    abort.abort(new Error(`the ${opts.budgetMs} ms shutdown budget ran out`));
    opts.reporter.send({ type: 'timedOut', handler: name, index, durationMs });
    opts.log.error(
      `graceful-shutdown: shutdown handler ${JSON.stringify(name)} timed out after ${durationMs} ms: ` +
        'still running when the budget ran out; abandoned',
    );
    return { name, index, status: 'timedOut', durationMs };
  }
  if (error) {
    const text = describeError(error.e);
    opts.reporter.send({ type: 'failed', handler: name, index, durationMs, error: text });
    opts.log.error(`graceful-shutdown: shutdown handler ${JSON.stringify(name)} failed after ${durationMs} ms: ${text}`);
    return { name, index, status: 'failed', error: text, durationMs };
  }
  opts.reporter.send({ type: 'finished', handler: name, index, durationMs });
  opts.log.info(`graceful-shutdown: shutdown handler ${JSON.stringify(name)} completed in ${durationMs} ms`);
  return { name, index, status: 'completed', durationMs };
}

/**
 * Send `started` for these handlers and wait until the bytes are out, so
 * that a handler that then holds the thread until the SIGKILL is still known
 * to have started. Bounded by the budget only, not by a shorter timer: on a
 * small CPU share the process runs a few milliseconds per 100 ms period, and
 * after such a pause Node runs due timers before it handles the connects, so
 * a short timer would win every time and the handler would start unreported.
 * On loopback the write is done as soon as the connect is handled.
 */
async function announce(which: { handler: string; index: number }[], deadline: number, reporter: Reporter) {
  if (!reporter.enabled) return;
  const written = which.map((w) => reporter.send({ type: 'started', ...w }).written);
  await within(Promise.all(written), deadline - performance.now());
}

/** Run every handler once within the budget, reporting as it goes. */
export async function runHandlers(handlers: readonly NamedHandler[], opts: RunOptions): Promise<Summary> {
  const deadline = opts.start + opts.budgetMs;
  const shutdownStarted = opts.reporter.send({ type: 'shutdownStarted', signal: opts.signal });
  opts.log.info(
    `graceful-shutdown: running ${handlers.length} shutdown handler(s) on ${opts.signal}, ` +
      `budget ${opts.budgetMs} ms, ${opts.concurrent ? 'concurrently' : 'in order'}`,
  );
  let outcomes: HandlerOutcome[] = [];
  if (opts.concurrent) {
    const all = handlers.map((h, index) => ({ handler: h.name, index }));
    await within(shutdownStarted.written, STARTED_WRITE_LIMIT_MS);
    await announce(all, deadline, opts.reporter);
    outcomes = await Promise.all(handlers.map((h, index) => runOne(h, index, deadline, opts, true)));
  } else {
    // A timer may fire a fraction of a millisecond before performance.now()
    // reaches the deadline: once a handler has timed out, the budget is gone.
    let budgetGone = false;
    for (const [index, h] of handlers.entries()) {
      if (budgetGone || performance.now() >= deadline) {
        opts.log.warn(
          `graceful-shutdown: shutdown handler ${JSON.stringify(h.name)} skipped: ` +
            `the ${opts.budgetMs} ms budget was used up before its turn`,
        );
        outcomes.push({ name: h.name, index, status: 'skipped', durationMs: 0 });
        continue;
      }
      const outcome = await runOne(h, index, deadline, opts, false);
      budgetGone = outcome.status === 'timedOut';
      outcomes.push(outcome);
    }
  }
  const count = (s: HandlerStatus) => outcomes.filter((o) => o.status === s).length;
  const summary: Summary = {
    signal: opts.signal,
    handlers: outcomes,
    totalMs: ms(opts.start),
    completed: count('completed'),
    failed: count('failed'),
    timedOut: count('timedOut'),
    skipped: count('skipped'),
    allCompleted: count('completed') === outcomes.length,
  };
  opts.reporter.send({
    type: 'allDone',
    completed: summary.completed,
    failed: summary.failed,
    timedOut: summary.timedOut,
    totalMs: summary.totalMs,
  });
  opts.log.info(
    `graceful-shutdown: shutdown handlers done: completed=${summary.completed} failed=${summary.failed} ` +
      `timed_out=${summary.timedOut} skipped=${summary.skipped} total_ms=${summary.totalMs}`,
  );
  return summary;
}
