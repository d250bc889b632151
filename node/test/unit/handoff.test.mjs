// The handoff (docs/protocol.md, Handoff): the bodies and requests of
// spec/vectors/handoff.json made by this library's own code, the AWS helper's
// requests, the refusals made before sending, and the extension's answers
// (202, 400, 413, 501, none in time) from a real loopback listener.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import * as pkg from 'lambda-graceful-shutdown';

import { awsJsonRequestFrom } from '../../dist/esm/aws-json.js';
import {
  encodeHandoff,
  HANDOFF_MAX_BODY_BYTES,
  HANDOFF_TIMEOUT_MS,
  handoffJson,
  handoffWith,
} from '../../dist/esm/handoff.js';
import { recordingLogger } from '../helpers.mjs';

const { awsJsonRequest, handoff, LIMITS } = pkg;
const vectors = JSON.parse(readFileSync(new URL('../../../spec/vectors/handoff.json', import.meta.url), 'utf8'));

const dir = mkdtempSync(join(tmpdir(), 'gs-handoff-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 's3cr3t-0123456789';
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `${SECRET}\n`);

/** A request of the vectors' `value`, built as a caller would: bytes for bodyBase64. */
function fromValue(v) {
  const r = { method: v.method, url: v.url };
  if (v.id !== undefined) r.id = v.id;
  if (v.headers !== undefined) r.headers = v.headers;
  if (v.body !== undefined) r.body = v.body;
  if (v.bodyBase64 !== undefined) r.body = new Uint8Array(Buffer.from(v.bodyBase64, 'base64'));
  if (v.sign !== undefined) r.sign = { region: v.sign.region, service: v.sign.service };
  return r;
}

test('every encode vector: the body and the request, byte for byte', () => {
  assert.equal(vectors.path, LIMITS.handoff.path);
  assert.ok(vectors.encode.length >= 4);
  for (const c of vectors.encode) {
    const requests = c.value.requests.map(fromValue);
    const worker = c.value.worker;
    assert.equal(handoffJson(requests, worker), c.json, c.name);
    assert.equal(encodeHandoff(vectors.port, vectors.secret, requests, worker), c.request, c.name);
    assert.deepEqual(JSON.parse(c.json), c.value, c.name);
  }
});

test('every aws vector: the endpoint and region rules, and the error without a region', () => {
  assert.ok(vectors.aws.some((c) => c.error) && vectors.aws.some((c) => !c.error));
  for (const c of vectors.aws) {
    const options = { service: c.service, target: c.target, body: c.body, ...(c.region === null ? {} : { region: c.region }) };
    if (c.error) {
      assert.throws(() => awsJsonRequestFrom(options, c.env), (e) => e instanceof Error && e.message === c.error, c.name);
      continue;
    }
    const request = awsJsonRequestFrom(options, c.env);
    assert.equal(handoffJson([request]), `{"type":"handoff","requests":[${c.json}]}`, c.name);
  }
});

test('awsJsonRequest reads the process environment; an id is kept; bytes go as bodyBase64', () => {
  const saved = { ...process.env };
  try {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    assert.throws(() => awsJsonRequest({ service: 'sqs', target: 'AmazonSQS.SendMessage', body: '{}' }), {
      message: 'region: not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set',
    });
    process.env.AWS_DEFAULT_REGION = 'eu-central-1';
    process.env.AWS_ENDPOINT_URL_SOME_SERVICE = 'http://127.0.0.1:4566';
    const r = awsJsonRequest({ service: 'some-service', target: 'T.Op', body: Buffer.from('{}'), id: 'one' });
    assert.equal(
      handoffJson([r]),
      '{"type":"handoff","requests":[{"id":"one","method":"POST","url":"http://127.0.0.1:4566/",' +
        '"headers":{"content-type":"application/x-amz-json-1.0","x-amz-target":"T.Op"},"bodyBase64":"e30=",' +
        '"sign":{"service":"some-service","region":"eu-central-1"}}]}',
    );
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('awsJsonRequest: values refused by name (Error), types by field (TypeError)', () => {
  const ok = { service: 'dynamodb', target: 'DynamoDB_20120810.PutItem', body: '{}', region: 'us-east-1' };
  const env = {};
  assert.throws(() => awsJsonRequestFrom({ ...ok, service: 'DynamoDB' }, env), { message: 'service: expected an AWS signing name such as "dynamodb", got "DynamoDB"' });
  assert.throws(() => awsJsonRequestFrom({ ...ok, target: 'a b' }, env), { message: /^target: expected an X-Amz-Target/ });
  assert.throws(() => awsJsonRequestFrom({ ...ok, region: 'EU WEST' }, env), { message: 'region: expected an AWS region such as "us-east-1", got "EU WEST"' });
  assert.throws(() => awsJsonRequestFrom(ok, { AWS_ENDPOINT_URL: 'file:///x' }), {
    message: 'AWS_ENDPOINT_URL_DYNAMODB: expected an http:// or https:// URL, got "file:///x"',
  });
  assert.throws(() => awsJsonRequestFrom(ok, { AWS_ENDPOINT_URL: 'http://:80/' }), { message: /no host in the URL/ });
  assert.throws(() => awsJsonRequestFrom({ ...ok, service: 5 }, env), (e) => e instanceof TypeError && /awsJsonRequest: service: expected a string, got number/.test(e.message));
  assert.throws(() => awsJsonRequestFrom({ ...ok, body: { RequestItems: {} } }, env), (e) => e instanceof TypeError && /awsJsonRequest: body:/.test(e.message));
  assert.throws(() => awsJsonRequestFrom({ ...ok, region: 1 }, env), (e) => e instanceof TypeError && /awsJsonRequest: region:/.test(e.message));
  assert.throws(() => awsJsonRequest('dynamodb'), TypeError);
});

test('headers keep the order given: an object, a Map, pairs', () => {
  const url = 'http://a/';
  const expected = '{"type":"handoff","requests":[{"method":"POST","url":"http://a/","headers":{"x-z":"1","a":"2"}}]}';
  assert.equal(handoffJson([{ method: 'POST', url, headers: { 'x-z': '1', a: '2' } }]), expected);
  assert.equal(handoffJson([{ method: 'POST', url, headers: new Map([['x-z', '1'], ['a', '2']]) }]), expected);
  assert.equal(handoffJson([{ method: 'POST', url, headers: [['x-z', '1'], ['a', '2']] }]), expected);
  // Empty parts are left out, as the Rust encoder leaves them out.
  assert.equal(
    handoffJson([{ method: 'GET', url, headers: {}, body: '' }, { method: 'GET', url, body: new Uint8Array(0) }]),
    '{"type":"handoff","requests":[{"method":"GET","url":"http://a/"},{"method":"GET","url":"http://a/"}]}',
  );
  // A worker is cut as reports cut it.
  const long = 'w'.repeat(100);
  assert.ok(handoffJson([{ method: 'GET', url }], long).endsWith(`,"worker":"${'w'.repeat(61)}…"}`));
  // A Buffer that is a view into a larger pool is sent as its own bytes only.
  const pool = Buffer.from('xxABCyy');
  assert.match(handoffJson([{ method: 'PUT', url, body: pool.subarray(2, 5) }]), /"bodyBase64":"QUJD"/);
});

test('programming errors throw a TypeError naming the field; nothing is sent', async () => {
  const good = { method: 'POST', url: 'http://a/' };
  const cases = [
    [[{ ...good, method: 1 }], /^handoff: requests\[0\]\.method: expected a string, got number$/],
    [[good, { method: 'POST' }], /^handoff: requests\[1\]\.url: expected a string, got undefined$/],
    [[[good]], /requests\[0\]: expected a request object .* got an array; pass the requests themselves: handoff\(\.\.\.requests\)$/],
    [[null], /requests\[0\]: expected a request object .* got null/],
    [[{ ...good, headers: { 'x-n': 7 } }], /^handoff: requests\[0\]\.headers\.x-n: expected a string, got number$/],
    [[{ ...good, headers: 'a: b' }], /requests\[0\]\.headers: expected an object/],
    [[{ ...good, headers: [['a']] }], /requests\[0\]\.headers: expected \[name, value\] pairs/],
    [[{ ...good, body: 12 }], /^handoff: requests\[0\]\.body: expected a string, a Buffer or a Uint8Array, got number$/],
    [[{ ...good, body: 'a\ud800b' }], /requests\[0\]\.body: not well-formed Unicode/],
    [[{ ...good, sign: { service: 'sqs' } }], /^handoff: requests\[0\]\.sign\.region: expected a string, got undefined$/],
    [[{ ...good, id: 3 }], /^handoff: requests\[0\]\.id: expected a string, got number$/],
  ];
  for (const [requests, message] of cases) {
    await assert.rejects(handoff(...requests), (e) => e instanceof TypeError && message.test(e.message), String(message));
    await assert.rejects(handoffWith({ port: 1, secretFile }, requests), TypeError);
  }
});

test('the public API is exported from both entry points, with types', async () => {
  assert.equal(typeof pkg.handoff, 'function');
  assert.equal(typeof pkg.awsJsonRequest, 'function');
  const cjs = createRequire(import.meta.url)('lambda-graceful-shutdown');
  assert.equal(typeof cjs.handoff, 'function');
  assert.equal(typeof cjs.awsJsonRequest, 'function');
  const dts = (name) => readFileSync(new URL(`../../dist/types/${name}.d.ts`, import.meta.url), 'utf8');
  assert.match(dts('handoff-load'), /export declare function handoff\(\.\.\.requests: HandoffRequest\[\]\): Promise<HandoffResult>;/);
  assert.match(dts('aws-json'), /export declare function awsJsonRequest\(options: AwsJsonRequestOptions\): HandoffRequest;/);
  assert.match(dts('handoff'), /export interface HandoffResult \{/);
  assert.match(dts('index'), /export type \{[^}]*\bHandoffResult\b[^}]*\} from '\.\/handoff\.js'/);
});

test('lambda-graceful-shutdown/handoff loads the handoff at once, ESM and CommonJS: the same functions', async () => {
  const esm = await import('lambda-graceful-shutdown/handoff');
  const cjs = createRequire(import.meta.url)('lambda-graceful-shutdown/handoff');
  for (const m of [esm, cjs]) {
    assert.equal(typeof m.handoff, 'function');
    assert.equal(typeof m.awsJsonRequest, 'function');
  }
  // The package's handoff() loads this very file: ESM from beside index.js.
  assert.equal(import.meta.resolve('lambda-graceful-shutdown/handoff'), new URL('../../dist/esm/handoff.js', import.meta.url).href);
  const r = esm.awsJsonRequest({ service: 'sqs', target: 'AmazonSQS.SendMessage', body: '{}', region: 'eu-west-1' });
  assert.equal(r.url, 'https://sqs.eu-west-1.amazonaws.com/');
});

test("the package's main files hold no handoff code: it is loaded on the first handoff()", () => {
  for (const dir of ['esm', 'cjs']) {
    const main = readFileSync(new URL(`../../dist/${dir}/index.js`, import.meta.url), 'utf8');
    const own = readFileSync(new URL(`../../dist/${dir}/handoff.js`, import.meta.url), 'utf8');
    for (const text of ['did not take the handoff', 'handoff.maxBodyBytes is', 'bodyBase64']) {
      assert.ok(!main.includes(text), `dist/${dir}/index.js holds ${text}`);
      assert.ok(own.includes(text), `dist/${dir}/handoff.js lacks ${text}`);
    }
    assert.match(main, dir === 'esm' ? /import\("\.\/handoff\.js"\)/ : /require\("\.\/handoff\.js"\)/);
  }
});

test('a TypeScript function type-checks against the exported types', () => {
  const work = mkdtempSync(join(dir, 'ts-'));
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(fileURLToPath(new URL('../..', import.meta.url)), join(work, 'node_modules', 'lambda-graceful-shutdown'));
  writeFileSync(
    join(work, 'index.ts'),
    `import { awsJsonRequest, handoff, type HandoffRequest, type HandoffResult } from 'lambda-graceful-shutdown';
     const put: HandoffRequest = awsJsonRequest({ service: 'dynamodb', target: 'DynamoDB_20120810.BatchWriteItem', body: '{}' });
     const raw: HandoffRequest = { id: 'a', method: 'PUT', url: 'http://a/', headers: new Map([['x', 'y']]), body: Buffer.from('x'), sign: { service: 's3', region: 'us-east-1' } };
     export async function flush(): Promise<number | null> {
       const r: HandoffResult = await handoff(put, raw);
       const ok: boolean = r.ok;
       const counts: number = r.accepted + r.held;
       return ok ? counts : r.status;
     }
     // @ts-expect-error: a request needs a url
     void handoff({ method: 'POST' });
     // @ts-expect-error: the status is read-only
     export const x = (r: HandoffResult) => { r.status = 1; };
    `,
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const out = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node',
      '--typeRoots', fileURLToPath(new URL('../../node_modules/@types', import.meta.url)), join(work, 'index.ts')],
    { cwd: work, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(out.status, 0, `${out.stdout}${out.stderr}`);
});

// -- refused before sending

/** A loopback listener that counts connections and answers each request with `answer` (none if null). */
async function listener(answer) {
  const requests = [];
  let connections = 0;
  const waiters = [];
  const server = net.createServer((socket) => {
    connections += 1;
    let buf = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      requests.push(buf.toString('utf8'));
      for (const w of waiters.splice(0)) w();
      if (answer !== null) socket.end(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    requests,
    get connections() {
      return connections;
    },
    /** Resolves once a request has arrived whole. */
    received: () => (requests.length > 0 ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    close: () => new Promise((r) => server.close(r)),
  };
}

const answer = (status, reason, body) =>
  `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
const request = { id: 'flush-1', method: 'POST', url: 'http://127.0.0.1:9/flush', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };
/** Long enough for a loaded machine: the wait itself is tested on its own below. */
const ROOMY = { timeoutMs: 10_000 };

test('without the layer (no secret file): refused by name, logged once, nothing sent', async () => {
  const server = await listener(answer(202, 'Accepted', '{"accepted":1,"held":1}'));
  try {
    const logger = recordingLogger();
    const missing = join(dir, 'absent');
    const got = await handoffWith({ port: server.port, secretFile: missing }, [request], { logger });
    assert.deepEqual(got, {
      ok: false,
      status: null,
      message: `the graceful-shutdown extension is not attached (GRACEFUL_SHUTDOWN_SECRET_FILE: ${missing} does not exist); nothing was handed off`,
      accepted: 0,
      held: 0,
    });
    assert.ok(Object.isFrozen(got));
    assert.deepEqual(logger.lines, [['warn', `graceful-shutdown: handoff refused (not sent): ${got.message}`]]);
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

test('the public handoff reads the settings from the environment: not attached, refused', async () => {
  const saved = { ...process.env };
  const warn = console.warn;
  const lines = [];
  console.warn = (m) => lines.push(m);
  try {
    process.env.GRACEFUL_SHUTDOWN_SECRET_FILE = join(dir, 'nowhere');
    const got = await handoff(request);
    assert.equal(got.ok, false);
    assert.equal(got.status, null);
    assert.match(got.message, /extension is not attached .*nowhere does not exist/);
    assert.deepEqual(lines, [`graceful-shutdown: handoff refused (not sent): ${got.message}`]);
    // No requests: nothing to do, nothing sent, nothing logged.
    assert.deepEqual(await handoff(), { ok: true, status: null, message: '', accepted: 0, held: 0 });
    assert.equal(lines.length, 1);
  } finally {
    console.warn = warn;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('over handoff.maxBodyBytes: refused by name before sending; exactly at it, sent', async () => {
  const server = await listener(answer(202, 'Accepted', '{"accepted":1,"held":1}'));
  try {
    const logger = recordingLogger();
    const config = { port: server.port, secretFile };
    const bare = handoffJson([{ method: 'PUT', url: 'http://a/', body: 'x' }]);
    const fill = HANDOFF_MAX_BODY_BYTES - Buffer.byteLength(bare) + 1;
    const exact = { method: 'PUT', url: 'http://a/', body: 'x'.repeat(fill) };
    const over = { ...exact, body: `${exact.body}y` };
    assert.equal(Buffer.byteLength(handoffJson([exact])), HANDOFF_MAX_BODY_BYTES);
    const refused = await handoffWith(config, [over], { logger });
    assert.equal(refused.ok, false);
    assert.equal(refused.status, null);
    assert.equal(
      refused.message,
      `handoff: body of ${HANDOFF_MAX_BODY_BYTES + 1} bytes; handoff.maxBodyBytes is ${HANDOFF_MAX_BODY_BYTES}; ` +
        'nothing was handed off (hand off fewer or smaller requests)',
    );
    assert.deepEqual(logger.lines, [['warn', `graceful-shutdown: handoff refused (not sent): ${refused.message}`]]);
    assert.equal(server.connections, 0);
    const sent = await handoffWith(config, [exact], { ...ROOMY, logger });
    assert.equal(sent.ok, true, sent.message);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

// -- the extension's answers

test('202: taken, with the counts; the listener got exactly the encoded request', async () => {
  const server = await listener(answer(202, 'Accepted', '{"accepted":1,"held":3}\n'));
  try {
    const logger = recordingLogger();
    const got = await handoffWith({ port: server.port, secretFile }, [request], { ...ROOMY, logger });
    assert.deepEqual(got, { ok: true, status: 202, message: '', accepted: 1, held: 3 });
    assert.deepEqual(server.requests, [encodeHandoff(server.port, SECRET, [request])]);
    assert.deepEqual(logger.lines, []);
  } finally {
    await server.close();
  }
});

for (const [status, reason, body] of [
  [400, 'Bad Request', 'requests[0].url: expected an http:// or https:// URL, got "file:///etc/passwd"'],
  [413, 'Payload Too Large', 'handoff: 65 requests; handoff.maxRequests is 64'],
  [501, 'Not Implemented', 'handoff: this layer is the default flavour; attach the handoff flavour'],
]) {
  test(`${status}: refused, with the extension's message, logged once`, async () => {
    const server = await listener(answer(status, reason, `${body}\n`));
    try {
      const logger = recordingLogger();
      const got = await handoffWith({ port: server.port, secretFile }, [request], { ...ROOMY, logger });
      assert.deepEqual(got, { ok: false, status, message: body, accepted: 0, held: 0 });
      assert.deepEqual(logger.lines, [['warn', `graceful-shutdown: handoff refused (${status} ${reason}): ${body}`]]);
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });
}

test('an answer without a body is named by its reason phrase', async () => {
  const server = await listener('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  try {
    const logger = recordingLogger();
    const got = await handoffWith({ port: server.port, secretFile }, [request], { ...ROOMY, logger });
    assert.deepEqual(got, { ok: false, status: 401, message: 'Unauthorized', accepted: 0, held: 0 });
    assert.deepEqual(logger.lines, [['warn', 'graceful-shutdown: handoff refused (401 Unauthorized): Unauthorized']]);
  } finally {
    await server.close();
  }
});

test(`no answer within library.handoffTimeoutMs (${LIMITS.library.handoffTimeoutMs} ms): refused, saying it may have been taken`, async () => {
  assert.equal(HANDOFF_TIMEOUT_MS, LIMITS.library.handoffTimeoutMs);
  const server = await listener(null);
  try {
    const logger = recordingLogger();
    const started = performance.now();
    const got = await handoffWith({ port: server.port, secretFile }, [request], { logger });
    const waited = performance.now() - started;
    await server.received();
    assert.equal(got.ok, false);
    assert.equal(got.status, null);
    assert.match(got.message, new RegExp(`^(no answer from the extension on 127\\.0\\.0\\.1:${server.port} within ${HANDOFF_TIMEOUT_MS} ms \\(it may have taken the handoff\\)|the extension on 127\\.0\\.0\\.1:${server.port} did not take the handoff within ${HANDOFF_TIMEOUT_MS} ms)$`));
    assert.deepEqual(logger.lines, [['warn', `graceful-shutdown: handoff refused (no answer): ${got.message}`]]);
    assert.ok(waited >= HANDOFF_TIMEOUT_MS - 1, `${waited} ms`);
    assert.ok(waited < 5_000, `${waited} ms`);
  } finally {
    await server.close();
  }
});

test('nothing listening: refused at once, naming the connection error', async () => {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const logger = recordingLogger();
  const got = await handoffWith({ port, secretFile }, [request], { ...ROOMY, logger });
  assert.equal(got.ok, false);
  assert.equal(got.status, null);
  assert.match(got.message, new RegExp(`^cannot hand off to the extension on 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  assert.equal(logger.lines.length, 1);
});

test('not HTTP: refused, quoting what came', async () => {
  const server = await listener('SSH-2.0-OpenSSH\r\n\r\n');
  try {
    const logger = recordingLogger();
    const got = await handoffWith({ port: server.port, secretFile }, [request], { ...ROOMY, logger });
    assert.equal(got.status, null);
    assert.match(got.message, /answered the handoff with something not HTTP: "SSH-2\.0-OpenSSH"$/);
  } finally {
    await server.close();
  }
});

test('in a worker thread the handoff carries `worker` last, <pid>/<threadId>; on the main thread none', async () => {
  const server = await listener(answer(202, 'Accepted', '{"accepted":1,"held":1}'));
  try {
    const config = { port: server.port, secretFile };
    const mod = new URL('../../dist/esm/handoff.js', import.meta.url).href;
    const worker = new Worker(
      `import { workerData, parentPort, threadId } from 'node:worker_threads';
       const { handoffWith } = await import(${JSON.stringify(mod)});
       const got = await handoffWith(workerData.config, [workerData.request], { timeoutMs: 10000 });
       parentPort.postMessage({ got, threadId });`,
      { eval: true, workerData: { config, request }, type: 'module' },
    );
    const [{ got, threadId }] = await once(worker, 'message');
    assert.equal(got.ok, true, got.message);
    assert.deepEqual(server.requests, [encodeHandoff(server.port, SECRET, [request], `${process.pid}/${threadId}`)]);
    assert.ok(server.requests[0].endsWith(`,"worker":"${process.pid}/${threadId}"}`));
    await handoffWith(config, [request], ROOMY);
    assert.equal(server.requests[1], encodeHandoff(server.port, SECRET, [request]));
  } finally {
    await server.close();
  }
});
