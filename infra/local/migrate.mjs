#!/usr/bin/env node
// `npm run migrate`: applies every service's migrations to DATABASE_URL (created if missing).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
process.env.DATABASE_URL ??= 'postgres://127.0.0.1:5432/contender';
for (const service of ['registry', 'serving', 'scheduler']) {
  const file = path.join(root, 'services', service, 'dist', 'migrate.js');
  if (!existsSync(file)) continue;
  await import(file);
  console.error(`[migrate] ${service}: up to date`);
}
