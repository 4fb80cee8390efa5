/**
 * The retrain pipeline on the whole Taiwan credit data (30,000 rows, registered as a dataset), with
 * XGBoost's classic settings (200 trees, depth 6, learning rate 0.1, no subsampling), against an
 * in-process registry: each step's wall time, and the trainer's fit time next to XGBoost's on the
 * same training rows (Debian's python3-xgboost; without it the script says so).
 *   npm run bench:retrain
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { loadCsvDataset, stratifiedSplit } from '@contender/ml';
import type { DagDefinition, StepDefinition } from '@contender/pipeline';
import retrain, { type TrainOutput } from '../retrain.js';
import { runDagSteps, startDagEnvironment } from '../lib/testing/dag-environment.js';
import { SPLIT } from '../lib/training-data.js';

const RUNS = 3;
const SEED = 42;
const GBDT = { nTrees: 200, maxDepth: 6, learningRate: 0.1, minChildWeight: 1, lambda: 1, subsample: 1, colsampleByTree: 1, earlyStoppingRounds: 0 };

function xgboost(train: Uint32Array, test: Uint32Array): { seconds: number; auc: number; xgboost: string } | string {
  const script = fileURLToPath(new URL('../../../packages/ml/src/bench/xgboost-reference.py', import.meta.url));
  const job = {
    csv: TAIWAN_CREDIT_CSV,
    drop: ['ID'],
    label: TAIWAN_CREDIT_LABEL,
    train: Array.from(train),
    test: Array.from(test),
    rounds: GBDT.nTrees,
    repeats: RUNS,
    params: { objective: 'binary:logistic', tree_method: 'hist', nthread: 2, max_depth: GBDT.maxDepth, eta: GBDT.learningRate, min_child_weight: GBDT.minChildWeight, lambda: GBDT.lambda, gamma: 0, subsample: 1, colsample_bytree: 1, max_bin: 255, seed: 0 },
  };
  // A pyenv or venv python3 may lack Debian's python3-xgboost that /usr/bin/python3 has.
  const candidates = process.env.CONTENDER_PYTHON ? [process.env.CONTENDER_PYTHON] : ['python3', '/usr/bin/python3'];
  let why = 'no python3';
  for (const python of candidates) {
    const r = spawnSync(python, [script], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.error) {
      why = `${python} not runnable: ${r.error.message}`;
      continue;
    }
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      const parsed = JSON.parse(line) as { seconds?: number; auc?: number; xgboost?: string; error?: string };
      if (parsed.error || parsed.seconds === undefined) {
        why = `${python}: ${parsed.error ?? line}`;
        continue;
      }
      return parsed as { seconds: number; auc: number; xgboost: string };
    } catch {
      why = `${python}: ${r.stderr.trim().split('\n').pop() ?? 'no output'}`;
    }
  }
  return why;
}

async function main() {
  const env = await startDagEnvironment();
  try {
    await env.registryClient.createDataset({ name: 'taiwan' });
    await env.registryClient.uploadDatasetVersion('taiwan', { file: TAIWAN_CREDIT_CSV });
    await env.registryClient.createModel({ name: 'credit', task: 'binary_classification' });
    const times: Record<string, number>[] = [];
    const fits: number[] = [];
    let auc = NaN;
    for (let i = 0; i < RUNS; i++) {
      const t: Record<string, number> = {};
      const timed: DagDefinition = {
        ...retrain,
        steps: retrain.steps.map((s): StepDefinition => ({
          ...s,
          run: async (ctx) => {
            const start = performance.now();
            try {
              return await s.run(ctx as never);
            } finally {
              t[s.name] = (performance.now() - start) / 1000;
            }
          },
        })),
      } as DagDefinition;
      const run = await runDagSteps(timed, env, { model: 'credit', params: { dataset: 'taiwan', label: TAIWAN_CREDIT_LABEL, drop: ['ID'], gbdt: GBDT, includeFeedback: false, seed: SEED } });
      times.push(t);
      fits.push((run.outputs.train as TrainOutput).trainSeconds);
      auc = (run.outputs.evaluate as { candidate: { auc: number } }).candidate.auc;
    }
    const best = (k: string) => Math.min(...times.map((t) => t[k]!));
    const ds = await loadCsvDataset(TAIWAN_CREDIT_CSV, { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
    const [train, , test] = stratifiedSplit(ds.y, { fractions: SPLIT, seed: SEED }) as [Uint32Array, Uint32Array, Uint32Array];
    const xgb = xgboost(train, test);
    const fit = Math.min(...fits);
    console.log(`train rows ${train.length}, test rows ${test.length}; best of ${RUNS} runs; test AUC ${auc.toFixed(4)}`);
    console.log('| step | s |');
    console.log('|---|---:|');
    for (const s of retrain.steps) console.log(`| ${s.name} | ${best(s.name).toFixed(2)} |`);
    console.log(`| train step: the trainer's fit alone (worker thread) | ${fit.toFixed(2)} |`);
    if (typeof xgb === 'string') console.log(`XGBoost: not measured (${xgb})`);
    else {
      console.log(`| XGBoost ${xgb.xgboost} hist, 2 threads, same rows and settings (fit, test AUC ${xgb.auc.toFixed(4)}) | ${xgb.seconds.toFixed(2)} |`);
      console.log(`train step / XGBoost fit: ${(best('train') / xgb.seconds).toFixed(2)}×; fit / XGBoost fit: ${(fit / xgb.seconds).toFixed(2)}×`);
    }
  } finally {
    await env.close();
  }
}

await main();
