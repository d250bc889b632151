export * from './limits';
export * from './layer';
export * from './graceful-shutdown';
export * from './function';
