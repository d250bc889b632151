/**
 * Reports: what the function tells the extension, one JSON object per
 * `POST /v1/report` (docs/protocol.md). The bodies are byte for byte those of
 * the Rust protocol crate (`rust/protocol/src/report.rs`): the same field
 * order, `worker` last, the same JSON escaping (JSON.stringify and serde_json
 * agree on every string a Rust string can hold), the same cuts.
 */
import { LIMITS, MAX_REPORT_BYTES, REPORT_PATH, SECRET_HEADER } from './limits.js';

export type Report =
  | { type: 'hello'; pid: number; handlers: string[]; timeoutMs: number; concurrent: boolean; firstIndex?: number }
  | { type: 'shutdownStarted'; signal: string }
  | { type: 'started'; handler: string; index: number }
  | { type: 'finished'; handler: string; index: number; durationMs: number }
  | { type: 'failed'; handler: string; index: number; durationMs: number; error: string }
  | { type: 'timedOut'; handler: string; index: number; durationMs: number }
  | { type: 'allDone'; completed: number; failed: number; timedOut: number; totalMs: number };

/** Longest handler name a report carries, in bytes as escaped in JSON, without quotes. */
export const MAX_NAME_BYTES: number = LIMITS.maxNameBytes;
/** Longest error text a report carries, measured like MAX_NAME_BYTES. */
export const MAX_ERROR_BYTES: number = LIMITS.maxErrorBytes;
/** Longest `worker` a report carries, measured like MAX_NAME_BYTES. */
export const MAX_WORKER_BYTES: number = LIMITS.maxWorkerBytes;
const CUT_MARK = '…';

/** The body's fields in the order the Rust encoder writes them. */
function ordered(report: Report): Record<string, unknown> {
  switch (report.type) {
    case 'hello': {
      const body: Record<string, unknown> = {
        type: 'hello',
        pid: report.pid,
        handlers: report.handlers,
        timeoutMs: report.timeoutMs,
        concurrent: report.concurrent,
      };
      if (report.firstIndex) body.firstIndex = report.firstIndex;
      return body;
    }
    case 'shutdownStarted':
      return { type: report.type, signal: report.signal };
    case 'started':
      return { type: report.type, handler: report.handler, index: report.index };
    case 'finished':
    case 'timedOut':
      return { type: report.type, handler: report.handler, index: report.index, durationMs: report.durationMs };
    case 'failed':
      return {
        type: report.type,
        handler: report.handler,
        index: report.index,
        durationMs: report.durationMs,
        error: report.error,
      };
    case 'allDone':
      return {
        type: report.type,
        completed: report.completed,
        failed: report.failed,
        timedOut: report.timedOut,
        totalMs: report.totalMs,
      };
  }
}

/** The JSON body of a report; `worker` (if any) is the last field, cut to MAX_WORKER_BYTES. */
export function reportJson(report: Report, worker?: string): string {
  const body = ordered(report);
  if (worker) body.worker = fit(worker, MAX_WORKER_BYTES);
  return JSON.stringify(body);
}

/** Bytes one code point takes inside a JSON string as JSON.stringify writes it. */
function jsonLen(c: string): number {
  const cp = c.codePointAt(0) ?? 0;
  if (c === '"' || c === '\\' || c === '\b' || c === '\f' || c === '\n' || c === '\r' || c === '\t') return 2;
  if (cp < 0x20) return 6;
  if (cp >= 0xd800 && cp <= 0xdfff) return 6; // a lone surrogate is written as \udxxx
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

/** Bytes `text` takes as a JSON string, without the quotes. */
export function jsonStringLen(text: string): number {
  let n = 0;
  for (const c of text) n += jsonLen(c);
  return n;
}

/**
 * `text`, or its beginning cut on a character boundary and ending with `…`,
 * so that it takes at most `max` bytes once escaped as a JSON string.
 */
export function fit(text: string, max: number): string {
  if (jsonStringLen(text) <= max) return text;
  const mark = jsonLen(CUT_MARK);
  const room = max >= mark ? max - mark : max;
  let used = 0;
  let cut = '';
  for (const c of text) {
    const n = jsonLen(c);
    if (used + n > room) break;
    used += n;
    cut += c;
  }
  return max >= mark ? cut + CUT_MARK : cut;
}

/**
 * The `hello` reports announcing `handlers`: one, unless the names do not fit
 * in one body; then as many as needed, each within MAX_REPORT_BYTES (the
 * `worker` field counted), the later ones with `firstIndex`.
 */
export function helloReports(
  pid: number,
  handlers: readonly string[],
  timeoutMs: number,
  concurrent: boolean,
  worker?: string,
): Report[] {
  const hello = (firstIndex: number, names: string[]): Report => ({
    type: 'hello',
    pid,
    handlers: names,
    timeoutMs,
    concurrent,
    ...(firstIndex ? { firstIndex } : {}),
  });
  const sizeOf = (r: Report) => Buffer.byteLength(reportJson(r, worker));
  const reports: Report[] = [];
  let first = 0;
  let names: string[] = [];
  let size = sizeOf(hello(first, []));
  handlers.forEach((raw, index) => {
    const name = fit(raw, MAX_NAME_BYTES);
    const cost = () => jsonStringLen(name) + 2 + (names.length > 0 ? 1 : 0);
    if (names.length > 0 && size + cost() > MAX_REPORT_BYTES) {
      reports.push(hello(first, names));
      names = [];
      first = index;
      size = sizeOf(hello(first, []));
    }
    size += cost();
    names.push(name);
  });
  reports.push(hello(first, names));
  return reports;
}

/**
 * The complete HTTP/1.1 request carrying `report`. Written by hand rather
 * than through an HTTP client: one fixed, tiny request to loopback, and the
 * package has no runtime dependencies (node:http would add a socket pool and
 * an extra turn of the event loop on the shutdown path).
 */
export function encodeRequest(port: number, secret: string, report: Report, worker?: string): string {
  return requestWithHead(requestHead(port, secret), reportJson(report, worker));
}

/**
 * The part of every request that does not depend on the report: built once
 * per reporter, so that the shutdown path only appends the body's length and
 * the body. A handoff has the same head on its own `path`.
 */
export function requestHead(port: number, secret: string, path: string = REPORT_PATH): string {
  return (
    `POST ${path} HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${port}\r\n` +
    'Content-Type: application/json\r\n' +
    `${SECRET_HEADER}: ${secret}\r\n`
  );
}

/** The request: `head` (from requestHead), then the body's length, and the body. */
export function requestWithHead(head: string, body: string): string {
  return `${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** The status code of an HTTP/1.x status line, or undefined. */
export function parseStatus(answer: string): number | undefined {
  const line = answer.split('\n', 1)[0]?.replace(/\r$/, '') ?? '';
  const [version, code] = line.split(' ');
  if (!version?.startsWith('HTTP/1.')) return undefined;
  const n = Number(code);
  return Number.isInteger(n) && code !== '' ? n : undefined;
}
