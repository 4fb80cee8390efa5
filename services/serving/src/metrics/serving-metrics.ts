import { Counter, Gauge, type Registry } from 'prom-client';
import { FastHistogram, type HistogramChild } from './fast-histogram.js';

/** Seconds, 0.5 ms to 1 s: a prediction normally takes well under 5 ms; anything past 1 s is an outage. */
export const PREDICTION_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** 0.05 … 1 in steps of 0.05: enough resolution to see a score distribution shift on a dashboard. */
export const SCORE_BUCKETS = Array.from({ length: 20 }, (_, i) => Math.round((i + 1) * 5) / 100);

export type MetricVariant = 'champion' | 'challenger' | 'shadow';
/**
 * ok: the routed arm answered; fallback: another version answered instead; error: nothing could
 * answer (503) or, for shadow, the shadow scoring failed; rejected: the request's features were
 * unusable (422).
 */
export type PredictionOutcome = 'ok' | 'fallback' | 'error' | 'rejected';
export type FeatureCacheResult = 'hit' | 'miss' | 'error' | 'write' | 'write_error';

/** Label-bound children of one (model, variant), looked up once instead of on every request. */
export interface VariantMetrics {
  predictionDuration: HistogramChild;
  inferenceDuration: HistogramChild;
  score: HistogramChild;
  outcome: Record<PredictionOutcome, { inc(n?: number): void }>;
}

export class ServingMetrics {
  readonly predictions: Counter<'model' | 'variant' | 'outcome'>;
  readonly predictionDuration: FastHistogram<'model' | 'variant'>;
  readonly inferenceDuration: FastHistogram<'model' | 'variant'>;
  readonly score: FastHistogram<'model' | 'variant'>;
  readonly featureCache: Counter<'result'>;
  readonly fallbacks: Counter<'model'>;
  readonly modelInfo: Gauge<'model' | 'version' | 'alias'>;
  readonly challengerShare: Gauge<'model'>;
  readonly modelLoads: Counter<'result'>;
  readonly registrySyncs: Counter<'result'>;
  readonly shadowSkipped: Counter<'model' | 'reason'>;
  private readonly byModel = new Map<string, Record<MetricVariant, VariantMetrics>>();
  private readonly cacheChildren: Record<FeatureCacheResult, { inc(n?: number): void }>;
  private readonly writeThroughSources: Array<{ counts: () => { written: number; failed: number }; seen: { written: number; failed: number } }> = [];

  constructor(registry: Registry) {
    const registers = [registry];
    this.predictions = new Counter({
      name: 'serving_predictions_total',
      help: 'Predictions by model, variant (champion, challenger, shadow) and outcome (ok, fallback, error, rejected)',
      labelNames: ['model', 'variant', 'outcome'] as const,
      registers,
    });
    this.predictionDuration = new FastHistogram({
      name: 'serving_prediction_duration_seconds',
      help: 'Time from receiving a /predict request to having its answer, by model and answering variant',
      labelNames: ['model', 'variant'] as const,
      buckets: PREDICTION_DURATION_BUCKETS,
      registers,
    });
    this.inferenceDuration = new FastHistogram({
      name: 'serving_inference_duration_seconds',
      help: 'Time spent in one onnxruntime run, by model and variant',
      labelNames: ['model', 'variant'] as const,
      buckets: PREDICTION_DURATION_BUCKETS,
      registers,
    });
    this.score = new FastHistogram({
      name: 'serving_prediction_score',
      help: 'Distribution of prediction scores, by model and variant',
      labelNames: ['model', 'variant'] as const,
      buckets: SCORE_BUCKETS,
      registers,
    });
    this.featureCache = new Counter({
      name: 'serving_feature_cache_requests_total',
      help: 'Feature cache operations by result: hit, miss, error (read failed), write, write_error',
      labelNames: ['result'] as const,
      registers,
      // Write-throughs are counted by the thread that sends them (FeatureWriter); their counts
      // are brought in when the metrics are read.
      collect: () => this.collectWriteThroughs(),
    });
    this.fallbacks = new Counter({
      name: 'serving_fallbacks_total',
      help: 'Predictions answered by a fallback version because the routed one failed',
      labelNames: ['model'] as const,
      registers,
    });
    // Gauges describing configuration are the same in every cluster worker: aggregate with max,
    // not prom-client's default sum.
    this.modelInfo = new Gauge({
      name: 'serving_model_info',
      help: 'Loaded model versions by alias (champion, challenger, previous_champion); value 1',
      labelNames: ['model', 'version', 'alias'] as const,
      aggregator: 'max',
      registers,
    });
    this.challengerShare = new Gauge({
      name: 'serving_challenger_share',
      help: 'Configured share of requests routed (split) or shadowed (shadow) to the challenger, 0–1',
      labelNames: ['model'] as const,
      aggregator: 'max',
      registers,
    });
    this.modelLoads = new Counter({
      name: 'serving_model_loads_total',
      help: 'Model version loads (download, sha256 check, session, warm-up) by result: ok, corrupt (the bytes do not match the sha256 the registry recorded), error (any other failure)',
      labelNames: ['result'] as const,
      registers,
    });
    this.registrySyncs = new Counter({
      name: 'serving_registry_syncs_total',
      help: 'Deployment reconciliations against the registry by result',
      labelNames: ['result'] as const,
      registers,
    });
    this.shadowSkipped = new Counter({
      name: 'serving_shadow_skipped_total',
      help: 'Shadow scorings not done, by reason (features: they do not fit the challenger; no_challenger; no_score: not a finite score)',
      labelNames: ['model', 'reason'] as const,
      registers,
    });
    this.cacheChildren = {
      hit: this.featureCache.labels('hit'),
      miss: this.featureCache.labels('miss'),
      error: this.featureCache.labels('error'),
      write: this.featureCache.labels('write'),
      write_error: this.featureCache.labels('write_error'),
    };
  }

  /** Children for a served model. Only call with names of served models: labels stay bounded. */
  forModel(model: string): Record<MetricVariant, VariantMetrics> {
    let m = this.byModel.get(model);
    if (!m) {
      const variant = (variant: MetricVariant): VariantMetrics => ({
        predictionDuration: this.predictionDuration.labels(model, variant),
        inferenceDuration: this.inferenceDuration.labels(model, variant),
        score: this.score.labels(model, variant),
        outcome: {
          ok: this.predictions.labels(model, variant, 'ok'),
          fallback: this.predictions.labels(model, variant, 'fallback'),
          error: this.predictions.labels(model, variant, 'error'),
          rejected: this.predictions.labels(model, variant, 'rejected'),
        },
      });
      m = { champion: variant('champion'), challenger: variant('challenger'), shadow: variant('shadow') };
      this.byModel.set(model, m);
    }
    return m;
  }

  /**
   * Adds to the write / write_error counts, whenever the metrics are read, what `counts` says
   * was written and failed since the last read (running totals, as FeatureWriter keeps them).
   */
  addWriteThroughCounts(counts: () => { written: number; failed: number }): void {
    this.writeThroughSources.push({ counts, seen: { written: 0, failed: 0 } });
  }

  private collectWriteThroughs(): void {
    for (const source of this.writeThroughSources) {
      const now = source.counts();
      // The totals are 32-bit words that wrap; the difference since the last read does not.
      const written = (now.written - source.seen.written) | 0;
      const failed = (now.failed - source.seen.failed) | 0;
      if (written > 0) this.cacheChildren.write.inc(written);
      if (failed > 0) this.cacheChildren.write_error.inc(failed);
      source.seen = now;
    }
  }

  featureCacheResult(result: FeatureCacheResult, n = 1): void {
    if (n === 1) this.cacheChildren[result].inc();
    else this.featureCache.labels(result).inc(n);
  }
}
