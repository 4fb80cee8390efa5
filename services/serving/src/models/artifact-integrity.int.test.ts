import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServing } from '../testing.js';
import { metricValue } from '../test/metric-value.js';
import { MIXED, mixedInputsModel } from '../test/mixed-inputs-model.js';
import { TREECL2, TREECL2_FEATURES, XGB_REGRESSOR, fixture } from '../test/registry-fixtures.js';
import { startServingFixture, type ServingFixture } from '../testing/serving-fixture.js';
import { waitFor } from '../testing/wait-for.js';

const features = Object.fromEntries(TREECL2_FEATURES.map((n, j) => [n, (j % 3) - 1]));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The same length, one byte different: only the hash can tell. */
const corrupt = (b: Buffer) => {
  const c = Buffer.from(b);
  c[c.length >> 1] = c[c.length >> 1]! ^ 0xff;
  return c;
};

describe("serving checks each artifact's sha256 against the registry's record", () => {
  let f: ServingFixture;
  const loads = async (result: string) =>
    metricValue(await f.serving.container.metrics.metrics(), 'serving_model_loads_total', { result }) ?? 0;

  /** Registers `bytes` as a new version and overwrites the registry's stored file with a corrupted copy. */
  async function registerCorrupted(model: string, bytes: Buffer, featureNames: string[]): Promise<number> {
    const version = await f.admin.registerVersion(model, bytes, { featureNames });
    const v = await f.admin.call<{ sha256: string; artifactUri: string }>('GET', `/models/${model}/versions/${version}`);
    assert.equal(v.sha256, sha256(bytes));
    const file = fileURLToPath(v.artifactUri);
    assert.deepEqual(await readFile(file), bytes, "the registry's file store holds the bytes");
    await writeFile(file, corrupt(bytes));
    return version;
  }

  before(async () => {
    f = await startServingFixture({ label: 'serving_integrity', challenger: false });
  });
  after(async () => {
    await f?.close();
  });

  it('refuses a champion whose stored bytes were corrupted, counts it, and the previous champion keeps answering', async () => {
    const corruptBefore = await loads('corrupt');
    const v2 = await registerCorrupted(f.model, mixedInputsModel(), MIXED.features);
    await f.admin.setAlias(f.model, 'champion', v2);
    await waitFor(async () => (await loads('corrupt')) > corruptBefore, { what: 'the corrupt load to be counted' });

    const served = f.serving.container.models.get(f.model);
    assert.equal(served?.champion.version, 1, 'the snapshot still routes to v1');
    const res = await f.client.post<{ version: number }>('/predict', { model: f.model, features });
    assert.equal(res.status, 200);
    assert.equal(res.body.version, 1);
    const ready = await f.client.get<{ checks: Record<string, { ok: boolean; detail?: string }> }>('/readyz');
    assert.equal(ready.status, 200, 'the model has a champion loaded: still ready');
    assert.equal(ready.body.checks.versions!.ok, false);
    assert.match(ready.body.checks.versions!.detail!, new RegExp(`${f.model} v${v2}: artifact .* has sha256 [0-9a-f]{64} .*the registry recorded [0-9a-f]{64}`));
    await f.admin.setAlias(f.model, 'champion', 1);
  });

  it('replaces a corrupted file in its own model cache by downloading the artifact again', async () => {
    const bytes = fixture(TREECL2);
    const cached = path.join(f.serving.config.MODEL_CACHE_DIR, `${sha256(bytes)}.onnx`);
    assert.deepEqual(await readFile(cached), bytes, 'the champion was cached by its sha256');
    await writeFile(cached, corrupt(bytes));
    // A second instance sharing the cache folder: the corrupted file is not loaded.
    const second = await startTestServing({
      registryUrl: f.reg.url,
      apiKey: await f.reg.createKey('predictor'),
      databaseUrl: f.db.url,
      env: { MODEL_CACHE_DIR: f.serving.config.MODEL_CACHE_DIR, SERVED_MODELS: f.model },
    });
    try {
      assert.equal(second.container.models.get(f.model)?.champion.version, 1);
      assert.deepEqual(await readFile(cached), bytes, 'the cache file holds the right bytes again');
      // v2 (the previous champion now) is still corrupt in the registry; v1 loaded without fault.
      const versions = (await second.container.readiness()).checks.versions!;
      assert.match(versions.detail!, new RegExp(`^${f.model} v2: artifact`));
      assert.doesNotMatch(versions.detail!, /v1:/);
    } finally {
      await second.close();
    }
  });

  it('never serves a model whose only champion is corrupted: 404 model_not_found and /readyz 503 naming the reason', async () => {
    // Bytes serving has never cached (a cached copy under the same sha256 would be used instead).
    await f.admin.createModel('fresh', 'regression');
    const v1 = await registerCorrupted('fresh', fixture(XGB_REGRESSOR), ['a', 'b', 'c', 'd']);
    const corruptBefore = await loads('corrupt');
    await f.admin.setAlias('fresh', 'champion', v1);
    await waitFor(async () => (await loads('corrupt')) > corruptBefore, { what: 'the corrupt load to be counted' });
    assert.equal(f.serving.container.models.get('fresh'), undefined);
    const res = await f.client.post<{ error: { code: string } }>('/predict', { model: 'fresh', features });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'model_not_found');
    const ready = await f.client.get<{ checks: Record<string, { ok: boolean; detail?: string }> }>('/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.body.checks.models!.detail!, /fresh: champion v1 not loaded \(fresh v1: artifact .* has sha256/);
  });
});
