/**
 * The request for one call of an AWS JSON-protocol API (DynamoDB, SQS,
 * Kinesis, …), for `handoff` (handoff.ts) to hand to the extension, which
 * signs it with SigV4 at each attempt (docs/protocol.md, Handoff, "The
 * libraries"). Pure: the endpoint and the region come from the arguments and
 * the environment, the same rules and the same words as the other libraries
 * (spec/vectors/handoff.json, `aws`). Part of the package's main file: no
 * imports, nothing run at import.
 */
import type { HandoffRequest } from './handoff.js';

/** Options of `awsJsonRequest`. */
export interface AwsJsonRequestOptions {
  /** The signing name of the service, `"dynamodb"`, `"sqs"`, `"kinesis"`. */
  service: string;
  /** The `x-amz-target`, `"DynamoDB_20120810.BatchWriteItem"`. */
  target: string;
  /** The JSON text of the call. */
  body: string | Uint8Array;
  /** The region; else `AWS_REGION`, else `AWS_DEFAULT_REGION`. */
  region?: string;
  /** Your name for the request (`HandoffRequest.id`). */
  id?: string;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function text(what: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`awsJsonRequest: ${what}: expected a string, got ${kindOf(value)}`);
  return value;
}

/**
 * The request for one call of an AWS JSON-protocol API, signed by the
 * extension: `POST` of `body` with `content-type: application/x-amz-json-1.0`
 * and `x-amz-target: target`, to `AWS_ENDPOINT_URL_<SERVICE>` (upper-cased,
 * `-` as `_`), else `AWS_ENDPOINT_URL`, else
 * `https://<service>.<region>.amazonaws.com/`, as the AWS SDKs choose it;
 * signed for `service` in `region`, else `AWS_REGION`, else
 * `AWS_DEFAULT_REGION`.
 *
 * ```js
 * awsJsonRequest({ service: 'dynamodb', target: 'DynamoDB_20120810.BatchWriteItem', body: JSON.stringify(batch) })
 * ```
 *
 * Throws an Error naming what is wrong (no region anywhere, a service or
 * region that is none, a bad endpoint variable), a TypeError for an argument
 * of the wrong type.
 */
export function awsJsonRequest(options: AwsJsonRequestOptions): HandoffRequest {
  return awsJsonRequestFrom(options, process.env);
}

/** awsJsonRequest with the variables of `env` (tests). */
export function awsJsonRequestFrom(options: AwsJsonRequestOptions, env: NodeJS.ProcessEnv): HandoffRequest {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`awsJsonRequest: expected { service, target, body, region?, id? }, got ${kindOf(options)}`);
  }
  const service = text('service', options.service);
  const target = text('target', options.target);
  const body = options.body;
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new TypeError(`awsJsonRequest: body: expected a string (the JSON text), a Buffer or a Uint8Array, got ${kindOf(body)}`);
  }
  let region = options.region === undefined || options.region === null ? undefined : text('region', options.region);
  const id = options.id === undefined || options.id === null ? undefined : text('id', options.id);
  const setting = (name: string) => env[name] || undefined;

  if (!isLabel(service, 64)) throw new Error(`service: expected an AWS signing name such as "dynamodb", got ${excerpt(service)}`);
  if (target === '' || hasBadChars(target)) {
    throw new Error(`target: expected an X-Amz-Target such as "DynamoDB_20120810.BatchWriteItem", got ${excerpt(target)}`);
  }
  if (region === undefined) {
    region = setting('AWS_REGION') ?? setting('AWS_DEFAULT_REGION');
    if (region === undefined) throw new Error('region: not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set');
  }
  if (!isLabel(region, 32)) throw new Error(`region: expected an AWS region such as "us-east-1", got ${excerpt(region)}`);
  const variable = `AWS_ENDPOINT_URL_${service.toUpperCase().replaceAll('-', '_')}`;
  const endpoint = setting(variable) ?? setting('AWS_ENDPOINT_URL');
  const url = endpoint !== undefined ? withPath(endpoint) : `https://${service}.${region}.amazonaws.com/`;
  const why = urlProblem(url);
  if (why !== undefined) throw new Error(`${variable}: ${why}, got ${excerpt(url)}`);
  return {
    ...(id === undefined ? {} : { id }),
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
    body,
    sign: { service, region },
  };
}

/** Whether `s` holds white space or a control character. */
function hasBadChars(s: string): boolean {
  // No `u` flag: every such character is one UTF-16 unit, and a unicode pattern costs ICU at parse time.
  return /[\s\x00-\x1f\x7f-\x9f]/.test(s);
}

/** Lower-case letters, digits and `-`, 1 to `max` characters. */
function isLabel(s: string, max: number): boolean {
  return s.length > 0 && s.length <= max && /^[a-z0-9-]+$/.test(s);
}

/** The first 64 characters of `s`, as a JSON string. */
function excerpt(s: string): string {
  return JSON.stringify(Array.from(s).slice(0, 64).join(''));
}

/** An endpoint URL with at least the root path: `http://host:1` becomes `http://host:1/`. */
function withPath(endpoint: string): string {
  const at = endpoint.indexOf('://');
  const rest = at >= 0 ? endpoint.slice(at + 3) : endpoint;
  return rest.includes('/') ? endpoint : `${endpoint}/`;
}

/** Why `url` is not an absolute http(s) URL with a host, as the extension checks it. */
function urlProblem(url: string): string | undefined {
  if (Buffer.byteLength(url) > 2048) return 'longer than 2048 bytes';
  let rest: string;
  if (url.startsWith('https://')) rest = url.slice('https://'.length);
  else if (url.startsWith('http://')) rest = url.slice('http://'.length);
  else return 'expected an http:// or https:// URL';
  if (hasBadChars(url)) return 'white space or a control character in the URL';
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (host === '' || host.startsWith(':')) return 'no host in the URL';
  return undefined;
}
