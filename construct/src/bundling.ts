// How the shutdown layer is built. The build itself is cargo-lambda-cdk's
// (`RustExtension` runs `cargo lambda build --extension`); this module only
// chooses the flags, as pure functions that tests check string by string.
//
// The extension is built as a static musl binary rather than cargo-lambda's
// default glibc target: a glibc build links against symbol versions newer than
// 2.26, which Amazon Linux 2 lacks, and a layer must run on every Lambda OS.
// cargo-lambda-cdk passes `cargoLambdaFlags` through, and drops its own
// `--arm64`/`--x86-64` flag when the flags already hold `--target`, so the
// musl target needs no hand-written bundling.
import * as path from 'node:path';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { LAYER } from './limits.generated';

/**
 * Rust target triple of the static musl build for a Lambda architecture: the
 * `rustTarget` of `spec/layer.json`.
 */
export function muslTarget(architecture: Architecture): string {
  switch (architecture.name) {
    case Architecture.ARM_64.name: return LAYER.architectures.arm64.rustTarget;
    case Architecture.X86_64.name: return LAYER.architectures.x86_64.rustTarget;
    default:
      throw new Error(`\`architecture\` is ${architecture.name}, which the shutdown layer cannot be built for: `
        + 'use Architecture.ARM_64 or Architecture.X86_64.');
  }
}

/**
 * Cargo profile of the layer build: the size-tuned `[profile.extension]` of the
 * shipped workspace (opt-level "z", LTO, panic = "abort", stripped), the
 * `profile` of `spec/layer.json`.
 */
export const EXTENSION_PROFILE: string = LAYER.profile;

/** Extra flags given to `cargo lambda build` for the shutdown layer. */
export function extensionCargoLambdaFlags(architecture: Architecture): string[] {
  return ['--target', muslTarget(architecture)];
}

/** The bundling options given to cargo-lambda-cdk's `RustExtension` for the layer. */
export function extensionBundlingOptions(architecture: Architecture): { profile: string; cargoLambdaFlags: string[] } {
  return { profile: EXTENSION_PROFILE, cargoLambdaFlags: extensionCargoLambdaFlags(architecture) };
}

/**
 * The complete command cargo-lambda-cdk runs for the layer, in the form its
 * bundler writes it (for reading and for tests; the bundler builds its own).
 */
export function extensionBuildCommand(architecture: Architecture, binaryName: string, outputDir: string): string {
  return ['cargo', 'lambda', 'build', '--lambda-dir', outputDir, '--profile', EXTENSION_PROFILE, '--extension', '--bin', binaryName,
    ...extensionCargoLambdaFlags(architecture)].join(' ');
}

/** The extension crate shipped inside this package (see scripts/prepare-sources.js). */
export function bundledExtensionManifest(): string {
  return path.join(__dirname, '..', 'rust-src', 'rust', 'extension', 'Cargo.toml');
}
