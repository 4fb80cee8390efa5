import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { DataError, loadCsvDataset, stratifiedSplit, takeRows, type CsvDataset } from '@contender/ml';
import { UnrecoverableStepError, type StepContext } from '@contender/pipeline';
import { downloadDatasetVersion } from './dataset-file.js';
import { appendFeedbackRows, type FeedbackWindow } from './feedback.js';

/** What the load step pins, so that every later step (on any replica, after a takeover) rebuilds the same rows. */
export interface TrainingSource {
  dataset: { name: string; version: number; sha256: string; rows: number; sizeBytes: number; columns: string[] };
  /** null when feedback is not included */
  feedback: FeedbackWindow | null;
  label: string;
  positive?: string;
  drop: string[];
  categorical: string[];
}

/**
 * The training rows: the dataset version streamed into the step's folder, the labelled logged
 * predictions (received up to the pinned cutoff) appended as CSV rows, then parsed once. The same
 * source gives the same rows in the same order, so the seeded split is the same in every step.
 */
export async function materializeTrainingData(ctx: Pick<StepContext, 'registry' | 'db' | 'model' | 'signal' | 'tmpDir'>, src: TrainingSource): Promise<CsvDataset> {
  const path = join(ctx.tmpDir, 'training.csv');
  await downloadDatasetVersion(ctx.registry, src.dataset, src.dataset.sha256, path, ctx.signal);
  if (src.feedback && src.feedback.rows > 0) {
    const needsNewline = !(await endsWithNewline(path));
    const out = createWriteStream(path, { flags: 'a' });
    if (needsNewline) out.write('\n');
    const written = await appendFeedbackRows(ctx.db, ctx.model, new Date(src.feedback.cutoff), src.dataset.columns, src.label, out, ctx.signal);
    out.end();
    await finished(out);
    if (written !== src.feedback.rows) {
      // Serving's log only adds rows, and the cutoff pins the window: fewer means partitions were dropped.
      throw new UnrecoverableStepError(`the feedback window pinned ${src.feedback.rows} labelled rows but ${written} are left (prediction log retention?)`);
    }
  }
  try {
    return await loadCsvDataset(path, { label: src.label, positive: src.positive, drop: src.drop, categorical: src.categorical });
  } catch (err) {
    if (err instanceof DataError) {
      throw new UnrecoverableStepError(`dataset ${src.dataset.name}@${src.dataset.version}: ${err.message}`, { line: err.line, column: err.column });
    }
    throw err;
  }
}

async function endsWithNewline(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0] === 0x0a || b[0] === 0x0d;
  } finally {
    await fh.close();
  }
}

/** Train / validation / test shares, as `contender train`: validation drives early stopping, test is the evaluation. */
export const SPLIT = [0.7, 0.15, 0.15] as const;

export interface SplitDataset {
  train: CsvDataset;
  validation: CsvDataset;
  test: CsvDataset;
}

export function splitDataset(ds: CsvDataset, seed: number): SplitDataset {
  const [a, b, c] = stratifiedSplit(ds.y, { fractions: SPLIT, seed }) as [Uint32Array, Uint32Array, Uint32Array];
  if (a.length === 0 || b.length === 0 || c.length === 0) throw new UnrecoverableStepError(`${ds.rows} rows are too few for a ${SPLIT.join('/')} split`);
  const part = (rows: Uint32Array): CsvDataset => ({ ...ds, rows: rows.length, X: takeRows(ds.X, rows), y: Float64Array.from(rows, (i) => ds.y[i]!) });
  return { train: part(a), validation: part(b), test: part(c) };
}
