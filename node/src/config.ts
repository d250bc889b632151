/**
 * The library's settings, read once from the environment into a plain object.
 *
 * The extension refuses bad values at init (Extension.ConfigInvalid), so a bad
 * value only reaches the library when the layer is missing. Then the library
 * logs one line naming the variable and the value, and uses the default: a
 * typo must never stop a function from starting. Messages are those of the
 * Rust library, word for word.
 */
import {
  DEFAULT_SECRET_FILE,
  ENV_PORT,
  ENV_SECRET_FILE,
  ENV_TIMEOUT_MS,
  LIMITS,
  reservedBy,
} from './limits.js';

export interface Config {
  /** Loopback port of the extension's report listener (GRACEFUL_SHUTDOWN_PORT). */
  port: number;
  /** Budget for all handlers together, from the signal (GRACEFUL_SHUTDOWN_TIMEOUT_MS). */
  timeoutMs: number;
  /** File holding the per-environment secret the extension writes (GRACEFUL_SHUTDOWN_SECRET_FILE). */
  secretFile: string;
}

/** A variable whose value was refused; the default was used instead. */
export interface BadSetting {
  variable: string;
  expected: string;
  value: string;
  /** The value used instead. */
  default: string;
  /** `VAR: expected ..., got "value"; using the default D` */
  message: string;
}

export function defaultConfig(): Config {
  return {
    port: LIMITS.port.default,
    timeoutMs: LIMITS.timeoutMs.default,
    secretFile: DEFAULT_SECRET_FILE,
  };
}

/** Rust's `u64::from_str` on trimmed text: an optional `+`, then digits. */
const UNSIGNED = /^\+?[0-9]+$/;
const U64_MAX = 18446744073709551615n;

function unsigned(raw: string): bigint | undefined {
  const text = raw.trim();
  if (!UNSIGNED.test(text)) return undefined;
  const n = BigInt(text);
  return n > U64_MAX ? undefined : n;
}

/** An error message naming the variable and the value, or undefined. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

export function parsePort(raw: string): Parsed<number> {
  const l = LIMITS.port;
  const range = `a port number from ${l.min} to ${l.max}`;
  const n = unsigned(raw);
  if (n === undefined || n < BigInt(l.min) || n > BigInt(l.max)) return { ok: false, expected: range };
  const port = Number(n);
  const user = reservedBy(port);
  if (user !== undefined) return { ok: false, expected: `a port not used by ${user} (default ${l.default})` };
  return { ok: true, value: port };
}

export function parseTimeoutMs(raw: string): Parsed<number> {
  const l = LIMITS.timeoutMs;
  const t = LIMITS.shutdown;
  const n = unsigned(raw);
  if (n === undefined) return { ok: false, expected: 'milliseconds' };
  if (n < BigInt(l.min) || n > BigInt(l.max)) {
    return {
      ok: false,
      expected:
        `milliseconds from ${l.min} to ${l.max} (the runtime's ${t.runtimeShareMs} ms share of the shutdown ` +
        `phase, less ${t.runtimeExitReserveMs} ms for the last reports and the exit)`,
    };
  }
  return { ok: true, value: Number(n) };
}

function bad(variable: string, expected: string, value: string, fallback: string): BadSetting {
  return {
    variable,
    expected,
    value,
    default: fallback,
    message: `${variable}: expected ${expected}, got ${JSON.stringify(value)}; using the default ${fallback}`,
  };
}

/**
 * Build the settings from any variable lookup. Pure: returns the settings and
 * one BadSetting per refused value.
 */
export function configFromLookup(lookup: (name: string) => string | undefined): {
  config: Config;
  problems: BadSetting[];
} {
  const config = defaultConfig();
  const problems: BadSetting[] = [];
  const port = lookup(ENV_PORT);
  if (port !== undefined) {
    const p = parsePort(port);
    if (p.ok) config.port = p.value;
    else problems.push(bad(ENV_PORT, p.expected, port, String(config.port)));
  }
  const timeout = lookup(ENV_TIMEOUT_MS);
  if (timeout !== undefined) {
    const t = parseTimeoutMs(timeout);
    if (t.ok) config.timeoutMs = t.value;
    else problems.push(bad(ENV_TIMEOUT_MS, t.expected, timeout, String(config.timeoutMs)));
  }
  const secretFile = lookup(ENV_SECRET_FILE);
  if (secretFile !== undefined) {
    // A NUL cannot be in a path the kernel opens: refused, as every library refuses it.
    if (secretFile.trim() === '' || secretFile.includes('\0')) problems.push(bad(ENV_SECRET_FILE, 'a file path', secretFile, DEFAULT_SECRET_FILE));
    else config.secretFile = secretFile;
  }
  return { config, problems };
}
