/**
 * The shared contract: names, defaults and limits from the repository's
 * spec/limits.json, generated into limits.generated.ts at build time.
 */
import { LIMITS_JSON } from './limits.generated.js';

export const LIMITS = LIMITS_JSON;

export const EXTENSION_NAME: string = LIMITS.extensionName;
export const ENV_PORT: string = LIMITS.env.port;
export const ENV_TIMEOUT_MS: string = LIMITS.env.timeoutMs;
export const ENV_SECRET_FILE: string = LIMITS.env.secretFile;
export const DEFAULT_SECRET_FILE: string = LIMITS.secretFileDefault;
export const REPORT_PATH: string = LIMITS.reportPath;
export const SECRET_HEADER: string = LIMITS.secretHeader;
export const MAX_REPORT_BYTES: number = LIMITS.maxReportBytes;
/** The runtime's share of the shutdown phase, from SIGTERM to SIGKILL. */
export const RUNTIME_SHARE_MS: number = LIMITS.shutdown.runtimeShareMs;

/** Who uses `port`, if it is one of the reserved ports. */
export function reservedBy(port: number): string | undefined {
  return LIMITS.port.reserved.find((r) => r.port === port)?.usedBy;
}
