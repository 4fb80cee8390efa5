// A fresh clone of this repository's HEAD with `npm ci` and `npm run build` done, as a newcomer
// has it: for tests of what the README tells people to run (npm start, npx contender).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function freshClone(label) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `contender-${label}-`));
  const run = (cmd, args, extra = {}) =>
    execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }, maxBuffer: 64 << 20, ...extra });
  execFileSync('git', ['clone', '-q', repoRoot, dir], { stdio: 'ignore' });
  run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline']);
  run('npm', ['run', '--silent', 'build']);
  return { dir, run, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
