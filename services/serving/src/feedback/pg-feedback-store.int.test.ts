import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PgPredictionPartitions } from '../prediction-log/pg-prediction-partitions.js';
import { PgPredictionStore } from '../prediction-log/pg-prediction-store.js';
import { insertRecords, makeRecord, setUpLogDatabase } from '../prediction-log/test-helpers.js';
import { PredictionIdFactory } from '../predict/prediction-id.js';
import { PgFeedbackStore } from './pg-feedback-store.js';

const DAY = 86_400_000;
let env: Awaited<ReturnType<typeof setUpLogDatabase>>;
let store: PgPredictionStore;
const today = Math.floor(Date.now() / DAY) * DAY;

before(async () => {
  env = await setUpLogDatabase('feedback_store');
  store = new PgPredictionStore(env.pool, { writeTimeoutMs: 5_000 });
  // Day partitions from ten days back to one ahead, as serving's maintenance makes them.
  await new PgPredictionPartitions(env.pool).maintain({ now: new Date(today - 10 * DAY), retentionDays: 30, daysAhead: 11 });
});
after(async () => {
  await env.tearDown();
});

describe('PgFeedbackStore.findPrediction', () => {
  it('looks for a version 7 id in the days around its time first, not in every partition', async () => {
    // The primary key is (id, at): the same id can sit in two days' partitions. Searched oldest
    // partition first, as a lookup by id alone does, the row of five days ago would come first.
    const id = new PredictionIdFactory().next();
    const now = new Date();
    await insertRecords(store, [makeRecord({ id, at: new Date(today - 5 * DAY + 1_000), label: null }), makeRecord({ id, at: now, label: 1 })]);
    assert.deepEqual(await new PgFeedbackStore(env.pool).findPrediction(id), { at: now, classifier: true });
  });

  it('looks for a version 4 id in every partition', async () => {
    const r = makeRecord({ id: randomUUID(), at: new Date(today - 9 * DAY + 1_000) });
    await insertRecords(store, [r]);
    assert.deepEqual(await new PgFeedbackStore(env.pool).findPrediction(r.id), { at: r.at, classifier: r.label !== null });
  });

  it('still finds a version 7 id whose row lies far from the id’s time, in any letter case', async () => {
    const id = new PredictionIdFactory(() => Date.now()).next();
    const at = new Date(today - 8 * DAY + 5_000);
    await insertRecords(store, [makeRecord({ id, at })]);
    const found = await new PgFeedbackStore(env.pool).findPrediction(id.toUpperCase());
    assert.equal(found?.at.getTime(), at.getTime());
  });

  it('answers null for a version 7 id no prediction has', async () => {
    assert.equal(await new PgFeedbackStore(env.pool).findPrediction(new PredictionIdFactory().next()), null);
  });
});
