import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { exportToOnnx, readCsvDataset, trainGbdt } from '@contender/ml';
import score, { type ScoreOutput } from './score.js';
import { runDagSteps, startDagEnvironment, type DagEnvironment } from './lib/testing/dag-environment.js';

const MODEL_ROWS = 2000;
const SCORE_ROWS = 2500;

describe('score, end to end', () => {
  let env: DagEnvironment;
  let tmp: string;
  let header: string;
  let scoreLines: string[];
  let onnx: Uint8Array;
  let featureNames: string[];
  before(async () => {
    env = await startDagEnvironment();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'score-int-'));
    const all = (await readFile(TAIWAN_CREDIT_CSV, 'utf8')).trimEnd().split(/\r?\n/);
    header = all[0]!;
    const ds = await readCsvDataset([`${[header, ...all.slice(1, 1 + MODEL_ROWS)].join('\n')}\n`], { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
    const model = trainGbdt(ds, { nTrees: 30, maxDepth: 4, learningRate: 0.2 });
    featureNames = [...ds.featureNames];
    onnx = exportToOnnx(model);
    await env.registryClient.createModel({ name: 'credit', task: 'binary_classification' });
    const v = await env.registryClient.uploadVersion('credit', { artifact: onnx, metadata: { featureNames } });
    await env.registryClient.setAlias('credit', 'champion', v.version);
    scoreLines = all.slice(1 + MODEL_ROWS, 1 + MODEL_ROWS + SCORE_ROWS);
    await env.registryClient.createDataset({ name: 'applicants' });
    await env.registryClient.uploadDatasetVersion('applicants', { file: Buffer.from(`${[header, ...scoreLines].join('\n')}\n`) });
  });
  after(async () => {
    await env?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** onnxruntime on the same rows, straight from the file: the scores the pipeline must reproduce. */
  async function reference(lines: string[]): Promise<Float32Array> {
    const cols = header.split(',');
    const index = featureNames.map((f) => cols.indexOf(f));
    const x = new Float32Array(lines.length * index.length);
    lines.forEach((l, i) => {
      const cells = l.split(',');
      index.forEach((j, k) => (x[i * index.length + k] = Number(cells[j])));
    });
    const session = await ort.InferenceSession.create(onnx);
    try {
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [lines.length, index.length]) });
      const p = out.probabilities ?? out[session.outputNames.find((n) => /prob/.test(n))!]!;
      const data = p.data as Float32Array;
      return Float32Array.from({ length: lines.length }, (_, i) => data[i * 2 + 1]!);
    } finally {
      await session.release();
    }
  }

  async function content(ref: string): Promise<string[][]> {
    const text = await new Response(await env.registryClient.datasetContent(ref)).text();
    return text.trimEnd().split('\n').map((l) => l.split(','));
  }

  it('writes one row per input row with the scores onnxruntime gives, as a new version of a new dataset with lineage', async () => {
    const run = await runDagSteps(score, env, { model: 'credit', params: { dataset: 'applicants', output: 'applicant-scores', idColumn: 'ID', batchRows: 1000 } });
    const out = run.output as ScoreOutput;
    assert.equal(out.rowsRead, SCORE_ROWS);
    assert.equal(out.rowsScored, SCORE_ROWS);
    assert.equal(out.badRows, 0);
    assert.equal(out.output.rows, SCORE_ROWS);
    const rows = await content('applicant-scores@1');
    assert.deepEqual(rows[0], ['id', 'score', 'label']);
    assert.equal(rows.length - 1, SCORE_ROWS);
    const expected = await reference(scoreLines);
    rows.slice(1).forEach(([id, s, label], i) => {
      assert.equal(id, scoreLines[i]!.split(',')[0]);
      assert.equal(Number(s), expected[i], `row ${i + 1}`);
      assert.equal(label, expected[i]! >= 0.5 ? '1' : '0');
    });
    const v = await env.registryClient.getDatasetVersion('applicant-scores@1');
    assert.deepEqual(
      { dataset: v.source?.dataset, model: v.source?.model, runId: v.source?.runId },
      { dataset: 'applicants@1', model: 'credit@1', runId: run.runId },
    );
    const last = run.progress[run.progress.length - 1]!;
    assert.deepEqual([last.done, last.total], [SCORE_ROWS, SCORE_ROWS]);
    assert.ok(run.progress.length > 2, 'progress is reported as the batches go');
  });

  it('numbers the rows without an idColumn, and adds a version to an output dataset that exists', async () => {
    const run = await runDagSteps(score, env, { model: 'credit', params: { dataset: 'applicants@1', output: 'applicant-scores', version: 1 } });
    const out = run.output as ScoreOutput;
    assert.equal(out.output.version, 2);
    const rows = await content('applicant-scores@2');
    assert.deepEqual(rows.slice(1, 4).map((r) => r[0]), ['1', '2', '3']);
    assert.equal(rows.length - 1, SCORE_ROWS);
  });

  it('counts and lists rows with a non-number where the model needs one, and fails past maxBadRows naming the limit', async () => {
    const lines = scoreLines.slice(0, 50).map((l, i) => (i === 4 || i === 9 || i === 30 ? l.replace(/^(\d+),\d+,/, '$1,lots,') : l));
    await env.registryClient.createDataset({ name: 'dirty' });
    await env.registryClient.uploadDatasetVersion('dirty', { file: Buffer.from(`${[header, ...lines].join('\n')}\n`) });
    const run = await runDagSteps(score, env, { model: 'credit', params: { dataset: 'dirty', output: 'dirty-scores', maxBadRows: 3 } });
    const out = run.output as ScoreOutput;
    assert.equal(out.badRows, 3);
    assert.equal(out.rowsScored, 47);
    assert.deepEqual(out.badRowSamples.map((b) => [b.row, b.column, b.value]), [[5, 'LIMIT_BAL', 'lots'], [10, 'LIMIT_BAL', 'lots'], [31, 'LIMIT_BAL', 'lots']]);
    assert.equal((await content('dirty-scores')).length - 1, 47);

    await assert.rejects(runDagSteps(score, env, { model: 'credit', params: { dataset: 'dirty', output: 'dirty-scores', maxBadRows: 2 } }), (err: Error) => {
      assert.equal(err.name, 'UnrecoverableStepError');
      assert.match(err.message, /^more than maxBadRows \(2\) rows cannot be scored; the first: row 5 column "LIMIT_BAL"/);
      return true;
    });
    assert.equal((await env.registryClient.listDatasetVersions('dirty-scores')).items.length, 1, 'a failed run writes no version');
  });

  it('stops scoring between batches when the run is aborted, and writes no version', async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    const run = runDagSteps(score, env, {
      model: 'credit',
      params: { dataset: 'applicants', output: 'cancelled-scores', batchRows: 100 },
      signal: controller.signal,
      onProgress: (p) => void (p.done >= 500 && controller.abort(reason)),
    });
    await assert.rejects(run, (err) => err === reason);
    assert.equal(await env.registryClient.findDataset('cancelled-scores'), null);
  });

  it('fails at once when the alias names no version or the dataset does not exist', async () => {
    await assert.rejects(runDagSteps(score, env, { model: 'credit', params: { dataset: 'applicants', output: 'x', alias: 'challenger' } }), /has no version with alias "challenger"/);
    await assert.rejects(runDagSteps(score, env, { model: 'credit', params: { dataset: 'nothing-here', output: 'x' } }), /dataset nothing-here does not exist/);
  });
});
