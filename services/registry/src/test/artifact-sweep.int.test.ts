import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { exportToOnnx, matrix, trainLogReg } from '@contender/ml';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { TREECL2, TREECL2_FEATURES, createModel, fixture, uploadVersion } from './fixtures.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const FEATURES = ['income', 'debt', 'age'];

/** A small logistic regression whose bytes depend on `seed`: distinct artifacts for a race. */
function distinctModel(seed: number): Buffer {
  const rows = 60;
  const X = matrix(rows, 3);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < 3; j++) X.data[i * 3 + j] = ((i * 7919 + j * 104729 + seed * 31) % 1000) / 1000;
    y[i] = X.data[i * 3]! > 0.5 ? 1 : 0;
  }
  return Buffer.from(exportToOnnx(trainLogReg({ featureNames: FEATURES, X, y })));
}

for (const store of ['s3', 'file'] as const) {
  describe(`the artifact sweep (${store} store)`, () => {
    let reg: TestRegistry;
    let key: string;
    const put = (k: string, bytes: Buffer) => reg.container.storage.put(k, Readable.from([bytes]));
    const exists = async (k: string) => (await reg.container.storage.stat(k)) !== null;
    const removedTotal = async () => (await reg.container.metricsRegistry.getSingleMetric('registry_orphan_artifacts_removed_total')!.get()).values[0]?.value ?? 0;

    before(async () => {
      reg = await startTestRegistry({ store });
      key = await reg.createKey('data-scientist');
      await createModel(reg.app, key, { name: 'credit', task: 'binary_classification' }).expect(201);
    });
    after(() => reg.close());

    it('removes version artifacts no version refers to, and nothing else', async () => {
      const bytes = fixture(TREECL2);
      const registered = await uploadVersion(reg.app, key, 'credit', bytes, { featureNames: TREECL2_FEATURES }).expect(201);
      const kept = `models/credit/sha256-${sha256(bytes)}.onnx`;
      assert.ok(registered.body.artifactUri.endsWith(kept));
      // What a registry killed between storing an object and committing its version leaves behind,
      // including the same bytes as a registered version under another model's key.
      const orphans = [
        `models/credit/sha256-${sha256(randomBytes(32))}.onnx`,
        `models/gone/sha256-${sha256(randomBytes(32))}.onnx`,
        `models/other/sha256-${sha256(bytes)}.onnx`,
      ];
      for (const k of orphans) await put(k, randomBytes(100));
      // Not the uploader's keys: not the sweep's business.
      const foreign = ['models/credit/notes.txt', 'datasets/credit.csv'];
      for (const k of foreign) await put(k, Buffer.from('keep me'));
      const before = await removedTotal();

      const result = await reg.container.sweeper.sweep();

      assert.deepEqual([...result.removed].sort(), [...orphans].sort());
      assert.equal(result.checked, 4);
      for (const k of orphans) assert.equal(await exists(k), false, `${k} removed`);
      for (const k of [kept, ...foreign]) assert.equal(await exists(k), true, `${k} kept`);
      assert.equal((await removedTotal()) - before, 3);
      assert.deepEqual((await reg.container.sweeper.sweep()).removed, [], 'a second pass finds nothing');
    });

    it('never leaves a version without its artifact while uploads run during sweeps', async () => {
      await createModel(reg.app, key, { name: 'race', task: 'binary_classification' }).expect(201);
      const models = Array.from({ length: 6 }, (_, i) => distinctModel(i + 1));
      let uploading = true;
      const sweeps = (async () => {
        let n = 0;
        while (uploading) {
          await reg.container.sweeper.sweep();
          n++;
        }
        return n;
      })();
      const results = await Promise.all(models.map((bytes) => uploadVersion(reg.app, key, 'race', bytes, { featureNames: FEATURES })));
      uploading = false;
      assert.ok((await sweeps) > 0);
      assert.deepEqual(results.map((r) => r.status), Array(6).fill(201));
      for (const bytes of models) assert.equal(await exists(`models/race/sha256-${sha256(bytes)}.onnx`), true);
    });
  });
}
