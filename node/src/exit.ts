/**
 * The main thread's side of a shutdown: listen for SIGTERM and SIGINT, run
 * this thread's handlers and tell the worker threads to run theirs, wait for
 * the reports, then end the process (see end.ts).
 *
 * One coordinator per process, kept on `globalThis` under a registered
 * symbol, so that the ESM and CommonJS copies of the package (and the
 * `register` entry loaded through NODE_OPTIONS) share it.
 */
import type { BroadcastChannel } from 'node:worker_threads';

import { endProcess, type Raise } from './end.js';
import { LIMITS, RUNTIME_SHARE_MS } from './limits.js';
import { consoleLogger, type Logger } from './log.js';
import { openChannel } from './relay.js';

/** Kept free before Lambda's SIGKILL when waiting for the last reports (spec/limits.json, `library`). */
const KILL_MARGIN_MS: number = LIMITS.library.killMarginMs;
/** The shortest wait for pending reports before the end (spec/limits.json, `library`). */
export const FLUSH_LIMIT_MS: number = LIMITS.library.flushLimitMs;

/**
 * How long the last reports may hold the end, `sinceSignal` ms after the
 * signal: until shortly before the SIGKILL, and at least FLUSH_LIMIT_MS.
 * The wait ends as soon as they are out (well under a millisecond on loopback).
 */
export function flushLimit(sinceSignal: number): number {
  return Math.max(RUNTIME_SHARE_MS - KILL_MARGIN_MS - sinceSignal, FLUSH_LIMIT_MS);
}

/** This thread's installed handlers, as the coordinator sees them. */
export interface LocalShutdown {
  /** Run the handlers (once) and wait for their reports, at most `flushMs(elapsed)`. */
  runAndFlush(signal: string, start: number): Promise<void>;
}

export class Coordinator {
  readonly locals: LocalShutdown[] = [];
  /** Worker threads that installed handlers, and those that said they are done. */
  readonly workers = new Set<string>();
  private readonly done = new Set<string>();
  private workerDone?: () => void;
  private listening = false;
  private started = false;
  private channel?: BroadcastChannel;
  /** Replaced in tests. */
  raise: Raise | undefined;
  log: Logger = consoleLogger;

  /** Listen for the signals and for the workers, from now on. Idempotent. */
  listen(): void {
    if (this.listening) return;
    this.listening = true;
    // First in line: ours runs before listeners registered earlier.
    process.prependListener('SIGTERM', () => void this.onSignal('SIGTERM'));
    process.prependListener('SIGINT', () => void this.onSignal('SIGINT'));
    this.channel = openChannel((m) => {
      if (m.kind === 'installed') this.workers.add(m.worker);
      else if (m.kind === 'done') {
        this.done.add(m.worker);
        if ([...this.workers].every((w) => this.done.has(w))) this.workerDone?.();
      }
    });
  }

  async onSignal(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
    if (this.started) {
      this.log.info(
        `graceful-shutdown: ${signal} received again; the shutdown handlers are already running and run only once`,
      );
      return;
    }
    this.started = true;
    const start = performance.now();
    const restoreExit = holdExit(this.log);
    keepGoingOnStrayErrors(this.log);
    const waits: Promise<unknown>[] = this.locals.map((l) => l.runAndFlush(signal, start));
    if (this.workers.size > 0) {
      const allDone = new Promise<void>((resolve) => (this.workerDone = resolve));
      // The workers count their budget from the signal too, not from when they hear of it.
      this.channel?.postMessage({ kind: 'shutdown', signal, at: performance.timeOrigin + start });
      waits.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            const missing = [...this.workers].filter((w) => !this.done.has(w));
            this.log.warn(`graceful-shutdown: worker threads ${missing.join(', ')} did not finish their shutdown handlers in time`);
            resolve();
          }, flushLimit(performance.now() - start));
          void allDone.then(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
      );
    }
    await Promise.all(waits);
    this.log.info(
      `graceful-shutdown: ending the process by ${signal} ${Math.floor(performance.now() - start)} ms after the signal`,
    );
    restoreExit();
    this.channel?.close();
    endProcess(signal, this.raise);
  }
}

/**
 * While the handlers run, a `process.exit()` from other code (for example a
 * SIGTERM listener of the function's own) is held: it would stop the event
 * loop, so the handlers would never finish, and on the real runtime client
 * it would not end the process either (see end.ts). The process ends when
 * the handlers are done. Returns the function that puts process.exit back.
 */
function holdExit(log: Logger): () => void {
  const original = process.exit;
  process.exit = ((code?: number | string | null) => {
    log.info(
      `graceful-shutdown: process.exit(${code ?? ''}) called during shutdown: held until the shutdown handlers finish, then the process ends`,
    );
  }) as typeof process.exit;
  return () => {
    process.exit = original;
  };
}

/**
 * While the handlers run, an exception thrown outside any handler's promise
 * (a callback of a handler's, say) or a rejection nobody handles would end
 * the process through Node's exit path, which on the real runtime client
 * hangs until the SIGKILL (see end.ts) and loses the last reports. Logged
 * instead; the shutdown goes on and ends the process as usual.
 */
function keepGoingOnStrayErrors(log: Logger): void {
  const stray = (what: string) => (error: unknown) =>
    log.error(`graceful-shutdown: ${what} during shutdown, logged and ignored: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.on('uncaughtException', stray('uncaught exception'));
  process.on('unhandledRejection', stray('unhandled rejection'));
}

const KEY = Symbol.for('lambda-graceful-shutdown.coordinator.v1');

/** The process's coordinator, created on first use. */
export function coordinator(): Coordinator {
  const g = globalThis as unknown as Record<symbol, Coordinator | undefined>;
  let c = g[KEY];
  if (!c) {
    c = new Coordinator();
    g[KEY] = c;
  }
  return c;
}
