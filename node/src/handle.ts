/** The installed (or built) handlers: run them once, for a signal or a test. */
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Reporter } from './reporter.js';
import { prepareReports, runHandlers, type NamedHandler, type PreparedReports, type Summary } from './runner.js';
import { FLUSH_LIMIT_MS } from './exit.js';

/** The signals a handle runs for: the two the coordinator listens for, and trigger(). */
const SIGNALS = ['SIGTERM', 'SIGINT', 'trigger'];

export class ShutdownHandle {
  private summary?: Promise<Summary>;
  /** The reports known before the signal, encoded now (see Reporter.prepare). */
  private readonly prepared: PreparedReports;

  constructor(
    private readonly handlers: readonly NamedHandler[],
    readonly concurrent: boolean,
    readonly config: Config,
    /** @internal */
    readonly reporter: Reporter,
    private readonly log: Logger,
  ) {
    this.prepared = prepareReports(handlers, SIGNALS);
    if (reporter.enabled) reporter.prepare?.([...Object.values(this.prepared.shutdownStarted), ...this.prepared.started]);
  }

  /** The registered handler names, in order. */
  get names(): string[] {
    return this.handlers.map((h) => h.name);
  }

  /** Whether reports go to an attached extension. */
  get extensionAttached(): boolean {
    return this.reporter.enabled;
  }

  /**
   * Run the handlers now, as a signal would, but without ending the process;
   * resolves to what happened. The handlers run once per handle: later calls
   * (and a later signal) get the same summary without running anything again.
   */
  async trigger(): Promise<Summary> {
    const summary = await this.run('trigger', performance.now());
    await this.reporter.flush(FLUSH_LIMIT_MS);
    return summary;
  }

  /** @internal Run once; every caller gets the first run's summary. */
  run(signal: string, start: number): Promise<Summary> {
    this.summary ??= runHandlers(this.handlers, {
      concurrent: this.concurrent,
      budgetMs: this.config.timeoutMs,
      start,
      signal,
      reporter: this.reporter,
      log: this.log,
      prepared: this.prepared,
    });
    return this.summary;
  }
}
