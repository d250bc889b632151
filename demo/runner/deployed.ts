// Reading a deployed stack back from CloudFormation and S3: the template the
// stack was created from, the function's and the layer's code zips, and the
// function's environment with references resolved to physical names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import AdmZip from 'adm-zip';
import { ACCOUNT, REGION } from './moto';

/** A CloudFormation resource as it appears in a template. */
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

export interface Template {
  readonly Resources: Record<string, Resource>;
}

/** One deployed function, as the demo runs it. */
export interface DeployedFunction {
  readonly logicalId: string;
  readonly physicalId: string;
  /** `Runtime` of the template (`provided.al2023`, `nodejs22.x`, `python3.12`, ...). */
  readonly runtime: string;
  readonly handler: string;
  readonly layerIds: string[];
  /** The function's environment variables, references resolved. */
  readonly env: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

/** What the demo needs to know about the deployed stack. */
export interface Deployment {
  readonly stackStatus: string;
  readonly template: Template;
  readonly outputs: Record<string, string>;
  /** Logical id to physical id of every resource. */
  readonly physicalIds: Record<string, string>;
  /** Every AWS::Lambda::Function of the template. */
  readonly functions: DeployedFunction[];
}

export async function readDeployment(cfn: CloudFormationClient, stackName: string): Promise<Deployment> {
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  if (!stack) throw new Error(`stack ${stackName} not found`);
  const body = (await cfn.send(new GetTemplateCommand({ StackName: stackName }))).TemplateBody ?? '{}';
  const template = JSON.parse(body) as Template;
  const physicalIds: Record<string, string> = {};
  let next: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: next }));
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.LogicalResourceId && r.PhysicalResourceId) physicalIds[r.LogicalResourceId] = r.PhysicalResourceId;
    }
    next = page.NextToken;
  } while (next);
  const functions = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, fn]) => deployedFunction(logicalId, fn, physicalIds));
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? []) if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
  return { stackStatus: stack.StackStatus ?? 'UNKNOWN', template, outputs, physicalIds, functions };
}

function deployedFunction(logicalId: string, fn: Resource, physicalIds: Record<string, string>): DeployedFunction {
  const props = fn.Properties ?? {};
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries<unknown>(props.Environment?.Variables ?? {})) {
    env[name] = typeof value === 'string' ? value : physicalIds[refOf(value, name)] ?? '';
  }
  return {
    logicalId,
    physicalId: physicalIds[logicalId] ?? logicalId,
    runtime: String(props.Runtime ?? ''),
    handler: String(props.Handler ?? ''),
    layerIds: (props.Layers ?? []).map((l: unknown) => refOf(l, `${logicalId} Layers`)),
    env,
    timeoutSeconds: Number(props.Timeout ?? 3),
    memoryMb: Number(props.MemorySize ?? 128),
  };
}

/**
 * The function of the template made by the construct `id` of the stack: the
 * CDK names it `id` followed by an 8-character hash.
 */
export function functionOf(deployment: Deployment, id: string): DeployedFunction {
  const found = deployment.functions.filter((f) => new RegExp(`^${id}[0-9A-F]{8}$`).test(f.logicalId));
  if (found.length !== 1) {
    throw new Error(`expected one function of construct ${id} in the deployed template, found ${found.length} among ${deployment.functions.map((f) => f.logicalId).join(', ')}`);
  }
  return found[0];
}

function refOf(value: unknown, what: string): string {
  if (value && typeof value === 'object' && 'Ref' in value && typeof (value as any).Ref === 'string') return (value as any).Ref;
  throw new Error(`${what}: expected {"Ref": ...} in the template, found ${JSON.stringify(value)}`);
}

/** Where a resource's code zip is in S3 (`Code` of a function, `Content` of a layer). */
export function codeLocation(resource: Resource): { bucket: string; key: string } {
  const code = resource.Properties?.Code ?? resource.Properties?.Content;
  if (!code?.S3Bucket || !code?.S3Key) throw new Error(`${resource.Type} has no S3 code location in the template`);
  return { bucket: resolveSub(code.S3Bucket), key: resolveSub(code.S3Key) };
}

/** Resolves the pseudo parameters the CDK puts in asset locations. */
function resolveSub(value: unknown): string {
  const text = typeof value === 'string' ? value : (value as any)?.['Fn::Sub'];
  if (typeof text !== 'string') throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  return text.replace(/\$\{AWS::AccountId\}/g, ACCOUNT).replace(/\$\{AWS::Region\}/g, REGION).replace(/\$\{AWS::Partition\}/g, 'aws');
}

export async function download(s3: S3Client, location: { bucket: string; key: string }): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  if (!object.Body) throw new Error(`s3://${location.bucket}/${location.key} is empty`);
  return Buffer.from(await object.Body.transformToByteArray());
}

/** One file of a zip, with its Unix mode. */
export interface ZipFile {
  readonly name: string;
  readonly mode: number;
  readonly size: number;
}

export function listZip(zip: Buffer): ZipFile[] {
  return new AdmZip(zip).getEntries().filter((e) => !e.isDirectory).map((e) => ({
    name: e.entryName,
    mode: (e.header.attr >>> 16) & 0o7777,
    size: e.header.size,
  }));
}

/** Unpacks `zip` into `dir`, keeping Unix modes, as Lambda does into /var/task and /opt. */
export function unzip(zip: Buffer, dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const root = path.resolve(dir);
  for (const entry of new AdmZip(zip).getEntries()) {
    const target = path.resolve(root, entry.entryName);
    if (!target.startsWith(root + path.sep)) throw new Error(`zip entry ${entry.entryName} points outside ${dir}`);
    if (entry.isDirectory) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, entry.getData());
    const mode = (entry.header.attr >>> 16) & 0o777;
    fs.chmodSync(target, mode || 0o644);
  }
}
