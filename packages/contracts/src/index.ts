export * from './common.js';
export * from './registry.js';
export * from './openapi.js';
