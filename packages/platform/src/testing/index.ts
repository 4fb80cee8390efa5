export * from './db.js';
export * from './s3.js';
export * from './net.js';
export * from './redis.js';
export * from './redis-server.js';
