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
import { fit, MAX_ERROR_BYTES, MAX_NAME_BYTES, type Report } from './report.js';
import { disabledReporter, within, type Delivery, type Reporter } from './reporter.js';

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

/**
 * The reports of the shutdown path that are known at install: the runner
 * sends these very objects, which the reporter encoded then (Reporter.prepare).
 */
export interface PreparedReports {
  /** `started` of each handler, by registration index. */
  started: readonly Report[];
  /** `shutdownStarted`, by signal. */
  shutdownStarted: Readonly<Record<string, Report>>;
}

/** The `started` and `shutdownStarted` reports of these handlers. */
export function prepareReports(handlers: readonly NamedHandler[], signals: readonly string[]): PreparedReports {
  const shutdownStarted: Record<string, Report> = {};
  for (const signal of signals) shutdownStarted[signal] = { type: 'shutdownStarted', signal };
  return {
    started: handlers.map((h, index) => ({ type: 'started', handler: reportName(h.name), index })),
    shutdownStarted,
  };
}

/** A handler's name as reports carry it: cut to MAX_NAME_BYTES, as in `hello`. */
const reportName = (name: string) => fit(name, MAX_NAME_BYTES);

export interface RunOptions {
  concurrent: boolean;
  budgetMs: number;
  /** performance.now() at the signal. */
  start: number;
  signal: string;
  reporter: Reporter;
  log: Logger;
  /** Built at install; without it, the reports are built as they are sent. */
  prepared?: PreparedReports;
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

/** Send `started` for these handlers. */
function announce(indexes: readonly number[], handlers: readonly NamedHandler[], opts: RunOptions): Delivery[] {
  return indexes.map((index) =>
    opts.reporter.send(opts.prepared?.started[index] ?? { type: 'started', handler: reportName(handlers[index].name), index }),
  );
}

/**
 * Wait until these requests are out, so that a handler that then holds the
 * thread until the SIGKILL is still known to have started. On loopback they
 * are out on the next tick (see reporter.ts): the handler starts before Node
 * goes back to the event loop. Bounded by the budget only, not by a shorter
 * timer: should a connect not be done at once, on a small CPU share the
 * process runs a few milliseconds per 100 ms period, and after such a pause
 * Node runs due timers before it handles the connects, so a short timer would
 * win every time and the handler would start unreported.
 */
async function outBefore(deliveries: readonly Delivery[], deadline: number): Promise<void> {
  if (deliveries.length === 1) await within(deliveries[0].written, deadline - performance.now());
  else await within(Promise.all(deliveries.map((d) => d.written)), deadline - performance.now());
}

/**
 * Run one handler whose `started` is out: the handler is called before this
 * returns (no promise in between), so a synchronous handler, or the
 * synchronous part of an async one, runs at once. A throw is that handler's
 * failure, like a rejection.
 */
async function runOne(handler: NamedHandler, index: number, deadline: number, opts: RunOptions): Promise<HandlerOutcome> {
  const { name } = handler;
  const began = performance.now();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, deadline - began));
  });
  let result: unknown;
  let error: { e: unknown } | undefined;
  try {
    result = await Promise.race([handler.run(abort.signal), budget]);
  } catch (e) {
    error = { e };
  } finally {
    clearTimeout(timer);
  }
  const durationMs = ms(began);
  const reported = reportName(name);
  if (result === TIMED_OUT) {
    abort.abort(new Error(`the ${opts.budgetMs} ms shutdown budget ran out`));
    opts.reporter.send({ type: 'timedOut', handler: reported, index, durationMs });
    opts.log.error(
      `graceful-shutdown: shutdown handler ${JSON.stringify(name)} timed out after ${durationMs} ms: ` +
        'still running when the budget ran out; abandoned',
    );
    return { name, index, status: 'timedOut', durationMs };
  }
  if (error) {
    const text = describeError(error.e);
    opts.reporter.send({ type: 'failed', handler: reported, index, durationMs, error: text });
    opts.log.error(`graceful-shutdown: shutdown handler ${JSON.stringify(name)} failed after ${durationMs} ms: ${text}`);
    return { name, index, status: 'failed', error: text, durationMs };
  }
  opts.reporter.send({ type: 'finished', handler: reported, index, durationMs });
  opts.log.info(`graceful-shutdown: shutdown handler ${JSON.stringify(name)} completed in ${durationMs} ms`);
  return { name, index, status: 'completed', durationMs };
}

/** Announce one handler and run it as soon as its `started` is out; `began` once it is called. */
async function announceAndRun(
  handlers: readonly NamedHandler[],
  index: number,
  deadline: number,
  opts: RunOptions,
  began: () => void,
) {
  await outBefore(announce([index], handlers, opts), deadline);
  const outcome = runOne(handlers[index], index, deadline, opts);
  began();
  return outcome;
}

/**
 * Run every handler once within the budget, reporting as it goes.
 *
 * Called from the signal listener: `shutdownStarted` and the first `started`
 * are sent at once, and the first handler starts as soon as its `started` is
 * written, on loopback before Node goes back to the event loop: no turn of the
 * event loop, no timer and no answer in between. The log line saying what
 * runs comes after the first handler's start, so that its cost is not paid
 * before it.
 */
export async function runHandlers(handlers: readonly NamedHandler[], opts: RunOptions): Promise<Summary> {
  const deadline = opts.start + opts.budgetMs;
  const shutdownStarted = opts.reporter.send(
    opts.prepared?.shutdownStarted[opts.signal] ?? { type: 'shutdownStarted', signal: opts.signal },
  );
  let said = false;
  const running = () => {
    if (said) return;
    said = true;
    opts.log.info(
      `graceful-shutdown: running ${handlers.length} shutdown handler(s) on ${opts.signal}, ` +
        `budget ${opts.budgetMs} ms, ${opts.concurrent ? 'concurrently' : 'in order'}`,
    );
  };
  let outcomes: HandlerOutcome[] = [];
  if (opts.concurrent) {
    await outBefore([shutdownStarted, ...announce(handlers.map((_, index) => index), handlers, opts)], deadline);
    const all = handlers.map((h, index) => runOne(h, index, deadline, opts));
    running();
    outcomes = await Promise.all(all);
  } else {
    // A timer may fire a fraction of a millisecond before performance.now()
    // reaches the deadline: once a handler has timed out, the budget is gone.
    let budgetGone = false;
    for (const [index, h] of handlers.entries()) {
      if (budgetGone || performance.now() >= deadline) {
        running();
        opts.log.warn(
          `graceful-shutdown: shutdown handler ${JSON.stringify(h.name)} skipped: ` +
            `the ${opts.budgetMs} ms budget was used up before its turn`,
        );
        outcomes.push({ name: h.name, index, status: 'skipped', durationMs: 0 });
        continue;
      }
      const o = await announceAndRun(handlers, index, deadline, opts, running);
      budgetGone = o.status === 'timedOut';
      outcomes.push(o);
    }
    running();
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

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * Run the shutdown path once, at install, on a handler that does nothing,
 * reporting nowhere and logging nothing: the functions the signal calls are
 * compiled, and the parts of Node they use that load lazily (AbortController)
 * are loaded, before the signal rather than after it, when the process may
 * have a few milliseconds of CPU to start the first handler. The reporter
 * warms its delivery the same way, without traffic.
 */
export function warmUp(reporter: Reporter): void {
  reporter.warmUp?.();
  for (let i = 0; i < WARM_UP_RUNS; i++) warmUpRun();
  new AbortController().abort(new Error('warm-up'));
}

/** How often the warm-up runs the handlers' path (see reporter.ts). */
const WARM_UP_RUNS = 3;

function warmUpRun(): void {
  void runHandlers([{ name: 'warm-up', run: () => undefined }], {
    concurrent: false,
    budgetMs: 1000,
    start: performance.now(),
    signal: 'warm-up',
    reporter: disabledReporter,
    log: silent,
  });
}
