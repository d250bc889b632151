// `pnpm run demo`: the whole product, offline, in one command.
//
// 1. builds the local lifecycle emulator;
// 2. starts moto (a local AWS) on a free loopback port;
// 3. `cdk bootstrap` and `cdk deploy` the demo stack into it: cargo-lambda
//    builds the Rust function and the shutdown layer, the Node.js and Python
//    functions are packaged with this repository's libraries, and the CDK
//    publishes them to moto's S3 and creates the stack with moto's
//    CloudFormation;
// 4. reads the deployed template and the code zips back from moto;
// 5. for each language (Rust, Node.js, Python), runs the unpacked function
//    and layer in the emulator, on the function's runtime (its own bootstrap,
//    or the official runtime interface client of nodejs22.x and python3.12),
//    writing to moto's DynamoDB: a few invocations, the shutdown phase, and a
//    count of the writes that reached the table;
// 6. does the same without the layer, to show what is lost.
// Everything it starts is stopped when it ends, however it ends.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DEMO_FUNCTIONS, DemoLanguage } from './stack';
import { codeLocation, DeployedFunction, Deployment, download, functionOf, listZip, readDeployment, unzip, ZipFile } from './runner/deployed';
import { ACCOUNT, clientConfig, Moto, motoEnv, REGION, sdkEnv, startMoto, stopAllMotoSync } from './runner/moto';
import { killAllSync, REPO_ROOT, run, seconds } from './runner/run';
import { startSlowStore } from './runner/slow';
import { countPersisted, Persisted } from './runner/table';

export const STACK_NAME = 'GracefulShutdownDemo';
export const EXTENSION_FILE = 'extensions/graceful-shutdown';
const INVOCATIONS = 5;
const WRITES_PER_INVOCATION = 3;
/**
 * How long the slow store holds each request: longer than the runtime's
 * ~300 ms share of the shutdown phase, so that a shutdown handler that
 * writes the last batch itself is cut off, while the layer, which has the
 * rest of the phase, still gets it through.
 */
export const SLOW_STORE_DELAY_MS = 400;

export interface DemoOptions {
  /** Where the demo keeps its files (cdk.out, zips, unpacked code, logs). */
  readonly workDir: string;
  /** Print progress and results. */
  readonly verbose: boolean;
}

/** The languages of the demo, in the order they run, with the names shown. */
export const LANGUAGES: ReadonlyArray<{ readonly language: DemoLanguage; readonly title: string }> = [
  { language: 'rust', title: 'Rust' },
  { language: 'nodejs', title: 'Node.js' },
  { language: 'python', title: 'Python' },
];

/**
 * The AWS SDKs that Lambda's nodejs22.x and python3.12 runtimes provide on
 * their module paths (`@aws-sdk/*`, boto3), installed by setup
 * (scripts/setup.d/50-demo-sdks.sh) and laid out as a layer, which the
 * emulator adds to the runtime's NODE_PATH / PYTHONPATH. Not in the deployed zips.
 */
export const RUNTIME_SDK_DIR = path.join(REPO_ROOT, '.runtimes', 'sdk');

/** One emulated lifecycle of a deployed function. */
export interface EmulatedRun {
  readonly withLayer: boolean;
  /** How the shutdown handler stored the last batch (`SHUTDOWN_FLUSH`). */
  readonly flush: 'direct' | 'handoff';
  /** Whether DynamoDB was behind the slow store. */
  readonly slow: boolean;
  readonly sent: number;
  readonly persisted: Persisted;
  readonly timeline: string;
  readonly verdict?: string;
  readonly emulatorExitCode: number;
}

/** What the demo did with the function of one language. */
export interface LanguageRun {
  readonly title: string;
  readonly function: DeployedFunction;
  readonly functionFiles: ZipFile[];
  readonly withLayer: EmulatedRun;
  readonly withoutLayer: EmulatedRun;
  /** With the layer, behind the slow store, the handler writing the batch itself. */
  readonly slowDirect: EmulatedRun;
  /** With the layer, behind the slow store, the handler handing the batch off. */
  readonly slowHandoff: EmulatedRun;
}

export interface DemoResult {
  readonly deployment: Deployment;
  readonly layerFiles: ZipFile[];
  readonly languages: Record<DemoLanguage, LanguageRun>;
  readonly timings: Record<string, string>;
}

/** The Lambda architecture of this machine: the demo runs the built binaries here. */
export function hostArchitecture(): 'x86_64' | 'arm64' {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'arm64';
  throw new Error(`this machine is ${process.arch}; the local demo runs Lambda binaries and needs x86_64 or arm64`);
}

/** The `cdk` arguments that select the demo stack for local runs. */
export function localContextArgs(): string[] {
  return ['-c', `architecture=${hostArchitecture()}`, '-c', 'quickBuild=true'];
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const say = (text: string) => { if (options.verbose) process.stdout.write(`${text}\n`); };
  const echo = options.verbose ? '    ' : undefined;
  const started = Date.now();
  const timings: Record<string, string> = {};
  const step = async <T>(name: string, title: string, body: () => Promise<T>): Promise<T> => {
    say(`\n==> ${title}`);
    const t = Date.now();
    const value = await body();
    timings[name] = seconds(t);
    say(`    (${timings[name]})`);
    return value;
  };
  fs.mkdirSync(options.workDir, { recursive: true });

  const emulator = await step('emulator', 'Building the local lifecycle emulator (cargo build -p gracefulctl --bin lambda-emulator)', async () => {
    await run('cargo', ['build', '-p', 'gracefulctl', '--bin', 'lambda-emulator'], { echo });
    return path.join(REPO_ROOT, 'target', 'debug', 'lambda-emulator');
  });

  const moto = await step('moto', 'Starting moto (a local AWS) on a free loopback port', async () => {
    const m = await startMoto(options.workDir);
    say(`    moto listening on ${m.endpoint} (log: ${path.relative(REPO_ROOT, m.logFile)})`);
    return m;
  });
  let stopSlowStore: (() => Promise<void>) | undefined;
  try {
    const env = motoEnv(moto.endpoint);
    const outDir = path.join(options.workDir, 'cdk.out');
    await step('bootstrap', `cdk bootstrap aws://${ACCOUNT}/${REGION} (into moto)`, () =>
      // Run outside the app's directory: bootstrapping an explicit environment needs no synth.
      run(path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk'), ['bootstrap', `aws://${ACCOUNT}/${REGION}`], { env, echo, cwd: options.workDir }));
    await step('deploy', 'cdk deploy (cargo-lambda builds the Rust function and the layer, the Node.js and Python functions are packaged with their libraries; assets go to moto\'s S3)', () =>
      run('cdk', ['deploy', STACK_NAME, '--require-approval', 'never', '--output', outDir, ...localContextArgs()], { env, echo }));

    const s3 = new S3Client(clientConfig(moto.endpoint));
    const cfn = new CloudFormationClient(clientConfig(moto.endpoint));
    const ddb = new DynamoDBClient(clientConfig(moto.endpoint));
    type Unpacked = { fn: DeployedFunction; files: ZipFile[]; dir: string };
    const { deployment, layerFiles, layerDir, unpacked } = await step('readback',
      'Reading the deployed template and the code zips back from moto', async () => {
        const d = await readDeployment(cfn, STACK_NAME);
        say(`    stack ${STACK_NAME}: ${d.stackStatus}`);
        const layerIds = [...new Set(d.functions.flatMap((f) => f.layerIds))];
        if (layerIds.length !== 1) throw new Error(`the functions have ${layerIds.length} layers in the deployed template; expected one shared shutdown layer`);
        const layerLocation = codeLocation(d.template.Resources[layerIds[0]]);
        const layerZip = await download(s3, layerLocation);
        const lDir = path.join(options.workDir, 'layer');
        unzip(layerZip, lDir);
        const lf = listZip(layerZip);
        say(`    layer    s3://${layerLocation.bucket}/${layerLocation.key}: ${describeZip(lf)}`);
        const byLanguage = {} as Record<DemoLanguage, Unpacked>;
        for (const { language } of LANGUAGES) {
          const fn = functionOf(d, DEMO_FUNCTIONS[language]);
          if (fn.layerIds.length !== 1) throw new Error(`${fn.logicalId} has ${fn.layerIds.length} layers in the deployed template; expected the shutdown layer`);
          const location = codeLocation(d.template.Resources[fn.logicalId]);
          const zip = await download(s3, location);
          const dir = path.join(options.workDir, 'function', language);
          unzip(zip, dir);
          const files = listZip(zip);
          say(`    ${fn.runtime.padEnd(15)} s3://${location.bucket}/${location.key}: ${describeZip(files, 4)}`);
          say(`    ${' '.repeat(15)} environment: ${Object.entries(fn.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
          byLanguage[language] = { fn, files, dir };
        }
        return { deployment: d, layerFiles: lf, layerDir: lDir, unpacked: byLanguage };
      });

    const slowStore = await startSlowStore(moto.endpoint, SLOW_STORE_DELAY_MS);
    stopSlowStore = slowStore.stop;
    const emulate = async (language: DemoLanguage, withLayer: boolean, slow = false, flush: 'direct' | 'handoff' = 'direct'): Promise<EmulatedRun> => {
      const { fn, dir } = unpacked[language];
      const table = fn.env.TABLE_NAME;
      if (!table) throw new Error(`the deployed function ${fn.logicalId} has no TABLE_NAME variable`);
      const label = `${language}/${withLayer ? 'with-layer' : 'without-layer'}${slow ? `/slow-${flush}` : ''}`;
      const events = writeEvents(path.join(options.workDir, 'events', label), label);
      const envArgs = Object.entries({
        ...fn.env,
        ...sdkEnv(slow ? slowStore.endpoint : moto.endpoint),
        AWS_EC2_METADATA_DISABLED: 'true',
        SHUTDOWN_FLUSH: flush,
      }).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
      const args = [
        '--function-dir', dir,
        ...runtimeArgs(fn),
        ...(withLayer ? ['--layer-dir', layerDir] : []),
        ...events.files.flatMap((f) => ['--event', f]),
        ...envArgs,
        '--function-name', fn.physicalId,
        '--timeout-ms', String(fn.timeoutSeconds * 1000),
        '--memory-mb', String(fn.memoryMb),
      ];
      const ran = await run(emulator, args, { check: false, timeoutMs: 120_000 });
      if (ran.code !== 0) throw new Error(`lambda-emulator (${language}) exited with code ${ran.code}:\n${ran.stderr}\n${ran.stdout}`);
      const persisted = await countPersisted(ddb, table, `${label}/`);
      const verdict = ran.stdout.split('\n').find((l) => l.includes('graceful-shutdown verdict'));
      return { withLayer, flush, slow, sent: events.writes, persisted, timeline: ran.stdout, verdict, emulatorExitCode: ran.code };
    };

    const languages = {} as Record<DemoLanguage, LanguageRun>;
    for (const { language, title } of LANGUAGES) {
      const { fn, files } = unpacked[language];
      const withLayer = await step(`${language} with-layer`,
        `${title} (${fn.runtime}): emulating the function WITH the shutdown layer: ${INVOCATIONS} invocations, then the shutdown phase`, async () => {
          const r = await emulate(language, true);
          say(indent(r.timeline));
          say(`    extension's verdict: ${r.verdict ? r.verdict.replace(/^.*?(graceful-shutdown verdict)/, '$1') : '(none logged)'}`);
          say(`    ${persistedLine(r)}`);
          return r;
        });
      const withoutLayer = await step(`${language} without-layer`, `${title} (${fn.runtime}): emulating the same function WITHOUT the layer`, async () => {
        const r = await emulate(language, false);
        say(indent(r.timeline));
        say(`    ${persistedLine(r)}`);
        return r;
      });
      const slowRun = (flush: 'direct' | 'handoff', what: string) => step(`${language} slow-${flush}`,
        `${title} (${fn.runtime}): WITH the layer, DynamoDB ${SLOW_STORE_DELAY_MS} ms a request (a slow store): ${what}`, async () => {
          const r = await emulate(language, true, true, flush);
          say(indent(r.timeline));
          say(`    extension's verdict: ${r.verdict ? r.verdict.replace(/^.*?(graceful-shutdown verdict)/, '$1') : '(none logged)'}`);
          say(`    ${persistedLine(r)}`);
          return r;
        });
      const slowDirect = await slowRun('direct', 'the shutdown handler writes the last batch itself');
      const slowHandoff = await slowRun('handoff', 'the shutdown handler hands the last batch to the layer (SHUTDOWN_FLUSH=handoff)');
      languages[language] = { title, function: fn, functionFiles: files, withLayer, withoutLayer, slowDirect, slowHandoff };
    }

    timings.total = seconds(started);
    say('\n==> Result');
    for (const { language } of LANGUAGES) {
      const r = languages[language];
      say(`    ${`${r.title}:`.padEnd(9)} with the layer:    ${persistedLine(r.withLayer)}`);
      say(`    ${' '.repeat(9)} without the layer: ${persistedLine(r.withoutLayer)}`);
      say(`    ${' '.repeat(9)} slow store, written by the handler:  ${persistedLine(r.slowDirect)}`);
      say(`    ${' '.repeat(9)} slow store, handed off to the layer: ${persistedLine(r.slowHandoff)}`);
    }
    say(`    total time: ${timings.total} (${Object.entries(timings).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v}`).join(', ')})`);
    return { deployment, layerFiles, languages, timings };
  } finally {
    await stopSlowStore?.();
    await moto.stop();
  }
}

/** The headline of a run: how many of the writes reached the table. */
export function persistedLine(r: EmulatedRun): string {
  const { total, byBatch, byShutdown, byHandoff } = r.persisted;
  const handedOff = r.flush === 'handoff' || byHandoff > 0 ? `, ${byHandoff} handed off to the layer, which stored them` : '';
  const how = `${byBatch} in full batches during invocations, ${byShutdown} by the shutdown handler${handedOff}`;
  return total === r.sent
    ? `${total} of ${r.sent} buffered writes persisted (${how})`
    : `${total} of ${r.sent} buffered writes persisted (${how}): ${r.sent - total} LOST`;
}

function writeEvents(dir: string, label: string): { files: string[]; writes: number } {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  let n = 0;
  for (let i = 1; i <= INVOCATIONS; i++) {
    const writes = Array.from({ length: WRITES_PER_INVOCATION }, () => `${label}/write-${String(++n).padStart(3, '0')}`);
    const file = path.join(dir, `invoke-${i}.json`);
    fs.writeFileSync(file, JSON.stringify({ writes }));
    files.push(file);
  }
  return { files, writes: n };
}

/**
 * The emulator's runtime arguments for `fn`: none for an OS-only runtime
 * (`provided.*`, the zip's `bootstrap` is the runtime); for a managed runtime
 * its name and handler, and the SDK that runtime provides.
 */
export function runtimeArgs(fn: DeployedFunction): string[] {
  if (fn.runtime.startsWith('provided')) return [];
  if (!/^(nodejs|python)/.test(fn.runtime)) throw new Error(`${fn.logicalId}: runtime ${fn.runtime} is not one the demo runs (provided.*, nodejs*, python*)`);
  if (!fs.existsSync(RUNTIME_SDK_DIR)) {
    throw new Error(`${RUNTIME_SDK_DIR} is missing: the AWS SDKs that the ${fn.runtime} runtime provides are installed by \`bash scripts/setup.sh\` (scripts/setup.d/50-demo-sdks.sh)`);
  }
  return ['--runtime', fn.runtime, '--handler', fn.handler, '--layer-dir', RUNTIME_SDK_DIR];
}

/** The files of a zip, the first `max` in the zip's order when there are more. */
function describeZip(files: ZipFile[], max = files.length): string {
  const shown = files.slice(0, max);
  const rest = files.length - shown.length;
  return shown.map((f) => `${f.name} (${(f.size / 1024).toFixed(0)} KiB, mode ${f.mode.toString(8)})`).join(', ')
    + (rest > 0 ? ` and ${rest} more` : '');
}

/** The timeline as shown: indented, and without the runtime crate's per-invoke span prefix. */
function indent(text: string): string {
  return text.trimEnd().split('\n')
    .map((l) => `    ${l.replace(/ Lambda runtime invoke\{requestId="[^"]*"(?: xrayTraceId="[^"]*")?\}:/, '')}`)
    .join('\n');
}

/** Stops what the demo started, whichever way the process ends. */
export function installCleanup(): void {
  process.on('exit', () => { killAllSync(); stopAllMotoSync(); });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stdout.write(`\n${signal}: stopping what the demo started\n`);
      process.exit(130);
    });
  }
}

if (require.main === module) {
  installCleanup();
  const workDir = path.join(REPO_ROOT, '.cache', 'demo');
  runDemo({ workDir, verbose: true }).then(
    (r) => {
      const ok = LANGUAGES.every(({ language }) => r.languages[language].withLayer.persisted.total === r.languages[language].withLayer.sent);
      process.exitCode = ok ? 0 : 1;
    },
    (e: Error) => {
      process.stderr.write(`\ndemo failed: ${e.message}\n`);
      process.exitCode = 1;
    },
  );
}
