import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ChallengerPercent, DatasetRefString, parseDatasetRef, TrafficMode, type VersionMetadata } from '@contender/contracts';
import {
  alignFeatures,
  buildReferenceProfile,
  columnsFromMatrix,
  compareAucPaired,
  DataError,
  DEFAULT_GBDT_PARAMS,
  DEFAULT_LOGREG_PARAMS,
  evaluateBinaryClassifier,
  type BinaryClassificationReport,
} from '@contender/ml';
import { defineDag, UnrecoverableStepError, type StepContext } from '@contender/pipeline';
import { datasetNotFound } from './lib/dataset-file.js';
import { feedbackWindow } from './lib/feedback.js';
import { count, fixed3, signed3 } from './lib/format.js';
import { loadOnnxModel } from './lib/onnx-model.js';
import { platformCommit } from './lib/platform-commit.js';
import { trainInWorker } from './lib/train-job.js';
import { materializeTrainingData, splitDataset, SPLIT, type TrainingSource } from './lib/training-data.js';

const g = DEFAULT_GBDT_PARAMS;
const l = DEFAULT_LOGREG_PARAMS;

/** Hyperparameters and their defaults are those of `contender train`. */
export const retrainParams = z.strictObject({
  dataset: DatasetRefString,
  label: z.string().min(1).describe('the label column (0/1 unless `positive` is given)'),
  positive: z.string().optional().describe('the label value of the positive class'),
  drop: z.array(z.string().min(1)).default([]).describe('columns left out (IDs, leakage)'),
  categorical: z.array(z.string().min(1)).default([]).describe('columns one-hot encoded even if numeric'),
  algorithm: z.enum(['gbdt', 'logreg']).default('gbdt'),
  seed: z.number().int().min(0).max(0xffffffff).default(42).describe('seed of the split and of the model'),
  gbdt: z
    .strictObject({
      nTrees: z.number().int().min(1).default(g.nTrees),
      maxDepth: z.number().int().min(1).max(16).default(g.maxDepth),
      learningRate: z.number().positive().default(g.learningRate),
      minChildWeight: z.number().min(0).default(g.minChildWeight),
      subsample: z.number().gt(0).max(1).default(g.subsample),
      colsampleByTree: z.number().gt(0).max(1).default(g.colsampleByTree),
      lambda: z.number().min(0).default(g.lambda),
      earlyStoppingRounds: z.number().int().min(0).default(g.earlyStoppingRounds),
    })
    .prefault({}),
  logreg: z
    .strictObject({
      l2: z.number().min(0).default(l.l2),
      maxIter: z.number().int().min(1).default(l.maxIter),
    })
    .prefault({}),
  includeFeedback: z.boolean().default(true).describe("add this model's logged predictions that have an outcome to the training rows"),
  minImprovement: z.number().min(0).max(1).default(0).describe('AUC gain over the champion needed to become the challenger'),
  challengerPercent: ChallengerPercent.default(10),
  mode: TrafficMode.default('split'),
  replaceChallenger: z.boolean().default(false).describe('take the challenger slot even when another version holds it'),
  threshold: z.number().min(0).max(1).default(0.5).describe('decision threshold of the registered version'),
});
export type RetrainParams = z.output<typeof retrainParams>;
type Ctx = StepContext<RetrainParams>;

export interface LoadOutput extends TrainingSource {
  rows: number;
  positives: number;
  features: number;
}

export interface TrainOutput {
  /** the candidate's ONNX bytes (a few hundred KB for hundreds of trees): stored with the step, so a takeover needs no retraining */
  onnxBase64: string;
  sha256: string;
  sizeBytes: number;
  algorithm: 'gbdt' | 'logreg';
  params: Record<string, number | string>;
  facts: Record<string, number | boolean>;
  featureNames: string[];
  referenceProfile: unknown;
  split: { train: number; validation: number; test: number; seed: number };
  trainSeconds: number;
}

export interface EvaluateOutput {
  rows: number;
  positives: number;
  candidate: Record<string, number>;
  champion: { version: number; auc: number; logLoss: number } | null;
  /** candidate − champion, paired DeLong on the same held-out rows */
  comparison: { difference: number; confidenceInterval: [number, number]; pValue: number; standardError: number } | null;
}

export interface RegisterOutput {
  version: number;
  sha256: string;
}

export interface DecideOutput {
  decision: 'champion' | 'challenger' | 'not-better' | 'challenger-slot-taken';
  version: number;
  moved: boolean;
  reason: string;
}

function flatReport(r: BinaryClassificationReport): Record<string, number> {
  const out: Record<string, number> = { auc: r.auc, logLoss: r.logLoss, brier: r.brier, ks: r.ks, accuracy: r.accuracy, precision: r.precision, recall: r.recall, f1: r.f1, positiveRate: r.positiveRate };
  if (r.aucConfidenceInterval) Object.assign(out, { aucLower95: r.aucConfidenceInterval[0], aucUpper95: r.aucConfidenceInterval[1] });
  return Object.fromEntries(Object.entries(out).filter(([, v]) => Number.isFinite(v)));
}

async function load(ctx: Ctx): Promise<LoadOutput> {
  const p = ctx.params;
  const ref = parseDatasetRef(p.dataset);
  const v = await ctx.registry.getDatasetVersion(ref, { signal: ctx.signal }).catch((e: unknown) => datasetNotFound(e, p.dataset));
  for (const [what, cols] of [['label', [p.label]], ['drop', p.drop], ['categorical', p.categorical]] as const) {
    const missing = cols.filter((c) => !v.columns.includes(c));
    if (missing.length) {
      throw new UnrecoverableStepError(`params.${what}: ${missing.map((c) => `"${c}"`).join(', ')} not a column of ${v.dataset}@${v.version} (columns: ${v.columns.join(', ')})`, { field: what });
    }
  }
  const feedback = p.includeFeedback ? await feedbackWindow(ctx.db, ctx.model, new Date()) : null;
  const source: TrainingSource = {
    dataset: { name: v.dataset, version: v.version, sha256: v.sha256, rows: v.rows, sizeBytes: v.sizeBytes, columns: v.columns },
    feedback,
    label: p.label,
    ...(p.positive !== undefined ? { positive: p.positive } : {}),
    drop: p.drop,
    categorical: p.categorical,
  };
  // Parse once here, so bad data fails the first step with the line and column named.
  const ds = await materializeTrainingData(ctx, source);
  const positives = ds.y.reduce((a, b) => a + b, 0);
  ctx.logger.info({ dataset: `${v.dataset}@${v.version}`, rows: ds.rows, feedbackRows: feedback?.rows ?? 0 }, 'training data loaded');
  return { ...source, rows: ds.rows, positives, features: ds.featureNames.length };
}

async function train(ctx: Ctx): Promise<TrainOutput> {
  const p = ctx.params;
  const src = ctx.outputs.load as LoadOutput;
  const ds = await materializeTrainingData(ctx, src);
  const parts = splitDataset(ds, p.seed);
  ctx.progress({ done: 0, total: 1, unit: 'models' });
  const result = await trainInWorker(
    {
      algorithm: p.algorithm,
      gbdt: { ...p.gbdt, seed: p.seed },
      logreg: p.logreg,
      train: { featureNames: ds.featureNames, X: parts.train.X, y: parts.train.y },
      validation: { featureNames: ds.featureNames, X: parts.validation.X, y: parts.validation.y },
      metadata: {
        'training.dataset': JSON.stringify({ name: `${src.dataset.name}@${src.dataset.version}`, sha256: src.dataset.sha256, rows: src.dataset.rows }),
        'training.label': JSON.stringify(ds.label),
        'training.run': ctx.runId,
      },
    },
    ctx.signal,
  );
  const onnx = Buffer.from(result.onnx);
  ctx.logger.info({ seconds: result.seconds, ...result.facts }, 'candidate trained');
  return {
    onnxBase64: onnx.toString('base64'),
    sha256: createHash('sha256').update(onnx).digest('hex'),
    sizeBytes: onnx.length,
    algorithm: p.algorithm,
    params: result.params,
    facts: result.facts,
    featureNames: [...ds.featureNames],
    referenceProfile: buildReferenceProfile(columnsFromMatrix(ds.featureNames, parts.train.X)),
    split: { train: parts.train.rows, validation: parts.validation.rows, test: parts.test.rows, seed: p.seed },
    trainSeconds: result.seconds,
  };
}

async function evaluate(ctx: Ctx): Promise<EvaluateOutput> {
  const p = ctx.params;
  const src = ctx.outputs.load as LoadOutput;
  const trained = ctx.outputs.train as TrainOutput;
  // Every column, not only the candidate's: the champion may use columns this run drops. The
  // rows and labels are the same either way, so the seeded split picks the same test rows.
  const ds = await materializeTrainingData(ctx, { ...src, drop: [] }).catch(() => materializeTrainingData(ctx, src));
  const { test } = splitDataset(ds, p.seed);
  const candidate = await loadOnnxModel(Buffer.from(trained.onnxBase64, 'base64'), 'the candidate');
  let candidateScores: Float64Array;
  try {
    candidateScores = await candidate.score(alignFeatures(test, trained.featureNames));
  } finally {
    await candidate.release();
  }
  const report = evaluateBinaryClassifier(test.y, candidateScores, { threshold: p.threshold });
  const out: EvaluateOutput = { rows: test.rows, positives: report.positives, candidate: flatReport(report), champion: null, comparison: null };

  const model = await ctx.registry.findModel(ctx.model, { signal: ctx.signal });
  const championVersion = model?.aliases.champion;
  if (championVersion === undefined) return out;
  const version = await ctx.registry.getVersion(ctx.model, championVersion, { signal: ctx.signal });
  let X;
  try {
    X = alignFeatures(test, version.featureNames.length ? version.featureNames : ds.featureNames);
  } catch (err) {
    if (err instanceof DataError) throw new UnrecoverableStepError(`the champion (version ${championVersion}) cannot be scored on ${src.dataset.name}@${src.dataset.version}: ${err.message}`);
    throw err;
  }
  const champion = await loadOnnxModel(await ctx.registry.downloadArtifact(ctx.model, championVersion, { signal: ctx.signal }), `the champion (version ${championVersion})`);
  let championScores: Float64Array;
  try {
    championScores = await champion.score(X);
  } finally {
    await champion.release();
  }
  const championReport = evaluateBinaryClassifier(test.y, championScores, { threshold: version.threshold ?? 0.5 });
  const c = compareAucPaired(test.y, championScores, candidateScores);
  out.champion = { version: championVersion, auc: championReport.auc, logLoss: championReport.logLoss };
  out.comparison = { difference: c.difference, confidenceInterval: [c.confidenceInterval[0], c.confidenceInterval[1]], pValue: c.pValue, standardError: c.standardError };
  return out;
}

async function register(ctx: Ctx): Promise<RegisterOutput> {
  const src = ctx.outputs.load as LoadOutput;
  const trained = ctx.outputs.train as TrainOutput;
  const evaluated = ctx.outputs.evaluate as EvaluateOutput;
  if (!(await ctx.registry.findModel(ctx.model, { signal: ctx.signal }))) {
    await ctx.registry.createModel({ name: ctx.model, task: 'binary_classification', description: `created by retrain run ${ctx.runId}` }, { signal: ctx.signal }).catch((err: unknown) => {
      if ((err as { status?: number }).status !== 409) throw err; // created meanwhile: fine
    });
  }
  const commit = platformCommit();
  const metrics: Record<string, number> = { ...evaluated.candidate };
  if (evaluated.champion) metrics.championAuc = evaluated.champion.auc;
  if (evaluated.comparison) Object.assign(metrics, { aucDelta: evaluated.comparison.difference, aucDeltaLower95: evaluated.comparison.confidenceInterval[0], aucDeltaUpper95: evaluated.comparison.confidenceInterval[1] });
  const params: Record<string, string | number | boolean | null> = {
    model: trained.algorithm,
    ...trained.params,
    ...trained.facts,
    split: SPLIT.join('/'),
    splitSeed: trained.split.seed,
    testRows: evaluated.rows,
    labelColumn: src.label,
    feedbackRows: src.feedback?.rows ?? 0,
    retrainRun: ctx.runId,
  };
  const metadata: VersionMetadata = {
    metrics: Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v))),
    params,
    featureNames: trained.featureNames,
    description: `retrain run ${ctx.runId} on ${src.dataset.name}@${src.dataset.version}${src.feedback?.rows ? ` + ${count(src.feedback.rows)} feedback rows` : ''}`,
    source: {
      runId: ctx.runId,
      ...(commit ? { gitCommit: commit } : {}),
      dataset: { uri: `dataset:${src.dataset.name}@${src.dataset.version}`, name: `${src.dataset.name}@${src.dataset.version}`, sha256: src.dataset.sha256, rows: src.dataset.rows },
      feedback: { rows: src.feedback?.rows ?? 0, from: src.feedback?.from ?? null, to: src.feedback?.to ?? null },
    },
    referenceProfile: trained.referenceProfile,
    threshold: ctx.params.threshold,
  };
  const v = await ctx.registry.uploadVersion(
    ctx.model,
    { artifact: Buffer.from(trained.onnxBase64, 'base64'), metadata },
    { idempotencyKey: ctx.idempotencyKey('register'), signal: ctx.signal },
  );
  return { version: v.version, sha256: v.sha256 };
}

/** `AUC 0.781 vs champion 0.772 (Δ +0.009, 95% CI +0.003…+0.015, 4,500 rows)` */
export function comparisonText(e: EvaluateOutput): string {
  if (!e.champion || !e.comparison) return `AUC ${fixed3(e.candidate.auc!)} on ${count(e.rows)} held-out rows, no champion before`;
  const [lo, hi] = e.comparison.confidenceInterval;
  return `AUC ${fixed3(e.candidate.auc!)} vs champion ${fixed3(e.champion.auc)} (Δ ${signed3(e.comparison.difference)}, 95% CI ${signed3(lo)}…${signed3(hi)}, ${count(e.rows)} rows)`;
}

async function decide(ctx: Ctx): Promise<DecideOutput> {
  const p = ctx.params;
  const evaluated = ctx.outputs.evaluate as EvaluateOutput;
  const { version } = ctx.outputs.register as RegisterOutput;
  const head = `retrain run ${ctx.runId}: ${comparisonText(evaluated)}`;
  const model = await ctx.registry.getModel(ctx.model, { signal: ctx.signal });
  const o = { signal: ctx.signal };

  if (evaluated.champion === null) {
    // A retry after the move finds it done: setting the same alias again changes nothing.
    if (model.aliases.champion === undefined || model.aliases.champion === version) {
      const reason = `${head}; version ${version} becomes the champion`;
      if (model.aliases.champion !== version) await ctx.registry.setAlias(ctx.model, 'champion', version, { ...o, reason });
      return { decision: 'champion', version, moved: true, reason };
    }
    const reason = `${head}; version ${model.aliases.champion} became the champion meanwhile, nothing moved`;
    return { decision: 'not-better', version, moved: false, reason };
  }

  const delta = evaluated.comparison!.difference;
  if (!(delta > 0 && delta >= p.minImprovement)) {
    const reason = `${head}; not better than the champion by ${p.minImprovement > 0 ? `the required ${fixed3(p.minImprovement)}` : 'any margin'}, nothing moved`;
    return { decision: 'not-better', version, moved: false, reason };
  }
  const holder = model.aliases.challenger;
  if (holder !== undefined && holder !== version && !p.replaceChallenger) {
    const reason = `${head}; the challenger slot is held by version ${holder} (replaceChallenger is off), nothing moved`;
    return { decision: 'challenger-slot-taken', version, moved: false, reason };
  }
  const reason = `${head}; version ${version} becomes the challenger at ${p.challengerPercent}% (${p.mode})`;
  if (holder !== version) await ctx.registry.setAlias(ctx.model, 'challenger', version, { ...o, reason });
  if (model.traffic.challengerPercent !== p.challengerPercent || model.traffic.mode !== p.mode || holder !== version) {
    await ctx.registry.setTraffic(ctx.model, { challengerPercent: p.challengerPercent, mode: p.mode, reason }, o);
  }
  return { decision: 'challenger', version, moved: true, reason };
}

const registryRetries = { max: 3, backoffMs: 2000 };

export default defineDag({
  id: 'retrain',
  description:
    "Trains a candidate on a registry dataset plus the model's labelled production rows, compares it with the champion on the same held-out rows (paired DeLong), registers it with lineage and makes it the challenger when it is better.",
  cron: '0 0 3 * * 1',
  params: retrainParams,
  steps: [
    { name: 'load', run: load, retries: registryRetries, timeoutMs: 10 * 60_000 },
    { name: 'train', run: train, retries: { max: 1, backoffMs: 5000 }, timeoutMs: 60 * 60_000 },
    { name: 'evaluate', run: evaluate, retries: registryRetries, timeoutMs: 20 * 60_000 },
    { name: 'register', run: register, retries: registryRetries, timeoutMs: 10 * 60_000 },
    { name: 'decide', run: decide, retries: registryRetries, timeoutMs: 5 * 60_000 },
  ],
  maxActiveRuns: 1,
  missedRuns: 'skip',
  output: (outputs) => {
    const d = outputs.decide as DecideOutput | undefined;
    const e = outputs.evaluate as EvaluateOutput | undefined;
    return d ? { ...d, evaluation: e } : undefined;
  },
});
