// A moto server (a local AWS: CloudFormation, S3, DynamoDB, IAM, STS, SSM,
// Lambda) on a free loopback port, and the environment that points the AWS
// SDKs and the CDK CLI at it.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const HOST = '127.0.0.1';

/** A running moto server. */
export interface Moto {
  readonly endpoint: string;
  readonly port: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

// The AWS SDK for JavaScript warns on every start that its releases after
// January 2027 need Node 22; the project supports Node 20, so keep the demo's
// output to what it is about.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: any[]) => {
  const text = typeof warning === 'string' ? warning : `${warning.name} ${warning.message}`;
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'NodeVersionSupportWarning' || text.includes('NodeVersionSupportWarning')) return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

/** Stops every moto server this process started (for exit handlers). */
export function stopAllMotoSync(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  running.clear();
}

/**
 * Starts `moto_server` on 127.0.0.1 and waits (at most `readyTimeoutMs`) until it answers.
 * Its log goes to `logDir/moto.log`.
 */
export async function startMoto(logDir: string, readyTimeoutMs = 30_000): Promise<Moto> {
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'moto.log');
  const log = fs.createWriteStream(logFile);
  // Port 0: moto binds a port the kernel picks and prints it, so no other
  // process can take the port between choosing and binding it.
  const child = spawn('moto_server', ['-H', HOST, '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const stop = async () => {
    running.delete(child);
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    log.end();
  };
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start moto_server (${e.message}): run \`bash scripts/setup.sh\` to install it (PyPI moto[server])`)));
    child.once('exit', (code, signal) => reject(new Error(`moto_server exited early (code ${code}, signal ${signal}); see ${logFile}`)));
  });
  exited.catch(() => undefined);
  const bound = new Promise<number>((resolve) => {
    let seen = '';
    let found = false;
    const watch = (chunk: Buffer) => {
      log.write(chunk);
      if (found) return;
      seen += chunk.toString();
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) { found = true; resolve(Number(m[1])); }
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', watch);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`moto_server did not answer within ${readyTimeoutMs} ms; see ${logFile}`)), readyTimeoutMs);
  });
  try {
    const port = await Promise.race([bound, exited, timeout]);
    const endpoint = `http://${HOST}:${port}`;
    // Listening is printed once the socket is bound; wait until it also answers.
    for (;;) {
      if (await Promise.race([isReady(endpoint), exited, timeout])) return { endpoint, port, logFile, stop };
      await Promise.race([new Promise((r) => setTimeout(r, 200)), timeout]);
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function isReady(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The process environment with every inherited `AWS_*` variable removed (so a
 * real profile or real credentials can never be used) and moto's endpoint,
 * fake credentials, account and region set instead.
 */
export function motoEnv(endpoint: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!key.startsWith('AWS_') && !key.startsWith('CDK_')) env[key] = value;
  }
  return {
    ...env,
    ...sdkEnv(endpoint),
    // The CDK CLI gives CloudFormation the template's URL built from this
    // endpoint; moto reads path-style URLs only when the host is `localhost`.
    // The URL is only parsed by moto, never resolved or fetched.
    AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: endpoint.replace(HOST, 'localhost'),
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    NODE_NO_WARNINGS: '1',
  };
}

/** The variables an AWS SDK (any language) needs to talk to moto. */
export function sdkEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
  };
}

/** Client settings for the AWS SDK for JavaScript, pointed at moto. */
export function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing', sessionToken: 'testing' },
  };
}
