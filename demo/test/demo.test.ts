// The offline deploy round trip against moto, end to end: run with
// `node --import tsx --test demo/test/demo.test.ts` (suite 50-demo).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DEMO_BATCH_SIZE, DEMO_FUNCTIONS, DEMO_SHUTDOWN_TIMEOUT_MS } from '../stack';
import { DemoResult, EXTENSION_FILE, LANGUAGES, localContextArgs, persistedLine, runDemo, STACK_NAME } from '../run';
import { ACCOUNT, clientConfig, motoEnv, REGION, startMoto, stopAllMotoSync } from '../runner/moto';
import { killAllSync, REPO_ROOT, run } from '../runner/run';

/** The names and limits both sides share (port default, timeout range). */
const LIMITS = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'spec', 'limits.json'), 'utf8'));

const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'graceful-shutdown-demo-'));
process.on('exit', () => { killAllSync(); stopAllMotoSync(); });
after(() => fs.rmSync(workRoot, { recursive: true, force: true }));

describe('the package scripts against moto: bootstrap, publish-assets (cdk-assets), deploy, destroy', () => {
  test('publish-assets puts the synthesized assets in moto\'s S3; deploy creates the stack from them; destroy removes it', async () => {
    const moto = await startMoto(path.join(workRoot, 'assets'));
    try {
      const env = motoEnv(moto.endpoint);
      const outDir = path.join(workRoot, 'assets', 'cdk.out');
      // `pnpm run <script> ARGS` runs the script of package.json with ARGS appended, as users run it.
      const script = (name: string, args: string[]) => run('pnpm', ['run', name, ...args], { env, echo: `    [${name}] ` });
      // `--output` keeps the repository's own cdk.out out of the tests.
      await script('bootstrap', [`aws://${ACCOUNT}/${REGION}`, '--output', path.join(workRoot, 'assets', 'bootstrap.out')]);

      const s3 = new S3Client(clientConfig(moto.endpoint));
      const bucket = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
      const before = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.equal(before.KeyCount ?? 0, 0, 'the staging bucket starts empty');

      // cargo-lambda's progress stays visible: a cold build takes minutes.
      const published = await script('publish-assets', ['--output', outDir, ...localContextArgs()]);
      assert.match(published.stderr + published.stdout, /success: Published/);
      const manifestPath = path.join(outDir, `${STACK_NAME}.assets.json`);
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      const files = Object.values<any>(manifest.files);
      // The template, the zips of the three functions and the layer's zip.
      assert.equal(files.length, 5, `expected 5 file assets in ${manifestPath}`);

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

      // Deploy the assembly just published (no new synth, no new build), then destroy it.
      const cfn = new CloudFormationClient(clientConfig(moto.endpoint));
      const ddb = new DynamoDBClient(clientConfig(moto.endpoint));
      await script('deploy', [STACK_NAME, '--app', outDir]);
      const created = (await cfn.send(new DescribeStacksCommand({ StackName: STACK_NAME }))).Stacks?.[0];
      assert.equal(created?.StackStatus, 'CREATE_COMPLETE');
      const demoTables = async () => ((await ddb.send(new ListTablesCommand({}))).TableNames ?? []).filter((t) => t.startsWith(`${STACK_NAME}-`));
      assert.equal((await demoTables()).length, 1, 'the deployed stack holds the table');

      const destroyed = await script('destroy', ['--output', path.join(workRoot, 'assets', 'destroy.out')]);
      assert.match(destroyed.stderr + destroyed.stdout, new RegExp(`${STACK_NAME}: destroyed`));
      await assert.rejects(cfn.send(new DescribeStacksCommand({ StackName: STACK_NAME })), /does not exist/,
        `${STACK_NAME} is still in moto's CloudFormation after pnpm run destroy`);
      assert.deepEqual(await demoTables(), [], 'the table goes with the stack (RemovalPolicy.DESTROY)');
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
    assert.equal(types.filter((t) => t === 'AWS::Lambda::Function').length, 3, 'a function per language');
    assert.equal(types.filter((t) => t === 'AWS::Lambda::LayerVersion').length, 1, 'one shutdown layer, shared');
  });

  test('each function in the deployed template has the shared layer, its runtime and the variables the demo stack sets', () => {
    const { template, physicalIds } = result.deployment;
    const tables = Object.keys(template.Resources).filter((id) => template.Resources[id].Type === 'AWS::DynamoDB::Table');
    assert.equal(tables.length, 1, `tables in the deployed template: ${tables.join(', ')}`);
    assert.ok(physicalIds[tables[0]], 'moto created the table');
    const layers = Object.keys(template.Resources).filter((id) => template.Resources[id].Type === 'AWS::Lambda::LayerVersion');
    const expected = {
      rust: { runtime: 'provided.al2023', handler: 'bootstrap' },
      nodejs: { runtime: 'nodejs22.x', handler: 'index.handler' },
      python: { runtime: 'python3.12', handler: 'app.handler' },
    };
    for (const { language } of LANGUAGES) {
      const fn = result.languages[language].function;
      assert.match(fn.logicalId, new RegExp(`^${DEMO_FUNCTIONS[language]}`));
      assert.deepEqual({ runtime: fn.runtime, handler: fn.handler }, expected[language], fn.logicalId);
      assert.deepEqual(fn.layerIds, layers, `${fn.logicalId} has the shutdown layer`);
      const variables = template.Resources[fn.logicalId].Properties?.Environment?.Variables ?? {};
      // demo/stack.ts sets the budget and the batch size, and leaves the port at the spec's default.
      assert.deepEqual(variables, {
        TABLE_NAME: { Ref: tables[0] },
        BATCH_SIZE: String(DEMO_BATCH_SIZE),
        GRACEFUL_SHUTDOWN_PORT: String(LIMITS.port.default),
        GRACEFUL_SHUTDOWN_TIMEOUT_MS: String(DEMO_SHUTDOWN_TIMEOUT_MS),
      }, fn.logicalId);
      assert.equal(fn.env.TABLE_NAME, physicalIds[tables[0]], `${fn.logicalId}: TABLE_NAME resolves to the deployed table`);
    }
    assert.ok(DEMO_SHUTDOWN_TIMEOUT_MS >= LIMITS.timeoutMs.min && DEMO_SHUTDOWN_TIMEOUT_MS <= LIMITS.timeoutMs.max,
      `the demo's budget ${DEMO_SHUTDOWN_TIMEOUT_MS} ms is outside ${LIMITS.timeoutMs.min}-${LIMITS.timeoutMs.max} ms (spec/limits.json timeoutMs)`);
  });

  test('the zips from moto\'s S3: an executable extension in the layer; each function with its library and without an AWS SDK', () => {
    const extension = result.layerFiles.find((f) => f.name === EXTENSION_FILE);
    assert.ok(extension, `layer zip holds ${result.layerFiles.map((f) => f.name).join(', ')}`);
    assert.ok(extension.mode & 0o100, `extension mode is ${extension.mode.toString(8)}`);
    assert.ok(extension.size > 100_000, 'the extension is a real binary');
    const names = (language: keyof typeof DEMO_FUNCTIONS) => result.languages[language].functionFiles.map((f) => f.name);
    const bootstrap = result.languages.rust.functionFiles.find((f) => f.name === 'bootstrap');
    assert.ok(bootstrap && bootstrap.mode & 0o100, 'the Rust function zip holds an executable bootstrap');
    // The Node.js library as npm installs it from its packed tarball: the built bundles, not its sources.
    const node = names('nodejs');
    for (const f of ['index.js', 'node_modules/lambda-graceful-shutdown/package.json', 'node_modules/lambda-graceful-shutdown/dist/cjs/index.js',
      'node_modules/lambda-graceful-shutdown/dist/esm/index.js', 'node_modules/lambda-graceful-shutdown/dist/types/index.d.ts']) {
      assert.ok(node.includes(f), `the Node.js zip lacks ${f}: ${node.join(', ')}`);
    }
    assert.ok(!node.some((f) => f.includes('/src/') || f.startsWith('node_modules/@aws-sdk/')), `the Node.js zip holds sources or the SDK: ${node.join(', ')}`);
    const python = names('python');
    for (const f of ['app.py', 'lambda_graceful_shutdown/__init__.py', 'lambda_graceful_shutdown/py.typed', 'lambda_graceful_shutdown/limits.json']) {
      assert.ok(python.includes(f), `the Python zip lacks ${f}: ${python.join(', ')}`);
    }
    assert.ok(!python.some((f) => f.startsWith('boto3/') || f.startsWith('botocore/') || f.includes('__pycache__')), `the Python zip holds the SDK or bytecode: ${python.join(', ')}`);
  });

  for (const { language, title } of LANGUAGES) {
    test(`${title}: with the layer every buffered write is persisted after shutdown, on the runtime's own client`, () => {
      const run = result.languages[language].withLayer;
      assert.equal(run.persisted.total, run.sent, run.timeline);
      assert.ok(run.persisted.byShutdown > 0, 'some writes were stored by the shutdown handler');
      assert.equal(persistedLine(run), `${run.sent} of ${run.sent} buffered writes persisted (${run.persisted.byBatch} in full batches during invocations, ${run.persisted.byShutdown} by the shutdown handler)`);
      assert.match(run.verdict ?? '', /outcome=completed .*flush-writes=ok/, run.timeline);
      assert.match(run.timeline, /runtime +<- SIGTERM/);
      assert.match(run.timeline, /flushed the buffered writes stored=\d+/);
      const runtime = { rust: /function\/rust\/bootstrap\)/, nodejs: /\.runtimes\/node\/bin\/node\)/, python: /\.runtimes\/python\/bin\/python\)/ }[language];
      assert.match(run.timeline, new RegExp(`runtime +started \\(pid \\d+, .*${runtime.source}`), 'the runtime is the function\'s bootstrap, or the official runtime client of its runtime');
    });

    test(`${title}: without the layer the last batch is lost`, () => {
      const { withLayer, withoutLayer: run } = result.languages[language];
      assert.ok(run.persisted.total < run.sent, `${run.persisted.total} of ${run.sent} persisted`);
      assert.equal(run.persisted.byShutdown, 0);
      assert.equal(run.persisted.total, withLayer.persisted.byBatch, 'only the full batches reached the table');
      assert.equal(run.verdict, undefined);
      assert.match(persistedLine(run), new RegExp(`^${run.persisted.total} of ${run.sent} buffered writes persisted .*: ${run.sent - run.persisted.total} LOST$`));
      assert.match(run.timeline, /runtime +<- SIGKILL/);
    });

    test(`${title}: behind a slow store, a shutdown handler that writes the last batch itself is cut off and it is lost`, () => {
      const { withLayer, slowDirect: run } = result.languages[language];
      assert.equal(run.flush, 'direct');
      assert.equal(run.persisted.total, withLayer.persisted.byBatch, `only the full batches reached the table:\n${run.timeline}`);
      assert.equal(run.persisted.byShutdown + run.persisted.byHandoff, 0, run.timeline);
      assert.doesNotMatch(run.verdict ?? '', /outcome=completed/, run.timeline);
      assert.match(persistedLine(run), /: \d+ LOST$/);
    });

    test(`${title}: behind the same slow store, the last batch handed off to the layer is stored after the runtime has gone`, () => {
      const { withLayer, slowHandoff: run } = result.languages[language];
      assert.equal(run.flush, 'handoff');
      assert.equal(run.persisted.total, run.sent, `every write persisted:\n${run.timeline}`);
      assert.equal(run.persisted.byHandoff, run.sent - withLayer.persisted.byBatch, run.timeline);
      assert.match(run.verdict ?? '', /outcome=completed .*handoff=1\/1 dead_lettered=0/, run.timeline);
      assert.match(persistedLine(run), /handed off to the layer, which stored them\)$/);
    });
  }
});
