import * as path from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { GracefulShutdown, GracefulShutdownFunction } from 'cdk-lambda-graceful-shutdown';
import { Construct } from 'constructs';
import { nodeFunctionCode, pythonFunctionCode } from './function-code';

/** Root of the repository: the Rust workspace the demo builds from. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** The shutdown handlers' budget of the demo function (`GRACEFUL_SHUTDOWN_TIMEOUT_MS`); its port is the default. */
export const DEMO_SHUTDOWN_TIMEOUT_MS = 250;
/** How many writes the demo function buffers before it stores them as one batch (`BATCH_SIZE`). */
export const DEMO_BATCH_SIZE = 10;

export interface DemoStackProps extends StackProps {
  /** Architecture of the functions and of the shutdown layer. */
  readonly architecture: Architecture;
  /**
   * Environment of the Rust function's `cargo lambda build` (for example
   * `CARGO_PROFILE_RELEASE_LTO=false` for a quicker local build). The layer is
   * not affected: it is always built with the workspace's size-tuned `extension`
   * cargo profile, as it ships.
   *
   * @default - none
   */
  readonly buildEnvironment?: Record<string, string>;
}

/** The demo's functions by language, with their construct ids. */
export const DEMO_FUNCTIONS = {
  rust: 'BufferedWriter',
  nodejs: 'NodeBufferedWriter',
  python: 'PythonBufferedWriter',
} as const;
export type DemoLanguage = keyof typeof DEMO_FUNCTIONS;

/**
 * The demo: a DynamoDB table, and three functions, in Rust, Node.js and
 * Python, that buffer writes in memory and store them in batches, each with
 * the shutdown layer attached and this repository's library for its
 * language, so that the last batch is written on shutdown instead of being lost.
 */
export class DemoStack extends Stack {
  public readonly table: Table;
  public readonly function: GracefulShutdownFunction;
  public readonly nodeFunction: LambdaFunction;
  public readonly pythonFunction: LambdaFunction;

  constructor(scope: Construct, id: string, props: DemoStackProps) {
    super(scope, id, props);

    this.table = new Table(this, 'Writes', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const environment = { TABLE_NAME: this.table.tableName, BATCH_SIZE: String(DEMO_BATCH_SIZE) };
    // The Rust function comes first: it creates the stack's shared layer,
    // which the other two then get from GracefulShutdown.addTo().
    this.function = new GracefulShutdownFunction(this, DEMO_FUNCTIONS.rust, {
      manifestPath: path.join(REPO_ROOT, 'demo', 'functions', 'rust', 'Cargo.toml'),
      binaryName: 'bootstrap',
      architecture: props.architecture,
      memorySize: 128,
      timeout: Duration.seconds(10),
      description: 'Buffers writes and stores them in DynamoDB in batches; flushes the last batch on shutdown.',
      environment,
      bundling: { environment: props.buildEnvironment },
      gracefulShutdown: {
        timeout: Duration.millis(DEMO_SHUTDOWN_TIMEOUT_MS),
        // The handoff flavour: a shutdown handler can hand its last batch to
        // the layer (SHUTDOWN_FLUSH=handoff), for a store too slow for the
        // runtime's share of the shutdown phase.
        handoff: true,
        layerOptions: {
          // Build the layer from this workspace (shares its Cargo build cache).
          manifestPath: path.join(REPO_ROOT, 'rust', 'extension', 'Cargo.toml'),
          description: 'graceful-shutdown: runs shutdown handlers on SIGTERM and reports the verdict',
        },
      },
    });
    this.table.grantWriteData(this.function);

    const managed = (id: string, runtime: Runtime, handler: string, code: Code, language: string) => {
      const fn = new LambdaFunction(this, id, {
        runtime,
        handler,
        code,
        architecture: props.architecture,
        // 1024 MB: Lambda gives a function CPU in proportion to its memory
        // (1769 MB is one vCPU), and the emulator applies that share. At 128 MB
        // (7 % of a vCPU) importing an AWS SDK takes seconds and its first
        // request eats much of the 250 ms budget; real functions of these
        // runtimes that write to DynamoDB commonly run at 512-1024 MB.
        memorySize: 1024,
        timeout: Duration.seconds(10),
        description: `Buffers writes and stores them in DynamoDB in batches; flushes the last batch on shutdown (${language}).`,
        environment,
      });
      GracefulShutdown.addTo(fn, { timeout: Duration.millis(DEMO_SHUTDOWN_TIMEOUT_MS), handoff: true });
      this.table.grantWriteData(fn);
      return fn;
    };
    this.nodeFunction = managed(DEMO_FUNCTIONS.nodejs, Runtime.NODEJS_22_X, 'index.handler', nodeFunctionCode(), 'Node.js');
    this.pythonFunction = managed(DEMO_FUNCTIONS.python, Runtime.PYTHON_3_12, 'app.handler', pythonFunctionCode(), 'Python');

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'FunctionName', { value: this.function.functionName });
    new CfnOutput(this, 'NodeFunctionName', { value: this.nodeFunction.functionName });
    new CfnOutput(this, 'PythonFunctionName', { value: this.pythonFunction.functionName });
  }
}
