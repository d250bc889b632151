// The metric helpers: names, namespace, dimension and statistic from
// spec/metrics.json, which must also be what the extension logs.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Alarm, ComparisonOperator, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { GracefulShutdown, GracefulShutdownAspect, GracefulShutdownFunction, GracefulShutdownMetrics } from '../lib';
import { METRICS } from '../lib/limits.generated';
import { HELLO, REPO_DIR, unbuiltStack } from './helpers';
import { Aspects } from 'aws-cdk-lib';

const spec = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'spec', 'metrics.json'), 'utf8'));

function nodeFunction(stack: Stack, id: string): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => "ok";'),
  });
}

const EXPECTED: Array<[keyof GracefulShutdownMetrics, string, string]> = [
  ['metricCompleted', 'ShutdownCompleted', 'Sum'],
  ['metricFailed', 'ShutdownHandlersFailed', 'Sum'],
  ['metricRuntimeKilled', 'ShutdownRuntimeKilled', 'Sum'],
  ['metricNoReport', 'ShutdownNoReport', 'Sum'],
  ['metricHandlersOk', 'HandlersOk', 'Sum'],
  ['metricHandlersFailed', 'HandlersFailed', 'Sum'],
  ['metricHandlersTimedOut', 'HandlersTimedOut', 'Sum'],
  ['metricDuration', 'HandlersTotalMs', 'Maximum'],
];

test('the generated metrics equal spec/metrics.json', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(METRICS)), spec);
  assert.equal(GracefulShutdownMetrics.NAMESPACE, 'GracefulShutdown');
  assert.equal(GracefulShutdownMetrics.DIMENSION, 'FunctionName');
  assert.deepEqual(Object.values(spec.metrics).map((m: any) => m.name).sort(), EXPECTED.map(([, n]) => n).sort());
});

test('every metric of the spec is one the extension logs, with its unit, namespace and dimension', () => {
  const source = fs.readFileSync(path.join(REPO_DIR, 'rust', 'extension', 'src', 'metrics.rs'), 'utf8');
  if (source.includes('metrics.json')) {
    // The extension reads the names from the spec: it must use every key of it.
    for (const key of Object.keys(spec.metrics)) assert.ok(source.includes(`"${key}"`), `the extension does not log the spec's ${key}`);
    return;
  }
  // The extension still spells the names out: they must be the spec's.
  assert.ok(source.includes(`"${spec.namespace}"`), `the extension logs another namespace than ${spec.namespace}`);
  assert.ok(source.includes(`[["${spec.dimension}"]]`), `the extension logs another dimension than ${spec.dimension}`);
  for (const m of Object.values(spec.metrics) as Array<{ name: string; unit: string }>) {
    assert.ok(source.includes(`("${m.name}", "${m.unit}")`), `the extension does not log ${m.name} in ${m.unit}`);
  }
});

test('metric helpers: name, namespace, dimension on the function name, statistic, period', () => {
  const stack = unbuiltStack();
  const fn = nodeFunction(stack, 'Fn');
  GracefulShutdown.addTo(fn, { metrics: true });
  const metrics = GracefulShutdown.metrics(fn);
  for (const [method, name, statistic] of EXPECTED) {
    const metric = (metrics[method] as () => Metric).call(metrics);
    assert.ok(metric instanceof Metric, method);
    assert.equal(metric.namespace, 'GracefulShutdown', method);
    assert.equal(metric.metricName, name, method);
    assert.equal(metric.statistic, statistic, method);
    assert.equal(metric.period.toSeconds(), 300, method);
    assert.deepEqual(Object.keys(metric.dimensions ?? {}), ['FunctionName'], method);
    assert.deepEqual(stack.resolve(metric.dimensions!.FunctionName), { Ref: stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction) }, method);
  }
  const custom = metrics.metricRuntimeKilled({ period: Duration.minutes(1), statistic: 'Maximum', label: 'killed' });
  assert.deepEqual([custom.period.toSeconds(), custom.statistic, custom.label], [60, 'Maximum', 'killed']);
});

test('an alarm on a shutdown metric lands in the template', () => {
  const stack = unbuiltStack();
  const fn = nodeFunction(stack, 'Fn');
  GracefulShutdown.addTo(fn, { metrics: true });
  new Alarm(stack, 'Killed', {
    metric: GracefulShutdown.metrics(fn).metricRuntimeKilled(),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  });
  Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'GracefulShutdown',
    MetricName: 'ShutdownRuntimeKilled',
    Statistic: 'Sum',
    Period: 300,
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction) } }],
  });
});

test('the Rust function and the Aspect: metrics when asked', () => {
  const stack = unbuiltStack();
  const rust = new GracefulShutdownFunction(stack, 'Rust', { ...HELLO, gracefulShutdown: { metrics: true } });
  assert.equal(rust.metricsOfShutdown().metricCompleted().metricName, 'ShutdownCompleted');
  const node = nodeFunction(stack, 'Node');
  Aspects.of(stack).add(new GracefulShutdownAspect({ metrics: true }));
  Template.fromStack(stack);
  assert.equal(GracefulShutdownMetrics.of(node).metricDuration().metricName, 'HandlersTotalMs');
});

test('metrics of a function that does not log them are refused, naming `metrics`', () => {
  const stack = unbuiltStack();
  const fn = nodeFunction(stack, 'Fn');
  GracefulShutdown.addTo(fn);
  assert.throws(() => GracefulShutdown.metrics(fn), {
    message: `Function ${fn.node.path} does not log the shutdown metrics (GRACEFUL_SHUTDOWN_METRICS is not set): set \`metrics: true\` `
      + 'in its graceful shutdown options (GracefulShutdown.addTo, GracefulShutdownAspect or GracefulShutdownFunction) to use its metrics.',
  });
  const other = nodeFunction(stack, 'Other');
  other.addEnvironment('GRACEFUL_SHUTDOWN_METRICS', 'off');
  assert.throws(() => GracefulShutdownMetrics.of(other), /GRACEFUL_SHUTDOWN_METRICS is "off"\): set `metrics: true`/);
  assert.throws(() => new GracefulShutdownFunction(stack, 'Rust', { ...HELLO }).metricsOfShutdown(), /does not log the shutdown metrics/);
});
