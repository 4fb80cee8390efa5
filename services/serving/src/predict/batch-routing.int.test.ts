import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { challengerBucketCount } from '@contender/contracts';
import { chooseArm } from '../routing/choose-arm.js';
import { TREECL2_FEATURES } from '../test/registry-fixtures.js';
import { seededRows } from '../testing/seeded-random.js';
import { startServingFixture, type ServingFixture } from '../testing/serving-fixture.js';

const named = (values: number[]) => Object.fromEntries(TREECL2_FEATURES.map((n, i) => [n, values[i]!]));

interface BatchAnswer {
  predictions: { predictionId: string; entityId: string; version: number; variant: string; score: number }[];
}

describe('POST /predict/batch against a model with a challenger', () => {
  let f: ServingFixture;

  before(async () => {
    f = await startServingFixture({ label: 'serving_batch_routing', challengerPercent: 40 });
  });
  after(async () => {
    await f?.close();
  });

  it("routes each row as chooseArm does for its entity, and logs each row with that variant", async () => {
    const data = seededRows(200, 20, 9);
    const entityIds = data.map((_, i) => `batch-${i}`);
    const res = await f.client.post<BatchAnswer>('/predict/batch', {
      model: f.model,
      rows: data.map((r, i) => ({ entityId: entityIds[i], features: named(r) })),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const policy = { name: f.model, hasChallenger: true, mode: 'split' as const, challengerBuckets: challengerBucketCount(40) };
    const expected = entityIds.map((e) => chooseArm(policy, e, undefined).arm);
    assert.ok(expected.includes('champion') && expected.includes('challenger'), 'both arms are in the batch');
    assert.deepEqual(res.body.predictions.map((p) => p.entityId), entityIds, 'rows in order');
    assert.deepEqual(res.body.predictions.map((p) => p.variant), expected);
    assert.deepEqual(res.body.predictions.map((p) => p.version), expected.map((a) => (a === 'champion' ? 1 : 2)));

    await f.serving.container.predictionLog.flush();
    const { rows } = await f.pool.query<{ id: string; entity_id: string; variant: string; version: number }>(
      'SELECT id::text AS id, entity_id, variant, version FROM serving.prediction WHERE id = ANY($1::uuid[])',
      [res.body.predictions.map((p) => p.predictionId)],
    );
    const logged = new Map(rows.map((r) => [r.id, r]));
    assert.equal(logged.size, 200, 'every row logged once');
    res.body.predictions.forEach((p, i) => {
      const row = logged.get(p.predictionId)!;
      assert.equal(row.entity_id, entityIds[i]);
      assert.equal(row.variant, expected[i], `row ${i} logged with its variant`);
      assert.equal(row.version, p.version);
    });
  });
});
