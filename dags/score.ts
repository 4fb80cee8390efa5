import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { AliasName, DatasetName, DatasetRefString, parseDatasetRef } from '@contender/contracts';
import { CsvParser, MISSING_TOKENS, parseNumber, type CsvRecord } from '@contender/ml';
import { defineDag, UnrecoverableStepError, type StepContext } from '@contender/pipeline';
import { datasetNotFound } from './lib/dataset-file.js';
import { count } from './lib/format.js';
import { loadOnnxModel } from './lib/onnx-model.js';

export const scoreParams = z
  .strictObject({
    dataset: DatasetRefString.describe('the rows to score: `name` (latest version) or `name@version`'),
    alias: AliasName.default('champion').describe('the model version to score with, by alias (ignored when `version` is given)'),
    version: z.number().int().min(1).optional().describe('the model version to score with'),
    output: DatasetName.describe('the dataset the scores are written to as a new version (created when missing)'),
    idColumn: z.string().min(1).optional().describe('the column copied to `id`; default: the row number from 1'),
    batchRows: z.number().int().min(1).max(1_000_000).default(16_384).describe('rows per inference call'),
    maxBadRows: z.number().int().min(0).default(1000).describe('rows that cannot be scored before the run fails'),
  })
  .describe('scores a dataset version with a model version into a new version of another dataset');
export type ScoreParams = z.output<typeof scoreParams>;
type Ctx = StepContext<ScoreParams>;

export interface ResolveOutput {
  dataset: { name: string; version: number; sha256: string; rows: number; columns: string[] };
  model: { name: string; version: number; sha256: string; featureNames: string[]; threshold: number; by: string };
}

export interface BadRow {
  /** 1-based data row (header not counted) */
  row: number;
  column: string | null;
  value: string | null;
  reason: string;
}

export interface ScoreOutput {
  input: string;
  model: string;
  output: { dataset: string; version: number; sha256: string; rows: number };
  rowsRead: number;
  rowsScored: number;
  badRows: number;
  /** the first BAD_ROWS_LISTED of them */
  badRowSamples: BadRow[];
  seconds: number;
}

const BAD_ROWS_LISTED = 20;

async function resolve(ctx: Ctx): Promise<ResolveOutput> {
  const p = ctx.params;
  const o = { signal: ctx.signal };
  const v = await ctx.registry.getDatasetVersion(parseDatasetRef(p.dataset), o).catch((e: unknown) => datasetNotFound(e, p.dataset));
  if (p.idColumn !== undefined && !v.columns.includes(p.idColumn)) {
    throw new UnrecoverableStepError(`params.idColumn: "${p.idColumn}" is not a column of ${v.dataset}@${v.version}`, { field: 'idColumn' });
  }
  const model = await ctx.registry.findModel(ctx.model, o);
  if (!model) throw new UnrecoverableStepError(`model ${ctx.model} does not exist in the registry`);
  const number = p.version ?? model.aliases[p.alias];
  if (number === undefined) throw new UnrecoverableStepError(`model ${ctx.model} has no version with alias "${p.alias}"`, { field: 'alias' });
  const mv = await ctx.registry.getVersion(ctx.model, number, o).catch((err: unknown) => {
    if ((err as { status?: number }).status === 404) throw new UnrecoverableStepError(`model ${ctx.model} has no version ${number}`, { field: 'version' });
    throw err;
  });
  if (mv.featureNames.length === 0) throw new UnrecoverableStepError(`${ctx.model} version ${number} lists no feature names, so its inputs cannot be matched to columns`);
  return {
    dataset: { name: v.dataset, version: v.version, sha256: v.sha256, rows: v.rows, columns: v.columns },
    model: { name: ctx.model, version: number, sha256: mv.sha256, featureNames: mv.featureNames, threshold: mv.threshold ?? 0.5, by: p.version !== undefined ? 'version' : `alias ${p.alias}` },
  };
}

/** How one model input is read from a CSV record: a numeric column, or a one-hot indicator `column=category`. */
type InputReader = { column: number; name: string; category: string | null };

function inputReaders(header: readonly string[], featureNames: readonly string[]): InputReader[] {
  const index = new Map(header.map((h, j) => [h, j]));
  return featureNames.map((name) => {
    const j = index.get(name);
    if (j !== undefined) return { column: j, name, category: null };
    const eq = name.indexOf('=');
    const k = eq > 0 ? index.get(name.slice(0, eq)) : undefined;
    if (k !== undefined) return { column: k, name: name.slice(0, eq), category: name.slice(eq + 1) };
    throw new UnrecoverableStepError(`the model's feature "${name}" is not a column of the dataset (columns: ${header.join(', ')})`);
  });
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function score(ctx: Ctx): Promise<ScoreOutput> {
  const started = performance.now();
  const p = ctx.params;
  const r = ctx.outputs.resolve as ResolveOutput;
  const o = { signal: ctx.signal };
  const model = await loadOnnxModel(await ctx.registry.downloadArtifact(r.model.name, r.model.version, o), `${r.model.name} version ${r.model.version}`);
  const outPath = join(ctx.tmpDir, 'scores.csv');
  const out = createWriteStream(outPath);
  // Errors surface through write()/finished(); this listener keeps a write that completes after
  // destroy() (an abort mid-write) from becoming an uncaught exception.
  out.on('error', () => undefined);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  let rowsRead = 0;
  let rowsScored = 0;
  let badRows = 0;
  const samples: BadRow[] = [];
  try {
    const readers = inputReaders(r.dataset.columns, r.model.featureNames);
    const idIndex = p.idColumn !== undefined ? r.dataset.columns.indexOf(p.idColumn) : -1;
    const width = readers.length;
    if (model.width !== null && model.width !== width) throw new UnrecoverableStepError(`the model takes ${model.width} inputs but lists ${width} feature names`);
    const batch = Math.min(p.batchRows, Math.max(1, r.dataset.rows));
    const x = new Float32Array(batch * width);
    const scores = new Float64Array(batch);
    const ids: string[] = new Array(batch);
    let n = 0;
    const threshold = r.model.threshold;

    const flush = async () => {
      if (n === 0) return;
      ctx.signal.throwIfAborted();
      await model.scoreInto(x, n, width, scores);
      let text = '';
      for (let i = 0; i < n; i++) {
        const s = scores[i]!;
        text += `${ids[i]},${s},${s >= threshold ? 1 : 0}\n`;
      }
      await write(text);
      rowsScored += n;
      n = 0;
      ctx.progress({ done: rowsRead, total: r.dataset.rows, unit: 'rows' });
    };
    const bad = (row: BadRow) => {
      badRows++;
      if (samples.length < BAD_ROWS_LISTED) samples.push(row);
      if (badRows > p.maxBadRows) {
        throw new UnrecoverableStepError(`more than maxBadRows (${p.maxBadRows}) rows cannot be scored; the first: ${samples.slice(0, 3).map((b) => `row ${b.row} ${b.reason}`).join('; ')}`, { maxBadRows: p.maxBadRows, badRowSamples: samples });
      }
    };

    const onRecord = (rec: CsvRecord): void => {
      const f = rec.fields;
      const row = rowsRead;
      if (f.length !== r.dataset.columns.length) {
        bad({ row, column: null, value: null, reason: `has ${f.length} fields, the header ${r.dataset.columns.length}` });
        return;
      }
      const base = n * width;
      for (let j = 0; j < width; j++) {
        const rd = readers[j]!;
        const cell = f[rd.column]!;
        if (rd.category !== null) {
          x[base + j] = cell.trim() === rd.category ? 1 : 0;
          continue;
        }
        const t = cell.trim();
        if (MISSING_TOKENS.has(t)) {
          x[base + j] = NaN;
          continue;
        }
        const v = parseNumber(t);
        if (v === undefined) {
          bad({ row, column: rd.name, value: cell.slice(0, 100), reason: `column "${rd.name}": ${JSON.stringify(cell.slice(0, 100))} is not a number` });
          return;
        }
        x[base + j] = v;
      }
      ids[n] = idIndex >= 0 ? csvCell(f[idIndex]!) : String(row);
      n++;
    };

    await write('id,score,label\n');
    const body = await ctx.registry.datasetContent(r.dataset, o);
    const parser = new CsvParser();
    const decoder = new StringDecoder('utf8');
    const records: CsvRecord[] = [];
    let headerSeen = false;
    const drain = async () => {
      for (const rec of records) {
        if (!headerSeen) {
          headerSeen = true;
          continue;
        }
        rowsRead++;
        onRecord(rec);
        if (n === batch) await flush();
      }
      records.length = 0;
    };
    for await (const chunk of Readable.fromWeb(body as WebReadableStream<Uint8Array>) as AsyncIterable<Buffer>) {
      parser.push(decoder.write(chunk), records);
      await drain();
    }
    parser.push(decoder.end(), records);
    parser.end(records);
    await drain();
    await flush();
    out.end();
    await finished(out);
  } catch (err) {
    out.destroy();
    // An aborted download reports itself in its own words; the runner needs the abort's reason.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw err;
  } finally {
    await model.release();
  }

  const outputName = p.output;
  const ds = await ctx.registry.findDataset(outputName, o);
  if (!ds) {
    await ctx.registry
      .createDataset({ name: outputName, description: `scores written by the score pipeline (model ${r.model.name})` }, o)
      .catch((err: unknown) => {
        if ((err as { status?: number }).status !== 409) throw err; // created meanwhile: fine
      });
  }
  const input = `${r.dataset.name}@${r.dataset.version}`;
  const modelRef = `${r.model.name}@${r.model.version}`;
  const uploaded = await ctx.registry.uploadDatasetVersion(
    outputName,
    {
      file: outPath,
      metadata: {
        description: `${count(rowsScored)} rows of ${input} scored by ${modelRef} (score run ${ctx.runId})`,
        source: { runId: ctx.runId, dag: 'score', dataset: input, datasetSha256: r.dataset.sha256, model: modelRef, modelSha256: r.model.sha256, badRows },
      },
    },
    { ...o, idempotencyKey: ctx.idempotencyKey('upload') },
  );
  ctx.progress({ done: rowsRead, total: r.dataset.rows, unit: 'rows' });
  return {
    input,
    model: modelRef,
    output: { dataset: uploaded.dataset, version: uploaded.version, sha256: uploaded.sha256, rows: uploaded.rows },
    rowsRead,
    rowsScored,
    badRows,
    badRowSamples: samples,
    seconds: (performance.now() - started) / 1000,
  };
}

export default defineDag({
  id: 'score',
  description: 'Scores a dataset version in bulk with a model version (by alias or number) into a new version of an output dataset: id, score, label.',
  cron: '0 0 2 * * *',
  params: scoreParams,
  steps: [
    { name: 'resolve', run: resolve, retries: { max: 3, backoffMs: 2000 }, timeoutMs: 5 * 60_000 },
    { name: 'score', run: score, retries: { max: 2, backoffMs: 5000 }, timeoutMs: 2 * 60 * 60_000 },
  ],
  maxActiveRuns: 1,
  missedRuns: 'skip',
});
