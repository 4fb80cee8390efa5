import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import retrain, { type DecideOutput, type EvaluateOutput, type RegisterOutput } from './retrain.js';
import { runDagSteps, startDagEnvironment, type DagEnvironment } from './lib/testing/dag-environment.js';

const TRAIN_ROWS = 4000;
const FEEDBACK_ROWS = 600;
const PAY = ['PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6'];

describe('retrain, end to end on the Taiwan credit data', () => {
  let env: DagEnvironment;
  let tmp: string;
  let header: string[];
  let lines: string[];
  before(async () => {
    env = await startDagEnvironment();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'retrain-int-'));
    const all = (await readFile(TAIWAN_CREDIT_CSV, 'utf8')).trimEnd().split(/\r?\n/);
    header = all[0]!.split(',');
    lines = all.slice(1, 1 + TRAIN_ROWS + FEEDBACK_ROWS);
    const file = path.join(tmp, 'taiwan.csv');
    await writeFile(file, `${[all[0], ...lines.slice(0, TRAIN_ROWS)].join('\n')}\n`);
    await env.registryClient.createDataset({ name: 'taiwan', description: 'UCI default of credit card clients (first rows)' });
    await env.registryClient.uploadDatasetVersion('taiwan', { file });
    await env.registryClient.createModel({ name: 'credit', task: 'binary_classification' });
  });
  after(async () => {
    await env?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const base = { dataset: 'taiwan', label: TAIWAN_CREDIT_LABEL, drop: ['ID'] };
  let firstRun: string;

  it('makes the first candidate the champion when the model has none', async () => {
    const run = await runDagSteps(retrain, env, { model: 'credit', params: { ...base, algorithm: 'logreg', logreg: { maxIter: 1 } } });
    firstRun = run.runId;
    const d = run.output as DecideOutput;
    assert.equal(d.decision, 'champion');
    assert.equal(d.moved, true);
    assert.equal((await env.registryClient.getModel('credit')).aliases.champion, d.version);
    assert.match(d.reason, new RegExp(`^retrain run ${run.runId}: AUC 0\\.\\d{3} on \\d+ held-out rows, no champion before; version ${d.version} becomes the champion$`));
  });

  it('trains on the dataset plus the feedback logged through serving, registers the lineage and sets the challenger at 10 %', async () => {
    await env.startServing();
    const rows = lines.slice(TRAIN_ROWS).map((l) => l.split(','));
    const labelAt = header.indexOf(TAIWAN_CREDIT_LABEL);
    const features = (r: string[]) => Object.fromEntries(header.flatMap((h, j) => (h === 'ID' || j === labelAt ? [] : [[h, Number(r[j])]])));
    const answer = await env.servingClient.predictBatch({ model: 'credit', rows: rows.map((r) => ({ entityId: `c${r[0]}`, features: features(r) })) });
    assert.equal(answer.predictions.length, FEEDBACK_ROWS);
    await env.serving!.container.predictionLog.flush();
    for (const [i, p] of answer.predictions.entries()) await env.servingClient.feedback({ predictionId: p.predictionId, label: Number(rows[i]![labelAt]) });

    const run = await runDagSteps(retrain, env, {
      model: 'credit',
      params: { ...base, algorithm: 'gbdt', gbdt: { nTrees: 80, maxDepth: 4, learningRate: 0.1, earlyStoppingRounds: 0 } },
    });
    const load = run.outputs.load as { rows: number; feedback: { rows: number } };
    assert.equal(load.feedback.rows, FEEDBACK_ROWS);
    assert.equal(load.rows, TRAIN_ROWS + FEEDBACK_ROWS, 'the feedback rows are added to the training rows');
    const e = run.outputs.evaluate as EvaluateOutput;
    assert.ok(e.champion && e.comparison);
    assert.ok(e.candidate.auc! > e.champion.auc, `the gbdt (${e.candidate.auc}) beats the one-step logreg (${e.champion.auc})`);
    const d = run.output as DecideOutput;
    assert.equal(d.decision, 'challenger');

    const model = await env.registryClient.getModel('credit');
    assert.equal(model.aliases.challenger, d.version);
    assert.deepEqual(model.traffic, { challengerPercent: 10, mode: 'split' });

    const v = await env.registryClient.getVersion('credit', d.version);
    const dataset = await env.registryClient.getDatasetVersion('taiwan@1');
    assert.equal(v.metrics.auc, e.candidate.auc);
    assert.equal(v.metrics.championAuc, e.champion.auc);
    assert.equal(v.params.model, 'gbdt');
    assert.equal(v.params.nTrees, 80);
    assert.equal(v.featureNames.length, 23);
    assert.equal(v.hasReferenceProfile, true);
    const source = v.source as { runId: string; dataset: { name: string; sha256: string; rows: number }; feedback: { rows: number; from: string | null; to: string | null } };
    assert.equal(source.runId, run.runId);
    assert.deepEqual({ ...source.dataset, uri: undefined }, { uri: undefined, name: 'taiwan@1', sha256: dataset.sha256, rows: TRAIN_ROWS });
    assert.equal(source.feedback.rows, FEEDBACK_ROWS);
    assert.ok(source.feedback.from && source.feedback.to && source.feedback.from <= source.feedback.to);
    const profile = (await env.registryClient.getReferenceProfile('credit', d.version)) as { rows: number; features: { name: string }[] };
    assert.deepEqual(profile.features.map((f) => f.name), v.featureNames);

    const events = (await env.registryClient.events('credit', { limit: 200 })).items;
    const moved = events.filter((ev) => ev.reason?.startsWith(`retrain run ${run.runId}:`));
    assert.deepEqual(moved.map((ev) => ev.action).sort(), ['alias.set', 'traffic.set']);
    const numbers = /AUC (0\.\d{3}) vs champion (0\.\d{3}) \(Δ \+(0\.\d{3}), 95% CI [+-]\d\.\d{3}…[+-]\d\.\d{3}, (\d[\d,]*) rows\); version \d+ becomes the challenger at 10% \(split\)$/;
    const m = numbers.exec(moved[0]!.reason!);
    assert.ok(m, moved[0]!.reason!);
    assert.equal(m[1], e.candidate.auc!.toFixed(3));
    assert.equal(m[2], e.champion.auc.toFixed(3));
    assert.equal(Number(m[4]!.replace(/,/g, '')), e.rows);

    // The register step again, as after a takeover: the Idempotency-Key gives back the same version.
    const { register: _r, decide: _d, ...earlier } = run.outputs;
    const again = await runDagSteps({ ...retrain, steps: retrain.steps.filter((s) => s.name === 'register') }, env, { model: 'credit', runId: run.runId, params: run.outputs.load ? { ...base, algorithm: 'gbdt', gbdt: { nTrees: 80, maxDepth: 4, learningRate: 0.1, earlyStoppingRounds: 0 } } : {}, outputs: earlier });
    assert.equal((again.outputs.register as RegisterOutput).version, d.version);
    assert.equal((await env.registryClient.listVersions('credit')).items.length, 2);
  });

  it('moves nothing when the candidate is worse than the champion, and says why', async () => {
    const before = await env.registryClient.getModel('credit');
    const eventsBefore = (await env.registryClient.events('credit', { limit: 200 })).items.length;
    const run = await runDagSteps(retrain, env, { model: 'credit', params: { ...base, drop: ['ID', ...PAY], algorithm: 'logreg', logreg: { maxIter: 1 } } });
    const d = run.output as DecideOutput;
    const e = run.outputs.evaluate as EvaluateOutput;
    assert.equal(d.decision, 'not-better');
    assert.equal(d.moved, false);
    assert.ok(e.comparison!.difference < 0);
    assert.match(d.reason, new RegExp(`^retrain run ${run.runId}: AUC 0\\.\\d{3} vs champion 0\\.\\d{3} \\(Δ -0\\.\\d{3}, .*; not better than the champion by any margin, nothing moved$`));
    const afterRun = await env.registryClient.getModel('credit');
    assert.deepEqual(afterRun.aliases, before.aliases);
    assert.deepEqual(afterRun.traffic, before.traffic);
    const events = (await env.registryClient.events('credit', { limit: 200 })).items;
    assert.deepEqual(events.slice(eventsBefore).map((ev) => ev.action), ['version.registered'], 'only the registration is recorded');
    assert.notEqual(run.runId, firstRun);
  });

  it('stops training when the run is aborted, and registers nothing', async () => {
    const versions = (await env.registryClient.listVersions('credit')).items.length;
    const controller = new AbortController();
    const reason = new Error('step "train" timed out');
    const run = runDagSteps(retrain, env, {
      model: 'credit',
      params: { ...base, gbdt: { nTrees: 100_000, earlyStoppingRounds: 0 } },
      signal: controller.signal,
      // The train step reports progress just before the worker starts: abort once it runs.
      onProgress: (_p, step) => void (step === 'train' && setImmediate(() => controller.abort(reason))),
    });
    await assert.rejects(run, (err) => err === reason);
    assert.equal((await env.registryClient.listVersions('credit')).items.length, versions);
  });

  it('rejects a label that is not a column, naming the field, before any training', async () => {
    await assert.rejects(runDagSteps(retrain, env, { model: 'credit', params: { ...base, label: 'no such column' } }), (err: Error) => {
      assert.equal(err.name, 'UnrecoverableStepError');
      assert.match(err.message, /^params\.label: "no such column" not a column of taiwan@1/);
      return true;
    });
  });
});
