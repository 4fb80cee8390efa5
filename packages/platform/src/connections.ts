/**
 * The database and Redis clients alone, without the HTTP stack, config and logging that the
 * package's main entry also loads: for worker threads, each of which loads its modules again.
 * A thread that imports the whole package spends about 0.6 s loading it and keeps about 20 MB of
 * heap; with this entry, about 0.1 s and 7 MB.
 */
export * from './db.js';
export * from './redis.js';
