/**
 * The public API: collect shutdown handlers, then install them.
 *
 * ```js
 * GracefulShutdown.fromEnv()
 *   .onShutdown('close-pool', () => pool.end())
 *   .install();
 * ```
 */
import { isMainThread } from 'node:worker_threads';

import { missingWarning, readSecret } from './attach.js';
import { configFromLookup, defaultConfig, type Config } from './config.js';
import { ShutdownHandle } from './handle.js';
import { sendHellos } from './hello.js';
import { consoleLogger, type Logger } from './log.js';
import { helloReports } from './report.js';
import { disabledReporter, tcpReporter, type Reporter } from './reporter.js';
import { warmUp, type NamedHandler, type ShutdownHandler } from './runner.js';
import { coordinator, flushLimit } from './exit.js';
import { listenForRelay, workerId } from './worker-thread.js';

export interface Options {
  /** Where log lines go (default: the console, which the Lambda runtime client formats). */
  logger?: Logger;
}

const WARNED = Symbol.for('lambda-graceful-shutdown.warned-missing');
const INSTALLED = Symbol.for('lambda-graceful-shutdown.installed');

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
    warmUp(handle.reporter);
    if (isMainThread) {
      const c = coordinator();
      c.log = this.log;
      c.locals.push({
        runAndFlush: async (signal, start) => {
          await handle.run(signal, start);
          const limit = flushLimit(performance.now() - start);
          if (!(await handle.reporter.flush(limit))) {
            this.log.warn(`graceful-shutdown: some reports were not delivered within ${limit} ms`);
          }
        },
      });
      c.listen();
    } else {
      listenForRelay(handle, this.log);
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
      reporter = tcpReporter(this.config.port, secret.secret, worker);
      sendHellos(reporter, helloReports(process.pid, names, this.config.timeoutMs, this.runConcurrently, worker));
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
