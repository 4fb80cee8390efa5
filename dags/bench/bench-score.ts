/**
 * The score pipeline's throughput and memory: a CSV of Taiwan rows repeated to --rows rows (default
 * 1,000,000, plus a quarter of that to show memory does not grow with the file), scored by a
 * 200-tree GBDT (depth 6) through the real step against an in-process registry.
 *   npm run bench:score [-- --rows 1000000]
 * Prints rows/s of the whole step (download, parse, score, write, upload) and peak RSS while it
 * ran. RSS is the whole process, which also holds the in-process registry serving the content.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { exportToOnnx, loadCsvDataset, trainGbdt } from '@contender/ml';
import score, { type ScoreOutput } from '../score.js';
import { runDagSteps, startDagEnvironment } from '../lib/testing/dag-environment.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const ROWS = Number(values.rows);
const mb = (b: number) => (b / 2 ** 20).toFixed(0);

async function writeCsv(file: string, header: string, lines: string[], rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${header}\n`);
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const l = lines[i % lines.length]!;
    chunk += `${i + 1}${l.slice(l.indexOf(','))}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await finished(out);
}

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-score-'));
  const env = await startDagEnvironment();
  try {
    const ds = await loadCsvDataset(TAIWAN_CREDIT_CSV, { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
    const model = trainGbdt(ds, { nTrees: 200, maxDepth: 6, learningRate: 0.1, earlyStoppingRounds: 0 });
    const onnx = exportToOnnx(model);
    await env.registryClient.createModel({ name: 'credit', task: 'binary_classification' });
    await env.registryClient.uploadVersion('credit', { artifact: onnx, metadata: { featureNames: [...ds.featureNames] } });
    await env.registryClient.setAlias('credit', 'champion', 1);

    // onnxruntime alone, on the same model and batch size: the ceiling for the pipeline.
    const session = await ort.InferenceSession.create(onnx);
    const batch = 16_384;
    const x = new Float32Array(batch * ds.X.cols);
    for (let i = 0; i < x.length; i++) x[i] = ds.X.data[i % ds.X.data.length]!;
    const t0 = performance.now();
    let scored = 0;
    while (scored < 500_000) {
      await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [batch, ds.X.cols]) });
      scored += batch;
    }
    const ortRate = scored / ((performance.now() - t0) / 1000);
    await session.release();

    const all = (await readFile(TAIWAN_CREDIT_CSV, 'utf8')).trimEnd().split(/\r?\n/);
    const results: { rows: number; mbytes: string; seconds: number; rate: number; peakRss: number; baseRss: number }[] = [];
    for (const rows of [Math.round(ROWS / 4), ROWS]) {
      const name = `applicants-${rows}`;
      const file = path.join(tmp, `${name}.csv`);
      await writeCsv(file, all[0]!, all.slice(1), rows);
      await env.registryClient.createDataset({ name });
      await env.registryClient.uploadDatasetVersion(name, { file });
      (globalThis as { gc?: () => void }).gc?.();
      const baseRss = process.memoryUsage().rss;
      let peakRss = baseRss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 25);
      const started = performance.now();
      const run = await runDagSteps(score, env, { model: 'credit', params: { dataset: name, output: `${name}-scores`, idColumn: 'ID' } });
      const seconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      const out = run.output as ScoreOutput;
      if (out.rowsScored !== rows) throw new Error(`scored ${out.rowsScored} of ${rows} rows`);
      results.push({ rows, mbytes: mb((await stat(file)).size), seconds, rate: rows / seconds, peakRss, baseRss });
      await rm(file);
    }
    console.log(`onnxruntime alone (same model, ${batch}-row batches): ${Math.round(ortRate).toLocaleString('en-US')} rows/s`);
    console.log('| rows | CSV MB | score run s | rows/s | RSS before MB | peak RSS MB |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      console.log(`| ${r.rows.toLocaleString('en-US')} | ${r.mbytes} | ${r.seconds.toFixed(2)} | ${Math.round(r.rate).toLocaleString('en-US')} | ${mb(r.baseRss)} | ${mb(r.peakRss)} |`);
    }
  } finally {
    await env.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
