import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { DataError, decodeOnnxModel, type Matrix } from '@contender/ml';

/** Metadata key under which Contender's exporter stores the model's feature names (a JSON array). */
export const FEATURE_NAMES_KEY = 'contender.feature_names';

/** Rows per inference call: bounds the float32 copy of the input to a few MB at typical widths. */
const BATCH_ROWS = 8192;

type ValueMetadata = ort.InferenceSession.ValueMetadata;
type TensorMetadata = Extract<ValueMetadata, { isTensor: true }>;

/**
 * A binary classifier in ONNX, scored with onnxruntime-node: any exporter's model with one float
 * tensor input [N, features] and a float probability output. The score is P(class 1): column 1 of
 * an [N, 2] output, or the value of an [N, 1] / [N] output.
 */
export interface OnnxScorer {
  readonly inputName: string;
  /** Features per row from the input's shape, or null when that dimension is symbolic. */
  readonly inputWidth: number | null;
  readonly outputName: string;
  /** From the `contender.feature_names` metadata entry, when present. */
  readonly featureNames: readonly string[] | null;
  readonly metadata: Readonly<Record<string, string>>;
  score(X: Matrix): Promise<Float64Array>;
  release(): Promise<void>;
}

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

function isTensor(m: ValueMetadata): m is TensorMetadata {
  return m.isTensor;
}

/** Custom metadata (`metadata_props`) of a serialized ONNX model. */
export function onnxMetadata(bytes: Uint8Array): Record<string, string> {
  const model = decodeOnnxModel(bytes) as { metadata_props?: { key?: string; value?: string }[] };
  const out: Record<string, string> = {};
  for (const { key, value } of model.metadata_props ?? []) if (key !== undefined) out[key] = value ?? '';
  return out;
}

function parseFeatureNames(text: string | undefined): string[] | null {
  if (text === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((n) => typeof n === 'string')) return parsed;
  } catch {
    // Not JSON: fall through to the error below.
  }
  throw new ModelError(`metadata entry ${FEATURE_NAMES_KEY} is not a JSON array of strings`);
}

/** onnxruntime's messages carry a C++ location; the status message is the part a person needs. */
function ortMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (/Status Message: (.*)$/s.exec(message)?.[1] ?? message).trim().split('\n')[0]!.slice(0, 300);
}

export async function loadOnnxScorer(path: string): Promise<OnnxScorer> {
  const bytes = await readFile(path);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
  } catch (err) {
    throw new ModelError(`${path} is not a loadable ONNX model: ${ortMessage(err)}`);
  }
  try {
    const metadata = onnxMetadata(bytes);
    const inputs = session.inputMetadata;
    const input = inputs[0];
    if (inputs.length !== 1 || !input || !isTensor(input) || (input.type !== 'float32' && input.type !== 'float64')) {
      const described = inputs.map((i) => `${i.name}:${isTensor(i) ? i.type : 'non-tensor'}`).join(', ');
      throw new ModelError(`the model must take one float tensor input [rows, features]; its inputs are ${described}`);
    }
    const width = input.shape.length === 2 && typeof input.shape[1] === 'number' && input.shape[1] > 0 ? input.shape[1] : null;
    const floats = session.outputMetadata.filter(isTensor).filter((o) => o.type === 'float32' || o.type === 'float64');
    // skl2onnx names it `probabilities`, Contender's exporter too; otherwise the first float output.
    const output = floats.find((o) => /prob/i.test(o.name)) ?? floats[0];
    if (!output) {
      throw new ModelError(
        `the model has no float tensor output to read probabilities from (outputs: ${session.outputMetadata.map((o) => o.name).join(', ')}); ` +
          'a skl2onnx classifier needs to be exported with zipmap disabled',
      );
    }
    const featureNames = parseFeatureNames(metadata[FEATURE_NAMES_KEY]);
    if (featureNames && width !== null && featureNames.length !== width) {
      throw new ModelError(`${FEATURE_NAMES_KEY} lists ${featureNames.length} features but input "${input.name}" takes ${width}`);
    }
    const float64 = input.type === 'float64';
    const live = session;
    return {
      inputName: input.name,
      inputWidth: width,
      outputName: output.name,
      featureNames,
      metadata,
      async score(X) {
        if (width !== null && X.cols !== width) throw new DataError(`the model takes ${width} features per row, the data has ${X.cols}`);
        const scores = new Float64Array(X.rows);
        for (let start = 0; start < X.rows; start += BATCH_ROWS) {
          const rows = Math.min(BATCH_ROWS, X.rows - start);
          const slice = X.data.subarray(start * X.cols, (start + rows) * X.cols);
          const tensor = float64 ? new ort.Tensor('float64', Float64Array.from(slice), [rows, X.cols]) : new ort.Tensor('float32', Float32Array.from(slice), [rows, X.cols]);
          let result: ort.InferenceSession.ReturnType;
          try {
            result = await live.run({ [input.name]: tensor }, [output.name]);
          } catch (err) {
            throw new ModelError(`inference failed: ${ortMessage(err)}`);
          }
          const out = result[output.name] as ort.Tensor;
          const data = out.data as Float32Array | Float64Array;
          const perRow = data.length / rows;
          if (perRow !== 1 && perRow !== 2) {
            throw new ModelError(`output "${output.name}" has ${perRow} values per row (dims [${out.dims.join(', ')}]); a binary classifier gives 1 or 2`);
          }
          // [N, 2] → column 1, the positive class; [N, 1] or [N] → the value itself.
          for (let r = 0; r < rows; r++) {
            const p = perRow === 2 ? data[r * 2 + 1]! : data[r]!;
            if (!(p >= 0 && p <= 1)) {
              throw new ModelError(`output "${output.name}" gave ${p} for row ${start + r + 1}, which is not a probability in [0, 1]`);
            }
            scores[start + r] = p;
          }
        }
        return scores;
      },
      release: () => live.release(),
    };
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
}
