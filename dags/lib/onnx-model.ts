import ort from 'onnxruntime-node';
import { decodeOnnxModel, type Matrix } from '@contender/ml';
import { UnrecoverableStepError } from '@contender/pipeline';

type TensorMetadata = Extract<ort.InferenceSession.ValueMetadata, { isTensor: true }>;

/**
 * A binary classifier in ONNX scored through onnxruntime-node: one float tensor input
 * [rows, features] and a float probability output ([N, 2] → column 1, [N, 1] / [N] → the value),
 * as serving reads it.
 */
export interface OnnxModel {
  /** from the `contender.feature_names` metadata, else null */
  readonly featureNames: readonly string[] | null;
  readonly width: number | null;
  /** Scores `rows` rows of `x` (row-major, `cols` wide) into `out` from offset 0. */
  scoreInto(x: Float32Array, rows: number, cols: number, out: Float64Array): Promise<void>;
  /** Scores a whole matrix in batches. */
  score(X: Matrix, batchRows?: number): Promise<Float64Array>;
  release(): Promise<void>;
}

export async function loadOnnxModel(bytes: Uint8Array, what: string, opts: { intraOpNumThreads?: number } = {}): Promise<OnnxModel> {
  let session: ort.InferenceSession;
  try {
    // Serving's session options: one graph at a time, operators on onnxruntime's intra-op threads (default: one per core).
    session = await ort.InferenceSession.create(bytes, {
      logSeverityLevel: 4,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      ...(opts.intraOpNumThreads ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
    });
  } catch (err) {
    throw new UnrecoverableStepError(`${what} is not a loadable ONNX model: ${(err as Error).message.split('\n')[0]}`);
  }
  const input = session.inputMetadata[0];
  if (session.inputMetadata.length !== 1 || !input?.isTensor || (input.type !== 'float32' && input.type !== 'float64')) {
    await session.release();
    throw new UnrecoverableStepError(`${what} must take one float tensor input [rows, features]`);
  }
  const tensorInput = input as TensorMetadata;
  const float64 = tensorInput.type === 'float64';
  const outputs = session.outputMetadata.filter((o): o is TensorMetadata => o.isTensor && (o.type === 'float32' || o.type === 'float64'));
  const output = outputs.find((o) => /prob/i.test(o.name)) ?? outputs[0];
  if (!output) {
    await session.release();
    throw new UnrecoverableStepError(`${what} has no float tensor output to read probabilities from`);
  }
  const shape = tensorInput.shape;
  const width = shape.length === 2 && typeof shape[1] === 'number' && shape[1] > 0 ? shape[1] : null;
  const featureNames = readFeatureNames(bytes);

  const scoreInto = async (x: Float32Array, rows: number, cols: number, out: Float64Array): Promise<void> => {
    const view = x.subarray(0, rows * cols);
    const tensor = float64 ? new ort.Tensor('float64', Float64Array.from(view), [rows, cols]) : new ort.Tensor('float32', view, [rows, cols]);
    const result = await session.run({ [tensorInput.name]: tensor }, [output.name]);
    const t = result[output.name] as ort.Tensor;
    const data = t.data as Float32Array | Float64Array;
    const perRow = data.length / rows;
    if (perRow !== 1 && perRow !== 2) throw new UnrecoverableStepError(`${what}: output "${output.name}" has ${perRow} values per row; a binary classifier gives 1 or 2`);
    if (perRow === 2) for (let r = 0; r < rows; r++) out[r] = data[r * 2 + 1]!;
    else for (let r = 0; r < rows; r++) out[r] = data[r]!;
  };

  return {
    featureNames,
    width,
    scoreInto,
    async score(X, batchRows = 8192) {
      const scores = new Float64Array(X.rows);
      const buf = new Float32Array(Math.min(batchRows, Math.max(1, X.rows)) * X.cols);
      for (let start = 0; start < X.rows; start += batchRows) {
        const rows = Math.min(batchRows, X.rows - start);
        const src = X.data.subarray(start * X.cols, (start + rows) * X.cols);
        for (let i = 0; i < src.length; i++) buf[i] = src[i]!;
        await scoreInto(buf, rows, X.cols, scores.subarray(start, start + rows));
      }
      return scores;
    },
    release: () => session.release(),
  };
}

function readFeatureNames(bytes: Uint8Array): string[] | null {
  try {
    const model = decodeOnnxModel(bytes) as { metadata_props?: { key?: string; value?: string }[] };
    const entry = model.metadata_props?.find((p) => p.key === 'contender.feature_names');
    if (!entry?.value) return null;
    const parsed: unknown = JSON.parse(entry.value);
    return Array.isArray(parsed) && parsed.every((n) => typeof n === 'string') ? parsed : null;
  } catch {
    return null;
  }
}
