import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { assignsChallenger, challengerBucketCount, type Task } from '@contender/contracts';
import { AppError, ServiceUnavailableError, createLogger } from '@contender/platform';
import type { Principal } from '../auth/introspection-auth.js';
import { FeatureEncoder, type EncodedInput, type FeatureMap } from '../features/feature-encoder.js';
import type { CachedFeatures, FeatureCache } from '../features/redis-feature-cache.js';
import { ServingMetrics } from '../metrics/serving-metrics.js';
import type { ScoringVersion } from '../models/loaded-version.js';
import type { ServedModel } from '../models/served-model.js';
import type { PredictionRecord } from '../prediction-log/prediction-record.js';
import { PredictService } from './predict-service.js';

const NAMES = ['a', 'b'];

/** A version whose score is the feature `a` plus an offset, or that fails when told to. */
class FakeVersion implements ScoringVersion {
  readonly sha256 = 'f'.repeat(64);
  readonly threshold = 0.5;
  readonly encoder = FeatureEncoder.forSignature(NAMES, [{ name: 'input', type: 'float32', shape: ['', 2] }]);
  calls: number[] = [];
  failWith: Error | null = null;
  imputes = false;
  constructor(
    readonly model: string,
    readonly version: number,
    private readonly offset = 0,
    readonly task: Task = 'binary_classification',
  ) {}
  async score(inputs: EncodedInput[], rows: number): Promise<Float64Array> {
    this.calls.push(rows);
    if (this.failWith) throw this.failWith;
    const data = inputs[0]!.data as Float32Array;
    // A missing `a` (null → NaN) gives no score unless this version imputes it.
    return Float64Array.from({ length: rows }, (_, r) => (Number.isNaN(data[r * 2]) && this.imputes ? 0.5 : data[r * 2]!) + this.offset);
  }
}

class FakeCache implements FeatureCache {
  readonly store = new Map<string, CachedFeatures>();
  down = false;
  writes: string[] = [];
  private check() {
    if (this.down) throw new ServiceUnavailableError('feature_cache_unavailable', 'the feature cache is unavailable (test)');
  }
  async read(id: string) {
    this.check();
    return this.store.get(id) ?? null;
  }
  async readMany(ids: readonly string[]) {
    this.check();
    return ids.map((id) => this.store.get(id) ?? null);
  }
  write(id: string, features: FeatureMap) {
    this.writes.push(id);
    if (!this.down) this.store.set(id, { features, updatedAt: Date.now() });
  }
  writeMany(entries: ReadonlyArray<{ entityId: string; features: FeatureMap }>) {
    for (const e of entries) this.write(e.entityId, e.features);
  }
  async flushPendingWrites() {}
  async close() {}
  async put(id: string, features: FeatureMap) {
    this.check();
    this.store.set(id, { features, updatedAt: 1 });
    return { features, updatedAt: 1 };
  }
  async readWithTtl() {
    return null;
  }
  readiness() {
    return { ok: !this.down };
  }
}

interface Setup {
  service: PredictService;
  records: PredictionRecord[];
  cache: FakeCache;
  champion: FakeVersion;
  challenger: FakeVersion;
  previous: FakeVersion;
  served: { current: ServedModel | undefined; synced: boolean };
  metrics: Registry;
}

function setup(opts: { percent?: number; mode?: 'split' | 'shadow'; withChallenger?: boolean; withPrevious?: boolean } = {}): Setup {
  const champion = new FakeVersion('credit', 2, 0);
  const challenger = new FakeVersion('credit', 3, 0.001);
  const previous = new FakeVersion('credit', 1, 0.002);
  const percent = opts.percent ?? 0;
  const hasChallenger = opts.withChallenger ?? true;
  const served = {
    synced: true,
    current: {
      name: 'credit',
      task: 'binary_classification',
      champion,
      challenger: hasChallenger ? challenger : null,
      previousChampion: (opts.withPrevious ?? true) ? previous : null,
      hasChallenger,
      mode: opts.mode ?? 'split',
      challengerPercent: percent,
      challengerBuckets: challengerBucketCount(percent),
      revision: 1,
    } as ServedModel | undefined,
  };
  const records: PredictionRecord[] = [];
  const cache = new FakeCache();
  const metrics = new Registry();
  const service = new PredictService({
    models: { get: (name) => (name === 'credit' ? served.current : undefined), hasSynced: () => served.synced },
    cache,
    log: { append: (r) => records.push(r) },
    metrics: new ServingMetrics(metrics),
    logger: createLogger('test', 'silent'),
    maxBatchRows: 100,
    featureTtlSeconds: 60,
    featureLimits: { maxBytes: 16_384, maxCount: 512 },
  });
  return { service, records, cache, champion, challenger, previous, served, metrics };
}

const predictor: Principal = { name: 'app', role: 'predictor', keyId: 1 };
const scientist: Principal = { name: 'ds', role: 'data-scientist', keyId: 2 };

/** An entity id the sticky hash puts in the challenger at `percent`, or (inverse) in the champion. */
function entityIn(arm: 'challenger' | 'champion', percent: number): string {
  for (let i = 0; ; i++) if (assignsChallenger('credit', `e${i}`, percent) === (arm === 'challenger')) return `e${i}`;
}

async function rejects(p: Promise<unknown>, status: number, code: string): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail('expected a rejection');
}

const setImmediateP = () => new Promise((r) => setImmediate(r));

describe('PredictService', () => {
  it('answers with the champion and logs one record with the request id, features, score and label', async () => {
    const { service, records } = setup();
    const res = await service.predict({ model: 'credit', entityId: 'c1', features: { a: 0.7, b: 1 } }, predictor, 'req-1', performance.now());
    assert.equal(res.variant, 'champion');
    assert.equal(res.version, 2);
    assert.ok(Math.abs(res.score - 0.7) < 1e-6);
    assert.equal(res.label, 1);
    assert.equal(res.fallback, undefined);
    assert.equal(records.length, 1);
    assert.deepEqual(
      { ...records[0]!, at: undefined, latencyMs: undefined },
      {
        id: res.predictionId,
        requestId: 'req-1',
        at: undefined,
        model: 'credit',
        version: 2,
        variant: 'champion',
        entityId: 'c1',
        features: { a: 0.7, b: 1 },
        // Serialised once, for the feature cache and the log alike.
        featuresJson: '{"a":0.7,"b":1}',
        score: res.score,
        label: 1,
        latencyMs: undefined,
        fallback: false,
      },
    );
  });

  it('routes an entity of the challenger\'s buckets to the challenger in split mode', async () => {
    const { service, records } = setup({ percent: 10 });
    const res = await service.predict({ model: 'credit', entityId: entityIn('challenger', 10), features: { a: 0.2, b: 0 } }, predictor, 'r', 0);
    assert.equal(res.variant, 'challenger');
    assert.equal(res.version, 3);
    assert.equal(res.label, 0);
    assert.equal(records[0]!.variant, 'challenger');
  });

  it('in shadow mode answers with the champion and logs the challenger\'s score afterwards under the same request id', async () => {
    const { service, records, challenger } = setup({ percent: 50, mode: 'shadow' });
    const res = await service.predict({ model: 'credit', entityId: entityIn('challenger', 50), features: { a: 0.4, b: 0 } }, predictor, 'req-s', 0);
    assert.equal(res.variant, 'champion');
    assert.equal(records.length, 1, 'the shadow scoring has not run before the response');
    assert.equal(challenger.calls.length, 0);
    await service.drain();
    assert.equal(records.length, 2);
    const shadow = records[1]!;
    assert.equal(shadow.variant, 'shadow');
    assert.equal(shadow.requestId, 'req-s');
    assert.equal(shadow.version, 3);
    assert.notEqual(shadow.id, res.predictionId);
    assert.ok(Math.abs(shadow.score - 0.401) < 1e-6);
    const champ = await service.predict({ model: 'credit', entityId: entityIn('champion', 50), features: { a: 0.4, b: 0 } }, predictor, 'r2', 0);
    await service.drain();
    assert.equal(champ.variant, 'champion');
    assert.equal(records.length, 3, 'an entity outside the share is not shadowed');
  });

  it('answers with the champion, marked fallback, when the challenger fails', async () => {
    const { service, records, challenger, metrics } = setup({ percent: 100 });
    challenger.failWith = new Error('boom');
    const res = await service.predict({ model: 'credit', features: { a: 0.3, b: 0 } }, predictor, 'r', 0);
    assert.equal(res.variant, 'champion');
    assert.equal(res.version, 2);
    assert.equal(res.fallback, true);
    assert.deepEqual([records[0]!.variant, records[0]!.fallback, records[0]!.version], ['champion', true, 2]);
    const text = await metrics.metrics();
    assert.match(text, /serving_fallbacks_total\{model="credit"\} 1/);
    assert.match(text, /serving_predictions_total\{model="credit",variant="challenger",outcome="fallback"\} 1/);
  });

  it('answers with the champion when the challenger gives no finite score, and 422s when no version does', async () => {
    const { service, champion, records } = setup({ percent: 100 });
    champion.imputes = true;
    const res = await service.predict({ model: 'credit', features: { a: null, b: 0 } }, predictor, 'r', 0);
    assert.deepEqual([res.variant, res.version, res.fallback, res.score], ['champion', 2, true, 0.5]);
    champion.imputes = false;
    const err = await rejects(service.predict({ model: 'credit', features: { a: null, b: 0 } }, predictor, 'r', 0), 422, 'unscorable_features');
    assert.match(err.message, /no version of model "credit" gives a finite score/);
    assert.equal(records.length, 1);
  });

  it('answers with the previous champion when the champion fails', async () => {
    const { service, champion } = setup();
    champion.failWith = new Error('bad session');
    const res = await service.predict({ model: 'credit', features: { a: 0.3, b: 0 } }, predictor, 'r', 0);
    assert.deepEqual([res.variant, res.version, res.fallback], ['champion', 1, true]);
  });

  it('answers 503 no_model_available, and logs nothing, when no version can answer', async () => {
    const { service, champion, records } = setup({ withPrevious: false });
    champion.failWith = new Error('bad session');
    const err = await rejects(service.predict({ model: 'credit', features: { a: 0.3, b: 0 } }, predictor, 'r', 0), 503, 'no_model_available');
    assert.match(err.message, /v2: bad session/);
    assert.equal(records.length, 0);
  });

  it('writes request features through to the cache and reads them for entity-only requests', async () => {
    const { service, cache } = setup();
    await service.predict({ model: 'credit', entityId: 'c9', features: { a: 0.9, b: 2 } }, predictor, 'r', 0);
    assert.deepEqual(cache.writes, ['c9']);
    const res = await service.predict({ model: 'credit', entityId: 'c9' }, predictor, 'r', 0);
    assert.ok(Math.abs(res.score - 0.9) < 1e-6);
    const err = await rejects(service.predict({ model: 'credit', entityId: 'nobody' }, predictor, 'r', 0), 422, 'features_not_found');
    assert.match(err.message, /"nobody"/);
  });

  it('writes nothing through for a request refused for its features, and writes an answered one', async () => {
    const { service, cache } = setup();
    cache.store.set('e', { features: { a: 0.4, b: 1 }, updatedAt: 1 });
    await rejects(service.predict({ model: 'credit', entityId: 'e', features: { junk: 'x' } }, predictor, 'r', 0), 422, 'missing_features');
    await rejects(service.predict({ model: 'credit', entityId: 'e', features: {} }, predictor, 'r', 0), 422, 'missing_features');
    await rejects(service.predict({ model: 'credit', entityId: 'e', features: { a: 'high', b: 1 } }, predictor, 'r', 0), 422, 'invalid_features');
    await rejects(service.predict({ model: 'credit', entityId: 'e', features: { a: 1e308, b: 1 } }, predictor, 'r', 0), 422, 'invalid_features');
    assert.deepEqual(cache.writes, []);
    assert.deepEqual(cache.store.get('e')!.features, { a: 0.4, b: 1 });
    await service.predict({ model: 'credit', entityId: 'e', features: { a: 0.7, b: 2 } }, predictor, 'r', 0);
    assert.deepEqual(cache.store.get('e')!.features, { a: 0.7, b: 2 });
  });

  it('refuses write-throughs over FEATURE_MAX_BYTES (413) or FEATURE_MAX_COUNT (400), and scores such features without an entityId', async () => {
    const { service, cache } = setup();
    const wide = Object.fromEntries(Array.from({ length: 513 }, (_, i) => [`f${i}`, i]));
    const many = await rejects(service.predict({ model: 'credit', entityId: 'w', features: { a: 0.1, b: 0, ...wide } }, predictor, 'r', 0), 400, 'too_many_features');
    assert.match(many.message, /features: 515 features, over FEATURE_MAX_COUNT \(512\)/);
    const big = await rejects(service.predict({ model: 'credit', entityId: 'w', features: { a: 0.1, b: 0, note: 'x'.repeat(16_384) } }, predictor, 'r', 0), 413, 'features_too_large');
    assert.match(big.message, /over FEATURE_MAX_BYTES \(16384\)/);
    // Multi-byte characters count as the bytes Redis stores: 6,000 × 3 bytes.
    await rejects(service.predict({ model: 'credit', entityId: 'w', features: { a: 0.1, b: 0, note: '€'.repeat(6_000) } }, predictor, 'r', 0), 413, 'features_too_large');
    assert.deepEqual(cache.writes, []);
    assert.equal((await service.predict({ model: 'credit', features: { a: 0.1, b: 0, ...wide } }, predictor, 'r', 0)).variant, 'champion');
  });

  it('still answers requests that carry features while the cache is down, and 503s entity-only ones', async () => {
    const { service, cache } = setup();
    cache.down = true;
    const res = await service.predict({ model: 'credit', entityId: 'c1', features: { a: 0.5, b: 0 } }, predictor, 'r', 0);
    assert.equal(res.variant, 'champion');
    await rejects(service.predict({ model: 'credit', entityId: 'c1' }, predictor, 'r', 0), 503, 'feature_cache_unavailable');
  });

  it('names every missing feature in a 422 and counts the rejection', async () => {
    const { service, metrics } = setup();
    const err = await rejects(service.predict({ model: 'credit', features: { c: 1 } }, predictor, 'r', 0), 422, 'missing_features');
    assert.match(err.message, /missing features: a, b/);
    assert.deepEqual((err.details as { missing: string[] }).missing, ['a', 'b']);
    assert.match(await metrics.metrics(), /serving_predictions_total\{model="credit",variant="champion",outcome="rejected"\} 1/);
  });

  it('lets only data scientists force a variant, and only a loaded one', async () => {
    const { service, served } = setup();
    await rejects(service.predict({ model: 'credit', features: { a: 1, b: 1 }, variant: 'challenger' }, predictor, 'r', 0), 403, 'forbidden');
    const forced = await service.predict({ model: 'credit', features: { a: 1, b: 1 }, variant: 'challenger' }, scientist, 'r', 0);
    assert.equal(forced.variant, 'challenger');
    served.current = { ...served.current!, challenger: null, hasChallenger: false };
    await rejects(service.predict({ model: 'credit', features: { a: 1, b: 1 }, variant: 'challenger' }, scientist, 'r', 0), 422, 'variant_unavailable');
  });

  it('says "loading" before the first deployment list and "not served" after', async () => {
    const { service, served } = setup();
    served.synced = false;
    await rejects(service.predict({ model: 'other', features: { a: 1, b: 1 } }, predictor, 'r', 0), 503, 'models_loading');
    served.synced = true;
    await rejects(service.predict({ model: 'other', features: { a: 1, b: 1 } }, predictor, 'r', 0), 404, 'model_not_found');
  });

  describe('batches', () => {
    it('route each row, score each arm with one run, and keep the rows in order', async () => {
      const { service, champion, challenger, records } = setup({ percent: 50 });
      const rows = Array.from({ length: 40 }, (_, i) => ({ entityId: `b${i}`, features: { a: i / 100, b: 0 } }));
      const res = await service.predictBatch({ model: 'credit', rows }, predictor, 'rb', 0);
      assert.equal(res.predictions.length, 40);
      assert.equal(champion.calls.length, 1);
      assert.equal(challenger.calls.length, 1);
      assert.equal(champion.calls[0]! + challenger.calls[0]!, 40);
      res.predictions.forEach((p, i) => {
        assert.equal(p.entityId, `b${i}`);
        assert.equal(p.variant, assignsChallenger('credit', `b${i}`, 50) ? 'challenger' : 'champion');
        assert.ok(Math.abs(p.score - (i / 100 + (p.variant === 'challenger' ? 0.001 : 0))) < 1e-6);
      });
      assert.equal(records.length, 40);
      assert.ok(records.every((r) => r.requestId === 'rb'));
    });

    it('fall back per arm: the challenger\'s rows are answered by the champion in one more run', async () => {
      const { service, champion, challenger } = setup({ percent: 50 });
      challenger.failWith = new Error('boom');
      const rows = Array.from({ length: 20 }, (_, i) => ({ entityId: `f${i}`, features: { a: 0.1, b: 0 } }));
      const res = await service.predictBatch({ model: 'credit', rows }, predictor, 'r', 0);
      const fell = res.predictions.filter((p) => p.fallback);
      assert.equal(fell.length, challenger.calls[0]);
      assert.ok(fell.every((p) => p.variant === 'champion' && p.version === 2));
      assert.equal(champion.calls.length, 2);
    });

    it('send only the rows the routed version could not score to the fallback', async () => {
      const { service, champion, challenger } = setup({ percent: 100 });
      champion.imputes = true;
      const res = await service.predictBatch({ model: 'credit', rows: [{ features: { a: 0.1, b: 0 } }, { features: { a: null, b: 0 } }, { features: { a: 0.3, b: 0 } }] }, predictor, 'r', 0);
      assert.deepEqual(res.predictions.map((p) => [p.variant, p.fallback ?? false]), [['challenger', false], ['champion', true], ['challenger', false]]);
      assert.deepEqual(challenger.calls, [3]);
      assert.deepEqual(champion.calls, [1]);
    });

    it('list every row with missing or unusable features, or missing from the cache', async () => {
      const { service } = setup();
      const err = await rejects(
        service.predictBatch({ model: 'credit', rows: [{ features: { a: 1, b: 1 } }, { features: { a: 1 } }, { features: { a: 'x', b: 1 } }] }, predictor, 'r', 0),
        422,
        'missing_features',
      );
      assert.match(err.message, /rows\[1\]: missing features: b \| rows\[2\]: invalid features: a/);
      const miss = await rejects(service.predictBatch({ model: 'credit', rows: [{ entityId: 'n1' }, { entityId: 'n2' }] }, predictor, 'r', 0), 422, 'features_not_found');
      assert.match(miss.message, /rows\[0\] \(n1\), rows\[1\] \(n2\)/);
    });

    it('write nothing through when any row is refused, name the rows over the caps, and write an answered batch', async () => {
      const { service, cache } = setup();
      const rows: Array<{ entityId: string; features: FeatureMap & Record<string, number | string | null> }> = [
        { entityId: 'r0', features: { a: 0.1, b: 0 } },
        { entityId: 'r1', features: { junk: 'x' } },
      ];
      await rejects(service.predictBatch({ model: 'credit', rows }, predictor, 'rb', 0), 422, 'missing_features');
      const wide = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i}`, i]));
      const capped = await rejects(
        service.predictBatch({ model: 'credit', rows: [rows[0]!, { entityId: 'r2', features: { a: 0.1, b: 0, ...wide } }] }, predictor, 'rb', 0),
        400,
        'too_many_features',
      );
      assert.match(capped.message, /rows\[1\]\.features: 602 features, over FEATURE_MAX_COUNT \(512\)/);
      assert.deepEqual(cache.writes, []);
      await service.predictBatch({ model: 'credit', rows: [rows[0]!] }, predictor, 'rb', 0);
      assert.deepEqual(cache.writes, ['r0']);
    });

    it('refuse more rows than MAX_BATCH_ROWS', async () => {
      const { service } = setup();
      const rows = Array.from({ length: 101 }, () => ({ features: { a: 1, b: 1 } }));
      const err = await rejects(service.predictBatch({ model: 'credit', rows }, predictor, 'r', 0), 413, 'too_many_rows');
      assert.match(err.message, /rows: at most 100 rows per batch \(MAX_BATCH_ROWS\), got 101/);
    });

    it('shadow-score the challenger\'s rows after the answer', async () => {
      const { service, records } = setup({ percent: 100, mode: 'shadow' });
      const res = await service.predictBatch({ model: 'credit', rows: [{ features: { a: 0.1, b: 0 } }, { features: { a: 0.2, b: 0 } }] }, predictor, 'r', 0);
      assert.ok(res.predictions.every((p) => p.variant === 'champion'));
      await setImmediateP();
      await service.drain();
      assert.deepEqual(records.map((r) => r.variant), ['champion', 'champion', 'shadow', 'shadow']);
    });
  });
});
