import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { brierScore, compareAucPaired, createRandom, delongAuc, logLoss } from '@contender/ml';
import { countArms, pairedScoreCounts, scoreHistograms } from './evaluation-counts.js';
import { computeEvaluationStats } from './evaluation-report.js';
import { createServingTables, insertPredictions, type PredictionRow, type ServingTables } from './testing/serving-tables.js';

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `expected ${b} ± ${tol}, got ${a}`);
const from = new Date('2026-04-01T00:00:00Z');
const to = new Date('2026-04-03T00:00:00Z');
const round4 = (s: number): number => Math.round(s * 1e4) / 1e4;

describe('evaluation counts in Postgres', () => {
  let t: ServingTables;
  const split = { champion: { y: [] as number[], s: [] as number[], lat: [] as number[] }, challenger: { y: [] as number[], s: [] as number[], lat: [] as number[] } };
  const shadow = { y: [] as number[], a: [] as number[], b: [] as number[] };

  before(async () => {
    t = await createServingTables('evaluation_counts');
    const random = createRandom(5);
    const rows: PredictionRow[] = [];
    for (let i = 0; i < 2000; i++) {
      const arm = i % 2 === 0 ? 'champion' : 'challenger';
      const y = random() < 0.3 ? 1 : 0;
      const s = Math.min(0.999, Math.max(0.001, 0.3 + (arm === 'challenger' ? 0.35 : 0.2) * (y - 0.3) + (random() - 0.5) * 0.6));
      const labelled = i % 3 !== 0;
      const lat = 2 + random() * 10;
      rows.push({ at: new Date(from.getTime() + i * 60_000), model: 'split', version: arm === 'champion' ? 1 : 2, variant: arm, entityId: `e${i}`, score: s, latencyMs: lat, ...(labelled ? { outcome: y } : {}) });
      split[arm].lat.push(lat);
      if (labelled) {
        split[arm].y.push(y);
        split[arm].s.push(s);
      }
    }
    // Challenger failures answered by the champion: the challenger arm's fallbacks, not champion metrics.
    for (let i = 0; i < 20; i++) rows.push({ at: from, model: 'split', version: 1, variant: 'champion', entityId: `f${i}`, score: 0.5, fallback: true, outcome: 1, latencyMs: 3 });
    // Outside the experiment: before it, another model, an outcome that is not 0/1.
    rows.push({ at: new Date(from.getTime() - 1), model: 'split', version: 1, variant: 'champion', entityId: 'old', score: 0.1, outcome: 1 });
    rows.push({ at: from, model: 'other', version: 1, variant: 'champion', entityId: 'x', score: 0.1, outcome: 1 });
    rows.push({ at: from, model: 'split', version: 1, variant: 'champion', entityId: 'odd', score: 0.1, outcome: 0.5, latencyMs: 3 });
    split.champion.lat.push(3);

    // Shadow mode: every request answered by version 1, a share also scored by version 2.
    for (let i = 0; i < 1500; i++) {
      const y = random() < 0.3 ? 1 : 0;
      const a = Math.min(0.999, Math.max(0.001, 0.3 + 0.2 * (y - 0.3) + (random() - 0.5) * 0.6));
      const b = Math.min(0.999, Math.max(0.001, a * 0.5 + 0.25 * y + (random() - 0.5) * 0.2));
      const requestId = randomUUID();
      const at = new Date(from.getTime() + i * 60_000);
      rows.push({ at, requestId, model: 'shadowed', version: 1, variant: 'champion', entityId: `s${i}`, score: a, outcome: y });
      if (i % 4 !== 0) {
        rows.push({ at, requestId, model: 'shadowed', version: 2, variant: 'shadow', entityId: `s${i}`, score: b });
        shadow.y.push(y);
        shadow.a.push(round4(a));
        shadow.b.push(round4(b));
      }
    }
    await insertPredictions(t.pool, rows);
  });
  after(async () => t?.close());

  const splitExperiment = { model: 'split', mode: 'split' as const, championVersion: 1, challengerVersion: 2, from, to };

  it('counts predictions, entities, labels and fallbacks per arm, and sums log loss and Brier', async () => {
    const arms = await countArms(t.db, splitExperiment);
    assert.equal(arms.champion.predictions, 1001);
    assert.equal(arms.challenger.predictions, 1020);
    assert.equal(arms.challenger.fallbacks, 20);
    assert.equal(arms.champion.fallbacks, 0);
    assert.equal(arms.challenger.entities, 1020);
    assert.equal(arms.champion.labelled, split.champion.y.length, 'the 0.5 outcome is left out');
    assert.equal(arms.challenger.labelled, split.challenger.y.length, 'fallback answers are not the challenger model');
    assert.equal(arms.champion.positives, split.champion.y.reduce((a, b) => a + b, 0));
    close(arms.champion.logLossSum / arms.champion.labelled, logLoss(split.champion.y, split.champion.s));
    close(arms.challenger.brierSum / arms.challenger.labelled, brierScore(split.challenger.y, split.challenger.s));
    const sorted = [...split.champion.lat].sort((a, b) => a - b);
    const rank = 0.99 * (sorted.length - 1);
    const p99 = sorted[Math.floor(rank)]! + (rank - Math.floor(rank)) * (sorted[Math.ceil(rank)]! - sorted[Math.floor(rank)]!);
    close(arms.champion.p99LatencyMs!, p99);
  });

  it('gives score histograms on which DeLong equals DeLong on the rounded rows', async () => {
    const h = await scoreHistograms(t.db, splitExperiment);
    const stats = await computeEvaluationStats(t.db, splitExperiment, { alpha: 0.05, mixtureSd: 0.05, challengerShare: 0.5, srmPValue: 0.001 });
    const raw = delongAuc(split.challenger.y, split.challenger.s.map(round4));
    close(stats.arms.challenger.auc!, raw.auc, 1e-6);
    assert.equal(Array.from(h.champion.positives).reduce((a, b) => a + b, 0) + Array.from(h.champion.negatives).reduce((a, b) => a + b, 0), split.champion.y.length);
    assert.equal(stats.comparison?.method, 'delong-independent');
    assert.ok(stats.comparison!.alwaysValid.interval[0] < stats.comparison!.fixedHorizon.interval[0], 'the always-valid interval is the wider one');
    assert.equal(stats.srm?.flagged, false);
  });

  it('pairs shadow rows with the champion rows they shadow and takes the champion row’s outcome', async () => {
    const e = { model: 'shadowed', mode: 'shadow' as const, championVersion: 1, challengerVersion: 2, from, to };
    const pairs = await pairedScoreCounts(t.db, e);
    assert.equal(pairs.pairs, shadow.y.length);
    const stats = await computeEvaluationStats(t.db, e, { alpha: 0.05, mixtureSd: 0.05, challengerShare: 0.75, srmPValue: 0.001 });
    const raw = compareAucPaired(shadow.y, shadow.a, shadow.b);
    assert.equal(stats.comparison?.method, 'delong-paired');
    close(stats.comparison!.difference, raw.difference, 1e-6);
    close(stats.comparison!.fixedHorizon.interval[0], raw.confidenceInterval[0], 1e-6);
    assert.deepEqual(stats.srm?.entities, [375, 1125], 'shadowed vs not shadowed entities');
  });
});
