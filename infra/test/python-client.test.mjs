// The Python client (packages/client-python) against a running platform: a real registry and
// serving in this process, Debian's python3 with requests running the client's unittest suite.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { onnxFixture } from '@contender/fixtures';
import { createTestDatabase } from '@contender/platform/testing';
import { repoRoot } from './fresh-clone.mjs';

const { startTestRegistry } = await import('../../services/registry/dist/testing.js');
const { startTestServing } = await import('../../services/serving/dist/testing.js');

describe('the Python client', { timeout: 300_000 }, () => {
  let registry;
  let serving;
  let servingDb;
  before(async () => {
    registry = await startTestRegistry();
    servingDb = await createTestDatabase('python_client_serving');
    serving = await startTestServing({
      registryUrl: registry.url,
      apiKey: await registry.createKey('predictor'),
      databaseUrl: servingDb.url,
      env: { RECONCILE_INTERVAL_MS: '200' },
      waitUntilReady: false,
    });
  });
  after(async () => {
    await serving?.close();
    await servingDb?.drop();
    await registry?.close();
  });

  it('passes its unittest suite: models, versions (an sklearn-onnx export), errors, roles, aliases, traffic, predict, feedback, promote, rollback', async () => {
    const env = {
      ...process.env,
      PYTHONPATH: path.join(repoRoot, 'packages/client-python'),
      PYTHONDONTWRITEBYTECODE: '1',
      CONTENDER_REGISTRY_URL: registry.url,
      CONTENDER_SERVING_URL: serving.url,
      CONTENDER_API_KEY: await registry.createKey('data-scientist'),
      CONTENDER_READER_KEY: await registry.createKey('reader'),
      CONTENDER_TEST_ONNX: onnxFixture('sklearn-onnx__tests_datasets_treecl2.onnx'),
    };
    const child = spawn('/usr/bin/python3', ['-m', 'unittest', '-v', 'tests.test_client'], {
      cwd: path.join(repoRoot, 'packages/client-python'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, out);
    assert.match(out, /Ran [1-9]\d* tests?/);
    assert.match(out, /\nOK\n/);
    assert.doesNotMatch(out, /ResourceWarning/);
  });
});
