export { GracefulShutdown, type Options } from './graceful-shutdown.js';
export { ShutdownHandle } from './handle.js';
export { workerId } from './worker-thread.js';
export { configFromLookup, defaultConfig, type BadSetting, type Config } from './config.js';
export type { HandlerOutcome, HandlerStatus, ShutdownHandler, Summary } from './runner.js';
export type { Logger } from './log.js';
export { LIMITS } from './limits.js';
// The handoff: its code is loaded on the first handoff() (handoff-load.ts).
export { handoff } from './handoff-load.js';
export { awsJsonRequest, type AwsJsonRequestOptions } from './aws-json.js';
export type { HandoffHeaders, HandoffRequest, HandoffResult } from './handoff.js';
