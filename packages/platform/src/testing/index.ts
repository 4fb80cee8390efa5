export * from './db.js';
export * from './s3.js';
