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
 * milliseconds only before the kernel holds it to the next 100 ms period.
 * Node issues the connect(2) of `net.connect` on the next tick, and would
 * write the request only once the connect's callback ran, a turn of the event
 * loop later. So `send` queues, right behind that connect, a write of the
 * request straight to the socket: on loopback the kernel has completed the
 * handshake by the time connect(2) returns, so the request is in the kernel,
 * and can no longer be lost, before Node goes back to the event loop, and
 * `written` resolves then. The runner awaits it and starts the handler in the
 * same tick as the signal, with its `started` out first even if the handler
 * then holds the thread until the SIGKILL. Should the connection not be
 * established yet (the write would block), the request is written when it
 * is, and `written` resolves then.
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
   * Resolves once the request is written to the socket (or it failed): on
   * loopback, on the next tick, before Node goes back to the event loop.
   */
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

const settled: Delivery = { written: Promise.resolve(), done: Promise.resolve(undefined) };

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
      pending.add(delivery.written);
      void delivery.written.then(() => pending.delete(delivery.written));
      return delivery;
    },
    prepare(reports) {
      for (const report of reports) prepared.set(report, encode(report));
    },
    warmUp() {
      const request = encode({ type: 'shutdownStarted', signal: 'warm-up' });
      for (let i = 0; i < WARM_UP_RUNS; i++) deliver(port, request, false);
    },
    flush(limitMs) {
      return pending.size === 0 ? Promise.resolve(true) : within(Promise.all([...pending]), limitMs);
    },
  };
}

/**
 * How often the warm-up runs a delivery: V8 compiles a function at its first
 * call and allocates its feedback and optimizes it over the next few, which,
 * measured on the shutdown path, cost more than the connect itself.
 */
const WARM_UP_RUNS = 3;

/**
 * Write as much of `request` as the socket takes now, straight to its file
 * descriptor (Node's stream would wait for the connect's callback, a turn of
 * the event loop later); the number of bytes written, 0 if none could be
 * (not connected yet, or a Node whose socket does not expose it).
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

/**
 * One report on its own connection. With `connect` false (the warm-up) the
 * connection is abandoned before Node issues its connect(2): the same code
 * runs, without traffic.
 */
function deliver(port: number, request: Buffer, connect = true): Delivery {
  let markWritten!: () => void;
  const written = new Promise<void>((resolve) => (markWritten = resolve));
  const done = new Promise<number | undefined>((resolve) => {
    let answer = '';
    let finished = false;
    // Bytes of the request written straight to the socket, on the next tick.
    let early = 0;
    const finish = (status: number | undefined) => {
      if (finished) return;
      finished = true;
      markWritten();
      socket.destroy();
      resolve(status);
    };
    const socket = net.connect({ host: '127.0.0.1', port });
    // Reports must never keep the process alive.
    socket.unref();
    socket.setNoDelay(true);
    socket.on('timeout', () => finish(undefined));
    socket.setTimeout(CONNECT_TIMEOUT_MS);
    socket.on('error', () => finish(undefined));
    socket.on('connect', () => {
      if (early === request.length) {
        socket.setTimeout(EXCHANGE_TIMEOUT_MS);
        return;
      }
      socket.write(early === 0 ? request : request.subarray(early), () => {
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
    if (!connect) {
      finish(undefined);
      return;
    }
    // Queued behind Node's own next-tick connect(2), so it runs right after it.
    process.nextTick(() => {
      if (finished) return;
      early = writeNow(socket, request);
      if (early === request.length) markWritten();
    });
  });
  return { written, done };
}
