import ort from 'onnxruntime-node';
import type { DeployedVersion, Task } from '@contender/contracts';
import { FeatureEncoder, type EncodedInput, type InputTensorSpec } from '../features/feature-encoder.js';

/** What routing and prediction need of a loaded version; `LoadedVersion` is the onnxruntime one. */
export interface ScoringVersion {
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly task: Task;
  /** Decision threshold for `label` (classifiers). */
  readonly threshold: number;
  readonly encoder: FeatureEncoder;
  /** One inference over `rows` rows; resolves with one score per row (NaN or ±Infinity where the model gives no usable score). */
  score(inputs: EncodedInput[], rows: number): Promise<Float64Array>;
}

/** The version was unloaded (replaced and drained) before this call; route to the current one. */
export class VersionReleasedError extends Error {
  override name = 'VersionReleasedError';
}

/** The version cannot be served (signature, output, warm-up); the message says why. */
export class VersionLoadError extends Error {
  override name = 'VersionLoadError';
}

export interface SessionSettings {
  /** 0 = onnxruntime's default. */
  intraOpNumThreads: number;
  /**
   * Most rows per run (0 = no limit): more are scored in consecutive runs of this size.
   * onnxruntime-node runs on the main thread, so one run of a large batch holds every other
   * request up: 10,000 rows of the benchmark's 200-tree model take 53 ms in one run, and about
   * 3 ms per run in runs of 500, for 2 % more in all (`npm run bench:onnx-runs`). Between two runs
   * the event loop answers other requests.
   */
  maxRowsPerRun?: number;
}

/** How to read the score from the chosen output: `data[row * stride + offset]`. */
interface OutputPlan {
  name: string;
  stride: number;
  offset: number;
}

/**
 * One model version in memory: its onnxruntime session, how to feed it and how to read its score.
 * Counts runs in flight so that, once `retire()` is called after a swap, the session is released
 * only when the last request using it has finished.
 */
export class LoadedVersion implements ScoringVersion {
  readonly threshold: number;
  /** Resolves once the session has been released. */
  readonly released: Promise<void>;
  /** Requests waiting for or in a run. */
  private inflight = 0;
  private queue: ScoreJob[] = [];
  private retired = false;
  private isReleased = false;
  private resolveReleased!: () => void;
  private readonly fetches: string[];

  private constructor(
    readonly model: string,
    readonly task: Task,
    readonly deployed: DeployedVersion,
    readonly encoder: FeatureEncoder,
    private readonly session: ort.InferenceSession,
    private output: OutputPlan,
    private readonly maxRowsPerRun: number,
  ) {
    this.threshold = deployed.threshold ?? 0.5;
    this.fetches = [output.name];
    this.released = new Promise((resolve) => (this.resolveReleased = resolve));
  }

  get version(): number {
    return this.deployed.version;
  }

  get sha256(): string {
    return this.deployed.sha256;
  }

  /**
   * Creates the session from bytes whose sha256 the caller has checked, works out inputs and the
   * score output, and runs a warm-up inference; only a version that passed all of that is returned.
   */
  static async load(opts: {
    bytes: Uint8Array;
    model: string;
    task: Task;
    deployed: DeployedVersion;
    settings: SessionSettings;
  }): Promise<LoadedVersion> {
    const session = await ort.InferenceSession.create(opts.bytes, {
      ...(opts.settings.intraOpNumThreads > 0 ? { intraOpNumThreads: opts.settings.intraOpNumThreads } : {}),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Failed runs are reported to the caller (and counted); onnxruntime's own stderr lines would
      // only duplicate them outside the JSON log.
      logSeverityLevel: 4,
    });
    try {
      const inputs: InputTensorSpec[] = session.inputMetadata.map((m) => {
        if (!m.isTensor) throw new VersionLoadError(`input "${m.name}" is not a tensor`);
        return { name: m.name, type: m.type, shape: m.shape };
      });
      let encoder: FeatureEncoder;
      try {
        encoder = FeatureEncoder.forSignature(opts.deployed.featureNames, inputs);
      } catch (err) {
        throw new VersionLoadError((err as Error).message, { cause: err });
      }
      const outputName = chooseScoreOutput(session, opts.deployed.scoreOutput, opts.task);
      const output = { name: outputName, stride: 1, offset: 0 };
      const version = new LoadedVersion(opts.model, opts.task, opts.deployed, encoder, session, output, opts.settings.maxRowsPerRun ?? 0);
      await version.warmUp();
      return version;
    } catch (err) {
      await session.release().catch(() => {});
      throw err;
    }
  }

  /**
   * Scores `rows` rows. Requests that arrive in the same turn of the event loop are merged into one
   * onnxruntime run (onnxruntime-node runs on the main thread and costs tens of microseconds per
   * call whatever the row count; runs of more than maxRowsPerRun rows are split), then each gets
   * its own slice of the scores.
   */
  score(inputs: EncodedInput[], rows: number): Promise<Float64Array> {
    if (this.isReleased) return Promise.reject(new VersionReleasedError(`${this.model} v${this.version} was unloaded`));
    // Counted from now, in the same tick in which the caller read this version from the current
    // deployment: a swap cannot release the session under a request that is waiting for the run.
    this.inflight++;
    return new Promise<Float64Array>((resolve, reject) => {
      this.queue.push({ inputs, rows, resolve, reject });
      if (this.queue.length === 1) setImmediate(this.runQueued);
    });
  }

  private readonly runQueued = (): void => {
    const jobs = this.queue;
    this.queue = [];
    this.runJobs(jobs).finally(() => {
      this.inflight -= jobs.length;
      if (this.inflight === 0 && this.retired) this.release();
    });
  };

  /**
   * One run for the jobs; settles every job. If a merged run fails, each job is run again on its
   * own, so a request onnxruntime rejects never fails the requests it happened to share a run with.
   */
  private async runJobs(jobs: ScoreJob[]): Promise<void> {
    if (this.isReleased) {
      const err = new VersionReleasedError(`${this.model} v${this.version} was unloaded`);
      for (const j of jobs) j.reject(err);
      return;
    }
    let total = 0;
    for (const j of jobs) total += j.rows;
    try {
      const scores = await this.run(jobs.length === 1 ? jobs[0]!.inputs : mergeInputs(jobs, total), total);
      let offset = 0;
      for (const j of jobs) {
        j.resolve(jobs.length === 1 ? scores : scores.subarray(offset, offset + j.rows));
        offset += j.rows;
      }
    } catch (err) {
      if (jobs.length === 1) jobs[0]!.reject(err);
      else await Promise.all(jobs.map((j) => this.runJobs([j])));
    }
  }

  /** Scores the rows in runs of at most maxRowsPerRun rows, one after the other. */
  private async run(inputs: EncodedInput[], rows: number): Promise<Float64Array> {
    const max = this.maxRowsPerRun;
    if (max <= 0 || rows <= max) return this.readScores(await this.session.run(toFeeds(inputs), this.fetches), rows);
    const scores = new Float64Array(rows);
    for (let start = 0; start < rows; start += max) {
      const n = Math.min(max, rows - start);
      scores.set(this.readScores(await this.session.run(toFeeds(sliceRows(inputs, start, n)), this.fetches), n), start);
    }
    return scores;
  }

  /** The score of each row; NaN where the model gave none (its caller decides what that means). */
  private readScores(out: ort.InferenceSession.OnnxValueMapType, rows: number): Float64Array {
    const tensor = out[this.output.name];
    if (!tensor) throw new Error(`output "${this.output.name}" missing from the result`);
    const data = tensor.data as Float32Array | Float64Array;
    const { stride, offset } = this.output;
    if (data.length < rows * stride) throw new Error(`output "${this.output.name}" has ${data.length} values for ${rows} rows`);
    const scores = new Float64Array(rows);
    for (let r = 0; r < rows; r++) scores[r] = data[r * stride + offset]!;
    return scores;
  }

  /** No longer routed to: release the session once the runs in flight have finished. */
  retire(): void {
    this.retired = true;
    if (this.inflight === 0) this.release();
  }

  private release(): void {
    if (this.isReleased) return;
    this.isReleased = true;
    this.session.release().then(
      () => this.resolveReleased(),
      () => this.resolveReleased(),
    );
  }

  /** Runs one row of zeros; learns from the output's shape where the score is. */
  private async warmUp(): Promise<void> {
    const encoded = this.encoder.encode([this.encoder.warmUpRow()]);
    if (!encoded.ok) throw new VersionLoadError('could not build a warm-up row');
    const feeds = toFeeds(encoded.inputs);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds, this.fetches);
    } catch (err) {
      throw new VersionLoadError(`warm-up inference failed: ${(err as Error).message}`, { cause: err });
    }
    const tensor = out[this.output.name];
    if (!tensor || (tensor.type !== 'float32' && tensor.type !== 'float64')) {
      throw new VersionLoadError(`score output "${this.output.name}" is not a float tensor`);
    }
    const perRow = tensor.size;
    if (this.task === 'binary_classification') {
      // [N, 2] → probability of class 1; [N, 1] or [N] → the value itself.
      if (perRow === 2) this.output = { name: this.output.name, stride: 2, offset: 1 };
      else if (perRow === 1) this.output = { name: this.output.name, stride: 1, offset: 0 };
      else {
        throw new VersionLoadError(
          `score output "${this.output.name}" has ${perRow} values per row; a binary classifier needs [N, 2], [N, 1] or [N]`,
        );
      }
    } else {
      this.output = { name: this.output.name, stride: perRow, offset: 0 };
    }
  }
}

interface ScoreJob {
  inputs: EncodedInput[];
  rows: number;
  resolve: (scores: Float64Array) => void;
  reject: (err: unknown) => void;
}

function toFeeds(inputs: EncodedInput[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of inputs) feeds[i.name] = new ort.Tensor(i.type, i.data, i.dims);
  return feeds;
}

/** Rows start … start + n - 1 of the inputs (views of typed arrays, not copies). */
function sliceRows(inputs: EncodedInput[], start: number, n: number): EncodedInput[] {
  return inputs.map((input) => {
    const width = input.data.length / Math.max(1, input.dims[0]!);
    const from = start * width;
    const to = (start + n) * width;
    const data = Array.isArray(input.data) ? input.data.slice(from, to) : input.data.subarray(from, to);
    return { name: input.name, type: input.type, data, dims: [n, ...input.dims.slice(1)] } as EncodedInput;
  });
}

/** Concatenates the jobs' inputs row-wise: every job has the same inputs, in the same order. */
function mergeInputs(jobs: ScoreJob[], rows: number): EncodedInput[] {
  return jobs[0]!.inputs.map((first, k) => {
    const width = first.data.length / Math.max(1, first.dims[0]!);
    let data: EncodedInput['data'];
    if (first.type === 'string') {
      const all: string[] = [];
      for (const j of jobs) for (const v of j.inputs[k]!.data as string[]) all.push(v);
      data = all;
    } else {
      const Ctor = first.data.constructor as new (n: number) => Float32Array;
      const merged = new Ctor(rows * width);
      let at = 0;
      for (const j of jobs) {
        const part = j.inputs[k]!.data as Float32Array;
        merged.set(part, at);
        at += part.length;
      }
      data = merged;
    }
    return { name: first.name, type: first.type, data, dims: [rows, ...first.dims.slice(1)] };
  });
}

/**
 * The version's `scoreOutput` if it names one; otherwise, for classifiers, the first float output
 * whose name says probability (skl2onnx: `probabilities`, `proba_0`), else the first float output.
 */
function chooseScoreOutput(session: ort.InferenceSession, scoreOutput: string | null, task: Task): string {
  const floats = session.outputMetadata.filter((m) => m.isTensor && (m.type === 'float32' || m.type === 'float64'));
  if (scoreOutput) {
    const named = session.outputMetadata.find((m) => m.name === scoreOutput);
    if (!named) throw new VersionLoadError(`scoreOutput "${scoreOutput}" is not an output of the model (outputs: ${session.outputNames.join(', ')})`);
    if (!floats.includes(named)) throw new VersionLoadError(`scoreOutput "${scoreOutput}" is not a float tensor`);
    return scoreOutput;
  }
  if (floats.length === 0) {
    throw new VersionLoadError(`the model has no float tensor output to score from (outputs: ${session.outputNames.join(', ')})`);
  }
  if (task === 'binary_classification') {
    const proba = floats.find((m) => /prob/i.test(m.name));
    if (proba) return proba.name;
  }
  return floats[0]!.name;
}
