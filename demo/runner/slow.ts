// A slow store: an HTTP proxy on loopback in front of moto that holds every
// request for a while before it passes it on, as a store under load, a far
// region or a retry would. A request whose client is gone by then (the
// runtime was killed mid-flush) is dropped, not passed on: its write never
// reaches the store, as on Lambda.
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { HOST } from './moto';

/** A running slow store. */
export interface SlowStore {
  /** Its URL, to use as `AWS_ENDPOINT_URL`. */
  readonly endpoint: string;
  /** Requests passed on, and dropped because their client had gone. */
  readonly counts: { passed: number; dropped: number };
  stop(): Promise<void>;
}

/**
 * Starts the proxy to `target` (moto's endpoint) on a free loopback port;
 * each request is held `delayMs` before it is passed on.
 */
export async function startSlowStore(target: string, delayMs: number): Promise<SlowStore> {
  const upstream = new URL(target);
  const counts = { passed: 0, dropped: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let held = true;
      const timer = setTimeout(() => {
        held = false;
        counts.passed++;
        const forward = http.request({
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', (e) => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`slow store: ${e.message}`);
        });
        forward.end(Buffer.concat(chunks));
      }, delayMs);
      // 'close' while the request is still held: the client hung up (its
      // process was killed), so the write never reaches the store.
      res.once('close', () => {
        if (held) {
          clearTimeout(timer);
          counts.dropped++;
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${HOST}:${port}`,
    counts,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
