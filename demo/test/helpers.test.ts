// Fast checks of the demo runner's pure parts (no moto, no build).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import AdmZip from 'adm-zip';
import { inputsHash } from '../function-code';
import { codeLocation, DeployedFunction, Deployment, functionOf, listZip, unzip } from '../runner/deployed';
import { motoEnv, startMoto } from '../runner/moto';
import { EmulatedRun, persistedLine, RUNTIME_SDK_DIR, runtimeArgs } from '../run';

test('motoEnv drops every inherited AWS_ and CDK_ variable, so a real account is never reached', () => {
  const env = motoEnv('http://127.0.0.1:5000', {
    PATH: '/bin',
    AWS_PROFILE: 'production',
    AWS_ACCESS_KEY_ID: 'AKIAREAL',
    AWS_ENDPOINT_URL_DYNAMODB: 'https://dynamodb.example',
    CDK_DEFAULT_ACCOUNT: '999999999999',
  });
  assert.equal(env.PATH, '/bin');
  assert.equal(env.AWS_PROFILE, undefined);
  assert.equal(env.AWS_ENDPOINT_URL_DYNAMODB, undefined);
  assert.equal(env.CDK_DEFAULT_ACCOUNT, undefined);
  assert.equal(env.AWS_ACCESS_KEY_ID, 'testing');
  assert.equal(env.AWS_ENDPOINT_URL, 'http://127.0.0.1:5000');
  assert.equal(env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION, 'http://localhost:5000');
  assert.equal(env.AWS_REGION, 'us-east-1');
});

test('startMoto runs moto on the loopback port it bound itself, and stop ends it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moto-'));
  try {
    const moto = await startMoto(dir);
    assert.equal(moto.endpoint, `http://127.0.0.1:${moto.port}`);
    assert.ok((await fetch(`${moto.endpoint}/moto-api/`)).ok);
    await moto.stop();
    await assert.rejects(fetch(`${moto.endpoint}/moto-api/`, { signal: AbortSignal.timeout(5000) }));
    assert.match(fs.readFileSync(moto.logFile, 'utf8'), new RegExp(`Running on http://127\\.0\\.0\\.1:${moto.port}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('codeLocation resolves the CDK staging bucket of a function and of a layer', () => {
  const bucket = { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' };
  assert.deepEqual(
    codeLocation({ Type: 'AWS::Lambda::Function', Properties: { Code: { S3Bucket: bucket, S3Key: 'abc.zip' } } }),
    { bucket: 'cdk-hnb659fds-assets-123456789012-us-east-1', key: 'abc.zip' },
  );
  assert.equal(codeLocation({ Type: 'AWS::Lambda::LayerVersion', Properties: { Content: { S3Bucket: 'b', S3Key: 'k.zip' } } }).key, 'k.zip');
  assert.throws(() => codeLocation({ Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: 'x' } } }), /no S3 code location/);
});

test('unzip keeps the executable bit, as Lambda does, and refuses entries outside the directory', () => {
  const zip = new AdmZip();
  zip.addFile('extensions/graceful-shutdown', Buffer.from('#!/bin/sh\n'), '', 0o755);
  zip.addFile('README', Buffer.from('text'), '', 0o644);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unzip-'));
  try {
    unzip(zip.toBuffer(), dir);
    assert.equal(fs.statSync(path.join(dir, 'extensions/graceful-shutdown')).mode & 0o777, 0o755);
    assert.equal(fs.statSync(path.join(dir, 'README')).mode & 0o777, 0o644);
    assert.deepEqual(listZip(zip.toBuffer()).map((f) => [f.name, f.mode]), [['extensions/graceful-shutdown', 0o755], ['README', 0o644]]);

    const evil = new AdmZip();
    evil.addFile('a', Buffer.from('x'));
    evil.getEntries()[0].entryName = '../escaped';
    assert.throws(() => unzip(evil.toBuffer(), path.join(dir, 'evil')), /outside/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('persistedLine says how many writes were lost', () => {
  const run = (total: number, byShutdown: number, byHandoff = 0, flush: 'direct' | 'handoff' = 'direct'): EmulatedRun => ({
    withLayer: true, flush, slow: flush === 'handoff', sent: 15, timeline: '', emulatorExitCode: 0,
    persisted: { total, byBatch: total - byShutdown - byHandoff, byShutdown, byHandoff },
  });
  assert.equal(persistedLine(run(15, 5)), '15 of 15 buffered writes persisted (10 in full batches during invocations, 5 by the shutdown handler)');
  assert.match(persistedLine(run(10, 0)), /^10 of 15 buffered writes persisted .*: 5 LOST$/);
  assert.equal(persistedLine(run(15, 0, 5, 'handoff')), '15 of 15 buffered writes persisted (10 in full batches during invocations, 0 by the shutdown handler, 5 handed off to the layer, which stored them)');
  assert.equal(persistedLine(run(10, 0, 0, 'handoff')), '10 of 15 buffered writes persisted (10 in full batches during invocations, 0 by the shutdown handler, 0 handed off to the layer, which stored them): 5 LOST');
});

const fn = (logicalId: string, runtime: string, handler: string): DeployedFunction => ({
  logicalId, physicalId: `${logicalId}-X`, runtime, handler, layerIds: [], env: {}, timeoutSeconds: 10, memoryMb: 128,
});

test('functionOf finds a construct\'s function by the CDK\'s logical id (the id and an 8-character hash)', () => {
  const deployment = { functions: [fn('BufferedWriterED8A3637', 'provided.al2023', 'bootstrap'), fn('NodeBufferedWriter1B838CAB', 'nodejs22.x', 'index.handler')] } as unknown as Deployment;
  assert.equal(functionOf(deployment, 'BufferedWriter').logicalId, 'BufferedWriterED8A3637');
  assert.equal(functionOf(deployment, 'NodeBufferedWriter').logicalId, 'NodeBufferedWriter1B838CAB');
  assert.throws(() => functionOf(deployment, 'PythonBufferedWriter'), /expected one function of construct PythonBufferedWriter .*found 0/);
});

test('runtimeArgs: a bootstrap runs as it is; a managed runtime on its client, with the SDK that runtime provides', () => {
  assert.deepEqual(runtimeArgs(fn('R', 'provided.al2023', 'bootstrap')), []);
  assert.throws(() => runtimeArgs(fn('J', 'java21', 'x')), /J: runtime java21 is not one the demo runs/);
  if (fs.existsSync(RUNTIME_SDK_DIR)) {
    assert.deepEqual(runtimeArgs(fn('N', 'nodejs22.x', 'index.handler')), ['--runtime', 'nodejs22.x', '--handler', 'index.handler', '--layer-dir', RUNTIME_SDK_DIR]);
    assert.deepEqual(runtimeArgs(fn('P', 'python3.12', 'app.handler')), ['--runtime', 'python3.12', '--handler', 'app.handler', '--layer-dir', RUNTIME_SDK_DIR]);
  }
});

test('inputsHash changes with a file\'s content and name, and ignores caches and build outputs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inputs-'));
  try {
    fs.writeFileSync(path.join(dir, 'app.py'), 'a = 1\n');
    const first = inputsHash([dir]);
    fs.mkdirSync(path.join(dir, '__pycache__'));
    fs.writeFileSync(path.join(dir, '__pycache__', 'app.cpython-312.pyc'), 'x');
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'index.js'), 'x');
    assert.equal(inputsHash([dir]), first);
    fs.writeFileSync(path.join(dir, 'app.py'), 'a = 2\n');
    const second = inputsHash([dir]);
    assert.notEqual(second, first);
    fs.renameSync(path.join(dir, 'app.py'), path.join(dir, 'main.py'));
    assert.notEqual(inputsHash([dir]), second);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
