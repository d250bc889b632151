import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, LayerVersionOptions } from 'aws-cdk-lib/aws-lambda';
import { Construct, IConstruct } from 'constructs';
import { bundledExtensionManifest, extensionBundlingOptions, LayerFlavour, layerFlavour, muslTarget } from './bundling';
import { ShutdownLimits } from './limits';
import { prebuiltLayerZip } from './prebuilt';

/** Options of the shutdown layer, apart from its architecture. */
export interface GracefulShutdownLayerOptions extends LayerVersionOptions {
  /**
   * The handoff flavour of the layer: the extension also sends the HTTP
   * requests a function hands off at shutdown (the libraries' `handoff`),
   * after the runtime has gone, within the shutdown phase, signed with AWS
   * SigV4 when asked with the credentials Lambda gives the function (so the
   * function's role needs the permissions those calls need), and logs each
   * request it could not deliver. It carries TLS (rustls) and SigV4 signing,
   * which makes the layer about three times larger than the default one
   * (`graceful-shutdown-handoff-<arch>.zip` in this package, or built from
   * source with `--features handoff`). Without it the extension refuses a
   * handoff (501, naming this property) and stays small.
   *
   * Both flavours may be used in one stack: each has its own shared layer
   * per architecture.
   *
   * @default false - the default layer, which refuses a handoff
   */
  readonly handoff?: boolean;

  /**
   * Build the extension from its Rust sources at synth, with cargo-lambda
   * (through cargo-lambda-cdk), instead of using the layer zip prebuilt in this
   * package. Needs Rust with the musl target and cargo-lambda (or Docker).
   *
   * @default false - the prebuilt layer shipped in this package, unless `manifestPath` is set
   */
  readonly fromSource?: boolean;

  /**
   * Path to the `Cargo.toml` of the extension crate (package
   * `graceful-shutdown-extension`, binary `graceful-shutdown`), or to its
   * directory. Setting it builds the layer from source.
   *
   * @default - the crate shipped inside this package, when `fromSource` is set
   */
  readonly manifestPath?: string;

  /**
   * Environment variables for the `cargo lambda build` of the extension
   * (for example `CARGO_TARGET_DIR` to share a build cache). Only for a layer
   * built from source.
   *
   * @default - none
   */
  readonly buildEnvironment?: { [key: string]: string };
}

/** Properties of the shutdown layer. */
export interface GracefulShutdownLayerProps extends GracefulShutdownLayerOptions {
  /**
   * The architecture the extension is built for.
   *
   * @default Architecture.ARM_64
   */
  readonly architecture?: Architecture;
}

/**
 * The shutdown layer: the `graceful-shutdown` Lambda extension, a static
 * binary for one architecture at `extensions/graceful-shutdown` in the layer.
 *
 * By default its code is the layer zip prebuilt for that architecture and
 * shipped in this package: synth needs no Rust toolchain, no cargo-lambda and
 * no Docker, and runs no build. With `fromSource` (or `manifestPath`) it is
 * built from the Rust crate with cargo-lambda instead.
 *
 * Use `GracefulShutdownLayer.forArchitecture()` to share one layer per
 * architecture per stack.
 */
export class GracefulShutdownLayer extends LayerVersion {
  /**
   * The stack's shared layer for `architecture`, created on first use: one
   * per architecture and flavour (`options.handoff`), so that the default and
   * the handoff layer can both be in a stack.
   *
   * Props apply only when the layer is created; later calls for the same
   * architecture and flavour return it as it is.
   *
   * @param scope any construct in the stack
   * @param architecture @default Architecture.ARM_64
   * @param options used when the layer does not exist yet
   */
  public static forArchitecture(scope: IConstruct, architecture?: Architecture, options?: GracefulShutdownLayerOptions): GracefulShutdownLayer {
    const arch = architecture ?? Architecture.ARM_64;
    const stack = Stack.of(scope);
    const id = GracefulShutdownLayer.singletonId(arch, layerFlavour(options?.handoff));
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof GracefulShutdownLayer) return existing;
    return new GracefulShutdownLayer(stack, id, { ...options, architecture: arch });
  }

  /**
   * Path of the layer zip prebuilt for `architecture` and shipped in this
   * package: `graceful-shutdown-<arch>.zip`, or with `handoff`
   * `graceful-shutdown-handoff-<arch>.zip`.
   *
   * @param architecture @default Architecture.ARM_64
   * @param handoff the handoff flavour's zip. @default false
   */
  public static prebuiltZip(architecture?: Architecture, handoff?: boolean): string {
    return prebuiltLayerZip(architecture ?? Architecture.ARM_64, layerFlavour(handoff));
  }

  /** The id of the stack's shared layer; the default flavour keeps the id it always had. */
  private static singletonId(architecture: Architecture, flavour: LayerFlavour): string {
    const arch = muslTarget(architecture).split('-')[0];
    return flavour === 'default' ? `GracefulShutdownLayer-${arch}` : `GracefulShutdownLayer-${flavour}-${arch}`;
  }

  /** The architecture the extension binary is built for. */
  public readonly architecture: Architecture;

  /** The extension's name: its file name under `/opt/extensions/`. */
  public readonly extensionName: string;

  /** Whether the layer is built from source at synth (otherwise it is the prebuilt zip). */
  public readonly builtFromSource: boolean;

  /** Whether this is the handoff flavour, which sends the requests a function hands off. */
  public readonly handoff: boolean;

  constructor(scope: Construct, id: string, props: GracefulShutdownLayerProps = {}) {
    const architecture = props.architecture ?? Architecture.ARM_64;
    const { fromSource, manifestPath, buildEnvironment, handoff, ...layerOptions } = props;
    const flavour = layerFlavour(handoff);
    const source = fromSource === true || manifestPath !== undefined;
    if (fromSource === false && manifestPath !== undefined) {
      throw new Error('`manifestPath` is set but `fromSource` is false: a manifest path builds the layer from source; '
        + 'unset `fromSource` (or set it to true) to build from that crate, or unset `manifestPath` to use the prebuilt layer.');
    }
    if (!source && buildEnvironment !== undefined) {
      throw new Error('`buildEnvironment` applies only to a layer built from source, and this layer is the prebuilt one: '
        + 'set `fromSource: true` (or `manifestPath`) to build it with cargo-lambda, or unset `buildEnvironment`.');
    }
    super(scope, id, {
      description: `Graceful shutdown extension for AWS Lambda (${architecture.name}${flavour === 'default' ? '' : `, ${flavour}`}): `
        + 'makes SIGTERM reach the function and reports what its shutdown handlers did'
        + (flavour === 'handoff' ? ', and sends the requests it hands off.' : '.'),
      license: 'Apache-2.0',
      ...layerOptions,
      compatibleArchitectures: [architecture],
      code: source
        ? sourceCode(architecture, flavour, manifestPath ?? bundledExtensionManifest(), buildEnvironment)
        : Code.fromAsset(prebuiltLayerZip(architecture, flavour)),
    });
    this.architecture = architecture;
    this.extensionName = ShutdownLimits.EXTENSION_NAME;
    this.builtFromSource = source;
    this.handoff = flavour === 'handoff';
  }
}

/**
 * The layer's code built from the crate by cargo-lambda-cdk, as its
 * `RustExtension` builds it. cargo-lambda-cdk is loaded only here, so that a
 * synth with the prebuilt layer never loads it.
 */
function sourceCode(architecture: Architecture, flavour: LayerFlavour, manifestPath: string, environment?: { [key: string]: string }): Code {
  // RustExtension is a LayerVersion whose code comes from this bundler; it is
  // used directly so that this class stays one LayerVersion for both kinds of
  // code (bundling.test.ts checks the command it makes).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Bundling } = require('cargo-lambda-cdk/lib/bundling');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { getManifestPath } = require('cargo-lambda-cdk/lib/cargo');
  return Bundling.bundle({
    architecture,
    ...extensionBundlingOptions(architecture, flavour),
    environment,
    manifestPath: getManifestPath({ manifestPath: path.resolve(manifestPath) }),
    binaryName: ShutdownLimits.EXTENSION_NAME,
    lambdaExtension: true,
  });
}
