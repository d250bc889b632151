#!/usr/bin/env node
// Checks the template a packed-artifact app synthesized:
//   check-template.js <cdk.out> <stack> <installed package dir>
// Two shutdown layers (arm64, x86_64) whose staged assets are the package's
// prebuilt zips byte for byte; "Orders" (arm64, addTo: 200 ms, metrics) and
// "Billing" (x86_64, the Aspect: defaults) each reference the layer of their
// architecture and set both variables; the alarm is on the shutdown metric.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const [outdir, stackName, pkgDir] = process.argv.slice(2);
const template = JSON.parse(fs.readFileSync(path.join(outdir, `${stackName}.template.json`), 'utf8'));
const resources = Object.entries(template.Resources);
const ofType = (type) => resources.filter(([, r]) => r.Type === type);

const layers = Object.fromEntries(ofType('AWS::Lambda::LayerVersion').map(([id, r]) => [r.Properties.CompatibleArchitectures[0], { id, r }]));
assert.deepEqual(Object.keys(layers).sort(), ['arm64', 'x86_64'], 'one shutdown layer per architecture');
for (const [arch, { r }] of Object.entries(layers)) {
  const staged = path.join(outdir, `asset.${r.Properties.Content.S3Key}`);
  assert.ok(fs.readFileSync(staged).equals(fs.readFileSync(path.join(pkgDir, 'layers', `graceful-shutdown-${arch}.zip`))),
    `${arch}: the layer asset is the package's prebuilt zip`);
  assert.equal(r.Properties.LicenseInfo, 'Apache-2.0');
}

const fns = Object.fromEntries(ofType('AWS::Lambda::Function').map(([id, r]) => [id.replace(/[0-9A-F]{8}$/, ''), { id, r }]));
const expected = {
  Orders: { arch: 'arm64', env: { GRACEFUL_SHUTDOWN_PORT: '4471', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '200', GRACEFUL_SHUTDOWN_METRICS: 'emf' } },
  Billing: { arch: 'x86_64', env: { GRACEFUL_SHUTDOWN_PORT: '4471', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '250' } },
};
assert.deepEqual(Object.keys(fns).sort(), Object.keys(expected).sort());
for (const [name, { arch, env }] of Object.entries(expected)) {
  const { r } = fns[name];
  assert.deepEqual(r.Properties.Architectures, [arch], name);
  assert.deepEqual(r.Properties.Layers, [{ Ref: layers[arch].id }], `${name} references the ${arch} layer`);
  assert.deepEqual(r.Properties.Environment.Variables, env, `${name}'s variables`);
}

const alarms = ofType('AWS::CloudWatch::Alarm');
assert.equal(alarms.length, 1);
const alarm = alarms[0][1].Properties;
assert.deepEqual([alarm.Namespace, alarm.MetricName, alarm.Statistic], ['GracefulShutdown', 'ShutdownRuntimeKilled', 'Sum']);
assert.deepEqual(alarm.Dimensions, [{ Name: 'FunctionName', Value: { Ref: fns.Orders.id } }]);
console.log(`${stackName}: 2 prebuilt layers, ${Object.keys(fns).join(' and ')} with the layer of their architecture and both variables, the alarm`);
