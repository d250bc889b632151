// A Node.js shop's CDK app, synthesized from the installed package tarball:
// Node.js functions on both architectures, one through addTo (with metrics),
// the other through the Aspect. With LAYER_FROM_SOURCE=1 (for the bench's
// side-by-side figure) the layers are built from the package's Rust sources
// instead, with CARGO_TARGET_DIR (when set) as the build's target directory.
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { GracefulShutdown, GracefulShutdownAspect } from 'cdk-lambda-graceful-shutdown';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'NodeShop');
const layerOptions = process.env.LAYER_FROM_SOURCE === '1'
  ? { fromSource: true, buildEnvironment: process.env.CARGO_TARGET_DIR ? { CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR } : undefined }
  : undefined;
const fn = (id: string, architecture: lambda.Architecture) => new lambda.Function(stack, id, {
  runtime: lambda.Runtime.NODEJS_22_X,
  architecture,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => "ok";'),
});
const orders = fn('Orders', lambda.Architecture.ARM_64);
GracefulShutdown.addTo(orders, { timeout: Duration.millis(200), metrics: true, layerOptions });
GracefulShutdown.metrics(orders).metricRuntimeKilled().createAlarm(stack, 'OrdersKilled', { threshold: 1, evaluationPeriods: 1 });
fn('Billing', lambda.Architecture.X86_64);
Aspects.of(stack).add(new GracefulShutdownAspect({ layerOptions }));
app.synth();
