import * as path from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { GracefulShutdownFunction } from 'cdk-lambda-graceful-shutdown';
import { Construct } from 'constructs';

/** Root of the repository: the Rust workspace the demo builds from. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** The shutdown handlers' budget of the demo function (`GRACEFUL_SHUTDOWN_TIMEOUT_MS`); its port is the default. */
export const DEMO_SHUTDOWN_TIMEOUT_MS = 250;
/** How many writes the demo function buffers before it stores them as one batch (`BATCH_SIZE`). */
export const DEMO_BATCH_SIZE = 10;

export interface DemoStackProps extends StackProps {
  /** Architecture of the function and of the shutdown layer. */
  readonly architecture: Architecture;
  /**
   * Environment of the function's `cargo lambda build` (for example
   * `CARGO_PROFILE_RELEASE_LTO=false` for a quicker local build). The layer is
   * not affected: it is always built with the workspace's size-tuned `extension`
   * cargo profile, as it ships.
   *
   * @default - none
   */
  readonly buildEnvironment?: Record<string, string>;
}

/**
 * The demo: a DynamoDB table, and a Rust function that buffers writes in
 * memory and stores them in batches, with the shutdown layer attached so that
 * its last batch is written on shutdown instead of being lost.
 */
export class DemoStack extends Stack {
  public readonly table: Table;
  public readonly function: GracefulShutdownFunction;

  constructor(scope: Construct, id: string, props: DemoStackProps) {
    super(scope, id, props);

    this.table = new Table(this, 'Writes', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = new GracefulShutdownFunction(this, 'BufferedWriter', {
      manifestPath: path.join(REPO_ROOT, 'rust', 'demo-function', 'Cargo.toml'),
      binaryName: 'bootstrap',
      architecture: props.architecture,
      memorySize: 128,
      timeout: Duration.seconds(10),
      description: 'Buffers writes and stores them in DynamoDB in batches; flushes the last batch on shutdown.',
      environment: {
        TABLE_NAME: this.table.tableName,
        BATCH_SIZE: String(DEMO_BATCH_SIZE),
      },
      bundling: { environment: props.buildEnvironment },
      gracefulShutdown: {
        timeout: Duration.millis(DEMO_SHUTDOWN_TIMEOUT_MS),
        layerOptions: {
          // Build the layer from this workspace (shares its Cargo build cache).
          manifestPath: path.join(REPO_ROOT, 'rust', 'extension', 'Cargo.toml'),
          description: 'graceful-shutdown: runs shutdown handlers on SIGTERM and reports the verdict',
        },
      },
    });
    this.table.grantWriteData(this.function);

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'FunctionName', { value: this.function.functionName });
  }
}
