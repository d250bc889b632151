export { GracefulShutdown, type Options } from './graceful-shutdown.js';
export { ShutdownHandle } from './handle.js';
export { workerId } from './worker-thread.js';
export { configFromLookup, defaultConfig, type BadSetting, type Config } from './config.js';
export type { HandlerOutcome, HandlerStatus, ShutdownHandler, Summary } from './runner.js';
export type { Logger } from './log.js';
export { LIMITS } from './limits.js';
export {
  awsJsonRequest,
  handoff,
  type AwsJsonRequestOptions,
  type HandoffHeaders,
  type HandoffRequest,
  type HandoffResult,
} from './handoff.js';
