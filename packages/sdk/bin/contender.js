#!/usr/bin/env node
// The `contender` command. A committed file (not dist/) so that npm links it at `npm ci` time,
// before `npm run build` has produced dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('contender: the CLI is not built yet; run "npm run build" at the repository root first\n');
  process.exit(1);
}
await import(main.href);
