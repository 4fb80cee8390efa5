#!/usr/bin/env node
import { runCli } from './cli.js';

// Output piped into `head` and the like: stop quietly once the reader has gone.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// exitCode rather than exit(): lets stdout drain when it is a pipe.
process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
