import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { VersionMetadata } from '@contender/contracts';
import {
  buildReferenceProfile,
  columnsFromMatrix,
  DataError,
  DEFAULT_GBDT_PARAMS,
  DEFAULT_LOGREG_PARAMS,
  evaluateBinaryClassifier,
  exportToOnnx,
  loadCsvDataset,
  stratifiedSplit,
  takeRows,
  trainGbdt,
  trainLogReg,
  type BinaryClassificationReport,
  type CsvDataset,
  type Dataset,
  type GbdtModel,
  type LogRegModel,
  type Matrix,
} from '@contender/ml';
import { checkWritable, choiceOption, HELP_OPTION, numberOption, required, usageErrors, UsageError } from './args.js';
import type { CliIo, Command } from './command.js';
import { bytes, fixed, flatMetrics, metricsLines, percent } from './format.js';
import { loadOnnxScorer } from './onnx-scorer.js';
import { metadataFromReport, uploadVersion } from './api-commands.js';
import { clients } from './config.js';
import { createProgress } from './progress.js';

/** Train / validation / test shares: validation drives early stopping, test is touched once. */
const SPLIT = [0.7, 0.15, 0.15] as const;
const DEFAULT_SEED = 42;
/** float32 inference vs the float64 in-process predictor: anything above this is a real mismatch. */
const ONNX_TOLERANCE = 1e-4;

const g = DEFAULT_GBDT_PARAMS;
const HELP = `Usage: contender train --data <csv> --label <column> --out <model.onnx> [options]

Train a binary classifier on a CSV file, evaluate it on held-out rows and export it to ONNX.
Rows are split ${SPLIT.map((f) => f * 100).join('/')} (stratified by label, seeded) into train,
validation (early stopping) and test (the reported metrics).

Data:
  --data <file>            CSV file with a header row (required)
  --label <column>         label column (required)
  --positive <value>       label value of the positive class; without it labels must be 0/1
  --drop <column>          leave a column out (IDs, leakage); repeatable
  --categorical <column>   one-hot encode a column even if its values look numeric; repeatable.
                           Columns with non-numeric values are one-hot encoded automatically.
                           Empty cells, NA, N/A, NaN, null and NULL are missing values.
Model:
  --model gbdt|logreg      gradient-boosted trees or logistic regression (default gbdt)
  --seed <n>               seed of the split and the model (default ${DEFAULT_SEED})
  gbdt:
  --trees <n>              boosting rounds at most (default ${g.nTrees})
  --depth <n>              maximum tree depth (default ${g.maxDepth})
  --learning-rate <x>      shrinkage (default ${g.learningRate})
  --min-child-weight <x>   minimum hessian sum in a leaf (default ${g.minChildWeight})
  --subsample <x>          share of rows per tree, (0, 1] (default ${g.subsample})
  --colsample <x>          share of features per tree, (0, 1] (default ${g.colsampleByTree})
  --lambda <x>             L2 penalty on leaf values (default ${g.lambda})
  --early-stopping <n>     stop after n rounds without a better validation loss; 0 = off (default ${g.earlyStoppingRounds})
  logreg:
  --l2 <x>                 L2 penalty on standardised coefficients (default ${DEFAULT_LOGREG_PARAMS.l2})
  --max-iter <n>           Newton iterations at most (default ${DEFAULT_LOGREG_PARAMS.maxIter})
Output:
  --out <file>             ONNX model to write (required)
  --report <file>          JSON report in the shape of the registry's version metadata: metrics,
                           params, featureNames, source.dataset {uri, sha256, rows},
                           referenceProfile (of the training rows), threshold; plus feature
                           importance, per-round losses and the full evaluation
  --register <model>       then register the ONNX file as the next version of this model (created
                           when missing), with the report's metadata; uses the registry settings
                           of the other commands (CONTENDER_REGISTRY_URL, CONTENDER_API_KEY, login)
  --threshold <x>          decision threshold for accuracy/precision/recall/F1 (default 0.5)
  -h, --help               show this help

Exit codes: 0 done, 1 bad data or model, 2 bad usage.`;

const OPTIONS = {
  ...HELP_OPTION,
  data: { type: 'string' },
  label: { type: 'string' },
  positive: { type: 'string' },
  drop: { type: 'string', multiple: true },
  categorical: { type: 'string', multiple: true },
  model: { type: 'string' },
  seed: { type: 'string' },
  trees: { type: 'string' },
  depth: { type: 'string' },
  'learning-rate': { type: 'string' },
  'min-child-weight': { type: 'string' },
  subsample: { type: 'string' },
  colsample: { type: 'string' },
  lambda: { type: 'string' },
  'early-stopping': { type: 'string' },
  l2: { type: 'string' },
  'max-iter': { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  register: { type: 'string' },
  threshold: { type: 'string' },
} as const;

const GBDT_FLAGS = ['trees', 'depth', 'learning-rate', 'min-child-weight', 'subsample', 'colsample', 'lambda', 'early-stopping'] as const;
const LOGREG_FLAGS = ['l2', 'max-iter'] as const;

type TrainedModel = GbdtModel | LogRegModel;

interface FeatureImportance {
  /** `gain`: total split gain (gbdt); `abs-standardized-coefficient`: |w|·sd (logreg). */
  readonly method: 'gain' | 'abs-standardized-coefficient';
  readonly values: readonly { readonly feature: string; readonly importance: number }[];
}

function subset(ds: Dataset, rows: Uint32Array): Dataset {
  return { featureNames: ds.featureNames, X: takeRows(ds.X, rows), y: Float64Array.from(rows, (i) => ds.y[i]!) };
}

/** |coefficient| × standard deviation of the feature on the training rows: the effect of a 1-sd change. */
function logRegImportance(model: LogRegModel, X: Matrix): FeatureImportance {
  const values = model.featureNames.map((feature, j) => {
    let n = 0;
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < X.rows; i++) {
      const v = X.data[i * X.cols + j]!;
      if (Number.isNaN(v)) continue;
      n++;
      sum += v;
      squares += v * v;
    }
    const sd = n > 1 ? Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2)) : 0;
    return { feature, importance: Math.abs(model.coefficients[j]!) * sd };
  });
  return { method: 'abs-standardized-coefficient', values: values.sort((a, b) => b.importance - a.importance) };
}

function gbdtParams(v: ReturnType<typeof parse>['values']) {
  return {
    nTrees: numberOption(v.trees, '--trees', { integer: true, min: 1 }),
    maxDepth: numberOption(v.depth, '--depth', { integer: true, min: 1, max: 16 }),
    learningRate: numberOption(v['learning-rate'], '--learning-rate', { min: 0, exclusiveMin: true }),
    minChildWeight: numberOption(v['min-child-weight'], '--min-child-weight', { min: 0 }),
    subsample: numberOption(v.subsample, '--subsample', { min: 0, max: 1, exclusiveMin: true }),
    colsampleByTree: numberOption(v.colsample, '--colsample', { min: 0, max: 1, exclusiveMin: true }),
    lambda: numberOption(v.lambda, '--lambda', { min: 0 }),
    earlyStoppingRounds: numberOption(v['early-stopping'], '--early-stopping', { integer: true, min: 0 }),
  };
}

function parse(argv: readonly string[]) {
  return usageErrors(() => parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parse(argv);
  if (v.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const dataPath = required(v.data, '--data');
  const label = required(v.label, '--label');
  const out = required(v.out, '--out');
  const kind = choiceOption(v.model, '--model', ['gbdt', 'logreg'] as const, 'gbdt');
  const seed = numberOption(v.seed, '--seed', { integer: true, min: 0, max: 0xffffffff }) ?? DEFAULT_SEED;
  const threshold = numberOption(v.threshold, '--threshold', { min: 0, max: 1 }) ?? 0.5;
  const gbdtOptions = gbdtParams(v);
  const logRegOptions = {
    l2: numberOption(v.l2, '--l2', { min: 0 }),
    maxIter: numberOption(v['max-iter'], '--max-iter', { integer: true, min: 1 }),
  };
  const otherModelFlags = (kind === 'gbdt' ? LOGREG_FLAGS : GBDT_FLAGS).filter((flag) => v[flag] !== undefined);
  if (otherModelFlags.length) {
    throw new UsageError(`${otherModelFlags.map((f) => `--${f}`).join(', ')} ${otherModelFlags.length > 1 ? 'do' : 'does'} not apply to --model ${kind}`);
  }
  await checkWritable(out, '--out');
  if (v.report) await checkWritable(v.report, '--report');

  const say = (line: string): void => void io.stdout.write(`${line}\n`);
  const ds: CsvDataset = await loadCsvDataset(dataPath, { label, positive: v.positive, drop: v.drop, categorical: v.categorical });
  const positives = ds.y.reduce((a, b) => a + b, 0);
  const oneHot = ds.encodings.filter((e) => e.kind === 'one-hot');
  say(`Data      ${dataPath}: ${ds.rows} rows, ${ds.featureNames.length} features${oneHot.length ? ` (${oneHot.length} one-hot encoded columns)` : ''}`);
  say(`          label "${label}", positive class "${ds.label.positive}": ${positives} rows (${percent(positives / ds.rows)}); sha256 ${ds.sha256}`);

  const [trainRows, validRows, testRows] = stratifiedSplit(ds.y, { fractions: SPLIT, seed }) as [Uint32Array, Uint32Array, Uint32Array];
  if (trainRows.length === 0 || validRows.length === 0 || testRows.length === 0) {
    throw new DataError(`${ds.rows} rows are too few for a ${SPLIT.join('/')} split`);
  }
  const train = subset(ds, trainRows);
  const validation = subset(ds, validRows);
  const test = subset(ds, testRows);
  say(`Split     ${SPLIT.map((f) => f * 100).join('/')} stratified (seed ${seed}): train ${trainRows.length}, validation ${validRows.length}, test ${testRows.length}`);

  const started = Date.now();
  let model: TrainedModel;
  let importance: FeatureImportance;
  if (kind === 'gbdt') {
    const params = { ...gbdtOptions, seed };
    const resolved = { ...DEFAULT_GBDT_PARAMS, ...Object.fromEntries(Object.entries(params).filter(([, x]) => x !== undefined)) };
    say(`Training  gbdt: up to ${resolved.nTrees} trees, depth ${resolved.maxDepth}, learning rate ${resolved.learningRate}, early stopping ${resolved.earlyStoppingRounds || 'off'}`);
    const progress = createProgress(io.stdout, resolved.nTrees, 'trees');
    let best = { loss: Infinity, round: 0 };
    const trained = trainGbdt(train, params, {
      validation,
      onIteration: (it) => {
        const loss = it.validLoss ?? NaN;
        if (loss < best.loss) best = { loss, round: it.iteration + 1 };
        progress.update(it.iteration + 1, `valid log loss ${fixed(loss)} (best ${fixed(best.loss)} at ${best.round})`);
      },
    });
    const rounds = trained.history.length;
    progress.finish(`valid log loss ${fixed(best.loss)} at ${trained.trees.length} trees${rounds < resolved.nTrees ? ` (stopped early after ${rounds} rounds)` : ''}`);
    model = trained;
    importance = { method: 'gain', values: trained.featureImportance().map(({ feature, gain }) => ({ feature, importance: gain })) };
  } else {
    say(`Training  logreg: L2 ${logRegOptions.l2 ?? DEFAULT_LOGREG_PARAMS.l2}, up to ${logRegOptions.maxIter ?? DEFAULT_LOGREG_PARAMS.maxIter} Newton iterations`);
    const trained = trainLogReg(train, logRegOptions);
    say(`          ${trained.converged ? 'converged' : 'did not converge'} after ${trained.iterations} iterations; train log loss ${fixed(trained.trainLoss)}`);
    model = trained;
    importance = logRegImportance(trained, train.X);
  }
  say(`          ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const validReport = evaluateBinaryClassifier(validation.y, model.predict(validation.X), { threshold });
  const inProcess = model.predict(test.X);
  const inProcessReport = evaluateBinaryClassifier(test.y, inProcess, { threshold });

  const uri = pathToFileURL(resolve(dataPath)).href;
  const onnx = exportToOnnx(model, {
    metrics: flatMetrics(inProcessReport, 'test'),
    metadata: {
      'training.dataset': JSON.stringify({ uri, sha256: ds.sha256, rows: ds.rows }),
      'training.label': JSON.stringify(ds.label),
    },
  });
  await writeFile(out, onnx);

  // Score the test rows with the exported file: these are the numbers serving will reproduce.
  const scorer = await loadOnnxScorer(out);
  let testScores: Float64Array;
  try {
    testScores = await scorer.score(test.X);
  } finally {
    await scorer.release();
  }
  let maxDiff = 0;
  for (let i = 0; i < testScores.length; i++) maxDiff = Math.max(maxDiff, Math.abs(testScores[i]! - inProcess[i]!));
  const testReport: BinaryClassificationReport = evaluateBinaryClassifier(test.y, testScores, { threshold });
  const onnxSha = createHash('sha256').update(onnx).digest('hex');
  say(`Model     ${out}: ${bytes(onnx.length)}, sha256 ${onnxSha}`);
  say(`          ONNX vs in-process predictions on the test rows: max |Δp| = ${maxDiff.toExponential(1)}`);
  if (maxDiff > ONNX_TOLERANCE) io.stderr.write(`warning: the exported model differs from the trained one by up to ${maxDiff} on the test rows\n`);
  say('');
  for (const line of metricsLines('Test', testReport)) say(line);
  say(`Validation AUC ${fixed(validReport.auc)}, log loss ${fixed(validReport.logLoss)}`);

  if (v.report || v.register) {
    const referenceProfile = buildReferenceProfile(columnsFromMatrix(train.featureNames, train.X));
    const report = buildReport({ ds, uri, kind, model, importance, referenceProfile, testReport, validReport, threshold, seed, split: [trainRows, validRows, testRows], out, onnxSha, onnxBytes: onnx.length, maxDiff });
    if (v.report) {
      await writeFile(v.report, `${JSON.stringify(report, null, 2)}\n`);
      say(`Report    ${v.report}`);
    }
    if (v.register) {
      const api = await clients();
      if (!(await api.registry.findModel(v.register))) {
        await api.registry.createModel({ name: v.register, task: 'binary_classification' });
        say(`Created model ${v.register}`);
      }
      const version = await uploadVersion(api, v.register, out, metadataFromReport(report), io);
      say(`Registered ${version.model} v${version.version}, sha256 ${version.sha256}`);
    }
  }
  return 0;
}

function buildReport(r: {
  ds: CsvDataset;
  uri: string;
  kind: 'gbdt' | 'logreg';
  model: TrainedModel;
  importance: FeatureImportance;
  referenceProfile: unknown;
  testReport: BinaryClassificationReport;
  validReport: BinaryClassificationReport;
  threshold: number;
  seed: number;
  split: readonly Uint32Array[];
  out: string;
  onnxSha: string;
  onnxBytes: number;
  maxDiff: number;
}) {
  const { model } = r;
  const modelFacts =
    model.kind === 'gbdt'
      ? { trees: model.trees.length, rounds: model.history.length, bestIteration: model.bestIteration }
      : { iterations: model.iterations, converged: model.converged };
  // The registry's version metadata, checked against its schema so `register` can send it as is.
  const metadata = VersionMetadata.parse({
    metrics: { ...flatMetrics(r.testReport), ...flatMetrics(r.validReport, 'validation') },
    params: { model: r.kind, ...model.params, ...modelFacts, splitSeed: r.seed, split: SPLIT.join('/'), labelColumn: r.ds.label.column, positiveClass: r.ds.label.positive },
    featureNames: [...model.featureNames],
    source: { dataset: { uri: r.uri, sha256: r.ds.sha256, rows: r.ds.rows } },
    referenceProfile: r.referenceProfile,
    threshold: r.threshold,
  });
  return {
    ...metadata,
    featureImportance: r.importance,
    label: r.ds.label,
    encodings: r.ds.encodings,
    split: { fractions: SPLIT, seed: r.seed, rows: { train: r.split[0]!.length, validation: r.split[1]!.length, test: r.split[2]!.length } },
    evaluation: { test: r.testReport, validation: r.validReport },
    artifact: { path: r.out, sha256: r.onnxSha, sizeBytes: r.onnxBytes, maxAbsDiffVsInProcess: r.maxDiff },
    ...(model.kind === 'gbdt' ? { history: model.history } : {}),
  };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a binary classifier on a CSV file and export it to ONNX',
  help: HELP,
  run,
};
