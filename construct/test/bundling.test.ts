// The layer's build flags, string by string, and the full commands that
// cargo-lambda-cdk's bundler makes of them for the layer and the function.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssetStaging } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { GracefulShutdownFunction } from '../lib';
import { EXTENSION_PROFILE, extensionBuildCommand, extensionBundlingOptions, extensionCargoLambdaFlags, flavourFeatures, muslTarget } from '../lib/bundling';
import { prebuiltLayerFileName } from '../lib/prebuilt';
import { HELLO, PKG_DIR, REPO_DIR, unbuiltStack } from './helpers';
import * as fs from 'node:fs';
import * as path from 'node:path';

// cargo-lambda-cdk's bundler is not part of its public API, but it is what
// really runs; checking its output keeps our expectation honest.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Bundling } = require('cargo-lambda-cdk/lib/bundling');

test('musl targets per architecture', () => {
  assert.equal(muslTarget(Architecture.ARM_64), 'aarch64-unknown-linux-musl');
  assert.equal(muslTarget(Architecture.X86_64), 'x86_64-unknown-linux-musl');
  assert.throws(() => muslTarget(Architecture.custom('riscv64')),
    /^Error: `architecture` is riscv64, which the shutdown layer cannot be built for: use Architecture.ARM_64 or Architecture.X86_64.$/);
});

test('the targets, the profile and the package are those of spec/layer.json', () => {
  const spec = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'spec', 'layer.json'), 'utf8')) as {
    package: string;
    profile: string;
    architectures: Record<string, { rustTarget: string }>;
  };
  const architectures = [Architecture.ARM_64, Architecture.X86_64];
  assert.deepEqual(Object.keys(spec.architectures).sort(), architectures.map((a) => a.name).sort());
  for (const architecture of architectures) {
    assert.equal(muslTarget(architecture), spec.architectures[architecture.name].rustTarget, architecture.name);
  }
  assert.equal(EXTENSION_PROFILE, spec.profile);
  const manifest = fs.readFileSync(path.join(PKG_DIR, 'rust-src', 'rust', 'extension', 'Cargo.toml'), 'utf8');
  assert.match(manifest, new RegExp(`^name = "${spec.package}"$`, 'm'));
});

test('the flavours, their features and their prebuilt zips are those of spec/layer.json', () => {
  const spec = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'spec', 'layer.json'), 'utf8')) as {
    flavours: Record<string, { features: string[]; prebuiltZip: string } | string>;
  };
  const flavours = Object.keys(spec.flavours).filter((k) => !k.startsWith('$'));
  assert.deepEqual(flavours, ['default', 'handoff']);
  for (const flavour of ['default', 'handoff'] as const) {
    const entry = spec.flavours[flavour] as { features: string[]; prebuiltZip: string };
    assert.deepEqual(flavourFeatures(flavour), entry.features, flavour);
    for (const architecture of [Architecture.ARM_64, Architecture.X86_64]) {
      assert.equal(prebuiltLayerFileName(architecture, flavour), entry.prebuiltZip.replace('{arch}', architecture.name));
    }
  }
  assert.deepEqual(flavourFeatures('default'), []);
  assert.deepEqual(flavourFeatures('handoff'), ['handoff']);
  assert.equal(prebuiltLayerFileName(Architecture.X86_64, 'handoff'), 'graceful-shutdown-handoff-x86_64.zip');
  // The shipped crate has the feature the flavour builds with.
  const manifest = fs.readFileSync(path.join(PKG_DIR, 'rust-src', 'rust', 'extension', 'Cargo.toml'), 'utf8');
  assert.match(manifest, /^handoff = \[/m);
});

test('cargo lambda flags of the layer', () => {
  assert.deepEqual(extensionCargoLambdaFlags(Architecture.ARM_64), ['--target', 'aarch64-unknown-linux-musl']);
  assert.deepEqual(extensionCargoLambdaFlags(Architecture.X86_64), ['--target', 'x86_64-unknown-linux-musl']);
  assert.deepEqual(extensionBundlingOptions(Architecture.ARM_64),
    { profile: 'extension', cargoLambdaFlags: ['--target', 'aarch64-unknown-linux-musl'] });
  assert.equal(EXTENSION_PROFILE, 'extension');
  assert.deepEqual(extensionCargoLambdaFlags(Architecture.ARM_64, 'default'), ['--target', 'aarch64-unknown-linux-musl']);
  assert.deepEqual(extensionCargoLambdaFlags(Architecture.X86_64, 'handoff'), ['--target', 'x86_64-unknown-linux-musl', '--features', 'handoff']);
  assert.deepEqual(extensionBundlingOptions(Architecture.ARM_64, 'handoff'),
    { profile: 'extension', cargoLambdaFlags: ['--target', 'aarch64-unknown-linux-musl', '--features', 'handoff'] });
});

test('the layer build command, exactly', () => {
  assert.equal(extensionBuildCommand(Architecture.ARM_64, 'graceful-shutdown', '/asset-output'),
    'cargo lambda build --lambda-dir /asset-output --profile extension --extension --bin graceful-shutdown --target aarch64-unknown-linux-musl');
  assert.equal(extensionBuildCommand(Architecture.X86_64, 'graceful-shutdown', '/tmp/out'),
    'cargo lambda build --lambda-dir /tmp/out --profile extension --extension --bin graceful-shutdown --target x86_64-unknown-linux-musl');
  assert.equal(extensionBuildCommand(Architecture.ARM_64, 'graceful-shutdown', '/asset-output', 'handoff'),
    'cargo lambda build --lambda-dir /asset-output --profile extension --extension --bin graceful-shutdown --target aarch64-unknown-linux-musl --features handoff');
});

for (const architecture of [Architecture.ARM_64, Architecture.X86_64]) {
  for (const flavour of ['default', 'handoff'] as const) {
    test(`cargo-lambda-cdk builds the layer with exactly our command (${architecture.name}, ${flavour})`, () => {
      const manifestPath = path.join(PKG_DIR, 'rust-src', 'rust', 'extension', 'Cargo.toml');
      const bundling = new Bundling(path.dirname(manifestPath), {
        manifestPath,
        binaryName: 'graceful-shutdown',
        lambdaExtension: true,
        architecture,
        ...extensionBundlingOptions(architecture, flavour),
      });
      assert.deepEqual(bundling.command, ['bash', '-c',
        extensionBuildCommand(architecture, 'graceful-shutdown', AssetStaging.BUNDLING_OUTPUT_DIR, flavour)]);
    });
  }
}

/**
 * The `bash -c` command of every Rust asset the constructs create while `body`
 * runs, as cargo-lambda-cdk's bundler makes it from the options it is given.
 */
function bundlingCommands(body: () => void): string[] {
  const original = Bundling.bundle;
  const commands: string[] = [];
  Bundling.bundle = (options: { manifestPath: string }) => {
    const { command } = new Bundling(path.dirname(options.manifestPath), options);
    assert.deepEqual(command.slice(0, 2), ['bash', '-c']);
    commands.push(command[2]);
    return original.call(Bundling, options);
  };
  try {
    body();
  } finally {
    Bundling.bundle = original;
  }
  return commands;
}

test('GracefulShutdownFunction: the function and its layer are built with exactly these commands', () => {
  const stack = unbuiltStack();
  const commands = bundlingCommands(() => {
    new GracefulShutdownFunction(stack, 'Arm', { ...HELLO, gracefulShutdown: { layerOptions: { fromSource: true } } });
    new GracefulShutdownFunction(stack, 'X86', {
      ...HELLO,
      architecture: Architecture.X86_64,
      bundling: { environment: { CARGO_TARGET_DIR: 'target' } },
      gracefulShutdown: { layerOptions: { fromSource: true } },
    });
    // A second function of an architecture reuses the stack's layer: no new layer asset.
    new GracefulShutdownFunction(stack, 'Arm2', { ...HELLO, bundling: { architecture: Architecture.ARM_64 } });
  });
  assert.deepEqual(commands, [
    'cargo lambda build --lambda-dir /asset-output --release --arm64 --bin hello-function --flatten hello-function',
    'cargo lambda build --lambda-dir /asset-output --profile extension --extension --bin graceful-shutdown --target aarch64-unknown-linux-musl',
    'cargo lambda build --lambda-dir /asset-output --release --x86-64 --bin hello-function --flatten hello-function',
    'cargo lambda build --lambda-dir /asset-output --profile extension --extension --bin graceful-shutdown --target x86_64-unknown-linux-musl',
    'cargo lambda build --lambda-dir /asset-output --release --arm64 --bin hello-function --flatten hello-function',
  ]);
});

test('GracefulShutdownFunction by default: only the function is built, the layer is the prebuilt one', () => {
  const stack = unbuiltStack();
  const commands = bundlingCommands(() => {
    const arm = new GracefulShutdownFunction(stack, 'Arm', { ...HELLO });
    const x86 = new GracefulShutdownFunction(stack, 'X86', { ...HELLO, architecture: Architecture.X86_64 });
    assert.deepEqual([arm.gracefulShutdownLayer.builtFromSource, x86.gracefulShutdownLayer.builtFromSource], [false, false]);
  });
  assert.deepEqual(commands, [
    'cargo lambda build --lambda-dir /asset-output --release --arm64 --bin hello-function --flatten hello-function',
    'cargo lambda build --lambda-dir /asset-output --release --x86-64 --bin hello-function --flatten hello-function',
  ]);
});

test('handoff from source: the layer is built with the handoff feature, beside the default one', () => {
  const stack = unbuiltStack();
  const commands = bundlingCommands(() => {
    const fn = new GracefulShutdownFunction(stack, 'Arm', { ...HELLO, gracefulShutdown: { handoff: true, layerOptions: { fromSource: true } } });
    assert.deepEqual([fn.gracefulShutdownLayer.handoff, fn.gracefulShutdownLayer.builtFromSource], [true, true]);
    new GracefulShutdownFunction(stack, 'Default', { ...HELLO, gracefulShutdown: { layerOptions: { fromSource: true } } });
  });
  assert.deepEqual(commands, [
    'cargo lambda build --lambda-dir /asset-output --release --arm64 --bin hello-function --flatten hello-function',
    'cargo lambda build --lambda-dir /asset-output --profile extension --extension --bin graceful-shutdown --target aarch64-unknown-linux-musl --features handoff',
    'cargo lambda build --lambda-dir /asset-output --release --arm64 --bin hello-function --flatten hello-function',
    'cargo lambda build --lambda-dir /asset-output --profile extension --extension --bin graceful-shutdown --target aarch64-unknown-linux-musl',
  ]);
});
