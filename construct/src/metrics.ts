// CloudWatch metrics of the shutdown verdict, which the extension logs as one
// Embedded Metric Format line per shutdown when GRACEFUL_SHUTDOWN_METRICS=emf.
// Names, units, namespace and dimension come from spec/metrics.json, shared
// with the extension.
import { Duration, Stack } from 'aws-cdk-lib';
import { Metric, MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { METRICS } from './limits.generated';
import { ShutdownLimits } from './limits';

/** Key of a metric in spec/metrics.json. */
type MetricKey = keyof typeof METRICS.metrics;

/** The value of `GRACEFUL_SHUTDOWN_METRICS` that turns the EMF line on. */
export const METRICS_ENV_VALUE = 'emf';

/**
 * The shutdown metrics of one function, as `cloudwatch.Metric` objects to
 * alarm on or graph, like `fn.metricErrors()`. The function must log them:
 * `metrics: true` in its graceful shutdown options.
 *
 * `GracefulShutdownMetrics.of(fn).metricRuntimeKilled().createAlarm(...)`
 */
export class GracefulShutdownMetrics {
  /** Namespace of the metrics. */
  public static readonly NAMESPACE: string = METRICS.namespace;
  /** Dimension of the metrics: the function's name. */
  public static readonly DIMENSION: string = METRICS.dimension;

  /**
   * The metrics of `fn`. Throws, naming `metrics`, when `fn` does not log
   * them (`GRACEFUL_SHUTDOWN_METRICS` is not `emf` in its environment).
   */
  public static of(fn: LambdaFunction): GracefulShutdownMetrics {
    const environment = Stack.of(fn).resolve((fn.node.defaultChild as CfnFunction).environment);
    const value = environment?.variables?.[ShutdownLimits.METRICS_ENV];
    if (value !== METRICS_ENV_VALUE) {
      throw new Error(`Function ${fn.node.path} does not log the shutdown metrics (${ShutdownLimits.METRICS_ENV} is `
        + `${value === undefined ? 'not set' : JSON.stringify(value)}): set \`metrics: true\` in its graceful shutdown options `
        + '(GracefulShutdown.addTo, GracefulShutdownAspect or GracefulShutdownFunction) to use its metrics.');
    }
    return new GracefulShutdownMetrics(fn);
  }

  private constructor(private readonly fn: LambdaFunction) {}

  /** 1 per shutdown in which every handler finished in time (Sum). */
  public metricCompleted(props?: MetricOptions): Metric { return this.metricOf('completed', props); }

  /** 1 per shutdown in which a handler failed, panicked or timed out (Sum). */
  public metricFailed(props?: MetricOptions): Metric { return this.metricOf('handlersFailed', props); }

  /** 1 per shutdown in which the runtime went away before its handlers finished (Sum). */
  public metricRuntimeKilled(props?: MetricOptions): Metric { return this.metricOf('runtimeKilled', props); }

  /** 1 per shutdown with no report from the function (library not used, or died first) (Sum). */
  public metricNoReport(props?: MetricOptions): Metric { return this.metricOf('noReport', props); }

  /** Shutdown handlers that finished (Sum). */
  public metricHandlersOk(props?: MetricOptions): Metric { return this.metricOf('handlersOk', props); }

  /** Shutdown handlers that failed (Sum). */
  public metricHandlersFailed(props?: MetricOptions): Metric { return this.metricOf('handlersFailedCount', props); }

  /** Shutdown handlers cut off by the budget (Sum). */
  public metricHandlersTimedOut(props?: MetricOptions): Metric { return this.metricOf('handlersTimedOut', props); }

  /** Time all shutdown handlers took together, in milliseconds (Maximum). */
  public metricDuration(props?: MetricOptions): Metric { return this.metricOf('handlersDuration', props); }

  private metricOf(key: MetricKey, props: MetricOptions = {}): Metric {
    const spec = METRICS.metrics[key];
    return new Metric({
      namespace: METRICS.namespace,
      metricName: spec.name,
      dimensionsMap: { [METRICS.dimension]: this.fn.functionName },
      statistic: spec.statistic,
      period: Duration.minutes(5),
      ...props,
    });
  }
}
