// Running the tools the demo drives (the CDK CLI, cdk-assets, cargo, the
// emulator) as child processes whose output stays visible, line by line.
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO_ROOT, 'node_modules', '.bin');

/** What a finished command printed. */
export interface Ran {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Print each output line with this prefix as it arrives; `undefined` keeps quiet. */
  readonly echo?: string;
  /** Whether a non-zero exit is an error. Default true. */
  readonly check?: boolean;
  /** Kill the command after this many milliseconds. */
  readonly timeoutMs?: number;
}

const children = new Set<ChildProcess>();

/** Stops every command still running (for exit handlers). */
export function killAllSync(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  children.clear();
}

/** Runs `command args`; resolves when it exits. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...(options.env ?? process.env), PATH: `${BIN}:${(options.env ?? process.env).PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const echo = (chunk: Buffer, partial: { text: string }) => {
      if (options.echo === undefined) return;
      partial.text += chunk.toString();
      const lines = partial.text.split('\n');
      partial.text = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) process.stdout.write(`${options.echo}${line}\n`);
    };
    const outPartial = { text: '' };
    const errPartial = { text: '' };
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); echo(c, outPartial); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); echo(c, errPartial); });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (e) => reject(new Error(`cannot run ${command}: ${e.message}`)));
    child.on('close', (code, signal) => {
      children.delete(child);
      if (timer) clearTimeout(timer);
      for (const rest of [outPartial.text, errPartial.text]) {
        if (options.echo !== undefined && rest.trim()) process.stdout.write(`${options.echo}${rest}\n`);
      }
      const ran = { stdout, stderr, code: code ?? 128 };
      if ((options.check ?? true) && (code !== 0 || signal)) {
        const tail = (stderr || stdout).trim().split('\n').slice(-20).join('\n');
        reject(new Error(`\`${command} ${args.join(' ')}\` failed (${signal ?? `exit code ${code}`}):\n${tail}`));
      } else {
        resolve(ran);
      }
    });
  });
}

/** Milliseconds since `start`, as seconds with one decimal. */
export function seconds(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}
