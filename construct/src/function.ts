import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RustFunction, RustFunctionProps } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { GracefulShutdown, GracefulShutdownOptions } from './graceful-shutdown';
import { GracefulShutdownLayer } from './layer';
import { GracefulShutdownMetrics } from './metrics';

/** Properties of a Rust function with graceful shutdown. */
export interface GracefulShutdownFunctionProps extends RustFunctionProps {
  /**
   * Graceful shutdown settings: port, handlers' budget, layer (`handoff: true`
   * for the layer that sends the requests the function hands off).
   *
   * @default - port 4471, timeout 250 ms, the stack's shared layer for the function's architecture
   */
  readonly gracefulShutdown?: GracefulShutdownOptions;
}

/**
 * A Rust Lambda function built from a Cargo manifest with cargo-lambda
 * (`provided.al2023`, arm64 unless told otherwise), with the shutdown layer
 * (prebuilt, from this package, unless `gracefulShutdown.layerOptions` says otherwise)
 * attached and `GRACEFUL_SHUTDOWN_PORT` and `GRACEFUL_SHUTDOWN_TIMEOUT_MS` set.
 */
export class GracefulShutdownFunction extends RustFunction {
  /** The shutdown layer attached to the function. */
  public readonly gracefulShutdownLayer: GracefulShutdownLayer;

  constructor(scope: Construct, id: string, props: GracefulShutdownFunctionProps = {}) {
    if (props.architecture && props.bundling?.architecture && props.architecture.name !== props.bundling.architecture.name) {
      throw new Error(`\`architecture\` is ${props.architecture.name} but \`bundling.architecture\` is ${props.bundling.architecture.name}: `
        + 'set only `architecture` (the function is built for it).');
    }
    const architecture = props.architecture ?? props.bundling?.architecture ?? Architecture.ARM_64;
    const { gracefulShutdown, ...rest } = props;
    super(scope, id, {
      ...rest,
      architecture,
      bundling: { ...props.bundling, architecture },
    });
    this.gracefulShutdownLayer = GracefulShutdown.addTo(this, gracefulShutdown);
  }

  /**
   * The function's shutdown metrics (`cloudwatch.Metric` objects). Needs
   * `gracefulShutdown: { metrics: true }`; throws, naming `metrics`, otherwise.
   */
  public metricsOfShutdown(): GracefulShutdownMetrics {
    return GracefulShutdownMetrics.of(this);
  }
}
