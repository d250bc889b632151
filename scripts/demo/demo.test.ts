// The offline deploy round trip against moto, end to end: run with
// `node --import tsx --test scripts/demo/demo.test.ts` (suite 50-demo).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DemoResult, EXTENSION_FILE, localContextArgs, runDemo, STACK_NAME } from '../demo-run';
import { ACCOUNT, clientConfig, motoEnv, REGION, startMoto, stopAllMotoSync } from './moto';
import { killAllSync, REPO_ROOT, run } from './run';

const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'graceful-shutdown-demo-'));
process.on('exit', () => { killAllSync(); stopAllMotoSync(); });
after(() => fs.rmSync(workRoot, { recursive: true, force: true }));

describe('cdk-assets', () => {
  test('publishes the synthesized assets of the demo stack to moto\'s S3', async () => {
    const moto = await startMoto(path.join(workRoot, 'assets'));
    try {
      const env = motoEnv(moto.endpoint);
      const outDir = path.join(workRoot, 'assets', 'cdk.out');
      await run('cdk', ['bootstrap', `aws://${ACCOUNT}/${REGION}`], { env, cwd: path.join(workRoot, 'assets') });
      // cargo-lambda's progress stays visible: a cold build takes minutes.
      await run('cdk', ['synth', STACK_NAME, '--quiet', '--output', outDir, ...localContextArgs()], { env, echo: '    [synth] ' });
      const manifestPath = path.join(outDir, `${STACK_NAME}.assets.json`);
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      const files = Object.values<any>(manifest.files);
      // The template, the function's zip and the layer's zip.
      assert.equal(files.length, 3, `expected 3 file assets in ${manifestPath}`);

      const s3 = new S3Client(clientConfig(moto.endpoint));
      const bucket = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
      const before = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.equal(before.KeyCount ?? 0, 0, 'the staging bucket starts empty');

      const published = await run('cdk-assets', ['--path', manifestPath, '--verbose', 'publish'], { env });
      assert.match(published.stderr + published.stdout, /success: Published/);

      for (const asset of files) {
        for (const destination of Object.values<any>(asset.destinations)) {
          const Bucket = destination.bucketName.replace('${AWS::AccountId}', ACCOUNT).replace('${AWS::Region}', REGION);
          const head = await s3.send(new HeadObjectCommand({ Bucket, Key: destination.objectKey }));
          assert.ok((head.ContentLength ?? 0) > 0, `s3://${Bucket}/${destination.objectKey} is empty`);
          if (asset.source.packaging === 'file') {
            const local = fs.readFileSync(path.join(outDir, asset.source.path));
            const object = await s3.send(new GetObjectCommand({ Bucket, Key: destination.objectKey }));
            const remote = Buffer.from(await object.Body!.transformToByteArray());
            assert.ok(remote.equals(local), `${destination.objectKey} differs from ${asset.source.path}`);
          }
        }
      }
    } finally {
      await moto.stop();
    }
  });
});

describe('the demo round trip (pnpm run demo)', () => {
  let result: DemoResult;
  before(async () => {
    result = await runDemo({ workDir: path.join(workRoot, 'demo'), verbose: true });
  });

  test('the stack is created in moto', () => {
    assert.equal(result.deployment.stackStatus, 'CREATE_COMPLETE');
    const types = Object.values(result.deployment.template.Resources).map((r) => r.Type).sort();
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Lambda::Function', 'AWS::Lambda::LayerVersion']) {
      assert.ok(types.includes(type), `deployed template lacks ${type}: ${types.join(', ')}`);
    }
  });

  test('the function in the deployed template has the layer and both variables', () => {
    const { template, functionId, layerIds, functionEnv } = result.deployment;
    assert.equal(layerIds.length, 1);
    assert.equal(template.Resources[layerIds[0]].Type, 'AWS::Lambda::LayerVersion');
    const variables = template.Resources[functionId].Properties?.Environment?.Variables ?? {};
    assert.equal(variables.GRACEFUL_SHUTDOWN_PORT, functionEnv.GRACEFUL_SHUTDOWN_PORT);
    assert.match(functionEnv.GRACEFUL_SHUTDOWN_PORT ?? '', /^\d+$/);
    const timeoutMs = Number(functionEnv.GRACEFUL_SHUTDOWN_TIMEOUT_MS);
    assert.ok(timeoutMs > 0 && timeoutMs <= 300, `GRACEFUL_SHUTDOWN_TIMEOUT_MS=${functionEnv.GRACEFUL_SHUTDOWN_TIMEOUT_MS}`);
    assert.ok(functionEnv.TABLE_NAME, 'TABLE_NAME resolves to the deployed table');
  });

  test('the layer zip from moto\'s S3 holds an executable extension', () => {
    const extension = result.layerFiles.find((f) => f.name === EXTENSION_FILE);
    assert.ok(extension, `layer zip holds ${result.layerFiles.map((f) => f.name).join(', ')}`);
    assert.ok(extension.mode & 0o100, `extension mode is ${extension.mode.toString(8)}`);
    assert.ok(extension.size > 100_000, 'the extension is a real binary');
    const bootstrap = result.functionFiles.find((f) => f.name === 'bootstrap');
    assert.ok(bootstrap && bootstrap.mode & 0o100, 'the function zip holds an executable bootstrap');
  });

  test('with the layer, every buffered write is persisted after shutdown', () => {
    const run = result.withLayer;
    assert.equal(run.persisted.total, run.sent, run.timeline);
    assert.ok(run.persisted.byShutdown > 0, 'some writes were stored by the shutdown handler');
    assert.match(run.verdict ?? '', /outcome=completed/, run.timeline);
    assert.match(run.timeline, /SIGTERM/);
  });

  test('without the layer, the last batch is lost', () => {
    const run = result.withoutLayer;
    assert.ok(run.persisted.total < run.sent, `${run.persisted.total} of ${run.sent} persisted`);
    assert.equal(run.persisted.byShutdown, 0);
    assert.equal(run.persisted.total, result.withLayer.persisted.byBatch, 'only the full batches reached the table');
    assert.equal(run.verdict, undefined);
  });
});
