/**
 * onnxruntime run benchmark (not a test): what one InferenceSession.run of the serving benchmark's
 * model costs, by rows per run, with the CPU caches warm (runs back to back), with 4 MiB of other
 * memory touched before each run (the L1 and L2 caches emptied, as serving's own work between two
 * runs does) and with 48 MiB touched (the L3 as well).
 *
 *   npm run bench:onnx-runs   (= npm run build && node services/serving/dist/bench/bench-onnx-runs.js)
 *
 * The model is bench:serving's: 23 features, 200 trees of depth 6, trained on the Taiwan credit
 * data and exported by @contender/ml; the session options are serving's (one intra-op thread,
 * sequential, all graph optimisations). Times are wall time per awaited run, the public API's
 * own overhead included. Then the cost of a run whatever the model: runs of 1–16 rows on the
 * same data with a one-tree model beside the 200-tree one. Last, 10,000 rows (a full
 * /predict/batch) as one run and as consecutive runs of 1,000, 500 (serving's
 * ONNX_MAX_ROWS_PER_RUN) and 50 rows.
 */
import * as ort from 'onnxruntime-node';
import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { exportToOnnx, loadCsvDataset, trainGbdt } from '@contender/ml';

const ROWS = [1, 8, 16, 32, 50, 64, 128, 1000];
const WARM_RUNS = 2_000;
const COLD_RUNS = 300;
const FEW_ROWS = [1, 2, 4, 8, 16];
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 4,
};

async function main(): Promise<void> {
  const ds = await loadCsvDataset(TAIWAN_CREDIT_CSV, { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
  const model = trainGbdt(ds, { nTrees: 200, maxDepth: 6, learningRate: 0.1 });
  const session = await ort.InferenceSession.create(exportToOnnx(model), SESSION_OPTIONS);
  const input = session.inputNames[0]!;
  const width = ds.featureNames.length;
  const other = new Uint8Array(48 << 20);
  /** Touches `bytes` of other memory: 4 MiB empties the L1 and L2 caches, 48 MiB the L3 as well. */
  const touch = (bytes: number) => {
    for (let i = 0; i < bytes; i += 64) other[i]!++;
  };
  // Every run gets rows it has not seen just before, as serving does: the same rows run after run
  // would let the CPU's branch predictors learn their paths down the trees (runs of up to about 50
  // repeated rows then cost 2.5 instead of 5–6 µs per row).
  const all = ds.X.data;
  let next = 0;
  const timeRuns = async (rows: number, runs: number, evictBytes: number, on: ort.InferenceSession = session): Promise<number> => {
    let ns = 0n;
    for (let r = 0; r < runs; r++) {
      const data = new Float32Array(rows * width);
      for (let i = 0; i < data.length; i++) data[i] = all[next++ % all.length]!;
      if (evictBytes > 0) touch(evictBytes);
      const t0 = process.hrtime.bigint();
      await on.run({ [input]: new ort.Tensor('float32', data, [rows, width]) });
      ns += process.hrtime.bigint() - t0;
    }
    return Number(ns) / runs / 1000;
  };

  console.log(`model: ${width} features, ${model.trees.length} trees; onnxruntime-node ${ort.env.versions.common}`);
  console.log('| rows per run | warm µs/run (/row) | 4 MiB touched before: µs/run (/row) | 48 MiB touched before: µs/run (/row) |');
  console.log('|---:|---:|---:|---:|');
  const cell = (us: number, rows: number) => `${us.toFixed(1)} (${(us / rows).toFixed(1)})`;
  for (const rows of ROWS) {
    await timeRuns(rows, 200, 0);
    const warm = await timeRuns(rows, WARM_RUNS, 0);
    const l2 = await timeRuns(rows, COLD_RUNS, 4 << 20);
    const cold = await timeRuns(rows, COLD_RUNS, 48 << 20);
    console.log(`| ${rows} | ${cell(warm, rows)} | ${cell(l2, rows)} | ${cell(cold, rows)} |`);
  }

  // What a run costs whatever the model: the same data, one tree of the same depth.
  const oneTree = await ort.InferenceSession.create(exportToOnnx(trainGbdt(ds, { nTrees: 1, maxDepth: 6, learningRate: 0.1 })), SESSION_OPTIONS);
  console.log('\n| warm µs/run, best of 3 passes, by rows per run | ' + FEW_ROWS.join(' | ') + ' |');
  console.log('|---|' + FEW_ROWS.map(() => '---:|').join(''));
  for (const [label, on] of [[`${model.trees.length} trees`, session], ['1 tree', oneTree]] as const) {
    const cells: string[] = [];
    for (const rows of FEW_ROWS) {
      let best = Infinity;
      for (let pass = 0; pass < 3; pass++) best = Math.min(best, await timeRuns(rows, Math.max(200, 2_000 / rows), 0, on));
      cells.push(best.toFixed(1));
    }
    console.log(`| ${label} | ${cells.join(' | ')} |`);
  }
  await oneTree.release();

  // A /predict/batch of 10,000 rows: one run, or consecutive runs of ONNX_MAX_ROWS_PER_RUN rows.
  const total = 10_000;
  const data = new Float32Array(total * width);
  for (let i = 0; i < data.length; i++) data[i] = ds.X.data[i % ds.X.data.length]!;
  console.log(`\n| ${total} rows, warm, best of 5 | ms | longest run, ms |`);
  console.log('|---|---:|---:|');
  for (const perRun of [total, 1000, 500, 50]) {
    let best = Infinity;
    let longest = 0;
    for (let rep = 0; rep < 5; rep++) {
      const t0 = process.hrtime.bigint();
      for (let start = 0; start < total; start += perRun) {
        const n = Math.min(perRun, total - start);
        const r0 = process.hrtime.bigint();
        await session.run({ [input]: new ort.Tensor('float32', data.subarray(start * width, (start + n) * width), [n, width]) });
        longest = Math.max(longest, Number(process.hrtime.bigint() - r0) / 1e6);
      }
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(`| ${perRun === total ? 'one run' : `runs of ${perRun}`} | ${best.toFixed(1)} | ${longest.toFixed(1)} |`);
  }
  await session.release();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
