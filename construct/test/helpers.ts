import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';

/** The package directory (tests run from `.test-build/`). */
export const PKG_DIR = path.resolve(__dirname, '..');
/** The repository root. */
export const REPO_DIR = path.resolve(PKG_DIR, '..');
/** A function crate with no dependencies, for the real builds. */
export const HELLO_FUNCTION = path.join(PKG_DIR, 'test', 'fixtures', 'hello-function');
/** Props that build the fixture (its own workspace, so cargo-lambda-cdk needs the binary's name). */
export const HELLO = { manifestPath: HELLO_FUNCTION, binaryName: 'hello-function' } as const;

/** A stack whose Rust assets are not built (fast synth-only tests). */
export function unbuiltStack(app?: App): Stack {
  const theApp = app ?? new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(theApp, `Test${theApp.node.children.length}`, {
    env: { account: '123456789012', region: 'us-east-1' },
  });
}
