/**
 * The handoff (docs/protocol.md, Handoff): HTTP requests a shutdown handler
 * cannot finish within the runtime's share of the shutdown phase, handed to
 * the extension, which sends them after the runtime has gone and logs a
 * dead-letter record for each one it could not deliver.
 *
 * - `handoff(...requests)`: one `POST` of
 *   `{"type":"handoff","requests":[...]}` to `handoff.path` on the
 *   extension's port, with the head of a report; resolves to a
 *   `HandoffResult`. A refusal is logged and returned, never thrown.
 * - the AWS JSON-protocol helper, `awsJsonRequest`, is in aws-json.ts.
 *
 * The body is written byte for byte as the Rust encoder
 * (`graceful-shutdown-protocol`, `wire::encode_handoff`) writes it: fields in
 * the protocol's order, headers in the order given, strings as JSON.stringify
 * writes them (which serde_json agrees with on every well-formed string).
 *
 * Built into a file of its own (dist/esm/handoff.js, dist/cjs/handoff.js)
 * that the package loads on the first `handoff` (handoff-load.ts), so that
 * importing the package and `install()` cost what they cost without it. A
 * function that hands off can load it at init instead, where the CPU is not
 * short, as `lambda-graceful-shutdown/handoff` (the same file, so the
 * package's `handoff` then finds it loaded).
 */
import * as net from 'node:net';
import { isMainThread, threadId } from 'node:worker_threads';

import { readSecret } from './attach.js';
import { configFromLookup, type Config } from './config.js';
import { ENV_SECRET_FILE, EXTENSION_NAME, LIMITS } from './limits.js';
import { consoleLogger, type Logger } from './log.js';
import { fit, MAX_WORKER_BYTES, parseStatus, requestHead, requestWithHead } from './report.js';

/** Where a handoff goes on the extension's port. */
export const HANDOFF_PATH: string = LIMITS.handoff.path;
/** The largest handoff body, as JSON; a larger one is refused before sending. */
export const HANDOFF_MAX_BODY_BYTES: number = LIMITS.handoff.maxBodyBytes;
/** How long a handoff waits for the extension's answer, connect and write included. */
export const HANDOFF_TIMEOUT_MS: number = LIMITS.library.handoffTimeoutMs;
/** The most of an answer read: a status line, a few headers, a one-line message. */
const MAX_ANSWER_BYTES = 16 * 1024;
/** The longest refusal message kept, in bytes as a JSON string (as the error of a report). */
const MAX_MESSAGE_BYTES: number = LIMITS.maxErrorBytes;

/** A request's headers: a plain object, or a `Map` or `[name, value]` pairs to keep any order. */
export type HandoffHeaders = Readonly<Record<string, string>> | ReadonlyMap<string, string> | Iterable<readonly [string, string]>;

/** One HTTP request for the extension to send after the runtime has gone. */
export interface HandoffRequest {
  /** Your name for it, in the extension's log and dead-letter record (else `h1`, `h2`, …). */
  id?: string;
  /** An upper-case HTTP method, `"POST"`. */
  method: string;
  /** An absolute `http://` or `https://` URL. */
  url: string;
  /**
   * Sent in the order given (a plain object lists integer-like names first:
   * use a `Map` or pairs for any other order). `host`, `content-length`,
   * `connection`, `transfer-encoding` and `expect` are the extension's.
   */
  headers?: HandoffHeaders;
  /** Text (sent as `body`, UTF-8) or bytes (a `Buffer` or `Uint8Array`, sent as `bodyBase64`). */
  body?: string | Uint8Array;
  /** Have the extension sign it with AWS SigV4 and the credentials of its environment (the function's). */
  sign?: { service: string; region: string };
}

/** What came of a handoff. */
export interface HandoffResult {
  /**
   * Whether the extension took the handoff: it will send every request, and
   * dead-letter to the log what it cannot deliver.
   */
  readonly ok: boolean;
  /**
   * The extension's answer (`202` when taken; `400`, `401`, `413`, `501` …),
   * or `null` when there was none: refused by the library before sending, or
   * no answer within `library.handoffTimeoutMs`.
   */
  readonly status: number | null;
  /** Why it was not taken (the extension's message, naming the field or the limit, or the library's reason); `''` when it was. */
  readonly message: string;
  /** The requests of this handoff the extension took (0 when not taken). */
  readonly accepted: number;
  /** All the requests the extension holds for the environment, this handoff's included (0 when not taken). */
  readonly held: number;
}

export { awsJsonRequest, type AwsJsonRequestOptions } from './aws-json.js';

// -- checking the arguments (programming errors: TypeError naming the field)

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** A surrogate that is not half of a pair (in a `u` pattern, a pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

function text(where: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${where}: expected a string, got ${kindOf(value)}`);
  // JSON.stringify would write a lone surrogate as \udxxx, which no JSON parser takes as text.
  if (LONE_SURROGATE.test(value)) {
    throw new TypeError(`${where}: not well-formed Unicode (a lone surrogate); pass a Uint8Array as the body to send bytes as they are`);
  }
  return value;
}

function optionalText(where: string, value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : text(where, value);
}

/** The headers as [name, value] pairs, in the order given. */
function headerPairs(where: string, headers: unknown): [string, string][] {
  if (headers === undefined || headers === null) return [];
  if (typeof headers !== 'object') {
    throw new TypeError(`${where}: expected an object, a Map or [name, value] pairs, got ${kindOf(headers)}`);
  }
  const entries: Iterable<unknown> =
    Symbol.iterator in headers ? (headers as Iterable<unknown>) : Object.entries(headers as Record<string, unknown>);
  const pairs: [string, string][] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new TypeError(`${where}: expected [name, value] pairs, got ${kindOf(entry)}${Array.isArray(entry) ? ` of ${entry.length}` : ''}`);
    }
    const name = text(`${where}: a header name`, entry[0]);
    pairs.push([name, text(`${where}.${name}`, entry[1])]);
  }
  return pairs;
}

/** A request checked for types and copied: what is encoded. */
interface Checked {
  id: string | undefined;
  method: string;
  url: string;
  headers: [string, string][];
  body: string | Uint8Array | undefined;
  sign: { service: string; region: string } | undefined;
}

function check(request: unknown, where: string): Checked {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    const hint = Array.isArray(request) ? '; pass the requests themselves: handoff(...requests)' : '';
    throw new TypeError(`${where}: expected a request object ({ method, url, ... }), got ${kindOf(request)}${hint}`);
  }
  const r = request as Record<string, unknown>;
  let body: string | Uint8Array | undefined;
  if (r.body === undefined || r.body === null) body = undefined;
  else if (typeof r.body === 'string') body = text(`${where}.body`, r.body);
  else if (r.body instanceof Uint8Array) body = r.body;
  else throw new TypeError(`${where}.body: expected a string, a Buffer or a Uint8Array, got ${kindOf(r.body)}`);
  let sign: Checked['sign'];
  if (r.sign !== undefined && r.sign !== null) {
    if (typeof r.sign !== 'object') {
      throw new TypeError(`${where}.sign: expected { service, region }, got ${kindOf(r.sign)}`);
    }
    const s = r.sign as Record<string, unknown>;
    sign = { service: text(`${where}.sign.service`, s.service), region: text(`${where}.sign.region`, s.region) };
  }
  return {
    id: optionalText(`${where}.id`, r.id),
    method: text(`${where}.method`, r.method),
    url: text(`${where}.url`, r.url),
    headers: headerPairs(`${where}.headers`, r.headers),
    body,
    sign,
  };
}

// -- encoding

const q = (s: string) => JSON.stringify(s);

/** One request as the wire orders it: id, method, url, headers, body or bodyBase64, sign (empty ones left out). */
function requestJson(r: Checked): string {
  let json = '{';
  if (r.id !== undefined) json += `"id":${q(r.id)},`;
  json += `"method":${q(r.method)},"url":${q(r.url)}`;
  if (r.headers.length > 0) json += `,"headers":{${r.headers.map(([n, v]) => `${q(n)}:${q(v)}`).join(',')}}`;
  if (typeof r.body === 'string') {
    if (r.body !== '') json += `,"body":${q(r.body)}`;
  } else if (r.body !== undefined && r.body.length > 0) {
    json += `,"bodyBase64":"${Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength).toString('base64')}"`;
  }
  if (r.sign !== undefined) json += `,"sign":{"service":${q(r.sign.service)},"region":${q(r.sign.region)}}`;
  return `${json}}`;
}

function encodeChecked(requests: readonly Checked[], worker?: string): string {
  const tail = worker ? `,"worker":${q(fit(worker, MAX_WORKER_BYTES))}` : '';
  return `{"type":"handoff","requests":[${requests.map(requestJson).join(',')}]${tail}}`;
}

function checkAll(requests: readonly unknown[], name: string): Checked[] {
  return requests.map((r, i) => check(r, `${name}: requests[${i}]`));
}

/** The JSON body of a handoff of `requests` (from `worker`, the last field, cut to `maxWorkerBytes`). */
export function handoffJson(requests: readonly HandoffRequest[], worker?: string): string {
  return encodeChecked(checkAll(requests, 'handoffJson'), worker);
}

/** The complete HTTP/1.1 request that hands `requests` (from `worker`) to the extension on `port`. */
export function encodeHandoff(port: number, secret: string, requests: readonly HandoffRequest[], worker?: string): string {
  return requestWithHead(requestHead(port, secret, HANDOFF_PATH), handoffJson(requests, worker));
}

// -- sending

const result = (ok: boolean, status: number | null, message = '', accepted = 0, held = 0): HandoffResult =>
  Object.freeze({ ok, status, message, accepted, held });

/**
 * Hand `requests` to the extension, which sends them after the runtime has
 * gone (within the shutdown phase) and logs what it could not deliver. For a
 * shutdown handler whose work does not fit the runtime's share.
 *
 * One `POST` to the extension on `127.0.0.1:$GRACEFUL_SHUTDOWN_PORT`, whose
 * answer is awaited at most `library.handoffTimeoutMs` (100 ms). Resolves to
 * a `HandoffResult`, `ok` when the extension took the handoff. Any other
 * outcome (the extension refused it, the layer is not attached, the handoff
 * is over `handoff.maxBodyBytes`, no answer in time) is logged as one warning
 * naming the status and the reason, and resolved, never rejected: check
 * `result.ok` if you keep the data otherwise. A request of the wrong shape
 * rejects with a TypeError naming the field. With no requests nothing is sent and
 * the result is `ok`.
 */
export async function handoff(...requests: HandoffRequest[]): Promise<HandoffResult> {
  const checked = checkAll(requests, 'handoff');
  const { config } = configFromLookup((name) => process.env[name]); // bad values were logged at cold start
  return sendChecked(config, checked, {});
}

export interface HandoffOptions {
  /** Where the refusal is logged (default: the console). */
  logger?: Logger;
  /** The wait for the answer (default `library.handoffTimeoutMs`). */
  timeoutMs?: number;
  /** The `worker` field (default: `<pid>/<threadId>` in a worker thread, none on the main thread). */
  worker?: string;
}

/** `handoff` with these settings (tests, and a GracefulShutdown made with a Config of its own). */
export async function handoffWith(
  config: Pick<Config, 'port' | 'secretFile'>,
  requests: readonly HandoffRequest[],
  options: HandoffOptions = {},
): Promise<HandoffResult> {
  return sendChecked(config, checkAll(requests, 'handoff'), options);
}

async function sendChecked(
  config: Pick<Config, 'port' | 'secretFile'>,
  requests: readonly Checked[],
  options: HandoffOptions,
): Promise<HandoffResult> {
  const log = options.logger ?? consoleLogger;
  if (requests.length === 0) return result(true, null);
  const secret = readSecret(config.secretFile);
  if (!secret.ok) {
    return refused(
      log,
      null,
      `the ${EXTENSION_NAME} extension is not attached (${ENV_SECRET_FILE}: ${secret.reason}); nothing was handed off`,
      'not sent',
    );
  }
  // As workerId() (worker-thread.ts) writes it; not imported, to keep this file's bundle small.
  const worker = 'worker' in options ? options.worker : isMainThread ? undefined : `${process.pid}/${threadId}`;
  const body = encodeChecked(requests, worker);
  const size = Buffer.byteLength(body);
  if (size > HANDOFF_MAX_BODY_BYTES) {
    return refused(
      log,
      null,
      `handoff: body of ${size} bytes; handoff.maxBodyBytes is ${HANDOFF_MAX_BODY_BYTES}; ` +
        'nothing was handed off (hand off fewer or smaller requests)',
      'not sent',
    );
  }
  const request = Buffer.from(requestWithHead(requestHead(config.port, secret.secret, HANDOFF_PATH), body));
  const timeoutMs = options.timeoutMs ?? HANDOFF_TIMEOUT_MS;
  const where = `the extension on 127.0.0.1:${config.port}`;
  const got = await exchange(config.port, request, timeoutMs);
  switch (got.kind) {
    case 'answer':
      return answered(log, got.answer, requests.length, where);
    case 'timeout':
      return refused(
        log,
        null,
        got.written
          ? `no answer from ${where} within ${timeoutMs} ms (it may have taken the handoff)`
          : `${where} did not take the handoff within ${timeoutMs} ms`,
        'no answer',
      );
    case 'error':
      return refused(log, null, `cannot hand off to ${where}: ${got.message}`, 'no answer');
  }
}

type Exchange = { kind: 'answer'; answer: Buffer } | { kind: 'timeout'; written: boolean } | { kind: 'error'; message: string };

/** The answer's whole length in bytes, once its head is in and says `Content-Length`. */
function answerLength(answer: Buffer): number | undefined {
  const end = answer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const length = contentLength(answer.subarray(0, end).toString('latin1'));
  return length === undefined ? undefined : end + 4 + length;
}

function contentLength(head: string): number | undefined {
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon >= 0 && line.slice(0, colon).trim().toLowerCase() === 'content-length') {
      const value = line.slice(colon + 1).trim();
      return /^[0-9]+$/.test(value) ? Number(value) : undefined;
    }
  }
  return undefined;
}

/** Write `request` to the extension on 127.0.0.1:`port` and read its answer, all within `timeoutMs`. */
function exchange(port: number, request: Buffer, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    let answer = Buffer.alloc(0);
    let written = false;
    let finished = false;
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (outcome: Exchange) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    // What came, if it is an answer (the extension may close before reading all of a refused request).
    const ended = (why: Exchange) => finish(answer.length > 0 ? { kind: 'answer', answer } : why);
    const timer = setTimeout(() => ended({ kind: 'timeout', written }), Math.max(0, timeoutMs));
    socket.setNoDelay(true);
    socket.on('error', (e) => ended({ kind: 'error', message: e.message }));
    socket.write(request, (e) => {
      if (!e) written = true;
    });
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      const want = answerLength(answer);
      if ((want !== undefined && answer.length >= want) || answer.length >= MAX_ANSWER_BYTES) {
        finish({ kind: 'answer', answer: want === undefined ? answer : answer.subarray(0, want) });
      }
    });
    socket.on('end', () => ended({ kind: 'error', message: 'the connection closed without an answer' }));
    socket.on('close', () => ended({ kind: 'error', message: 'the connection closed without an answer' }));
  });
}

function answered(log: Logger, answer: Buffer, count: number, where: string): HandoffResult {
  const text = answer.toString('latin1');
  const status = parseStatus(text);
  const end = answer.indexOf('\r\n\r\n');
  const statusLine = text.split('\n', 1)[0]?.replace(/\r$/, '') ?? '';
  if (status === undefined) {
    return refused(log, null, `${where} answered the handoff with something not HTTP: ${excerpt(statusLine)}`, 'no answer');
  }
  const reason = statusLine.split(' ').slice(2).join(' ');
  const message = end < 0 ? '' : answer.subarray(end + 4).toString('utf8').trim();
  if (status === 202) {
    let accepted = count;
    let held = count;
    try {
      const taken = JSON.parse(message) as { accepted?: unknown; held?: unknown };
      if (Number.isInteger(taken.accepted) && Number.isInteger(taken.held)) {
        accepted = taken.accepted as number;
        held = taken.held as number;
      }
    } catch {
      // taken all the same; the counts are this handoff's
    }
    return result(true, 202, '', accepted, held);
  }
  return refused(log, status, fit(message || reason, MAX_MESSAGE_BYTES), `${status} ${reason}`.trimEnd());
}

/** The first 64 characters of `s`, as a JSON string. */
function excerpt(s: string): string {
  return JSON.stringify(Array.from(s).slice(0, 64).join(''));
}

/** A handoff not taken: one warning naming `label` (the status) and `message`. */
function refused(log: Logger, status: number | null, message: string, label: string): HandoffResult {
  log.warn(`graceful-shutdown: handoff refused (${label}): ${message}`);
  return result(false, status, message);
}
