import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportToOnnx, trainLogReg } from '@contender/ml';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { ContenderApiError } from './errors.js';
import { RegistryClient } from './registry-client.js';

/** A tiny real model: logistic regression on two features. */
function tinyOnnx(seed: number): Uint8Array {
  const rows = 200;
  const data = new Float64Array(rows * 2);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    data[i * 2] = ((i * 37 + seed) % 101) / 101;
    data[i * 2 + 1] = ((i * 53 + seed) % 89) / 89;
    y[i] = data[i * 2]! + 0.3 * data[i * 2 + 1]! > 0.65 ? 1 : 0;
  }
  return exportToOnnx(trainLogReg({ featureNames: ['a', 'b'], X: { rows, cols: 2, data }, y }));
}

describe('RegistryClient against the real registry', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let tmp: string;
  before(async () => {
    registry = await startTestRegistry();
    client = new RegistryClient({ baseUrl: registry.url, apiKey: await registry.createKey('data-scientist') });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sdk-int-'));
  });
  after(async () => {
    await registry.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('creates, gets and lists models, and a duplicate name is a 409 ContenderApiError', async () => {
    const m = await client.createModel({ name: 'sdk-credit', task: 'binary_classification', description: 'd' });
    assert.equal(m.name, 'sdk-credit');
    assert.equal((await client.getModel('sdk-credit')).description, 'd');
    assert.ok((await client.listModels({ limit: 10 })).items.some((x) => x.name === 'sdk-credit'));
    assert.equal(await client.findModel('no-such-model'), null);
    const err = await client.createModel({ name: 'sdk-credit', task: 'binary_classification' }).catch((e: unknown) => e);
    assert.ok(err instanceof ContenderApiError);
    assert.equal(err.status, 409);
    assert.ok(err.requestId);
  });

  it('uploads versions from a buffer and from a file, lists them and downloads the same bytes', async () => {
    const bytes = tinyOnnx(1);
    const v1 = await client.uploadVersion('sdk-credit', { artifact: bytes, metadata: { metrics: { auc: 0.7 }, featureNames: ['a', 'b'] } });
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.metrics, { auc: 0.7 });
    const file = path.join(tmp, 'm2.onnx');
    await writeFile(file, tinyOnnx(2));
    const v2 = await client.uploadVersion('sdk-credit', { artifact: file, metadata: { featureNames: ['a', 'b'] } });
    assert.equal(v2.version, 2);
    assert.deepEqual((await client.listVersions('sdk-credit')).items.map((v) => v.version).sort(), [1, 2]);
    assert.equal((await client.getVersion('sdk-credit', 1)).sha256, v1.sha256);
    assert.deepEqual(Buffer.from(await client.downloadArtifact('sdk-credit', 1)), Buffer.from(bytes));
  });

  it('rejects a version whose metadata is invalid with the field named in details', async () => {
    const err = await client.uploadVersion('sdk-credit', { artifact: tinyOnnx(3), metadata: { metrics: { auc: 'x' as unknown as number } } }).catch((e: unknown) => e);
    assert.ok(err instanceof ContenderApiError);
    assert.equal(err.status, 400);
    assert.match(JSON.stringify(err.details), /metrics/);
  });

  it('sets aliases and traffic, promotes, rolls back, and lists the audit events and deployments', async () => {
    await client.setAlias('sdk-credit', 'champion', 1, { reason: 'first' });
    await client.setAlias('sdk-credit', 'challenger', 2, { reason: 'second' });
    const t = await client.setTraffic('sdk-credit', { challengerPercent: 10, mode: 'split', reason: 'ten' });
    assert.deepEqual(t.traffic, { challengerPercent: 10, mode: 'split' });
    const promoted = await client.promote('sdk-credit', { reason: 'better', force: true });
    assert.equal(promoted.aliases.champion, 2);
    const rolled = await client.rollback('sdk-credit', { reason: 'worse' });
    assert.equal(rolled.aliases.champion, 1);
    await client.setAlias('sdk-credit', 'challenger', 2, { reason: 'again' });
    const afterDelete = await client.deleteAlias('sdk-credit', 'challenger', { reason: 'done' });
    assert.equal(afterDelete.aliases.challenger, undefined);
    const events = await client.events('sdk-credit', { limit: 50 });
    const reasons = events.items.map((e) => e.reason);
    for (const r of ['first', 'second', 'ten', 'better', 'worse', 'done']) assert.ok(reasons.includes(r), `an event with reason ${r}`);
    const deployments = await client.deployments({ models: ['sdk-credit'] });
    assert.equal(deployments.items[0]?.champion?.version, 1);
  });

  it('creates a dataset, uploads versions from a file and from an async iterable, and reads them back by reference', async () => {
    await client.createDataset({ name: 'sdk-rows', description: 'rows' });
    const file = path.join(tmp, 'rows.csv');
    await writeFile(file, 'a,b\n1,2\n3,4\n');
    const v1 = await client.uploadDatasetVersion('sdk-rows', { file, metadata: { source: { from: 'test' } } });
    assert.deepEqual([v1.version, v1.rows, v1.columns], [1, 2, ['a', 'b']]);
    async function* chunks() {
      yield 'a,b\n';
      for (let i = 0; i < 1000; i++) yield `${i},${i * 2}\n`;
    }
    const v2 = await client.uploadDatasetVersion('sdk-rows', { file: chunks() }, { idempotencyKey: 'sdk-rows-2' });
    assert.equal(v2.rows, 1000);
    const again = await client.uploadDatasetVersion('sdk-rows', { file: chunks() }, { idempotencyKey: 'sdk-rows-2' });
    assert.equal(again.version, v2.version, 'the same key and request give the first answer');
    assert.equal((await client.getDatasetVersion('sdk-rows')).version, 2);
    assert.equal((await client.getDatasetVersion('sdk-rows@1')).sha256, v1.sha256);
    const text = await new Response(await client.datasetContent({ name: 'sdk-rows', version: 1 })).text();
    assert.equal(text, 'a,b\n1,2\n3,4\n');
    assert.equal((await client.listDatasetVersions('sdk-rows')).items.length, 2);
    assert.ok((await client.listDatasets()).items.some((d) => d.name === 'sdk-rows'));
    assert.equal(await client.findDataset('no-such-rows'), null);
    const ragged = await client.uploadDatasetVersion('sdk-rows', { file: Buffer.from('a,b\n1\n') }).catch((e: unknown) => e);
    assert.ok(ragged instanceof ContenderApiError);
    assert.equal(ragged.status, 422);
    assert.ok((await client.datasetEvents('sdk-rows')).items.length >= 3);
  });

  it('answers 401 for a bad key and 403 for a reader that writes', async () => {
    const bad = await new RegistryClient({ baseUrl: registry.url, apiKey: 'ctk_nope' }).getModel('sdk-credit').catch((e: unknown) => e);
    assert.ok(bad instanceof ContenderApiError);
    assert.equal(bad.status, 401);
    const reader = new RegistryClient({ baseUrl: registry.url, apiKey: await registry.createKey('reader') });
    const denied = await reader.setAlias('sdk-credit', 'champion', 2).catch((e: unknown) => e);
    assert.ok(denied instanceof ContenderApiError);
    assert.equal(denied.status, 403);
  });
});
