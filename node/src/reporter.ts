/**
 * Sending reports to the extension without ever holding up a handler.
 *
 * Each report gets its own loopback connection (the protocol's
 * `Connection: close`), opened at once when the report is queued: Node issues
 * the connects in call order, and the extension keeps reports in the order
 * their connections arrive. `send` never throws and never blocks; it returns
 * when the bytes are handed to the kernel (`written`, which the runner awaits,
 * briefly, before it starts a handler, so that a handler cut off by the
 * SIGKILL is still known to have started) and when the answer came (`done`).
 */
import * as net from 'node:net';

import { encodeRequest, parseStatus, type Report } from './report.js';

/** Once the request is written, a wedged extension never holds a socket longer than this. */
const EXCHANGE_TIMEOUT_MS = 200;
/**
 * Before the request is written, the connection is given far longer: a
 * loopback connect is done by the kernel at once, but on a small CPU share
 * (a 128 MB function gets about 7 % of a vCPU) the event loop may turn only
 * after a quota period or two, and it runs due timers before I/O callbacks,
 * so a short timer would cut a connection whose connect has long completed,
 * before its request is written.
 */
const CONNECT_TIMEOUT_MS = 2000;

export interface Delivery {
  /** Resolves once the request is written to the socket (or it failed). */
  written: Promise<void>;
  /** Resolves with the answer's status, or undefined on any failure. */
  done: Promise<number | undefined>;
}

export interface Reporter {
  readonly enabled: boolean;
  send(report: Report): Delivery;
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
  const pending = new Set<Promise<unknown>>();
  return {
    enabled: true,
    send(report) {
      const delivery = deliver(port, encodeRequest(port, secret, report, worker));
      pending.add(delivery.written);
      void delivery.written.then(() => pending.delete(delivery.written));
      return delivery;
    },
    flush(limitMs) {
      return within(Promise.all([...pending]), limitMs);
    },
  };
}

function deliver(port: number, request: string): Delivery {
  let markWritten!: () => void;
  const written = new Promise<void>((resolve) => (markWritten = resolve));
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
    const socket = net.connect({ host: '127.0.0.1', port });
    // Reports must never keep the process alive.
    socket.unref();
    socket.setNoDelay(true);
    socket.on('timeout', () => finish(undefined));
    socket.setTimeout(CONNECT_TIMEOUT_MS);
    socket.on('error', () => finish(undefined));
    socket.on('connect', () => {
      socket.write(request, () => {
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
  return { written, done };
}
