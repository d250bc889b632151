#!/usr/bin/env node
// The demo CDK app: `pnpm run deploy` (real account) or `pnpm run demo` (local, offline).
//
// Context:
//   -c architecture=arm64|x86_64  architecture of the functions and the layer (default arm64)
//   -c quickBuild=true            the Rust function's release build without LTO or
//                                 optimisation: a cold build in half the time, a
//                                 bigger and slower binary, for running it locally
//                                 (the local demo uses it; the layer is always
//                                 built as it ships)
//
// `cdk-lambda-graceful-shutdown` is the construct library of this repository,
// used from its TypeScript sources (tsconfig.json maps the name to
// construct/src; tsx follows the mapping), so the app needs no jsii build.
// The limits module those sources import is generated from spec/ by
// scripts/generate.mjs and committed, so a fresh clone synthesizes as it is.
import { App } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { DemoStack } from './stack';

export const STACK_NAME = 'GracefulShutdownDemo';

function architectureFrom(value: unknown): Architecture {
  switch (value ?? 'arm64') {
    case 'arm64': return Architecture.ARM_64;
    case 'x86_64': return Architecture.X86_64;
    default:
      throw new Error(`Context \`architecture\` is ${JSON.stringify(value)}: use -c architecture=arm64 or -c architecture=x86_64.`);
  }
}

function flagFrom(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`Context \`${name}\` is ${JSON.stringify(value)}: use -c ${name}=true or -c ${name}=false.`);
}

const app = new App();
const quickBuild = flagFrom('quickBuild', app.node.tryGetContext('quickBuild'));
new DemoStack(app, STACK_NAME, {
  architecture: architectureFrom(app.node.tryGetContext('architecture')),
  buildEnvironment: quickBuild
    ? { CARGO_PROFILE_RELEASE_LTO: 'false', CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '16', CARGO_PROFILE_RELEASE_OPT_LEVEL: '0' }
    : undefined,
  description: 'graceful-shutdown demo: buffered writers in Rust, Node.js and Python that flush their last batch on shutdown',
});
