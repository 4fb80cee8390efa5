export * from './define-dag.js';
export * from './errors.js';
