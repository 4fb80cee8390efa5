import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROLES, type Role } from '@contender/contracts';
import { JsonClient } from '../test/http-client.js';
import { TREECL2_FEATURES } from '../test/registry-fixtures.js';
import { startServingFixture, type ServingFixture } from '../testing/serving-fixture.js';

const features = Object.fromEntries(TREECL2_FEATURES.map((n, j) => [n, (j % 7) / 3 - 1]));

interface PredictAnswer {
  predictionId: string;
  version: number;
  variant: string;
  score: number;
}

describe('feedback and prediction history behind the real introspection auth', () => {
  let f: ServingFixture;
  const clients = {} as Record<Role, JsonClient>;

  before(async () => {
    f = await startServingFixture({ label: 'serving_feedback_auth', challenger: false });
    for (const role of ROLES) clients[role] = new JsonClient(f.serving.url, (await f.key(role)).key);
  });
  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await f?.close();
  });

  it('takes a prediction real serving made, its outcome, and shows both in the history', async () => {
    const entityId = `customer-${Date.now()}`;
    const p = await clients.predictor.post<PredictAnswer>('/predict', { model: f.model, entityId, features });
    assert.equal(p.status, 200, JSON.stringify(p.body));

    const fb = await clients.predictor.post('/feedback', { predictionId: p.body.predictionId, label: 1, at: '2026-11-02T00:00:00Z' });
    assert.equal(fb.status, 202, JSON.stringify(fb.body));
    assert.equal(fb.body.predictionId, p.body.predictionId);

    const history = await clients.reader.get<{ items: Record<string, unknown>[] }>(`/predictions?entityId=${entityId}`);
    assert.equal(history.status, 200);
    assert.equal(history.body.items.length, 1);
    const item = history.body.items[0]!;
    assert.equal(item.predictionId, p.body.predictionId);
    assert.equal(item.model, f.model);
    assert.equal(item.version, p.body.version);
    assert.equal(item.variant, p.body.variant);
    assert.equal(item.score, p.body.score);
    assert.deepEqual((item.outcome as { label: number; at: string }).label, 1);
    assert.equal((item.outcome as { at: string }).at, '2026-11-02T00:00:00.000Z');

    // The same once the prediction log has written it to Postgres.
    await f.serving.container.predictionLog.flush();
    const { rows } = await f.pool.query('SELECT p.id::text AS id, fb.label FROM serving.prediction p JOIN serving.feedback fb ON fb.prediction_id = p.id WHERE p.entity_id = $1', [entityId]);
    assert.deepEqual(rows, [{ id: p.body.predictionId, label: 1 }]);
    const again = await clients.reader.get<{ items: Record<string, unknown>[] }>(`/predictions?entityId=${entityId}`);
    assert.deepEqual(again.body, history.body);
  });

  it('lets every role read the history, and only predictor and above send feedback; 401 without a key or with one the registry does not know', async () => {
    const entityId = `roles-${Date.now()}`;
    const p = await clients.predictor.post<PredictAnswer>('/predict', { model: f.model, entityId, features });
    assert.equal(p.status, 200);
    const feedbackStatus: Record<string, number> = {};
    const historyStatus: Record<string, number> = {};
    for (const role of ROLES) {
      const fb = await clients[role].post('/feedback', { predictionId: p.body.predictionId, label: 0 });
      feedbackStatus[role] = fb.status;
      if (role === 'reader') {
        assert.equal(fb.body.error && (fb.body.error as { code: string }).code, 'forbidden');
        assert.match((fb.body.error as { message: string }).message, /needs role predictor or above; key ".*" has role reader/);
      }
      historyStatus[role] = (await clients[role].get(`/predictions?entityId=${entityId}`)).status;
    }
    assert.deepEqual(feedbackStatus, { reader: 403, predictor: 202, 'data-scientist': 202, admin: 202 });
    assert.deepEqual(historyStatus, { reader: 200, predictor: 200, 'data-scientist': 200, admin: 200 });

    const unknown = new JsonClient(f.serving.url, `ctk_${'0'.repeat(40)}`);
    try {
      for (const res of [
        await unknown.post('/feedback', { predictionId: p.body.predictionId, label: 0 }),
        await unknown.get(`/predictions?entityId=${entityId}`),
      ]) {
        assert.equal(res.status, 401);
        assert.equal((res.body.error as { code: string }).code, 'unauthorized');
      }
    } finally {
      unknown.close();
    }
    const anonymous = await clients.reader.request('GET', `/predictions?entityId=${entityId}`, undefined, { authorization: '' });
    assert.equal(anonymous.status, 401);
    const rows = await f.pool.query('SELECT count(*)::int AS n FROM serving.feedback WHERE prediction_id = $1', [p.body.predictionId]);
    assert.equal(rows.rows[0].n, 1, "the reader's refused feedback stored nothing; the others' are one row");
  });
});
