export * from './errors.js';
export * from './http-client.js';
export * from './multipart.js';
export * from './registry-client.js';
export * from './serving-client.js';
export * from './scheduler-client.js';
