import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { binPlan, buildReferenceProfile, categoricalDriftFromBins, createRandom, detectDrift, numericDriftFromBins, type ReferenceProfile } from '@contender/ml';
import { countFeatureBins, countScoreBins, countWindowRows } from './drift-counts.js';
import { createServingTables, insertPredictions, type PredictionRow, type ServingTables } from './testing/serving-tables.js';

describe('drift counts in Postgres', () => {
  let t: ServingTables;
  let profile: ReferenceProfile;
  const from = new Date('2026-03-01T00:00:00Z');
  const to = new Date('2026-03-02T00:00:00Z');
  const current: { amount: number[]; age: number[]; city: (string | null)[] } = { amount: [], age: [], city: [] };

  before(async () => {
    t = await createServingTables('drift_counts');
    const random = createRandom(3);
    const refAmount = Array.from({ length: 4000 }, () => (random() < 0.25 ? 0 : Math.round(random() * 5000)));
    const refAge = Array.from({ length: 4000 }, () => 20 + Math.floor(random() * 50));
    const refCity = Array.from({ length: 4000 }, () => ['north', 'south', 'east'][Math.floor(random() * 3)]!);
    profile = buildReferenceProfile([
      { name: 'amount', values: refAmount },
      { name: 'age', values: refAge },
      { name: 'city', values: refCity },
    ]);
    const rows: PredictionRow[] = [];
    for (let i = 0; i < 1500; i++) {
      const amount = random() < 0.4 ? 0 : Math.round(random() * 6000);
      const age = 20 + Math.floor(random() * 50);
      const city = i % 50 === 0 ? null : i % 7 === 0 ? 'west' : ['north', 'south', 'east'][i % 3]!;
      const features: Record<string, number | string | null> = { amount, age, city };
      if (i % 100 === 0) features.age = 'unknown'; // the wrong type counts as missing
      current.amount.push(amount);
      current.age.push(typeof features.age === 'number' ? age : NaN);
      current.city.push(city);
      rows.push({ at: new Date(from.getTime() + i * 50_000), model: 'm', version: 3, variant: 'champion', features, score: random() });
    }
    // Outside the window, another version, another model, no features: none of them counted.
    rows.push({ at: to, model: 'm', version: 3, variant: 'champion', features: { amount: 1, age: 1, city: 'x' }, score: 0.5 });
    rows.push({ at: from, model: 'm', version: 2, variant: 'champion', features: { amount: 1, age: 1, city: 'x' }, score: 0.5 });
    rows.push({ at: from, model: 'other', version: 3, variant: 'champion', features: { amount: 1, age: 1, city: 'x' }, score: 0.5 });
    rows.push({ at: from, model: 'm', version: 3, variant: 'champion', features: null, score: 0.5 });
    await insertPredictions(t.pool, rows);
  });
  after(async () => t?.close());

  it('counts the window of one model version, rows without features left out', async () => {
    assert.equal(await countWindowRows(t.db, { model: 'm', version: 3, from, to }), 1500);
  });

  it('gives the same bin counts as counting the rows in memory', async () => {
    const plan = binPlan(profile);
    const counts = await countFeatureBins(t.db, { model: 'm', version: 3, from, to }, plan);
    // detectDrift counts raw values with the profile's own bins; the SQL counts must reproduce its PSI.
    const raw = detectDrift(profile, [
      { name: 'amount', values: current.amount },
      { name: 'age', values: current.age },
      { name: 'city', values: current.city },
    ]);
    profile.features.forEach((f, i) => {
      const p = plan[i]!;
      const psi =
        f.kind === 'numeric' && p.kind === 'numeric' ? numericDriftFromBins(f, p, counts[i]!).psi : f.kind === 'categorical' ? categoricalDriftFromBins(f, counts[i]!).psi : NaN;
      assert.ok(Math.abs(psi - raw.features[i]!.psi) < 1e-5, `${f.name}: PSI ${psi} from SQL, ${raw.features[i]!.psi} in memory`);
    });
    const age = counts[1]!;
    assert.equal(age.missing, 15, 'a string where a number belongs is missing');
    const city = counts[2]!;
    assert.equal(city.missing, 30);
    const expectedWest = current.city.filter((c) => c === 'west').length;
    assert.equal(city.bins[city.bins.length - 1], expectedWest, 'unknown categories land in "other"');
  });

  it('counts the score per tenth', async () => {
    const s = await countScoreBins(t.db, { model: 'm', version: 3, from, to });
    assert.equal(s.rows, 1501, 'the score is counted with or without logged features');
    assert.equal(s.bins.length, 10);
    assert.equal(s.bins.reduce((a, b) => a + b, 0), 1501);
  });
});
