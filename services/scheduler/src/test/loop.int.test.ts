import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { z } from 'zod';
import { drift, evaluate } from '@contender/dags';
import { insertPredictions, type PredictionRow } from '@contender/dags/testing';
import { onnxFixture, TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { buildReferenceProfile, columnsFromMatrix, createRandom, loadCsvDataset, type CsvDataset } from '@contender/ml';
import { defineDag } from '@contender/pipeline';
import { createPool, type Pool } from '@contender/platform';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { RegistryClient } from '@contender/sdk';
import { migrateServing } from '@contender/serving';
import { startTestScheduler, waitFor, type TestScheduler } from '../testing.js';

/** Stands in for retrain: drift only needs a retrain DAG to trigger; retrain has tests of its own. */
const retrainStandIn = defineDag({
  id: 'retrain',
  description: 'records that it ran',
  cron: '0 0 1 1 *',
  params: z.object({}).passthrough(),
  steps: [{ name: 'noop', run: async (ctx) => ({ trigger: ctx.trigger, cause: ctx.cause }) }],
});

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** The value of a sample in a Prometheus text exposition whose labels include `labels`; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('drift and evaluate through the scheduler, the registry and the prediction log', () => {
  let registry: TestRegistry;
  let database: TestDatabase;
  let pool: Pool;
  let s: TestScheduler;
  let ds: string;
  let reader: string;
  let client: RegistryClient;
  let taiwan: CsvDataset;

  before(async () => {
    registry = await startTestRegistry();
    database = await createTestDatabase('scheduler_loop');
    pool = createPool(database.url, { max: 4 });
    await migrateServing(pool);
    const own = await registry.createKey('data-scientist', 'scheduler');
    ds = await registry.createKey('data-scientist');
    reader = await registry.createKey('reader');
    client = new RegistryClient({ baseUrl: registry.url, apiKey: ds });
    s = await startTestScheduler({ dags: [drift, evaluate, retrainStandIn], databaseUrl: database.url, registryUrl: registry.url, apiKey: own });
    taiwan = await loadCsvDataset(TAIWAN_CREDIT_CSV, { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
  });
  after(async () => {
    await s?.close();
    await pool?.end();
    await database?.drop();
    await registry?.close();
  });

  async function model(name: string, versions: number, metadata: Record<string, unknown> = {}): Promise<void> {
    await client.createModel({ name, task: 'binary_classification' });
    for (let v = 0; v < versions; v++) await client.uploadVersion(name, { artifact: onnxFixture('sklearn-onnx__tests_datasets_treecl2.onnx'), metadata: { featureNames: [...taiwan.featureNames], ...metadata } });
    await client.setAlias(name, 'champion', 1);
  }

  async function run(dag: string, model: string, params: Record<string, unknown> = {}): Promise<{ id: string; status: string; output?: any; reason?: string }> {
    const res = await request(s.app).post(`/api/v1/dags/${dag}/runs`).set('authorization', `Bearer ${ds}`).send({ model, params });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return waitFor(`${dag} run ${res.body.runId}`, async () => {
      const r = await request(s.app).get(`/api/v1/runs/${res.body.runId}`).set('authorization', `Bearer ${reader}`);
      return ['succeeded', 'failed', 'skipped', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    }, 60_000);
  }

  /** Logged predictions whose features are Taiwan rows (every 7th), one feature optionally scaled. */
  function taiwanRows(modelName: string, n: number, scale: Record<string, number> = {}): PredictionRow[] {
    const X = taiwan.X;
    const now = Date.now();
    return Array.from({ length: n }, (_, k) => {
      const i = (k * 7) % X.rows;
      const features: Record<string, number> = {};
      taiwan.featureNames.forEach((f, j) => (features[f] = X.data[i * X.cols + j]! * (scale[f] ?? 1)));
      return { at: new Date(now - 60_000 - k), model: modelName, version: 1, variant: 'champion', entityId: `e${k}`, features, score: 0.3 };
    });
  }

  describe('drift', () => {
    before(async () => {
      const profile = buildReferenceProfile(columnsFromMatrix(taiwan.featureNames, taiwan.X));
      await model('credit', 1, { referenceProfile: profile });
      await model('calm', 1, { referenceProfile: profile });
      await model('bare', 1);
      await insertPredictions(pool, taiwanRows('credit', 3000, { LIMIT_BAL: 4 }));
      await insertPredictions(pool, taiwanRows('calm', 3000));
      await insertPredictions(pool, taiwanRows('bare', 3000));
      const put = await request(s.app).put('/api/v1/schedules/retrain/credit').set('authorization', `Bearer ${ds}`).send({ cron: '0 0 1 1 *', params: { dataset: 'credit-data' } });
      assert.ok(put.status === 201 || put.status === 200, JSON.stringify(put.body));
    });

    it('flags the shifted feature and no other, and triggers exactly one retrain within the cooldown, with its cause', async () => {
      const first = await run('drift', 'credit', { driftShare: 0.04 });
      assert.equal(first.status, 'succeeded', JSON.stringify(first));
      assert.deepEqual(first.output.driftedFeatures, ['LIMIT_BAL']);
      assert.equal(first.output.drifted, true);
      assert.equal(first.output.rows, 3000);
      assert.equal(first.output.referenceVersion, 1);
      assert.ok(first.output.features.find((f: { name: string }) => f.name === 'LIMIT_BAL').psi >= 0.2);
      assert.equal(first.output.retrain.triggered, true);

      const second = await run('drift', 'credit', { driftShare: 0.04 });
      assert.equal(second.output.drifted, true);
      assert.equal(second.output.retrain.triggered, false);
      assert.match(second.output.retrain.reason, /within the 24 h cooldown/);

      const retrains = await request(s.app).get('/api/v1/runs?dag=retrain&model=credit').set('authorization', `Bearer ${reader}`);
      assert.equal(retrains.body.items.length, 1);
      const retrain = retrains.body.items[0];
      assert.equal(retrain.trigger, 'drift');
      assert.match(retrain.cause, new RegExp(`^drift run ${first.id}: 1 of 23 features drifted .*LIMIT_BAL PSI`));
      assert.deepEqual(retrain.params, { dataset: 'credit-data' }, "the retrain schedule's params");

      const latest = await request(s.app).get('/api/v1/models/credit/drift').set('authorization', `Bearer ${reader}`);
      assert.equal(latest.status, 200);
      assert.equal(latest.body.runId, second.id);
      const history = await request(s.app).get('/api/v1/models/credit/drift?history=5').set('authorization', `Bearer ${reader}`);
      assert.deepEqual(history.body.items.map((r: { runId: string }) => r.runId), [second.id, first.id]);
      const bad = await request(s.app).get('/api/v1/models/credit/drift?history=0').set('authorization', `Bearer ${reader}`);
      assert.equal(bad.status, 400);
      assert.match(JSON.stringify(bad.body.error), /history/);

      const metrics = await request(s.app).get('/metrics');
      assert.ok(sample(metrics.text, 'scheduler_feature_drift_psi', { model: 'credit', feature: 'LIMIT_BAL' })! >= 0.2);
      assert.ok(sample(metrics.text, 'scheduler_feature_drift_psi', { model: 'credit', feature: 'AGE' })! < 0.1);
      assert.equal(sample(metrics.text, 'scheduler_drift_detected', { model: 'credit' }), 1);
      assert.equal(sample(metrics.text, 'scheduler_drift_share', { model: 'credit' }), second.output.driftedShare);
    });

    it('finds no drift in unshifted rows', async () => {
      const r = await run('drift', 'calm', { driftShare: 0.04 });
      assert.equal(r.status, 'succeeded');
      assert.deepEqual(r.output.driftedFeatures, []);
      assert.equal(r.output.drifted, false);
      assert.equal(r.output.retrain, null);
    });

    it('skips, saying why, without a reference profile or with too few rows', async () => {
      const bare = await run('drift', 'bare');
      assert.equal(bare.status, 'skipped');
      assert.match(bare.reason!, /has no reference profile/);
      const few = await run('drift', 'calm', { minRows: 5000 });
      assert.equal(few.status, 'skipped');
      assert.match(few.reason!, /3000 logged predictions of version 1 in the last 24 h .*minRows is 5000/);
      const none = await request(s.app).get('/api/v1/models/bare/drift').set('authorization', `Bearer ${reader}`);
      assert.equal(none.status, 404);
      assert.equal(none.body.error.code, 'report_not_found');
    });
  });

  describe('evaluate', () => {
    /**
     * A 50 % split experiment on Taiwan labels: the champion's scores carry `championSignal` of
     * the label, the challenger's `challengerSignal`; `labelled` rows per arm get the true label as feedback.
     */
    async function experiment(name: string, o: { championSignal: number; challengerSignal: number; perArm: number; labelled: number; challengerEntities?: number }): Promise<void> {
      await model(name, 2);
      await client.setAlias(name, 'challenger', 2);
      await client.setTraffic(name, { challengerPercent: 50, mode: 'split' });
      const random = createRandom(name.length);
      const rows: PredictionRow[] = [];
      const now = Date.now();
      for (const arm of ['champion', 'challenger'] as const) {
        const n = arm === 'challenger' ? (o.challengerEntities ?? o.perArm) : o.perArm;
        const signal = arm === 'champion' ? o.championSignal : o.challengerSignal;
        for (let k = 0; k < n; k++) {
          const i = (k * 13 + (arm === 'challenger' ? 5 : 0)) % taiwan.X.rows;
          const y = taiwan.y[i]!;
          const noise = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
          rows.push({
            at: new Date(now + k),
            model: name,
            version: arm === 'champion' ? 1 : 2,
            variant: arm,
            entityId: `${arm}-${k}`,
            score: sigmoid(-1.3 + signal * y + noise),
            latencyMs: 4 + random(),
            ...(k < o.labelled ? { outcome: y } : {}),
          });
        }
      }
      await insertPredictions(pool, rows);
      // The run's window ends at its trigger time: let the rows' times pass first.
      await waitFor('the rows to be in the past', () => (Date.now() > now + o.perArm + 5 ? true : undefined));
    }

    it('promotes a better challenger, and the registry says why with the numbers', async () => {
      await experiment('better', { championSignal: 0.6, challengerSignal: 2.5, perArm: 2000, labelled: 2000 });
      const r = await run('evaluate', 'better');
      assert.equal(r.status, 'succeeded', JSON.stringify(r));
      assert.equal(r.output.verdict, 'promote', r.output.reasons.join('; '));
      assert.equal(r.output.action.action, 'promoted');
      assert.ok(r.output.comparison.alwaysValid.interval[0] > 0);
      assert.equal(r.output.arms.challenger.labelled, 2000);
      const m = await client.getModel('better');
      assert.equal(m.aliases.champion, 2);
      assert.equal(m.aliases.challenger, undefined);
      const events = await client.events('better', { limit: 200 });
      const promoted = events.items.find((e) => e.action === 'model.promoted')!;
      assert.match(promoted.reason!, new RegExp(`^evaluate run ${r.id}: promote version 2 vs champion 1: challenger better: AUC 0\\.\\d{3} vs champion 0\\.\\d{3} \\(Δ \\+0\\.\\d{3}, always-valid 95% CI`));
      const metrics = await request(s.app).get('/metrics');
      assert.equal(sample(metrics.text, 'scheduler_evaluation_verdicts_total', { model: 'better', verdict: 'promote' }), 1);
      assert.equal(sample(metrics.text, 'scheduler_arm_labelled', { model: 'better', arm: 'challenger' }), 2000);
      assert.equal(sample(metrics.text, 'scheduler_arm_auc', { model: 'better', arm: 'challenger' }), r.output.arms.challenger.auc);
      const report = await request(s.app).get('/api/v1/models/better/evaluation').set('authorization', `Bearer ${reader}`);
      assert.equal(report.body.runId, r.id);
    });

    it('rolls back a worse challenger: its share to 0 and its alias removed', async () => {
      await experiment('worse', { championSignal: 2.5, challengerSignal: 0.6, perArm: 2000, labelled: 2000 });
      const r = await run('evaluate', 'worse');
      assert.equal(r.output.verdict, 'rollback', r.output.reasons.join('; '));
      assert.equal(r.output.action.action, 'rolled_back');
      const m = await client.getModel('worse');
      assert.equal(m.aliases.champion, 1);
      assert.equal(m.aliases.challenger, undefined);
      assert.equal(m.traffic.challengerPercent, 0);
    });

    it('flags a skewed assignment as a sample ratio mismatch and promotes nothing', async () => {
      await experiment('skewed', { championSignal: 0.6, challengerSignal: 2.5, perArm: 3000, challengerEntities: 1000, labelled: 1000 });
      const r = await run('evaluate', 'skewed');
      assert.equal(r.output.srm.flagged, true);
      assert.ok(r.output.srm.pValue < 0.001);
      assert.equal(r.output.verdict, 'continue');
      assert.equal(r.output.action.action, 'none');
      assert.equal((await client.getModel('skewed')).aliases.champion, 1);
      const metrics = await request(s.app).get('/metrics');
      assert.equal(sample(metrics.text, 'scheduler_srm_p_value', { model: 'skewed' }), r.output.srm.pValue);
    });

    it('continues while there are too few labels', async () => {
      await experiment('few', { championSignal: 0.6, challengerSignal: 2.5, perArm: 1000, labelled: 100 });
      const r = await run('evaluate', 'few');
      assert.equal(r.output.verdict, 'continue');
      assert.match(r.output.reasons[0], /too few labels: 100 vs 100 labelled \(minLabelledPerArm 300\)/);
      assert.equal((await client.getModel('few')).aliases.challenger, 2);
    });
  });
});
