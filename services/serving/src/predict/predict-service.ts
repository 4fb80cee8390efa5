import type {
  BatchPrediction,
  BatchPredictRequest,
  BatchPredictResponse,
  PredictRequest,
  PredictResponse,
  ServingVariant,
} from '@contender/contracts';
import { AppError, NotFoundError, ServiceUnavailableError, UnprocessableError, type Logger } from '@contender/platform';
import { IntrospectionAuth, type Principal } from '../auth/introspection-auth.js';
import { featureLimitBreach, featureLimitError, type FeatureLimitBreach, type FeatureLimits } from '../features/feature-checks.js';
import { describeProblems, type FeatureMap, type FeatureProblem } from '../features/feature-encoder.js';
import type { FeatureCache } from '../features/redis-feature-cache.js';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import type { ScoringVersion } from '../models/loaded-version.js';
import type { ServedModel } from '../models/served-model.js';
import type { PredictionRecord } from '../prediction-log/prediction-record.js';
import { chooseArm, type ArmChoice } from '../routing/choose-arm.js';
import { PredictionIdFactory } from './prediction-id.js';

/** Where predictions go: the prediction log (append is synchronous and never throws). */
export interface PredictionSink {
  append(record: PredictionRecord): void;
}

export interface ServedModels {
  get(model: string): ServedModel | undefined;
  /** False until the first deployment list was applied: a miss then means "not yet", not "never". */
  hasSynced(): boolean;
}

export interface PredictServiceDeps {
  models: ServedModels;
  cache: FeatureCache;
  log: PredictionSink;
  metrics: ServingMetrics;
  logger: Logger;
  maxBatchRows: number;
  featureTtlSeconds: number;
  /** Caps on the features written through to the cache per entity (FEATURE_MAX_BYTES, FEATURE_MAX_COUNT). */
  featureLimits: FeatureLimits;
  /** For the bucket of requests without an entityId. */
  random?: () => number;
}

interface Answer {
  version: ScoringVersion;
  score: number;
  fallback: boolean;
}

/**
 * Answers predictions: features from the request or the cache, the arm from the traffic policy,
 * one onnxruntime run, fallback to the champion (or the previous champion) when the routed version
 * fails, the record for the prediction log, and shadow scoring after the response. Knows nothing of
 * HTTP: the lean /predict listener and the express batch route both call it.
 */
export class PredictService {
  private readonly random: () => number;
  /** Prediction ids: time-ordered UUIDs (see PredictionIdFactory). */
  private readonly ids = new PredictionIdFactory();
  private pendingShadows = 0;
  private readonly drainWaiters: Array<() => void> = [];
  private lastFallbackWarnAt = 0;

  constructor(private readonly deps: PredictServiceDeps) {
    this.random = deps.random ?? Math.random;
  }

  async predict(req: PredictRequest, principal: Principal, requestId: string, startedAt: number): Promise<PredictResponse> {
    if (req.variant !== undefined) IntrospectionAuth.requireRole(principal, 'data-scientist', 'forcing a variant');
    if (!this.deps.models.get(req.model)) throw this.modelMissing(req.model);
    const entityId = req.entityId;
    let features = req.features;
    // The features as JSON, made once for both the cache and the prediction log.
    let featuresJson: string | undefined;
    // Features sent with an entityId are written through to the cache, but only once they passed
    // validation for the version that scores them: a request refused for its features must not
    // replace (or wipe) the entity's. Written before scoring, in the same tick as the validation,
    // so a PUT /features that arrives meanwhile still lands after it.
    let writeThrough = false;
    if (features === undefined) {
      const cached = await this.deps.cache.read(entityId!);
      if (!cached) throw this.featuresNotFound([entityId!]);
      features = cached.features as Record<string, number | string | null>;
      featuresJson = cached.json;
    } else if (entityId !== undefined) {
      featuresJson = JSON.stringify(features);
      const breach = featureLimitBreach(features, featuresJson, this.deps.featureLimits);
      if (breach) throw featureLimitError([breach], false);
      writeThrough = true;
    }
    // Read the deployment after the last await: a swap may have happened meanwhile, and the
    // version must be handed the request (which counts it as in flight) in the same tick in which
    // it was read from the current snapshot, or a swap could release it first.
    const served = this.deps.models.get(req.model);
    if (!served) throw this.modelMissing(req.model);
    const choice = chooseArm(served, entityId, req.variant, this.random);
    const metrics = this.deps.metrics.forModel(served.name)[choice.arm];
    const version = choice.arm === 'challenger' ? served.challenger : served.champion;
    if (!version) throw variantUnavailable(served.name);
    const encoded = version.encoder.encode([features]);
    if (!encoded.ok) {
      metrics.outcome.rejected.inc();
      throw featureError(version, encoded.problems, false);
    }
    if (writeThrough) this.deps.cache.write(entityId!, features, featuresJson);
    let answer: Answer;
    try {
      const t0 = performance.now();
      const score = (await version.score(encoded.inputs, 1))[0]!;
      metrics.inferenceDuration.observe((performance.now() - t0) / 1000);
      answer = Number.isFinite(score)
        ? { version, score, fallback: false }
        : (await this.recover(served.name, choice.arm, version, [features], [NON_FINITE], false))[0]!;
    } catch (err) {
      if (err instanceof AppError) throw err;
      answer = (await this.recover(served.name, choice.arm, version, [features], [failureOf(err)], false))[0]!;
    }
    const latencyMs = performance.now() - startedAt;
    (answer.fallback ? metrics.outcome.fallback : metrics.outcome.ok).inc();
    metrics.predictionDuration.observe(latencyMs / 1000);
    metrics.score.observe(answer.score);
    const variant: ServingVariant = answer.fallback ? 'champion' : choice.arm;
    const label = answer.version.task === 'binary_classification' ? (answer.score >= answer.version.threshold ? 1 : 0) : null;
    const predictionId = this.ids.next();
    this.deps.log.append({
      id: predictionId,
      requestId,
      at: new Date(),
      model: served.name,
      version: answer.version.version,
      variant,
      entityId: entityId ?? null,
      features,
      featuresJson,
      score: answer.score,
      label,
      latencyMs,
      fallback: answer.fallback,
    });
    if (choice.shadow) this.scheduleShadow(served.name, requestId, [entityId ?? null], [features]);
    const response: PredictResponse = { predictionId, model: served.name, version: answer.version.version, variant, score: answer.score };
    if (label !== null) response.label = label;
    if (answer.fallback) response.fallback = true;
    return response;
  }

  async predictBatch(req: BatchPredictRequest, principal: Principal, requestId: string, startedAt: number): Promise<BatchPredictResponse> {
    if (req.variant !== undefined) IntrospectionAuth.requireRole(principal, 'data-scientist', 'forcing a variant');
    const n = req.rows.length;
    if (n > this.deps.maxBatchRows) {
      const message = `rows: at most ${this.deps.maxBatchRows} rows per batch (MAX_BATCH_ROWS), got ${n}`;
      throw new AppError(413, 'too_many_rows', message, { path: 'rows', limit: this.deps.maxBatchRows, rows: n });
    }
    if (!this.deps.models.get(req.model)) throw this.modelMissing(req.model);

    const features: Array<Record<string, number | string | null> | undefined> = req.rows.map((r) => r.features);
    const lookups: number[] = [];
    // Written through once every row passed validation (a refused batch writes nothing), within the caps.
    const writes: Array<{ entityId: string; features: FeatureMap; json: string }> = [];
    const breaches: Array<FeatureLimitBreach & { row: number }> = [];
    for (let i = 0; i < n; i++) {
      const row = req.rows[i]!;
      if (row.features === undefined) lookups.push(i);
      else if (row.entityId !== undefined) {
        const json = JSON.stringify(row.features);
        const breach = featureLimitBreach(row.features, json, this.deps.featureLimits);
        if (breach) breaches.push({ ...breach, row: i });
        else writes.push({ entityId: row.entityId, features: row.features, json });
      }
    }
    if (breaches.length) throw featureLimitError(breaches, true);
    if (lookups.length) {
      const cached = await this.deps.cache.readMany(lookups.map((i) => req.rows[i]!.entityId!));
      const notFound: number[] = [];
      cached.forEach((c, j) => {
        if (c) features[lookups[j]!] = c.features as Record<string, number | string | null>;
        else notFound.push(lookups[j]!);
      });
      if (notFound.length) throw this.featuresNotFound(notFound.map((i) => req.rows[i]!.entityId!), notFound);
    }

    const served = this.deps.models.get(req.model);
    if (!served) throw this.modelMissing(req.model);
    const choices: ArmChoice[] = req.rows.map((r) => chooseArm(served, r.entityId, req.variant, this.random));
    const groups: Record<ServingVariant, number[]> = { champion: [], challenger: [] };
    const shadowRows: number[] = [];
    choices.forEach((c, i) => {
      groups[c.arm].push(i);
      if (c.shadow) shadowRows.push(i);
    });
    if (groups.challenger.length && !served.challenger) throw variantUnavailable(served.name);

    // Validate every row for its arm before running anything, so one 422 lists every problem.
    const problems: FeatureProblem[] = [];
    const encodedGroups = (['champion', 'challenger'] as const).map((arm) => {
      const rows = groups[arm];
      if (!rows.length) return null;
      const version = (arm === 'challenger' ? served.challenger : served.champion)!;
      const encoded = version.encoder.encode(rows.map((i) => features[i]!));
      if (!encoded.ok) {
        for (const p of encoded.problems) problems.push({ ...p, row: rows[p.row]! });
        return null;
      }
      return { arm, rows, version, inputs: encoded.inputs };
    });
    const allMetrics = this.deps.metrics.forModel(served.name);
    if (problems.length) {
      problems.sort((a, b) => a.row - b.row);
      for (const arm of ['champion', 'challenger'] as const) if (groups[arm].length) allMetrics[arm].outcome.rejected.inc(groups[arm].length);
      throw featureError(null, problems, true);
    }
    this.deps.cache.writeMany(writes);

    const predictions = new Array<BatchPrediction>(n);
    await Promise.all(
      encodedGroups.map(async (g) => {
        if (!g) return;
        const metrics = allMetrics[g.arm];
        // Rows the routed version could not score go to the fallback versions, all in one run.
        let answers: Answer[];
        try {
          const t0 = performance.now();
          const scores = await g.version.score(g.inputs, g.rows.length);
          metrics.inferenceDuration.observe((performance.now() - t0) / 1000);
          answers = Array.from(scores, (score) => ({ version: g.version, score, fallback: false }));
          const bad = answers.flatMap((a, j) => (Number.isFinite(a.score) ? [] : [j]));
          if (bad.length) {
            const recovered = await this.recover(served.name, g.arm, g.version, bad.map((j) => features[g.rows[j]!]!), bad.map(() => NON_FINITE), true, bad.map((j) => g.rows[j]!));
            bad.forEach((j, k) => (answers[j] = recovered[k]!));
          }
        } catch (err) {
          if (err instanceof AppError) throw err;
          const rows = g.rows.map((i) => features[i]!);
          answers = await this.recover(served.name, g.arm, g.version, rows, rows.map(() => failureOf(err)), true, g.rows);
        }
        let fell = 0;
        for (const a of answers) if (a.fallback) fell++;
        if (fell) metrics.outcome.fallback.inc(fell);
        if (fell < answers.length) metrics.outcome.ok.inc(answers.length - fell);
        const latencyMs = performance.now() - startedAt;
        const at = new Date();
        g.rows.forEach((rowIndex, j) => {
          const { version, score, fallback } = answers[j]!;
          const variant: ServingVariant = fallback ? 'champion' : g.arm;
          metrics.score.observe(score);
          const label = version.task === 'binary_classification' ? (score >= version.threshold ? 1 : 0) : null;
          const predictionId = this.ids.next();
          const entityId = req.rows[rowIndex]!.entityId ?? null;
          this.deps.log.append({
            id: predictionId,
            requestId,
            at,
            model: served.name,
            version: version.version,
            variant,
            entityId,
            features: features[rowIndex]!,
            score,
            label,
            latencyMs,
            fallback,
          });
          const p: BatchPrediction = { predictionId, entityId, version: version.version, variant, score };
          if (label !== null) p.label = label;
          if (fallback) p.fallback = true;
          predictions[rowIndex] = p;
        });
      }),
    );
    if (shadowRows.length) {
      this.scheduleShadow(
        served.name,
        requestId,
        shadowRows.map((i) => req.rows[i]!.entityId ?? null),
        shadowRows.map((i) => features[i]!),
      );
    }
    return { model: served.name, predictions };
  }

  /** Resolves once every scheduled shadow scoring has finished (shutdown waits for it). */
  drain(): Promise<void> {
    if (this.pendingShadows === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * The routed version failed for these rows (threw, or gave no finite score): the champion answers,
   * or the previous champion if the champion was the one that failed, both read from the current
   * deployment. Rows no version can score: 503 `no_model_available` if the routed version failed,
   * 422 `unscorable_features` if it answered without a finite score (a missing value the model
   * cannot handle, usually) and no fallback could do better.
   */
  private async recover(
    model: string,
    arm: ServingVariant,
    failed: ScoringVersion,
    rows: FeatureMap[],
    reasons: string[],
    batch: boolean,
    rowNumbers?: number[],
  ): Promise<Answer[]> {
    this.warnFallback(model, arm, failed, reasons[0]);
    const served = this.deps.models.get(model);
    const candidates: ScoringVersion[] = [];
    if (served) {
      if (served.champion !== failed) candidates.push(served.champion);
      if (served.previousChampion && served.previousChampion !== failed && served.previousChampion !== served.champion) {
        candidates.push(served.previousChampion);
      }
    }
    const out = new Array<Answer>(rows.length);
    const tried = reasons.map((r) => [`v${failed.version}: ${r}`]);
    let pending = rows.map((_, i) => i);
    for (const v of candidates) {
      if (!pending.length) break;
      const encoded = v.encoder.encode(pending.map((i) => rows[i]!));
      if (!encoded.ok) {
        for (const i of pending) tried[i]!.push(`v${v.version}: features do not fit it`);
        continue;
      }
      let scores: Float64Array;
      try {
        scores = await v.score(encoded.inputs, pending.length);
      } catch (err) {
        for (const i of pending) tried[i]!.push(`v${v.version}: ${failureOf(err)}`);
        continue;
      }
      const still: number[] = [];
      pending.forEach((i, j) => {
        const score = scores[j]!;
        if (Number.isFinite(score)) out[i] = { version: v, score, fallback: true };
        else {
          tried[i]!.push(`v${v.version}: ${NON_FINITE}`);
          still.push(i);
        }
      });
      pending = still;
    }
    const answered = rows.length - pending.length;
    if (answered) this.deps.metrics.fallbacks.labels(model).inc(answered);
    if (!pending.length) return out;

    const metrics = this.deps.metrics.forModel(model)[arm];
    const where = (i: number) => (batch ? `rows[${rowNumbers?.[i] ?? i}]: ` : '');
    const detail = pending.slice(0, 5).map((i) => `${where(i)}${tried[i]!.join('; ')}`).join(' | ');
    const details = { model, attempts: pending.map((i) => ({ ...(batch ? { row: rowNumbers?.[i] ?? i } : {}), tried: tried[i] })) };
    if (pending.every((i) => reasons[i] === NON_FINITE)) {
      metrics.outcome.rejected.inc(pending.length);
      throw new UnprocessableError(
        'unscorable_features',
        `features: no version of model "${model}" gives a finite score for ${batch ? 'these rows' : 'these features'} (a null the model cannot handle?): ${detail}`,
        details,
      );
    }
    metrics.outcome.error.inc(pending.length);
    throw new ServiceUnavailableError('no_model_available', `no version of model "${model}" could answer: ${detail}`, details);
  }

  private scheduleShadow(model: string, requestId: string, entityIds: Array<string | null>, rows: FeatureMap[]): void {
    this.pendingShadows++;
    // After the response: setImmediate runs once the current I/O callbacks (which write it) are done.
    setImmediate(() => {
      this.shadow(model, requestId, entityIds, rows)
        .catch((err: unknown) => this.deps.logger.error({ err, model }, 'shadow scoring crashed'))
        .finally(() => {
          if (--this.pendingShadows === 0) for (const w of this.drainWaiters.splice(0)) w();
        });
    });
  }

  private async shadow(model: string, requestId: string, entityIds: Array<string | null>, rows: FeatureMap[]): Promise<void> {
    const served = this.deps.models.get(model);
    const challenger = served?.challenger;
    if (!served || !challenger) {
      this.deps.metrics.shadowSkipped.labels(model, 'no_challenger').inc(rows.length);
      return;
    }
    const metrics = this.deps.metrics.forModel(model).shadow;
    const encoded = challenger.encoder.encode(rows);
    if (!encoded.ok) {
      this.deps.metrics.shadowSkipped.labels(model, 'features').inc(rows.length);
      return;
    }
    const t0 = performance.now();
    let scores: Float64Array;
    try {
      scores = await challenger.score(encoded.inputs, rows.length);
    } catch (err) {
      metrics.outcome.error.inc(rows.length);
      this.deps.logger.warn({ err, model, version: challenger.version }, 'shadow scoring failed');
      return;
    }
    const latencyMs = performance.now() - t0;
    metrics.inferenceDuration.observe(latencyMs / 1000);
    const at = new Date();
    const classifier = challenger.task === 'binary_classification';
    let unscored = 0;
    for (let i = 0; i < rows.length; i++) {
      const score = scores[i]!;
      if (!Number.isFinite(score)) {
        unscored++;
        continue;
      }
      metrics.outcome.ok.inc();
      metrics.score.observe(score);
      this.deps.log.append({
        id: this.ids.next(),
        requestId,
        at,
        model,
        version: challenger.version,
        variant: 'shadow',
        entityId: entityIds[i] ?? null,
        features: rows[i] as Record<string, number | string | null>,
        score,
        label: classifier ? (score >= challenger.threshold ? 1 : 0) : null,
        latencyMs,
        fallback: false,
      });
    }
    if (unscored) this.deps.metrics.shadowSkipped.labels(model, 'no_score').inc(unscored);
  }

  private modelMissing(model: string): Error {
    if (this.deps.models.hasSynced()) return modelNotFound(model);
    return new ServiceUnavailableError('models_loading', 'serving is starting: the deployed models are not loaded yet; retry shortly');
  }

  private featuresNotFound(entityIds: string[], rows?: number[]): UnprocessableError {
    const shown = entityIds.slice(0, 20).map((e, i) => (rows ? `rows[${rows[i]}] (${e})` : `"${e}"`));
    const more = entityIds.length > 20 ? ` and ${entityIds.length - 20} more` : '';
    return new UnprocessableError(
      'features_not_found',
      `features: no cached features for entityId ${shown.join(', ')}${more} (cached features expire ${this.deps.featureTtlSeconds} s after their last write); send features with the request`,
      rows ? { rows: rows.map((row, i) => ({ row, entityId: entityIds[i] })) } : { entityId: entityIds[0] },
    );
  }

  /** At most one warning per 10 s: a broken version under load would otherwise flood the log. */
  private warnFallback(model: string, arm: ServingVariant, failed: ScoringVersion, reason: string | undefined): void {
    const now = Date.now();
    if (now - this.lastFallbackWarnAt < 10_000) return;
    this.lastFallbackWarnAt = now;
    this.deps.logger.warn({ model, arm, version: failed.version, reason }, 'inference failed; trying a fallback version');
  }
}

/** Why a version gave no usable score for a row: it answered, but not with a finite number. */
const NON_FINITE = 'no finite score';

function failureOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function modelNotFound(model: string): NotFoundError {
  return new NotFoundError(`model: "${model}" is not served here (no champion deployed, or not in SERVED_MODELS)`, 'model_not_found');
}

function variantUnavailable(model: string): UnprocessableError {
  return new UnprocessableError('variant_unavailable', `variant: model "${model}" has no challenger loaded`, { model });
}

function featureError(version: ScoringVersion | null, problems: FeatureProblem[], batch: boolean): UnprocessableError {
  const anyMissing = problems.some((p) => p.missing.length > 0);
  const target = version ? `model "${version.model}" v${version.version}` : 'the model';
  const message = `features do not fit ${target}: ${describeProblems(problems, batch)}`;
  const details = batch
    ? { rows: problems.map((p) => ({ row: p.row, missing: p.missing, invalid: p.invalid })) }
    : { model: version?.model, version: version?.version, missing: problems[0]!.missing, invalid: problems[0]!.invalid };
  return new UnprocessableError(anyMissing ? 'missing_features' : 'invalid_features', message, details);
}
