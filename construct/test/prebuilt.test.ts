// The default layer is the zip prebuilt in the package: synth runs no build
// and needs no tool (PATH is emptied while the app is synthesized); the layer's
// asset is the shipped zip of its architecture, byte for byte. Building from
// source is an explicit choice.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { GracefulShutdown, GracefulShutdownAspect, GracefulShutdownLayer } from '../lib';
import { PKG_DIR, REPO_DIR, unbuiltStack } from './helpers';
import { Aspects } from 'aws-cdk-lib';

function nodeFunction(stack: Stack, id: string, architecture: lambda.Architecture): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => "ok";'),
  });
}

/** Runs `body` with an empty PATH, and returns what it wrote to stderr. */
function withoutTools<T>(body: () => T): { result: T; stderr: string } {
  const savedPath = process.env.PATH;
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: any[]) => {
    stderr += chunk.toString();
    return write.call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  process.env.PATH = '';
  try {
    return { result: body(), stderr };
  } finally {
    process.env.PATH = savedPath;
    process.stderr.write = write;
  }
}

test('prebuilt by default: the layer asset is the shipped zip of each architecture, and nothing is built', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'graceful-shutdown-prebuilt-'));
  try {
    const { result: template, stderr } = withoutTools(() => {
      const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
      const stack = new Stack(app, 'Prebuilt');
      nodeFunction(stack, 'Arm', lambda.Architecture.ARM_64);
      nodeFunction(stack, 'X86', lambda.Architecture.X86_64);
      Aspects.of(stack).add(new GracefulShutdownAspect());
      app.synth();
      return Template.fromStack(stack);
    });
    assert.doesNotMatch(stderr, /Bundling asset/);
    const layers = template.findResources('AWS::Lambda::LayerVersion');
    assert.equal(Object.keys(layers).length, 2);
    const fns = template.findResources('AWS::Lambda::Function');
    for (const [id, layer] of Object.entries(layers)) {
      const [arch] = layer.Properties.CompatibleArchitectures;
      const assetPath = layer.Metadata['aws:asset:path'];
      assert.match(assetPath, /^asset\.[0-9a-f]{64}\.zip$/, 'a file asset: the zip itself, not a directory to zip');
      assert.equal(layer.Properties.Content.S3Key, `${assetPath.slice('asset.'.length)}`);
      assert.ok(fs.readFileSync(path.join(outdir, assetPath)).equals(fs.readFileSync(path.join(PKG_DIR, 'layers', `graceful-shutdown-${arch}.zip`))),
        `${arch}: the staged layer is the shipped zip`);
      const users = Object.values(fns).filter((f) => f.Properties.Layers?.some((l: { Ref: string }) => l.Ref === id));
      assert.equal(users.length, 1, arch);
      assert.deepEqual(users[0].Properties.Architectures, [arch]);
      assert.deepEqual(users[0].Properties.Environment.Variables, { GRACEFUL_SHUTDOWN_PORT: '4471', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '250' });
    }
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});

test('prebuilt handoff: the layer asset is the shipped handoff zip of its architecture, and nothing is built', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'graceful-shutdown-prebuilt-'));
  try {
    const { result: template, stderr } = withoutTools(() => {
      const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
      const stack = new Stack(app, 'PrebuiltHandoff');
      GracefulShutdown.addTo(nodeFunction(stack, 'Arm', lambda.Architecture.ARM_64), { handoff: true });
      GracefulShutdown.addTo(nodeFunction(stack, 'X86', lambda.Architecture.X86_64), { handoff: true });
      GracefulShutdown.addTo(nodeFunction(stack, 'Plain', lambda.Architecture.X86_64));
      app.synth();
      return Template.fromStack(stack);
    });
    assert.doesNotMatch(stderr, /Bundling asset/);
    const layers = Object.values(template.findResources('AWS::Lambda::LayerVersion'));
    assert.equal(layers.length, 3);
    const staged = layers.map((layer) => {
      const [arch] = layer.Properties.CompatibleArchitectures;
      const bytes = fs.readFileSync(path.join(outdir, layer.Metadata['aws:asset:path']));
      const shipped = ['graceful-shutdown', 'graceful-shutdown-handoff'].find((prefix) =>
        bytes.equals(fs.readFileSync(path.join(PKG_DIR, 'layers', `${prefix}-${arch}.zip`))));
      return `${shipped}-${arch}`;
    }).sort();
    assert.deepEqual(staged, ['graceful-shutdown-handoff-arm64', 'graceful-shutdown-handoff-x86_64', 'graceful-shutdown-x86_64']);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});

test('prebuilt: a layer made directly, and through addTo', () => {
  const stack = unbuiltStack();
  const layer = new GracefulShutdownLayer(stack, 'Mine', { architecture: lambda.Architecture.X86_64, layerVersionName: 'mine' });
  assert.equal(layer.builtFromSource, false);
  assert.equal(GracefulShutdown.addTo(nodeFunction(stack, 'Fn', lambda.Architecture.X86_64), { layer }), layer);
  assert.equal(GracefulShutdownLayer.forArchitecture(stack).builtFromSource, false);
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::LayerVersion', { LayerName: 'mine', CompatibleArchitectures: ['x86_64'] });
});

test('from source when asked: fromSource or manifestPath', () => {
  const stack = unbuiltStack(new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-asset-metadata': true } }));
  const prebuilt = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64);
  const shipped = new GracefulShutdownLayer(stack, 'Shipped', { fromSource: true });
  const checkout = new GracefulShutdownLayer(stack, 'Checkout', {
    manifestPath: path.join(REPO_DIR, 'rust', 'extension'),
    buildEnvironment: { CARGO_TARGET_DIR: 'target' },
  });
  assert.deepEqual([prebuilt.builtFromSource, shipped.builtFromSource, checkout.builtFromSource], [false, true, true]);
  const template = Template.fromStack(stack);
  const keys = Object.values(template.findResources('AWS::Lambda::LayerVersion')).map((l) => l.Metadata['aws:asset:path']);
  // The prebuilt layer is a zip file; source builds are directories the CDK zips.
  assert.equal(keys.filter((k: string) => k.endsWith('.zip')).length, 1);
  assert.equal(new Set(keys).size, 3);
});

test('source-only options on the prebuilt layer are refused by name', () => {
  assert.throws(() => new GracefulShutdownLayer(unbuiltStack(), 'L', { buildEnvironment: { CARGO_TARGET_DIR: 'target' } }), {
    message: '`buildEnvironment` applies only to a layer built from source, and this layer is the prebuilt one: '
      + 'set `fromSource: true` (or `manifestPath`) to build it with cargo-lambda, or unset `buildEnvironment`.',
  });
  assert.throws(() => new GracefulShutdownLayer(unbuiltStack(), 'L', { fromSource: false, manifestPath: 'rust/extension' }), {
    message: '`manifestPath` is set but `fromSource` is false: a manifest path builds the layer from source; '
      + 'unset `fromSource` (or set it to true) to build from that crate, or unset `manifestPath` to use the prebuilt layer.',
  });
  assert.throws(() => GracefulShutdown.addTo(nodeFunction(unbuiltStack(), 'Fn', lambda.Architecture.ARM_64),
    { layerOptions: { buildEnvironment: { A: 'b' } } }), /^Error: `buildEnvironment` applies only to a layer built from source/);
  assert.throws(() => new GracefulShutdownLayer(unbuiltStack(), 'L', { manifestPath: path.join(REPO_DIR, 'no-such-crate') }),
    /no-such-crate\/Cargo.toml' is not a path to a Cargo.toml file, use the option `manifestPath`/);
});
