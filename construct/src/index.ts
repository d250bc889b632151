export * from './limits';
export * from './layer';
export { GracefulShutdownMetrics } from './metrics';
export * from './graceful-shutdown';
export * from './function';
