/**
 * The public API: collect shutdown handlers, then install them.
 *
 * ```js
 * GracefulShutdown.fromEnv()
 *   .onShutdown('close-pool', () => pool.end())
 *   .install();
 * ```
 */
import { isMainThread, threadId } from 'node:worker_threads';

import { missingWarning, readSecret } from './attach.js';
import { configFromLookup, defaultConfig, type Config } from './config.js';
import { consoleLogger, type Logger } from './log.js';
import { helloReports, type Report } from './report.js';
import { disabledReporter, tcpReporter, type Reporter } from './reporter.js';
import { openChannel, RELAY_ENV } from './relay.js';
import { runHandlers, type NamedHandler, type ShutdownHandler, type Summary } from './run.js';
import { coordinator, flushLimit, FLUSH_LIMIT_MS } from './shutdown.js';

export interface Options {
  /** Where log lines go (default: the console, which the Lambda runtime client formats). */
  logger?: Logger;
}

const WARNED = Symbol.for('lambda-graceful-shutdown.warned-missing');
const INSTALLED = Symbol.for('lambda-graceful-shutdown.installed');

/** This thread's id in reports: `<pid>` on the main thread, `<pid>/<threadId>` in a worker thread. */
export function workerId(): string {
  return isMainThread ? String(process.pid) : `${process.pid}/${threadId}`;
}

/** A hello refused (the thread was too busy to write it in time) is sent again, later. */
const HELLO_ATTEMPTS = 3;
const HELLO_RETRY_MS = 250;

function sendHello(reporter: Reporter, hello: Report, attempts: number): void {
  void reporter.send(hello).done.then((status) => {
    if (status === 400 && attempts > 1) {
      setTimeout(() => sendHello(reporter, hello, attempts - 1), HELLO_RETRY_MS).unref();
    }
  });
}

export class GracefulShutdown {
  private readonly handlers: NamedHandler[] = [];
  private runConcurrently = false;
  private readonly log: Logger;

  /** Start with these settings (tests build the Config directly). */
  constructor(
    readonly config: Config = defaultConfig(),
    options: Options = {},
  ) {
    this.log = options.logger ?? consoleLogger;
  }

  /**
   * Start with the settings read from the environment, once. Each bad value is
   * logged, naming the variable and the value, and its default is used.
   */
  static fromEnv(options: Options = {}, env: NodeJS.ProcessEnv = process.env): GracefulShutdown {
    const { config, problems } = configFromLookup((name) => env[name]);
    const log = options.logger ?? consoleLogger;
    for (const p of problems) log.warn(`graceful-shutdown: ${p.message}`);
    return new GracefulShutdown(config, options);
  }

  /**
   * Register a handler to run once on shutdown: sync or async; a throw or a
   * rejection fails this handler only. It gets an AbortSignal that aborts
   * when the budget runs out. Names longer than 128 bytes are cut in reports.
   */
  onShutdown(name: string, handler: ShutdownHandler): this {
    if (typeof name !== 'string') throw new TypeError(`onShutdown: name: expected a string, got ${typeof name}`);
    if (typeof handler !== 'function') {
      throw new TypeError(`onShutdown(${JSON.stringify(name)}): handler: expected a function, got ${typeof handler}`);
    }
    this.handlers.push({ name, run: handler });
    return this;
  }

  /** Run the handlers all at once (true) instead of one after another in registration order (false, the default). */
  concurrent(concurrent = true): this {
    this.runConcurrently = concurrent;
    return this;
  }

  /**
   * Check for the extension and run the handlers once on the first SIGTERM or
   * SIGINT, then end the process. Call it once, at init. In a worker thread
   * (Lambda Managed Instances) the handlers run when the main thread relays
   * the signal (`lambda-graceful-shutdown/register`).
   */
  install(): ShutdownHandle {
    const g = globalThis as unknown as Record<symbol, boolean | undefined>;
    if (g[INSTALLED]) {
      throw new Error('graceful-shutdown: install() was already called in this thread; call it once, at init');
    }
    g[INSTALLED] = true;
    const handle = this.build();
    if (isMainThread) {
      const c = coordinator();
      c.log = this.log;
      c.locals.push({
        runAndFlush: async (signal, start) => {
          const summary = await handle.run(signal, start);
          void summary;
          const limit = flushLimit(performance.now() - start);
          if (!(await handle.reporter.flush(limit))) {
            this.log.warn(`graceful-shutdown: some reports were not delivered within ${limit} ms`);
          }
        },
      });
      c.listen();
    } else {
      if (!process.env[RELAY_ENV]) {
        this.log.warn(
          'graceful-shutdown: install() in a worker thread, where Node.js emits no signal events, and the main-thread ' +
            'part is not loaded: these shutdown handlers will not run. Set NODE_OPTIONS="--import lambda-graceful-shutdown/register" ' +
            '(with the package resolvable from the function\'s directory), or on Lambda Managed Instances let the CDK construct set it.',
        );
      }
      const me = workerId();
      const channel = openChannel((m) => {
        if (m.kind !== 'shutdown') return;
        const start = performance.now();
        void handle.run(m.signal, start).then(async () => {
          await handle.reporter.flush(flushLimit(performance.now() - start));
          channel.postMessage({ kind: 'done', worker: me });
        });
      });
      channel.postMessage({ kind: 'installed', worker: me });
    }
    return handle;
  }

  /**
   * Like install() but without listening for signals: the handlers run only
   * through ShutdownHandle.trigger(), and the process does not end. For tests.
   */
  build(): ShutdownHandle {
    const names = this.handlers.map((h) => h.name);
    const worker = workerId();
    let reporter: Reporter = disabledReporter;
    const secret = readSecret(this.config.secretFile);
    if (secret.ok) {
      const r = tcpReporter(this.config.port, secret.secret, worker);
      reporter = r;
      const hellos = helloReports(process.pid, names, this.config.timeoutMs, this.runConcurrently, worker);
      // After the rest of init: the extension gives a connection 100 ms to
      // send its request, and init code that keeps the thread busy would
      // hold the write back. Never delays init, never keeps the thread alive.
      setImmediate(() => {
        for (const hello of hellos) sendHello(r, hello, HELLO_ATTEMPTS);
      }).unref();
    } else {
      const g = globalThis as unknown as Record<symbol, boolean | undefined>;
      if (!g[WARNED]) {
        g[WARNED] = true;
        this.log.warn(missingWarning(secret.reason, names));
      }
    }
    return new ShutdownHandle([...this.handlers], this.runConcurrently, this.config, reporter, this.log);
  }
}

/** The installed (or built) handlers. */
export class ShutdownHandle {
  private summary?: Promise<Summary>;

  constructor(
    private readonly handlers: readonly NamedHandler[],
    readonly concurrent: boolean,
    readonly config: Config,
    /** @internal */
    readonly reporter: Reporter,
    private readonly log: Logger,
  ) {}

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
    });
    return this.summary;
  }
}
