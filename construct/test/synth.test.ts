// Synthesis without building anything (context `aws:cdk:bundling-stacks: []`):
// what the constructs put in the template, and every validation error.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, Aspects, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Repository } from 'aws-cdk-lib/aws-ecr';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  GracefulShutdown, GracefulShutdownAspect, GracefulShutdownFunction, GracefulShutdownLayer, ShutdownLimits,
} from '../lib';
import { HELLO, unbuiltStack } from './helpers';

function nodeFunction(stack: Stack, id: string, architecture?: lambda.Architecture): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => "ok";'),
    architecture,
  });
}

function layerIds(template: Template, architecture: string): string[] {
  return Object.keys(template.findResources('AWS::Lambda::LayerVersion', {
    Properties: { CompatibleArchitectures: [architecture] },
  }));
}

function envOf(template: Template, logicalIdPrefix: string): Record<string, string> {
  const fns = template.findResources('AWS::Lambda::Function');
  const id = Object.keys(fns).find((k) => k.startsWith(logicalIdPrefix));
  assert.ok(id, `no function ${logicalIdPrefix}* in ${Object.keys(fns).join(', ')}`);
  return fns[id].Properties.Environment?.Variables ?? {};
}

test('the layer: arm64 by default, licensed, described', () => {
  const stack = unbuiltStack();
  const layer = GracefulShutdownLayer.forArchitecture(stack);
  assert.equal(layer.architecture.name, 'arm64');
  assert.equal(layer.extensionName, 'graceful-shutdown');
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
  template.hasResourceProperties('AWS::Lambda::LayerVersion', {
    CompatibleArchitectures: ['arm64'],
    LicenseInfo: 'Apache-2.0',
    Description: Match.stringLikeRegexp('^Graceful shutdown extension for AWS Lambda \\(arm64\\)'),
    Content: { S3Bucket: Match.anyValue(), S3Key: Match.stringLikeRegexp('\\.zip$') },
  });
});

test('the layer for x86_64, and one layer per architecture per stack', () => {
  const stack = unbuiltStack();
  const x86 = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.X86_64);
  assert.equal(GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.X86_64), x86);
  const arm = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64, { layerVersionName: 'shutdown-arm' });
  assert.notEqual(arm, x86);
  assert.equal(GracefulShutdownLayer.forArchitecture(stack), arm);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
  template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['x86_64'] });
  template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'], LayerName: 'shutdown-arm' });
});

test('a Rust function: al2023, arm64, bootstrap, the layer and both variables with defaults', () => {
  const stack = unbuiltStack();
  const fn = new GracefulShutdownFunction(stack, 'Fn', { ...HELLO });
  assert.equal(fn.architecture.name, 'arm64');
  assert.equal(fn.gracefulShutdownLayer.architecture.name, 'arm64');
  const template = Template.fromStack(stack);
  const [layerId] = layerIds(template, 'arm64');
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'provided.al2023',
    Architectures: ['arm64'],
    Handler: 'bootstrap',
    Layers: [{ Ref: layerId }],
    Environment: { Variables: { GRACEFUL_SHUTDOWN_PORT: '4471', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '250' } },
  });
  assert.equal(envOf(template, 'Fn').GRACEFUL_SHUTDOWN_METRICS, undefined);
});

test('a Rust function with typed settings, x86_64 and its own variables', () => {
  const stack = unbuiltStack();
  new GracefulShutdownFunction(stack, 'Fn', {
    ...HELLO,
    architecture: lambda.Architecture.X86_64,
    timeout: Duration.seconds(10),
    environment: { TABLE: 'orders' },
    gracefulShutdown: { port: 20000, timeout: Duration.millis(180), metrics: true },
  });
  const template = Template.fromStack(stack);
  const [layerId] = layerIds(template, 'x86_64');
  template.hasResourceProperties('AWS::Lambda::Function', {
    Architectures: ['x86_64'],
    Timeout: 10,
    Layers: [{ Ref: layerId }],
    Environment: {
      Variables: {
        TABLE: 'orders',
        GRACEFUL_SHUTDOWN_PORT: '20000',
        GRACEFUL_SHUTDOWN_TIMEOUT_MS: '180',
        GRACEFUL_SHUTDOWN_METRICS: 'emf',
      },
    },
  });
});

test('the bundling architecture alone picks the function architecture', () => {
  const stack = unbuiltStack();
  const fn = new GracefulShutdownFunction(stack, 'Fn', {
    ...HELLO,
    bundling: { architecture: lambda.Architecture.X86_64 },
  });
  assert.equal(fn.architecture.name, 'x86_64');
  assert.equal(fn.gracefulShutdownLayer.architecture.name, 'x86_64');
});

test('architecture and bundling architecture must agree', () => {
  assert.throws(() => new GracefulShutdownFunction(unbuiltStack(), 'Fn', {
    ...HELLO,
    architecture: lambda.Architecture.X86_64,
    bundling: { architecture: lambda.Architecture.ARM_64 },
  }), { message: '`architecture` is x86_64 but `bundling.architecture` is arm64: set only `architecture` (the function is built for it).' });
});

test('many functions of both architectures share one layer per architecture', () => {
  const stack = unbuiltStack();
  for (let i = 0; i < 3; i++) new GracefulShutdownFunction(stack, `Rust${i}`, { ...HELLO });
  GracefulShutdown.addTo(nodeFunction(stack, 'NodeArm', lambda.Architecture.ARM_64));
  GracefulShutdown.addTo(nodeFunction(stack, 'NodeX86', lambda.Architecture.X86_64));
  new GracefulShutdownFunction(stack, 'RustX86', { ...HELLO, architecture: lambda.Architecture.X86_64 });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
  const [arm] = layerIds(template, 'arm64');
  const [x86] = layerIds(template, 'x86_64');
  const fns = template.findResources('AWS::Lambda::Function');
  const layersOf = (prefix: string) => Object.entries(fns).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v.Properties.Layers);
  assert.deepEqual(layersOf('Rust').filter((l) => l[0].Ref === arm).length, 3);
  assert.deepEqual(layersOf('RustX86'), [[{ Ref: x86 }]]);
  assert.deepEqual(layersOf('NodeArm'), [[{ Ref: arm }]]);
  assert.deepEqual(layersOf('NodeX86'), [[{ Ref: x86 }]]);
});

test('two stacks of one app use the same layer asset', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const a = unbuiltStack(app);
  const b = unbuiltStack(app);
  GracefulShutdown.addTo(nodeFunction(a, 'Fn'));
  GracefulShutdown.addTo(nodeFunction(b, 'Fn'));
  const keyOf = (s: Stack) => Object.values(Template.fromStack(s).findResources('AWS::Lambda::LayerVersion'))[0].Properties.Content.S3Key;
  assert.equal(keyOf(a), keyOf(b));
});

test('addTo any runtime keeps existing layers and variables', () => {
  const stack = unbuiltStack();
  const fn = new lambda.Function(stack, 'Py', {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(e, c): return "ok"'),
    environment: { KEEP: 'me' },
    layers: [lambda.LayerVersion.fromLayerVersionArn(stack, 'Other', 'arn:aws:lambda:us-east-1:123456789012:layer:other:1')],
  });
  const layer = GracefulShutdown.addTo(fn, { port: 5000, timeout: Duration.millis(280) });
  assert.equal(layer.architecture.name, 'x86_64');
  assert.ok(GracefulShutdown.isAdded(fn));
  const template = Template.fromStack(stack);
  const [x86] = layerIds(template, 'x86_64');
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'python3.12',
    Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:other:1', { Ref: x86 }],
    Environment: { Variables: { KEEP: 'me', GRACEFUL_SHUTDOWN_PORT: '5000', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '280' } },
  });
});

test('the Aspect adds graceful shutdown to every function in scope, and skips those that have it', () => {
  const stack = unbuiltStack();
  nodeFunction(stack, 'NodeArm', lambda.Architecture.ARM_64);
  nodeFunction(stack, 'NodeX86');
  new lambda.Function(stack, 'Java', {
    runtime: lambda.Runtime.JAVA_21,
    handler: 'example.Handler',
    code: lambda.Code.fromBucket(Bucket.fromBucketName(stack, 'Jars', 'jars'), 'app.jar'),
    architecture: lambda.Architecture.ARM_64,
  });
  new GracefulShutdownFunction(stack, 'Rust', { ...HELLO, gracefulShutdown: { port: 6000 } });
  nodeFunction(stack, 'Manual').addEnvironment('GRACEFUL_SHUTDOWN_PORT', '5555');
  Aspects.of(stack).add(new GracefulShutdownAspect({ timeout: Duration.millis(100) }));
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
  const [arm] = layerIds(template, 'arm64');
  const [x86] = layerIds(template, 'x86_64');
  for (const [id, layer] of [['NodeArm', arm], ['NodeX86', x86], ['Java', arm]]) {
    assert.deepEqual(envOf(template, id), { GRACEFUL_SHUTDOWN_PORT: '4471', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '100' }, id);
    const fn = Object.entries(template.findResources('AWS::Lambda::Function')).find(([k]) => k.startsWith(id))!;
    assert.deepEqual(fn[1].Properties.Layers, [{ Ref: layer }], id);
  }
  // Wired by hand: left alone.
  assert.deepEqual(envOf(template, 'Manual'), { GRACEFUL_SHUTDOWN_PORT: '5555' });
  const manual = Object.entries(template.findResources('AWS::Lambda::Function')).find(([k]) => k.startsWith('Manual'))!;
  assert.equal(manual[1].Properties.Layers, undefined);
  // Already had it: its own settings stay, and the layer is not added twice.
  assert.deepEqual(envOf(template, 'Rust'), { GRACEFUL_SHUTDOWN_PORT: '6000', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '250' });
  template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Layers: [{ Ref: arm }] });
});

// ---- validation: every error names the property and the fix ----

function addWith(options: Parameters<typeof GracefulShutdown.addTo>[1]): void {
  GracefulShutdown.addTo(nodeFunction(unbuiltStack(), 'Fn'), options);
}

test('port out of range', () => {
  for (const port of [80, 1023, 65536, 70000, 4471.5]) {
    assert.throws(() => addWith({ port }), {
      message: `\`port\` is ${port}, which is not a port number from 1024 to 65535: `
        + 'set `port` to a whole number in that range, or leave it unset for the default 4471.',
    }, String(port));
  }
});

test('port reserved: names who uses it', () => {
  for (const { port, usedBy } of ShutdownLimits.reservedPorts()) {
    assert.throws(() => addWith({ port }), {
      message: `\`port\` is ${port}, which is used by ${usedBy}: set \`port\` to another port `
        + '(not 9001, 8080, 2772, 2773, 4317, 4318, 8124, 8125, 8126), or leave it unset for the default 4471.',
    }, String(port));
  }
  assert.throws(() => addWith({ port: 9001 }), /used by the Lambda Runtime API/);
  assert.throws(() => addWith({ port: 8080 }), /used by the AWS Lambda Web Adapter/);
});

test('timeout not positive', () => {
  assert.throws(() => addWith({ timeout: Duration.millis(0) }), {
    message: '`timeout` is 0 ms, but it must be positive: set `timeout` from Duration.millis(1) to Duration.millis(280), '
      + 'or leave it unset for the default 250 ms.',
  });
});

test('timeout beyond the runtime share of the shutdown phase', () => {
  for (const [timeout, ms] of [[Duration.millis(281), 281], [Duration.millis(300), 300], [Duration.seconds(1), 1000]] as const) {
    assert.throws(() => addWith({ timeout }), {
      message: `\`timeout\` is ${ms} ms, beyond 280 ms: the runtime's 300 ms share of the shutdown phase `
        + 'less 20 ms for the last reports and the exit '
        + '(Lambda kills the runtime after its share, so the handlers would be cut off): '
        + 'set `timeout` from Duration.millis(1) to Duration.millis(280), or leave it unset for the default 250 ms.',
    });
  }
  assert.throws(() => addWith({ timeout: Duration.millis(2.5) }), /^Error: `timeout` is 2.5 ms, which is not a whole number of milliseconds/);
});

test('port and timeout must be known at synth time, not tokens', () => {
  const port = Lazy.number({ produce: () => 5000 });
  const portMessage = '`port` must be a plain number known at synth time, not a token: set `port` to a number '
    + `from ${ShutdownLimits.MIN_PORT} to ${ShutdownLimits.MAX_PORT} (default ${ShutdownLimits.DEFAULT_PORT}).`;
  assert.throws(() => addWith({ port }), { message: portMessage });
  assert.throws(() => new GracefulShutdownAspect({ port }), { message: portMessage });
  const timeout = Duration.millis(Lazy.number({ produce: () => 100 }));
  const timeoutMessage = '`timeout` must be known at synth time, not a token: set `timeout` '
    + `from Duration.millis(${ShutdownLimits.MIN_TIMEOUT_MS}) to Duration.millis(${ShutdownLimits.MAX_TIMEOUT_MS}) `
    + `(default ${ShutdownLimits.DEFAULT_TIMEOUT_MS} ms).`;
  assert.throws(() => addWith({ timeout }), { message: timeoutMessage });
  assert.throws(() => new GracefulShutdownFunction(unbuiltStack(), 'Fn', { ...HELLO, gracefulShutdown: { timeout } }), { message: timeoutMessage });
});

test('timeout in fractions of a millisecond', () => {
  for (const [timeout, ms] of [[Duration.millis(2.5), 2.5], [Duration.seconds(0.1005), 100.5]] as const) {
    assert.throws(() => addWith({ timeout }), {
      message: `\`timeout\` is ${ms} ms, which is not a whole number of milliseconds: set \`timeout\` `
        + `from Duration.millis(${ShutdownLimits.MIN_TIMEOUT_MS}) to Duration.millis(${ShutdownLimits.MAX_TIMEOUT_MS}).`,
    }, String(ms));
  }
});

test('the function construct and the Aspect check their settings too', () => {
  assert.throws(() => new GracefulShutdownFunction(unbuiltStack(), 'Fn', {
    ...HELLO, gracefulShutdown: { port: 2773 },
  }), /^Error: `port` is 2773, which is used by the AWS Parameters and Secrets extension/);
  assert.throws(() => new GracefulShutdownAspect({ timeout: Duration.millis(500) }), /^Error: `timeout` is 500 ms, beyond/);
});

test('layer and function architecture mismatch', () => {
  const stack = unbuiltStack();
  const x86 = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.X86_64);
  const fn = nodeFunction(stack, 'Fn', lambda.Architecture.ARM_64);
  assert.throws(() => GracefulShutdown.addTo(fn, { layer: x86 }), {
    message: `\`layer\` is built for x86_64 but function ${fn.node.path} runs on arm64: `
      + 'pass GracefulShutdownLayer.forArchitecture(scope, Architecture.ARM_64) as `layer`, or leave `layer` unset to pick the right one.',
  });
});

function imageFunction(stack: Stack): lambda.DockerImageFunction {
  return new lambda.DockerImageFunction(stack, 'Image', {
    code: lambda.DockerImageCode.fromEcr(Repository.fromRepositoryName(stack, 'Repo', 'app')),
  });
}

test('container-image functions: say to put the extension in the image', () => {
  const stack = unbuiltStack();
  const fn = imageFunction(stack);
  const expected = `Function ${fn.node.path} is a container image, and layers do not apply to container images: `
    + 'copy the extension into the image at /opt/extensions/graceful-shutdown (an executable file), '
    + 'set GRACEFUL_SHUTDOWN_PORT and GRACEFUL_SHUTDOWN_TIMEOUT_MS in the image or the function\'s environment, '
    + 'and do not call GracefulShutdown.addTo() (or GracefulShutdownAspect) on it.';
  assert.throws(() => GracefulShutdown.addTo(fn), { message: expected });
  // The Aspect fails the synth the same way...
  Aspects.of(stack).add(new GracefulShutdownAspect());
  assert.throws(() => Template.fromStack(stack), (e: Error) => e.message.includes(expected));
  // ...unless told to skip container images, which leaves a warning.
  const other = unbuiltStack();
  imageFunction(other);
  nodeFunction(other, 'Zip');
  Aspects.of(other).add(new GracefulShutdownAspect({ skipContainerImages: true }));
  const template = Template.fromStack(other);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
  const warnings = Annotations.fromStack(other).findWarning('*', Match.stringLikeRegexp('copy the extension into the image at /opt/extensions/graceful-shutdown'));
  assert.deepEqual(warnings.map((w) => w.id), [`/${other.stackName}/Image`]);
});

test('a function with no room for another layer', () => {
  const stack = unbuiltStack();
  const fn = nodeFunction(stack, 'Fn');
  for (let i = 0; i < 5; i++) fn.addLayers(lambda.LayerVersion.fromLayerVersionArn(stack, `L${i}`, `arn:aws:lambda:us-east-1:123456789012:layer:l${i}:1`));
  assert.throws(() => GracefulShutdown.addTo(fn), {
    message: `Function ${fn.node.path} already has 5 layers, the most Lambda allows, so the shutdown layer cannot be added: `
      + 'merge or remove one of its layers first.',
  });
});

test('a function that already runs 10 extensions', () => {
  const stack = unbuiltStack();
  const fn = nodeFunction(stack, 'Fn');
  fn.addLayers(lambda.LayerVersion.fromLayerVersionArn(stack, 'Many', 'arn:aws:lambda:us-east-1:123456789012:layer:many:1'));
  assert.throws(() => GracefulShutdown.addTo(fn, { extensionsInOtherLayers: 10 }), {
    message: `Function ${fn.node.path} already runs 10 external extensions (\`extensionsInOtherLayers\`), `
      + 'the most Lambda allows (10), so the shutdown extension cannot be added: remove an extension first.',
  });
  for (const count of [-1, 2.5, Number.NaN]) {
    assert.throws(() => GracefulShutdown.addTo(fn, { extensionsInOtherLayers: count }), {
      message: `\`extensionsInOtherLayers\` is ${count}, which is not a count: set it to the number of external extensions `
        + 'the function already runs from its other layers (0 or more), or leave it unset to count one per layer.',
    }, String(count));
  }
  GracefulShutdown.addTo(fn, { extensionsInOtherLayers: 9 });
  assert.equal(Template.fromStack(stack).findResources('AWS::Lambda::Function')[Object.keys(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0]].Properties.Layers.length, 2);
});

test('adding twice is refused', () => {
  const fn = nodeFunction(unbuiltStack(), 'Fn');
  GracefulShutdown.addTo(fn);
  const message = (path: string) => `Function ${path} already has graceful shutdown (added before, or GRACEFUL_SHUTDOWN_PORT set in its environment): `
    + 'add it once per function, and let GracefulShutdown.addTo() set the variables.';
  assert.throws(() => GracefulShutdown.addTo(fn), { message: message(fn.node.path) });
  const manual = nodeFunction(unbuiltStack(), 'Manual');
  manual.addEnvironment('GRACEFUL_SHUTDOWN_PORT', '4471');
  assert.throws(() => GracefulShutdown.addTo(manual), { message: message(manual.node.path) });
});

test('handoff: its own shared layer per architecture, beside the default one', () => {
  const stack = unbuiltStack();
  const plain = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64);
  const handoff = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64, { handoff: true });
  const handoffX86 = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.X86_64, { handoff: true });
  assert.notEqual(handoff, plain);
  assert.equal(GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64, { handoff: true }), handoff);
  assert.equal(GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64, { handoff: false }), plain);
  assert.equal(GracefulShutdownLayer.forArchitecture(stack), plain);
  // The default layer keeps the id it always had (no replacement on upgrade).
  assert.deepEqual([plain.node.id, handoff.node.id, handoffX86.node.id],
    ['GracefulShutdownLayer-aarch64', 'GracefulShutdownLayer-handoff-aarch64', 'GracefulShutdownLayer-handoff-x86_64']);
  assert.deepEqual([plain.handoff, handoff.handoff, handoffX86.handoff], [false, true, true]);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 3);
  template.hasResourceProperties('AWS::Lambda::LayerVersion', {
    CompatibleArchitectures: ['arm64'],
    Description: 'Graceful shutdown extension for AWS Lambda (arm64): makes SIGTERM reach the function and reports what its shutdown handlers did.',
  });
  template.hasResourceProperties('AWS::Lambda::LayerVersion', {
    CompatibleArchitectures: ['arm64'],
    Description: 'Graceful shutdown extension for AWS Lambda (arm64, handoff): makes SIGTERM reach the function and reports what its '
      + 'shutdown handlers did, and sends the requests it hands off.',
  });
  const keys = Object.values(template.findResources('AWS::Lambda::LayerVersion')).map((l) => l.Properties.Content.S3Key);
  assert.equal(new Set(keys).size, 3, 'three different zips');
});

test('handoff: addTo, the function construct and the Aspect pick the handoff layer', () => {
  const stack = unbuiltStack();
  const withHandoff = nodeFunction(stack, 'NodeHandoff', lambda.Architecture.ARM_64);
  const layer = GracefulShutdown.addTo(withHandoff, { handoff: true });
  assert.equal(layer.handoff, true);
  assert.equal(GracefulShutdown.addTo(nodeFunction(stack, 'NodeViaOptions', lambda.Architecture.ARM_64), { layerOptions: { handoff: true } }), layer);
  assert.equal(GracefulShutdown.addTo(nodeFunction(stack, 'NodeGiven', lambda.Architecture.ARM_64), { layer, handoff: true }), layer);
  const plain = GracefulShutdown.addTo(nodeFunction(stack, 'NodePlain', lambda.Architecture.ARM_64));
  assert.equal(plain.handoff, false);
  const rust = new GracefulShutdownFunction(stack, 'Rust', { ...HELLO, gracefulShutdown: { handoff: true } });
  assert.equal(rust.gracefulShutdownLayer, layer);
  nodeFunction(stack, 'NodeX86', lambda.Architecture.X86_64);
  Aspects.of(stack).add(new GracefulShutdownAspect({ handoff: true }));
  const template = Template.fromStack(stack);
  const fns = template.findResources('AWS::Lambda::Function');
  const layersOf = (prefix: string) => Object.entries(fns).find(([k]) => k.startsWith(prefix))![1].Properties.Layers;
  const handoffArm = stack.getLogicalId(layer.node.defaultChild as lambda.CfnLayerVersion);
  for (const id of ['NodeHandoff', 'NodeViaOptions', 'NodeGiven', 'Rust']) assert.deepEqual(layersOf(id), [{ Ref: handoffArm }], id);
  assert.deepEqual(layersOf('NodePlain'), [{ Ref: stack.getLogicalId(plain.node.defaultChild as lambda.CfnLayerVersion) }]);
  const x86 = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.X86_64, { handoff: true });
  assert.deepEqual(layersOf('NodeX86'), [{ Ref: stack.getLogicalId(x86.node.defaultChild as lambda.CfnLayerVersion) }]);
  // No variable of its own: the flavour is the layer.
  assert.deepEqual(envOf(template, 'NodeHandoff'), { GRACEFUL_SHUTDOWN_PORT: '4471', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '250' });
});

test('handoff: contradictory settings are refused by name', () => {
  const stack = unbuiltStack();
  const plain = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64);
  const handoff = GracefulShutdownLayer.forArchitecture(stack, lambda.Architecture.ARM_64, { handoff: true });
  const fn = () => nodeFunction(unbuiltStack(), 'Fn', lambda.Architecture.ARM_64);
  assert.throws(() => GracefulShutdown.addTo(fn(), { handoff: true, layerOptions: { handoff: false } }), {
    message: '`handoff` is true but `layerOptions.handoff` is false: they choose the same thing, the flavour of the layer; set only `handoff`.',
  });
  assert.throws(() => GracefulShutdown.addTo(fn(), { handoff: true, layer: plain }), {
    message: '`handoff` is true but `layer` is the default layer, which refuses a handoff: '
      + 'pass a layer made with `handoff: true` (GracefulShutdownLayer.forArchitecture(scope, architecture, { handoff: true })) as `layer`, '
      + 'or leave `layer` unset to get the handoff layer, or unset `handoff` to use `layer` as it is.',
  });
  assert.throws(() => GracefulShutdown.addTo(fn(), { handoff: false, layer: handoff }), {
    message: '`handoff` is false but `layer` is the handoff layer: '
      + 'pass a layer made with `handoff: false` (GracefulShutdownLayer.forArchitecture(scope, architecture, { handoff: false })) as `layer`, '
      + 'or leave `layer` unset to get the default layer, which refuses a handoff, or unset `handoff` to use `layer` as it is.',
  });
  assert.throws(() => GracefulShutdown.addTo(fn(), { layerOptions: { handoff: true }, layer: plain }),
    /^Error: `layerOptions.handoff` is true but `layer` is the default layer, which refuses a handoff: /);
  assert.throws(() => new GracefulShutdownAspect({ handoff: false, layerOptions: { handoff: true } }),
    /^Error: `handoff` is false but `layerOptions.handoff` is true: /);
  assert.throws(() => new GracefulShutdownFunction(unbuiltStack(), 'Rust', { ...HELLO, gracefulShutdown: { handoff: true, layer: plain } }),
    /^Error: `handoff` is true but `layer` is the default layer/);
  // A given layer without `handoff` is used as it is, whatever its flavour.
  assert.equal(GracefulShutdown.addTo(nodeFunction(stack, 'Given', lambda.Architecture.ARM_64), { layer: handoff }), handoff);
});
