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

/** The layer's flavours in `spec/layer.json`: the default one, and the handoff one (it sends handed-off requests). */
export type LayerFlavour = 'default' | 'handoff';

/** The flavour of the layer: `handoff` when asked for, else the default one. */
export function layerFlavour(handoff: boolean | undefined): LayerFlavour {
  return handoff === true ? 'handoff' : 'default';
}

/** Cargo features of a flavour of the layer, from `spec/layer.json` (none for the default one). */
export function flavourFeatures(flavour: LayerFlavour): string[] {
  return [...LAYER.flavours[flavour].features];
}

/**
 * Extra flags given to `cargo lambda build` for the shutdown layer: the musl
 * target, and the flavour's features (cargo-lambda-cdk has no option of its
 * own for them; cargo-lambda passes `--features` on to cargo).
 */
export function extensionCargoLambdaFlags(architecture: Architecture, flavour: LayerFlavour = 'default'): string[] {
  const features = flavourFeatures(flavour);
  return ['--target', muslTarget(architecture), ...(features.length > 0 ? ['--features', features.join(',')] : [])];
}

/** The bundling options given to cargo-lambda-cdk's `RustExtension` for the layer. */
export function extensionBundlingOptions(architecture: Architecture, flavour: LayerFlavour = 'default'): { profile: string; cargoLambdaFlags: string[] } {
  return { profile: EXTENSION_PROFILE, cargoLambdaFlags: extensionCargoLambdaFlags(architecture, flavour) };
}

/**
 * The complete command cargo-lambda-cdk runs for the layer, in the form its
 * bundler writes it (for reading and for tests; the bundler builds its own).
 */
export function extensionBuildCommand(architecture: Architecture, binaryName: string, outputDir: string, flavour: LayerFlavour = 'default'): string {
  return ['cargo', 'lambda', 'build', '--lambda-dir', outputDir, '--profile', EXTENSION_PROFILE, '--extension', '--bin', binaryName,
    ...extensionCargoLambdaFlags(architecture, flavour)].join(' ');
}

/** The extension crate shipped inside this package (see scripts/prepare-sources.js). */
export function bundledExtensionManifest(): string {
  return path.join(__dirname, '..', 'rust-src', 'rust', 'extension', 'Cargo.toml');
}
