/**
 * The cold-start check: is the shutdown extension attached? The extension
 * writes the secret file before it registers, and Lambda starts extensions
 * before the runtime, so at cold start the file is there exactly when the
 * extension is. One small file read, no network.
 */
import { readFileSync } from 'node:fs';

import { ENV_SECRET_FILE, EXTENSION_NAME } from './limits.js';

/** Longest secret accepted; the extension writes 64 hex characters. */
const MAX_SECRET_CHARS = 512;

export type SecretResult = { ok: true; secret: string } | { ok: false; reason: string };

export function readSecret(path: string): SecretResult {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return { ok: false, reason: `${path} does not exist` };
    return { ok: false, reason: `${path} cannot be read: ${err.message}` };
  }
  const secret = raw.trim();
  // The secret goes into a header line: refuse anything that could break it.
  if (secret === '' || !/^[\x21-\x7e]+$/.test(secret) || secret.length > MAX_SECRET_CHARS) {
    return { ok: false, reason: `${path} does not hold a secret (expected one line of printable text)` };
  }
  return { ok: true, secret };
}

/** The warning for a missing extension, naming the handlers that will not run. */
export function missingWarning(reason: string, handlerNames: readonly string[]): string {
  const handlers = handlerNames.length === 0 ? '(none registered yet)' : handlerNames.join(', ');
  return (
    `graceful-shutdown: the ${EXTENSION_NAME} extension is not attached (${ENV_SECRET_FILE}: ${reason}). ` +
    'Without a registered extension Lambda sends no SIGTERM: it kills the function without warning, ' +
    `so these shutdown handlers will NOT run when the environment is retired: ${handlers}. ` +
    `Fix: attach the ${EXTENSION_NAME} layer to this function (the CDK construct library does it for you; ` +
    'without the CDK, `gracefulctl render` prints the SAM, CloudFormation and Terraform snippets), ' +
    `and keep ${ENV_SECRET_FILE} the same for the function and the extension. ` +
    'The handlers still run on SIGTERM or SIGINT, for example in local runs; nothing is reported.'
  );
}
