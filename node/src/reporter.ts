/**
 * Sending reports to the extension without ever holding up a handler.
 *
 * Each report gets its own loopback connection (the protocol's
 * `Connection: close`), opened at once when the report is queued: the
 * connects are issued in call order, and the extension keeps reports in the
 * order their connections arrive. `send` never throws and never blocks.
 *
 * On the shutdown path every turn of the event loop counts: on a 128 MB
 * function's CPU share (about 7 % of a vCPU) the process may run a few
 * milliseconds only before the kernel holds it to the next 100 ms period. So
 * `send` issues the connect(2) itself, before it returns (the address is
 * resolved by a lookup that answers at once, so Node connects synchronously
 * instead of on the next tick), and writes the request to the socket right
 * away: on loopback the kernel has completed the handshake by the time
 * connect(2) returns, so the write is done, and the report cannot be lost
 * any more, before `send` returns (`sent`). The runner can then start a
 * handler in the same tick as the signal and still have its `started` out
 * first, even if the handler then holds the thread until the SIGKILL.
 * Should the connection not be established yet (the write would block), the
 * request is written when it is, and `written` resolves then.
 */
import { writeSync } from 'node:fs';
import * as net from 'node:net';

import { parseStatus, reportJson, requestHead, requestWithHead, type Report } from './report.js';

/** Once the request is written, a wedged extension never holds a socket longer than this. */
const EXCHANGE_TIMEOUT_MS = 200;
/**
 * Before the connection is established, it is given far longer: a loopback
 * connect is done by the kernel at once, but on a small CPU share (a 128 MB
 * function gets about 7 % of a vCPU) the event loop may turn only after a
 * quota period or two, and it runs due timers before I/O callbacks, so a
 * short timer would cut a connection whose connect has long completed,
 * before its request is written.
 */
const CONNECT_TIMEOUT_MS = 2000;

export interface Delivery {
  /**
   * True when the whole request was handed to the kernel before `send`
   * returned: nothing to wait for (`written` is already resolved).
   */
  sent: boolean;
  /** Resolves once the request is written to the socket (or it failed). */
  written: Promise<void>;
  /** Resolves with the answer's status, or undefined on any failure. */
  done: Promise<number | undefined>;
}

export interface Reporter {
  readonly enabled: boolean;
  send(report: Report): Delivery;
  /**
   * Encode these reports now, at install, so that sending one of these very
   * objects later, on the shutdown path, is only the connect and the write.
   */
  prepare?(reports: readonly Report[]): void;
  /**
   * Run the code of a delivery a few times, at install, on connections that
   * are never attempted: compiled and warmed before the signal. No traffic.
   */
  warmUp?(): void;
  /**
   * Wait at most `limitMs` until every report sent so far is written to its
   * connection (or failed); true if all were in time. Written is enough: the
   * extension handles every connection that arrived before SHUTDOWN, even once
   * the process is gone, so the end need not wait for the answers (which, on
   * a small share of a CPU, can take tens of milliseconds more).
   */
  flush(limitMs: number): Promise<boolean>;
}

const settled: Delivery = { sent: true, written: Promise.resolve(), done: Promise.resolve(undefined) };

/** A reporter that drops every report (the extension is not attached). */
export const disabledReporter: Reporter = {
  enabled: false,
  send: () => settled,
  prepare: () => {},
  flush: async () => true,
};

/** Wait for `promise`, at most `ms`; true if it settled in time. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/** The reporter for the extension on 127.0.0.1:`port`. */
export function tcpReporter(port: number, secret: string, worker?: string): Reporter {
  const head = requestHead(port, secret);
  const encode = (report: Report) => Buffer.from(requestWithHead(head, reportJson(report, worker)));
  const prepared = new WeakMap<Report, Buffer>();
  const pending = new Set<Promise<unknown>>();
  return {
    enabled: true,
    send(report) {
      const delivery = deliver(port, prepared.get(report) ?? encode(report));
      if (!delivery.sent) {
        pending.add(delivery.written);
        void delivery.written.then(() => pending.delete(delivery.written));
      }
      return delivery;
    },
    prepare(reports) {
      for (const report of reports) prepared.set(report, encode(report));
    },
    warmUp() {
      const request = encode({ type: 'shutdownStarted', signal: 'warm-up' });
      for (let i = 0; i < WARM_UP_RUNS; i++) deliver(port, request, nowhere);
    },
    flush(limitMs) {
      return pending.size === 0 ? Promise.resolve(true) : within(Promise.all([...pending]), limitMs);
    },
  };
}

/** Every name is the loopback address, answered at once: Node then connects before net.connect returns. */
const loopback: net.LookupFunction = (_hostname, _options, callback) => callback(null, '127.0.0.1', 4);
/** For the warm-up: no name resolves, so no connection is attempted. */
const nowhere: net.LookupFunction = (_hostname, _options, callback) => callback(new Error('warm-up: not connecting'), '', 4);
/**
 * How often the warm-up runs a delivery: V8 compiles a function at its first
 * call and allocates its feedback and optimizes it over the next few, which,
 * measured on the shutdown path, cost more than the connect itself.
 */
const WARM_UP_RUNS = 3;

/**
 * Write as much of `request` as the socket takes now, straight to its file
 * descriptor (Node's stream would wait for the connect's callback, a turn of
 * the event loop later); the number of bytes written, 0 if none could be.
 */
function writeNow(socket: net.Socket, request: Buffer): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 0;
  try {
    return writeSync(fd, request);
  } catch {
    // EAGAIN: not connected yet; any other error is the connection's, and
    // comes again as its 'error' event.
    return 0;
  }
}

function deliver(port: number, request: Buffer, lookup: net.LookupFunction = loopback): Delivery {
  let markWritten!: () => void;
  const written = new Promise<void>((resolve) => (markWritten = resolve));
  let sent = false;
  const done = new Promise<number | undefined>((resolve) => {
    let answer = '';
    let finished = false;
    const finish = (status: number | undefined) => {
      if (finished) return;
      finished = true;
      markWritten();
      socket.destroy();
      resolve(status);
    };
    const socket = net.connect({ host: 'localhost', port, family: 4, autoSelectFamily: false, lookup });
    // Reports must never keep the process alive.
    socket.unref();
    socket.setNoDelay(true);
    const n = writeNow(socket, request);
    sent = n === request.length;
    if (sent) markWritten();
    socket.on('timeout', () => finish(undefined));
    socket.setTimeout(CONNECT_TIMEOUT_MS);
    socket.on('error', () => finish(undefined));
    socket.on('connect', () => {
      if (sent) {
        socket.setTimeout(EXCHANGE_TIMEOUT_MS);
        return;
      }
      socket.write(n === 0 ? request : request.subarray(n), () => {
        markWritten();
        socket.setTimeout(EXCHANGE_TIMEOUT_MS);
      });
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\n') || answer.length >= 64) finish(parseStatus(answer));
    });
    socket.on('end', () => finish(parseStatus(answer)));
    socket.on('close', () => finish(parseStatus(answer)));
  });
  return { sent, written, done };
}
