// Real builds with cargo-lambda, through the constructs, for both
// architectures (the layer explicitly from source): the layer asset must hold an executable, static
// `extensions/graceful-shutdown` of the right machine, and the function asset
// an executable `bootstrap`. Slow on purpose-few builds: one app, four assets.
// A second stack of the same app uses the layers too: the CDK must reuse the
// first build (one layer build per architecture per app), not build again.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { GracefulShutdown, GracefulShutdownFunction, GracefulShutdownLayer } from '../lib';
import { HELLO, REPO_DIR } from './helpers';

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const PT_INTERP = 3;

interface Elf { readonly machine: number; readonly interpreter: boolean }

function readElf(file: string): Elf {
  const b = fs.readFileSync(file);
  assert.deepEqual([...b.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${file} is not an ELF file`);
  assert.equal(b[4], 2, `${file} is not a 64-bit ELF file`);
  assert.equal(b[5], 1, `${file} is not little-endian`);
  const machine = b.readUInt16LE(18);
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  let interpreter = false;
  for (let i = 0; i < phnum; i++) {
    if (b.readUInt32LE(phoff + i * phentsize) === PT_INTERP) interpreter = true;
  }
  return { machine, interpreter };
}

function assertExecutable(file: string): void {
  assert.ok(fs.existsSync(file), `${file} is missing`);
  const mode = fs.statSync(file).mode;
  assert.ok((mode & 0o111) !== 0, `${file} is not executable (mode ${mode.toString(8)})`);
}

// Cargo's cache survives between runs in the repository's (ignored) target dir.
const CARGO_ENV = { CARGO_TARGET_DIR: path.join(REPO_DIR, 'target', 'construct-test') };

/**
 * Runs `body` and returns the construct paths of the assets the CDK bundled
 * meanwhile, from its `Bundling asset <path>...` lines (still printed).
 */
function bundledAssets(body: () => void): string[] {
  const write = process.stderr.write;
  const bundled: string[] = [];
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: any[]) => {
    for (const m of chunk.toString().matchAll(/^Bundling asset (\S+)\.\.\.$/gm)) bundled.push(m[1]);
    return write.call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    body();
  } finally {
    process.stderr.write = write;
  }
  return bundled;
}

test('cargo-lambda builds the layer and the function for arm64 and x86_64', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'graceful-shutdown-cdk-'));
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, 'Build');
    const other = new Stack(app, 'Other');
    const bundled = bundledAssets(() => {
      for (const architecture of [Architecture.ARM_64, Architecture.X86_64]) {
        GracefulShutdownLayer.forArchitecture(stack, architecture, { fromSource: true, buildEnvironment: CARGO_ENV });
        new GracefulShutdownFunction(stack, `Fn-${architecture.name}`, { ...HELLO, architecture, bundling: { environment: CARGO_ENV } });
      }
      // The other stack: any-runtime functions, with the layer of each architecture.
      for (const architecture of [Architecture.ARM_64, Architecture.X86_64]) {
        GracefulShutdown.addTo(new LambdaFunction(other, `Node-${architecture.name}`, {
          runtime: Runtime.NODEJS_22_X,
          architecture,
          handler: 'index.handler',
          code: Code.fromInline('exports.handler = async () => "ok";'),
        }), { layerOptions: { fromSource: true, buildEnvironment: CARGO_ENV } });
      }
    });
    // One build per asset: the other stack's layers reuse the first stack's builds.
    assert.deepEqual(bundled.sort(), [
      'Build/Fn-arm64/Code/Stage',
      'Build/Fn-x86_64/Code/Stage',
      'Build/GracefulShutdownLayer-aarch64/Code/Stage',
      'Build/GracefulShutdownLayer-x86_64/Code/Stage',
    ]);
    app.synth();
    const template = Template.fromStack(stack);
    const assetDir = (s3Key: string) => path.join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);

    const machines: Record<string, number> = { arm64: EM_AARCH64, x86_64: EM_X86_64 };
    const layers = Object.values(template.findResources('AWS::Lambda::LayerVersion'));
    assert.equal(layers.length, 2);
    for (const layer of layers) {
      const [arch] = layer.Properties.CompatibleArchitectures;
      const dir = assetDir(layer.Properties.Content.S3Key);
      assert.deepEqual(fs.readdirSync(dir), ['extensions']);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'extensions')), ['graceful-shutdown']);
      const binary = path.join(dir, 'extensions', 'graceful-shutdown');
      assertExecutable(binary);
      const elf = readElf(binary);
      assert.equal(elf.machine, machines[arch], `${arch} layer binary machine`);
      // Static musl binary: no dynamic loader, so it runs on Amazon Linux 2 and 2023.
      assert.equal(elf.interpreter, false, `${arch} layer binary must be static`);
    }

    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    assert.equal(fns.length, 2);
    for (const fn of fns) {
      const [arch] = fn.Properties.Architectures;
      const dir = assetDir(fn.Properties.Code.S3Key);
      assert.deepEqual(fs.readdirSync(dir), ['bootstrap']);
      assertExecutable(path.join(dir, 'bootstrap'));
      assert.equal(readElf(path.join(dir, 'bootstrap')).machine, machines[arch], `${arch} bootstrap machine`);
    }

    // The other stack's layers are the same assets as the first stack's, per architecture.
    const layerKeys = (s: Stack) => Object.fromEntries(Object.values(Template.fromStack(s).findResources('AWS::Lambda::LayerVersion'))
      .map((l) => [l.Properties.CompatibleArchitectures[0], l.Properties.Content.S3Key]));
    const keys = layerKeys(stack);
    assert.deepEqual(Object.keys(keys).sort(), ['arm64', 'x86_64']);
    assert.notEqual(keys.arm64, keys.x86_64);
    assert.deepEqual(layerKeys(other), keys);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});
