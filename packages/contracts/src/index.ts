export * from './common.js';
export * from './registry.js';
export * from './datasets.js';
export * from './openapi.js';
export * from './assignment.js';
export * from './serving.js';
export * from './serving-log.js';
export * from './scheduler.js';
