import { LIMITS } from './limits.generated';

/** A port that another common Lambda component already listens on. */
export interface ReservedPort {
  /** The port number. */
  readonly port: number;
  /** Who listens on it, e.g. "the Lambda Runtime API". */
  readonly usedBy: string;
}

/**
 * Names, defaults and limits of the shutdown layer, read from the project's
 * `spec/limits.json` (the single source of truth shared with the Rust crates).
 */
export class ShutdownLimits {
  /** File name of the extension under `/opt/extensions/`, also its registered name. */
  public static readonly EXTENSION_NAME: string = LIMITS.extensionName;
  /** Environment variable holding the loopback port of the extension. */
  public static readonly PORT_ENV: string = LIMITS.env.port;
  /** Environment variable holding the shutdown handlers' budget in milliseconds. */
  public static readonly TIMEOUT_ENV: string = LIMITS.env.timeoutMs;
  /** Environment variable that turns on the CloudWatch EMF metric line (`emf`). */
  public static readonly METRICS_ENV: string = LIMITS.env.metrics;
  /** Default loopback port. */
  public static readonly DEFAULT_PORT: number = LIMITS.port.default;
  /** Lowest allowed port. */
  public static readonly MIN_PORT: number = LIMITS.port.min;
  /** Highest allowed port. */
  public static readonly MAX_PORT: number = LIMITS.port.max;
  /** Default budget of the shutdown handlers, in milliseconds. */
  public static readonly DEFAULT_TIMEOUT_MS: number = LIMITS.timeoutMs.default;
  /** Smallest allowed budget, in milliseconds. */
  public static readonly MIN_TIMEOUT_MS: number = LIMITS.timeoutMs.min;
  /**
   * Largest allowed budget, in milliseconds: the runtime's share of the shutdown
   * phase less the time the library needs after the budget to report and exit.
   */
  public static readonly MAX_TIMEOUT_MS: number = LIMITS.timeoutMs.max;
  /** Time Lambda gives the runtime between SIGTERM and SIGKILL, in milliseconds (documented: about 300 ms). */
  public static readonly RUNTIME_SHARE_MS: number = LIMITS.shutdown.runtimeShareMs;
  /** Time kept inside the runtime's share, after the budget, for the last reports and the exit, in milliseconds. */
  public static readonly RUNTIME_EXIT_RESERVE_MS: number = LIMITS.shutdown.runtimeExitReserveMs;
  /** Most external extensions Lambda runs for one function. */
  public static readonly MAX_EXTENSIONS: number = LIMITS.maxExtensions;
  /** Most layers Lambda attaches to one function. */
  public static readonly MAX_LAYERS: number = LIMITS.maxLayers;

  /** Ports that other common Lambda components use, and who uses them. */
  public static reservedPorts(): ReservedPort[] {
    return LIMITS.port.reserved.map((r) => ({ port: r.port, usedBy: r.usedBy }));
  }

  /** Who uses `port`, or undefined when it is free for the extension. */
  public static reservedBy(port: number): string | undefined {
    return LIMITS.port.reserved.find((r) => r.port === port)?.usedBy;
  }

  private constructor() {}
}
