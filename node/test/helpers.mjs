// Shared test helpers: a logger that records, a reporter that records, and a
// loopback server that speaks the extension's side of the report protocol.
import { once } from 'node:events';
import * as net from 'node:net';

export function recordingLogger() {
  const lines = [];
  return {
    lines,
    info: (m) => lines.push(['info', m]),
    warn: (m) => lines.push(['warn', m]),
    error: (m) => lines.push(['error', m]),
  };
}

export function recordingReporter() {
  const reports = [];
  return {
    reports,
    enabled: true,
    send(report) {
      reports.push(structuredClone(report));
      return { written: Promise.resolve(), done: Promise.resolve(202) };
    },
    flush: async () => true,
  };
}

/**
 * A report listener on 127.0.0.1, on a port the kernel picks (bound here and
 * kept bound, so no other process can take it). Records each request's raw
 * bytes in arrival order and answers `status` (or never, with status 0).
 */
export async function fakeExtension({ status = 202 } = {}) {
  // Kept in the order the connections were accepted, as the extension keeps them.
  const received = [];
  let accepted = 0;
  const waiters = [];
  const server = net.createServer((socket) => {
    const seq = accepted++;
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const m = /Content-Length: (\d+)/i.exec(buf.subarray(0, head).toString('latin1'));
      const len = m ? Number(m[1]) : 0;
      if (buf.length < head + 4 + len) return;
      received.push({ seq, text: buf.toString('utf8') });
      received.sort((a, b) => a.seq - b.seq);
      for (const w of waiters.splice(0)) w();
      if (status) socket.end(`HTTP/1.1 ${status} Accepted\r\nContent-Length: 0\r\n\r\n`);
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  return {
    port,
    get requests() {
      return received.map((r) => r.text);
    },
    bodies: () => received.map(({ text }) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))),
    /** Wait until `n` requests arrived, at most `ms` (then fail). */
    async waitFor(n, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} reports, got ${received.length}`);
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100).unref();
        });
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
