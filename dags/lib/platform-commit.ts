import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null | undefined;

/**
 * The platform's commit, for lineage: CONTENDER_GIT_COMMIT when set (images are built without
 * .git), else `git rev-parse HEAD` of the checkout this module runs from, else null.
 */
export function platformCommit(): string | null {
  if (cached !== undefined) return cached;
  const fromEnv = process.env.CONTENDER_GIT_COMMIT?.trim().toLowerCase();
  if (fromEnv && /^[0-9a-f]{7,64}$/.test(fromEnv)) return (cached = fromEnv);
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dirname(fileURLToPath(import.meta.url)), stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
      .toString()
      .trim();
    cached = /^[0-9a-f]{7,64}$/.test(out) ? out : null;
  } catch {
    cached = null;
  }
  return cached;
}
