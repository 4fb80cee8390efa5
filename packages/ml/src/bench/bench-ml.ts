/**
 * Trainer benchmark on the Taiwan credit-default data (not a test): test AUC and training time of
 * our GBDT (XGBoost-like settings and our defaults), logistic regression, and XGBoost 1.7
 * (`tree_method=hist`, 2 threads) on the very same 70/30 stratified split.
 *
 *   npm run bench:ml        (= npm run build && node packages/ml/dist/bench/bench-ml.js)
 *
 * Environment: CONTENDER_DATASETS_DIR (default: the datasets carried in packages/fixtures); CONTENDER_PYTHON, a
 * python3 with numpy and xgboost (default: `python3` on PATH, then /usr/bin/python3, where Debian's
 * python3-xgboost lives). Without one, the XGBoost row is skipped with a note.
 */
import { DATASETS_DIR } from '@contender/fixtures';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadCsvDataset } from '../data/load.js';
import { stratifiedSplit } from '../data/split.js';
import { trainGbdt } from '../gbdt/train.js';
import type { GbdtParams } from '../gbdt/params.js';
import { trainLogReg } from '../logreg/logreg.js';
import { takeRows, type Dataset } from '../matrix.js';
import { rocAuc } from '../metrics/ranking.js';

const LABEL = 'default payment next month';
const SPLIT_SEED = 42;
/**
 * Timings are the best of this many runs on both sides; ours come after one untimed warm-up run,
 * since JavaScript pays for JIT compilation on first use and XGBoost's compiled code does not.
 */
const REPEATS = 5;

/** The classic XGBoost settings compared like for like: only these differ from XGBoost's defaults. */
const XGB_LIKE: Partial<GbdtParams> = {
  nTrees: 200,
  maxDepth: 6,
  learningRate: 0.1,
  minChildWeight: 1,
  lambda: 1,
  gamma: 0,
  subsample: 1,
  colsampleByTree: 1,
  maxBins: 255,
};

interface Row {
  readonly model: string;
  readonly trees: string;
  readonly auc: number;
  readonly seconds: number;
}

interface XgbResult {
  readonly xgboost: string;
  readonly seconds: number;
  readonly auc: number;
}

const datasetsDir = process.env.CONTENDER_DATASETS_DIR ?? DATASETS_DIR;
const csvPath = `${datasetsDir.replace(/\/$/, '')}/credit-default-taiwan/default_of_credit_card_clients.csv`;

function subset(ds: Dataset, idx: Uint32Array): Dataset {
  return { featureNames: ds.featureNames, X: takeRows(ds.X, idx), y: Float64Array.from(idx, (i) => ds.y[i]!) };
}

function best<T>(run: () => T): { result: T; seconds: number } {
  let seconds = Infinity;
  let result: T = run();
  for (let r = 0; r < REPEATS; r++) {
    const start = process.hrtime.bigint();
    result = run();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { result, seconds };
}

function runXgboost(train: Uint32Array, test: Uint32Array): XgbResult | string {
  const script = fileURLToPath(new URL('../../src/bench/xgboost-reference.py', import.meta.url));
  const job = JSON.stringify({
    csv: csvPath,
    drop: ['ID'],
    label: LABEL,
    train: Array.from(train),
    test: Array.from(test),
    rounds: XGB_LIKE.nTrees,
    repeats: REPEATS,
    params: {
      objective: 'binary:logistic',
      tree_method: 'hist',
      nthread: 2,
      max_depth: XGB_LIKE.maxDepth,
      eta: XGB_LIKE.learningRate,
      min_child_weight: XGB_LIKE.minChildWeight,
      lambda: XGB_LIKE.lambda,
      gamma: XGB_LIKE.gamma,
      subsample: XGB_LIKE.subsample,
      colsample_bytree: XGB_LIKE.colsampleByTree,
      max_bin: XGB_LIKE.maxBins,
      seed: 0,
    },
  });
  const candidates = process.env.CONTENDER_PYTHON ? [process.env.CONTENDER_PYTHON] : ['python3', '/usr/bin/python3'];
  const problems: string[] = [];
  for (const python of candidates) {
    const res = spawnSync(python, [script], { input: job, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (res.error) {
      problems.push(`${python}: ${(res.error as NodeJS.ErrnoException).code ?? res.error.message}`);
      continue;
    }
    if (res.status === 0) return JSON.parse(res.stdout.trim().split('\n').at(-1)!) as XgbResult;
    problems.push(`${python}: ${res.status === 3 ? 'no xgboost module' : `exit ${res.status}: ${res.stderr.trim().split('\n').at(-1)}`}`);
  }
  return problems.join('; ');
}

async function main(): Promise<void> {
  const ds = await loadCsvDataset(csvPath, { label: LABEL, drop: ['ID'] });
  const [trainIdx, testIdx] = stratifiedSplit(ds.y, { fractions: [0.7, 0.3], seed: SPLIT_SEED }) as [Uint32Array, Uint32Array];
  const train = subset(ds, trainIdx);
  const test = subset(ds, testIdx);
  console.log(
    `Taiwan credit default: ${train.X.rows} train / ${test.X.rows} test rows, ${ds.featureNames.length} features ` +
      `(stratified 70/30, seed ${SPLIT_SEED}); times are the best of ${REPEATS} runs (ours after a warm-up run) on Node ${process.version}\n`,
  );

  const rows: Row[] = [];
  const xgbLike = best(() => trainGbdt(train, XGB_LIKE));
  const xgbLikeAuc = rocAuc(test.y, xgbLike.result.predict(test.X));
  rows.push({ model: 'ours: 200 trees, depth 6, lr 0.1', trees: String(xgbLike.result.trees.length), auc: xgbLikeAuc, seconds: xgbLike.seconds });

  const defaults = best(() => trainGbdt(train));
  const defaultsAuc = rocAuc(test.y, defaults.result.predict(test.X));
  rows.push({ model: 'ours: default settings', trees: String(defaults.result.trees.length), auc: defaultsAuc, seconds: defaults.seconds });

  const logreg = best(() => trainLogReg(train));
  const logregAuc = rocAuc(test.y, logreg.result.predict(test.X));
  rows.push({ model: 'logistic regression (l2 = 1)', trees: '-', auc: logregAuc, seconds: logreg.seconds });

  const xgb = runXgboost(trainIdx, testIdx);
  if (typeof xgb !== 'string') {
    rows.push({ model: `XGBoost ${xgb.xgboost} hist, nthread=2, same params`, trees: String(XGB_LIKE.nTrees), auc: xgb.auc, seconds: xgb.seconds });
  }

  const width = Math.max(...rows.map((r) => r.model.length));
  console.log(`${'model'.padEnd(width)}  trees  test AUC  train s`);
  for (const r of rows) {
    console.log(`${r.model.padEnd(width)}  ${r.trees.padStart(5)}  ${r.auc.toFixed(4).padStart(8)}  ${r.seconds.toFixed(3).padStart(7)}`);
  }

  console.log('\nTargets:');
  const check = (ok: boolean, text: string): void => console.log(`  ${ok ? 'met ' : 'MISS'}  ${text}`);
  if (typeof xgb === 'string') {
    console.log(`  XGBoost comparison skipped: no python3 with xgboost found (${xgb}).`);
    console.log('  Install Debian\'s python3-xgboost, or point CONTENDER_PYTHON at a python3 that has xgboost.');
  } else {
    const dAuc = xgbLikeAuc - xgb.auc;
    check(Math.abs(dAuc) <= 0.003, `same settings: test AUC within 0.003 of XGBoost's (difference ${dAuc >= 0 ? '+' : ''}${dAuc.toFixed(4)})`);
    const ratio = xgbLike.seconds / xgb.seconds;
    check(ratio <= 2, `same settings: training time at most 2x XGBoost's (${ratio.toFixed(2)}x)`);
  }
  check(defaultsAuc >= 0.772, `default settings: test AUC >= 0.772 (${defaultsAuc.toFixed(4)})`);
  check(logregAuc >= 0.71, `logistic regression: test AUC >= 0.71 (${logregAuc.toFixed(4)})`);
}

await main();
