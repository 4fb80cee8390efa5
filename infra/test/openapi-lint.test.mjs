// Every service's OpenAPI document passes `redocly lint` with the recommended rules and 0 errors:
// what client generators (operationIds, security schemes) and /docs depend on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from './fresh-clone.mjs';

const documents = {
  registry: async () => (await import('../../services/registry/dist/openapi.js')).registryOpenApi(),
  serving: async () => (await import('../../services/serving/dist/openapi.js')).servingOpenApi(),
};

describe('OpenAPI documents', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'contender-openapi-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [service, load] of Object.entries(documents)) {
    it(`${service}: redocly lint with the recommended rules finds no error, and every operation has an operationId`, async () => {
      const doc = await load();
      const file = path.join(dir, `${service}.json`);
      writeFileSync(file, JSON.stringify(doc));
      const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
      assert.ok(ids.every(Boolean), 'every operation has an operationId');
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
      const bin = path.join(repoRoot, 'node_modules/.bin/redocly');
      const res = await promisify(execFile)(bin, ['lint', file, '--config', path.join(repoRoot, 'redocly.yaml'), '--format', 'json'], { maxBuffer: 32 << 20 }).catch((err) => err);
      const report = JSON.parse(res.stdout.slice(res.stdout.indexOf('{')));
      const errors = report.problems.filter((p) => p.severity === 'error');
      assert.deepEqual(errors.map((e) => `${e.ruleId}: ${e.message} at ${e.location?.[0]?.pointer}`), []);
    });
  }
});
