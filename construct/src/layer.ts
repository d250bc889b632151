import { Stack } from 'aws-cdk-lib';
import { Architecture, LayerVersionOptions } from 'aws-cdk-lib/aws-lambda';
import { RustExtension } from 'cargo-lambda-cdk';
import { Construct, IConstruct } from 'constructs';
import { bundledExtensionManifest, extensionBundlingOptions, muslTarget } from './bundling';
import { ShutdownLimits } from './limits';

/** Options of the shutdown layer, apart from its architecture. */
export interface GracefulShutdownLayerOptions extends LayerVersionOptions {
  /**
   * Path to the `Cargo.toml` of the extension crate (package
   * `graceful-shutdown-extension`, binary `graceful-shutdown`), or to its directory.
   *
   * @default - the crate shipped inside this package
   */
  readonly manifestPath?: string;

  /**
   * Environment variables for the `cargo lambda build` of the extension
   * (for example `CARGO_TARGET_DIR` to share a build cache).
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
 * The shutdown layer: the `graceful-shutdown` Lambda extension, built from its
 * Rust crate with cargo-lambda as a static binary for one architecture, at
 * `extensions/graceful-shutdown` in the layer.
 *
 * Use `GracefulShutdownLayer.forArchitecture()` to share one layer per
 * architecture per stack; the build itself runs once per app, since the CDK
 * stages identical assets only once.
 */
export class GracefulShutdownLayer extends RustExtension {
  /**
   * The stack's shared layer for `architecture`, created on first use.
   *
   * Props apply only when the layer is created; later calls return it as it is.
   *
   * @param scope any construct in the stack
   * @param architecture @default Architecture.ARM_64
   * @param options used when the layer does not exist yet
   */
  public static forArchitecture(scope: IConstruct, architecture?: Architecture, options?: GracefulShutdownLayerOptions): GracefulShutdownLayer {
    const arch = architecture ?? Architecture.ARM_64;
    const stack = Stack.of(scope);
    const id = GracefulShutdownLayer.singletonId(arch);
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof GracefulShutdownLayer) return existing;
    return new GracefulShutdownLayer(stack, id, { ...options, architecture: arch });
  }

  private static singletonId(architecture: Architecture): string {
    return `GracefulShutdownLayer-${muslTarget(architecture).split('-')[0]}`;
  }

  /** The architecture the extension binary is built for. */
  public readonly architecture: Architecture;

  /** The extension's name: its file name under `/opt/extensions/`. */
  public readonly extensionName: string;

  constructor(scope: Construct, id: string, props: GracefulShutdownLayerProps = {}) {
    const architecture = props.architecture ?? Architecture.ARM_64;
    super(scope, id, {
      description: `Graceful shutdown extension for AWS Lambda (${architecture.name}): makes SIGTERM reach the function and reports what its shutdown handlers did.`,
      license: 'Apache-2.0',
      ...props,
      architecture,
      manifestPath: props.manifestPath ?? bundledExtensionManifest(),
      binaryName: ShutdownLimits.EXTENSION_NAME,
      bundling: {
        architecture,
        ...extensionBundlingOptions(architecture),
        environment: props.buildEnvironment,
      },
    });
    this.architecture = architecture;
    this.extensionName = ShutdownLimits.EXTENSION_NAME;
  }
}
