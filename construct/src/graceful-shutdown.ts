import { Annotations, Duration, IAspect, Stack } from 'aws-cdk-lib';
import { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct, IConstruct } from 'constructs';
import { GracefulShutdownLayer, GracefulShutdownLayerOptions } from './layer';
import { ShutdownLimits } from './limits';
import { GracefulShutdownMetrics, METRICS_ENV_VALUE } from './metrics';
import { checkExtensionCount, checkPort, checkTimeout } from './validation';

/** Settings of graceful shutdown for one function. */
export interface GracefulShutdownOptions {
  /**
   * Loopback port the extension listens on for the function's reports
   * (`GRACEFUL_SHUTDOWN_PORT`). From 1024 to 65535, and not a port that
   * another common Lambda component uses (9001, 8080, 2772, 2773, 4317,
   * 4318, 8124, 8125, 8126).
   *
   * @default 4471
   */
  readonly port?: number;

  /**
   * Budget of all shutdown handlers together, from SIGTERM
   * (`GRACEFUL_SHUTDOWN_TIMEOUT_MS`). Whole milliseconds, from 1 ms to 280 ms:
   * the runtime's ~300 ms share of the shutdown phase, less 20 ms for the
   * last reports and the exit.
   *
   * @default Duration.millis(250)
   */
  readonly timeout?: Duration;

  /**
   * Also log the shutdown verdict as a CloudWatch EMF metric line
   * (`GRACEFUL_SHUTDOWN_METRICS=emf`); `GracefulShutdown.metrics(fn)` then
   * returns the function's metrics.
   *
   * @default false
   */
  readonly metrics?: boolean;

  /**
   * Attach the handoff flavour of the layer, which also sends the HTTP
   * requests the function hands off at shutdown (the libraries' `handoff`),
   * after the runtime has gone and within the shutdown phase, signed with
   * SigV4 when asked with the function's credentials (its role needs what
   * those calls need). It carries TLS and SigV4 signing, so its layer is about
   * three times larger than the default one (about 1 MiB zipped instead of
   * about 350 KiB). The default layer refuses a handoff (501).
   *
   * Picks the stack's shared handoff layer for the function's architecture
   * (see `GracefulShutdownLayerOptions.handoff`); with `layer` set, it must
   * agree with that layer's flavour.
   *
   * @default false - the default layer, which refuses a handoff
   */
  readonly handoff?: boolean;

  /**
   * The shutdown layer to attach. It must be built for the function's architecture.
   *
   * @default - the stack's shared layer for the function's architecture (and flavour, see `handoff`)
   */
  readonly layer?: GracefulShutdownLayer;

  /**
   * Options of the stack's shared layer, used when this call creates it.
   *
   * @default - the prebuilt layer shipped in this package
   */
  readonly layerOptions?: GracefulShutdownLayerOptions;

  /**
   * Number of external extensions the function already runs from its other
   * layers, when one layer holds more than one. Lambda runs at most 10.
   *
   * @default - one per layer the function already has
   */
  readonly extensionsInOtherLayers?: number;
}

/** The checked settings, as set in the function's environment. */
interface Settings {
  readonly port: number;
  readonly timeoutMs: number;
  readonly metrics: boolean;
}

const MARKER_ID = 'GracefulShutdown';

/** Adds graceful shutdown to Lambda functions of any runtime. */
export class GracefulShutdown {
  /**
   * Add graceful shutdown to `fn`: attach the shutdown layer for its
   * architecture and set `GRACEFUL_SHUTDOWN_PORT` and
   * `GRACEFUL_SHUTDOWN_TIMEOUT_MS`. Throws, naming the property and the fix,
   * when a setting is invalid, when `layer` is built for another architecture,
   * when `fn` is a container image, or when `fn` has no room for the layer.
   *
   * @returns the layer attached
   */
  public static addTo(fn: LambdaFunction, options: GracefulShutdownOptions = {}): GracefulShutdownLayer {
    if (GracefulShutdown.isAdded(fn)) {
      throw new Error(`Function ${fn.node.path} already has graceful shutdown (added before, or ${ShutdownLimits.PORT_ENV} set in its environment): `
        + 'add it once per function, and let GracefulShutdown.addTo() set the variables.');
    }
    const settings: Settings = {
      port: checkPort(options.port),
      timeoutMs: checkTimeout(options.timeout),
      metrics: options.metrics ?? false,
    };
    const handoff = checkFlavour(options);
    const cfn = fn.node.defaultChild as CfnFunction;
    if (cfn.packageType === 'Image') {
      throw new Error(`Function ${fn.node.path} is a container image, and layers do not apply to container images: `
        + `copy the extension into the image at /opt/extensions/${ShutdownLimits.EXTENSION_NAME} `
        + `(an executable file), set ${ShutdownLimits.PORT_ENV} and ${ShutdownLimits.TIMEOUT_ENV} in the image or the function's environment, `
        + 'and do not call GracefulShutdown.addTo() (or GracefulShutdownAspect) on it.');
    }
    const layer = options.layer ?? GracefulShutdownLayer.forArchitecture(fn, fn.architecture, { ...options.layerOptions, handoff });
    if (layer.architecture.name !== fn.architecture.name) {
      throw new Error(`\`layer\` is built for ${layer.architecture.name} but function ${fn.node.path} runs on ${fn.architecture.name}: `
        + `pass GracefulShutdownLayer.forArchitecture(scope, Architecture.${fn.architecture.name === 'arm64' ? 'ARM_64' : 'X86_64'}) `
        + 'as `layer`, or leave `layer` unset to pick the right one.');
    }
    const layers = GracefulShutdown.layerCount(fn);
    if (layers >= ShutdownLimits.MAX_LAYERS) {
      throw new Error(`Function ${fn.node.path} already has ${layers} layers, the most Lambda allows, so the shutdown layer cannot be added: `
        + 'merge or remove one of its layers first.');
    }
    const extensions = checkExtensionCount(options.extensionsInOtherLayers, layers);
    if (extensions >= ShutdownLimits.MAX_EXTENSIONS) {
      throw new Error(`Function ${fn.node.path} already runs ${extensions} external extensions (\`extensionsInOtherLayers\`), `
        + `the most Lambda allows (${ShutdownLimits.MAX_EXTENSIONS}), so the shutdown extension cannot be added: remove an extension first.`);
    }

    fn.addLayers(layer);
    fn.addEnvironment(ShutdownLimits.PORT_ENV, String(settings.port));
    fn.addEnvironment(ShutdownLimits.TIMEOUT_ENV, String(settings.timeoutMs));
    if (settings.metrics) fn.addEnvironment(ShutdownLimits.METRICS_ENV, METRICS_ENV_VALUE);
    new Construct(fn, MARKER_ID);
    return layer;
  }

  /**
   * Whether `fn` already has graceful shutdown: added by this library, or
   * wired by hand (its environment already sets `GRACEFUL_SHUTDOWN_PORT`).
   */
  public static isAdded(fn: LambdaFunction): boolean {
    if (fn.node.tryFindChild(MARKER_ID) !== undefined) return true;
    const environment = Stack.of(fn).resolve((fn.node.defaultChild as CfnFunction).environment);
    return environment?.variables?.[ShutdownLimits.PORT_ENV] !== undefined;
  }

  /**
   * The shutdown metrics of `fn` (`cloudwatch.Metric` objects), which it logs
   * when graceful shutdown was added with `metrics: true`. Throws, naming
   * `metrics`, otherwise.
   */
  public static metrics(fn: LambdaFunction): GracefulShutdownMetrics {
    return GracefulShutdownMetrics.of(fn);
  }

  private static layerCount(fn: LambdaFunction): number {
    const cfn = fn.node.defaultChild as CfnFunction;
    const layers = Stack.of(fn).resolve(cfn.layers);
    return Array.isArray(layers) ? layers.length : 0;
  }

  private constructor() {}
}

/**
 * Whether the function gets the handoff flavour of the layer: `handoff`,
 * `layerOptions.handoff` or the flavour of `layer`, which must not contradict
 * each other. Throws naming both properties and the fix.
 */
function checkFlavour(options: GracefulShutdownOptions): boolean {
  const { handoff, layer, layerOptions } = options;
  const flavour = (on: boolean) => (on ? 'the handoff layer' : 'the default layer, which refuses a handoff');
  if (handoff !== undefined && layerOptions?.handoff !== undefined && handoff !== layerOptions.handoff) {
    throw new Error(`\`handoff\` is ${handoff} but \`layerOptions.handoff\` is ${layerOptions.handoff}: `
      + 'they choose the same thing, the flavour of the layer; set only `handoff`.');
  }
  if (layer !== undefined) {
    const wanted = handoff ?? layerOptions?.handoff;
    if (wanted !== undefined && wanted !== layer.handoff) {
      const prop = handoff !== undefined ? '`handoff`' : '`layerOptions.handoff`';
      throw new Error(`${prop} is ${wanted} but \`layer\` is ${flavour(layer.handoff)}: `
        + `pass a layer made with \`handoff: ${wanted}\` (GracefulShutdownLayer.forArchitecture(scope, architecture, { handoff: ${wanted} })) as \`layer\`, `
        + `or leave \`layer\` unset to get ${flavour(wanted)}, or unset ${prop} to use \`layer\` as it is.`);
    }
    return layer.handoff;
  }
  return handoff ?? layerOptions?.handoff ?? false;
}

/** Properties of the Aspect. */
export interface GracefulShutdownAspectProps extends GracefulShutdownOptions {
  /**
   * Skip container-image functions with a warning instead of failing the
   * synth (layers do not apply to them: put the extension in the image).
   *
   * @default false
   */
  readonly skipContainerImages?: boolean;
}

/**
 * Adds graceful shutdown to every Lambda function in a scope, of any runtime,
 * with the layer for each function's architecture. Functions that already
 * have it (see `GracefulShutdown.isAdded`) are left as they are.
 *
 * `Aspects.of(scope).add(new GracefulShutdownAspect({ timeout: Duration.millis(200) }))`
 */
export class GracefulShutdownAspect implements IAspect {
  private readonly props: GracefulShutdownAspectProps;

  constructor(props: GracefulShutdownAspectProps = {}) {
    // Check the settings once, now, so that a bad value fails where it is written.
    checkPort(props.port);
    checkTimeout(props.timeout);
    checkFlavour(props);
    this.props = props;
  }

  public visit(node: IConstruct): void {
    if (!(node instanceof LambdaFunction) || GracefulShutdown.isAdded(node)) return;
    const { skipContainerImages, ...options } = this.props;
    if (skipContainerImages && (node.node.defaultChild as CfnFunction).packageType === 'Image') {
      Annotations.of(node).addWarningV2('graceful-shutdown:container-image',
        `Graceful shutdown not added to container image ${node.node.path}: copy the extension into the image at /opt/extensions/${ShutdownLimits.EXTENSION_NAME}.`);
      return;
    }
    GracefulShutdown.addTo(node, options);
  }
}
