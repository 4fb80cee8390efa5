import type { FeatureValue } from '@contender/contracts';

/** A request's features: name → number | string | null. */
export type FeatureMap = Readonly<Record<string, FeatureValue>>;

/** One model input as onnxruntime describes it; an unknown dimension is a string (or -1). */
export interface InputTensorSpec {
  name: string;
  type: string;
  shape: ReadonlyArray<number | string>;
}

export type InputElementType = 'float32' | 'float64' | 'int32' | 'int64' | 'string';
type InputData = Float32Array | Float64Array | Int32Array | BigInt64Array | string[];

/** One input tensor's data, ready for `new ort.Tensor(type, data, dims)`. */
export interface EncodedInput {
  name: string;
  type: InputElementType;
  data: InputData;
  dims: number[];
}

export interface FeatureProblem {
  /** Row index within the request (0 for /predict). */
  row: number;
  missing: string[];
  invalid: Array<{ feature: string; reason: string }>;
}

export type EncodeResult = { ok: true; inputs: EncodedInput[] } | { ok: false; problems: FeatureProblem[] };

/** The version's signature cannot be fed from named features; the version cannot be served. */
export class UnsupportedSignatureError extends Error {
  override name = 'UnsupportedSignatureError';
}

const SUPPORTED = new Set<string>(['float32', 'float64', 'int32', 'int64', 'string']);

interface Column {
  input: string;
  feature: string;
  type: InputElementType;
  /** [N, 1] (true) or [N] (false). */
  twoDimensional: boolean;
}

/**
 * Turns named features into a model version's input tensors. Two layouts are supported:
 * - one input [N, F] (numeric or string) fed with `featureNames` in order — what gradient-boosting
 *   exporters and skl2onnx with a single `FloatTensorType` produce;
 * - one input per feature, each [N, 1] or [N], named after the feature — skl2onnx pipelines with
 *   a ColumnTransformer over mixed numeric and string columns.
 * Validation reports every missing and every ill-typed feature of every row, so a client fixes its
 * request in one round.
 */
export class FeatureEncoder {
  /** The features a request must carry, in the order the model consumes them. */
  readonly required: readonly string[];

  private constructor(
    private readonly layout: { kind: 'matrix'; input: string; type: InputElementType } | { kind: 'columns'; columns: Column[] },
    required: string[],
  ) {
    this.required = required;
  }

  static forSignature(featureNames: readonly string[], inputs: readonly InputTensorSpec[]): FeatureEncoder {
    if (inputs.length === 0) throw new UnsupportedSignatureError('the model has no inputs');
    for (const i of inputs) {
      if (!SUPPORTED.has(i.type)) {
        throw new UnsupportedSignatureError(`input "${i.name}" has element type ${i.type}; supported: ${[...SUPPORTED].join(', ')}`);
      }
    }
    if (inputs.length === 1) {
      const input = inputs[0]!;
      if (featureNames.length === 0) {
        throw new UnsupportedSignatureError(`the version lists no featureNames, so input "${input.name}" cannot be built from named features`);
      }
      if (input.shape.length > 0 && input.shape.length !== 2) {
        throw new UnsupportedSignatureError(`input "${input.name}" has rank ${input.shape.length}; expected [N, features]`);
      }
      const width = input.shape[1];
      if (typeof width === 'number' && width > 0 && width !== featureNames.length) {
        throw new UnsupportedSignatureError(
          `input "${input.name}" takes ${width} features but the version lists ${featureNames.length} featureNames`,
        );
      }
      return new FeatureEncoder({ kind: 'matrix', input: input.name, type: input.type as InputElementType }, [...featureNames]);
    }
    const known = new Set(featureNames);
    const columns: Column[] = inputs.map((i) => {
      if (featureNames.length > 0 && !known.has(i.name)) {
        throw new UnsupportedSignatureError(`input "${i.name}" is not one of the version's featureNames`);
      }
      if (i.shape.length > 2 || (i.shape.length === 2 && typeof i.shape[1] === 'number' && i.shape[1] > 1)) {
        throw new UnsupportedSignatureError(`input "${i.name}" must be [N, 1] or [N] when the model takes one input per feature`);
      }
      return { input: i.name, feature: i.name, type: i.type as InputElementType, twoDimensional: i.shape.length !== 1 };
    });
    return new FeatureEncoder({ kind: 'columns', columns }, columns.map((c) => c.feature));
  }

  /** Encodes the rows into one batch; `rows` must not be empty. */
  encode(rows: readonly FeatureMap[]): EncodeResult {
    const n = rows.length;
    let problems: FeatureProblem[] | null = null;
    if (this.layout.kind === 'matrix') {
      const { input, type } = this.layout;
      const names = this.required;
      const width = names.length;
      const data = allocate(type, n * width);
      for (let r = 0; r < n; r++) {
        const row = rows[r]!;
        let problem: FeatureProblem | null = null;
        for (let j = 0; j < width; j++) {
          const name = names[j]!;
          const reason = write(data, r * width + j, type, row[name]);
          if (reason !== null) problem = note(problem, r, name, reason);
        }
        if (problem) (problems ??= []).push(problem);
      }
      if (problems) return { ok: false, problems };
      return { ok: true, inputs: [{ name: input, type, data, dims: [n, width] }] };
    }
    const { columns } = this.layout;
    const inputs: EncodedInput[] = columns.map((c) => ({
      name: c.input,
      type: c.type,
      data: allocate(c.type, n),
      dims: c.twoDimensional ? [n, 1] : [n],
    }));
    for (let r = 0; r < n; r++) {
      const row = rows[r]!;
      let problem: FeatureProblem | null = null;
      for (let j = 0; j < columns.length; j++) {
        const c = columns[j]!;
        const reason = write(inputs[j]!.data, r, c.type, row[c.feature]);
        if (reason !== null) problem = note(problem, r, c.feature, reason);
      }
      if (problem) (problems ??= []).push(problem);
    }
    if (problems) return { ok: false, problems };
    return { ok: true, inputs };
  }

  /** A row of zeros (empty strings for string inputs), for the warm-up inference. */
  warmUpRow(): FeatureMap {
    const row: Record<string, FeatureValue> = {};
    const types = this.layout.kind === 'matrix' ? null : new Map(this.layout.columns.map((c) => [c.feature, c.type]));
    const matrixType = this.layout.kind === 'matrix' ? this.layout.type : null;
    for (const name of this.required) row[name] = (matrixType ?? types!.get(name)) === 'string' ? '' : 0;
    return row;
  }
}

const MISSING = 'missing';

function note(problem: FeatureProblem | null, row: number, feature: string, reason: string): FeatureProblem {
  const p = problem ?? { row, missing: [], invalid: [] };
  if (reason === MISSING) p.missing.push(feature);
  else p.invalid.push({ feature, reason });
  return p;
}

function allocate(type: InputElementType, length: number): InputData {
  switch (type) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'string':
      return new Array<string>(length).fill('');
  }
}

/** Why a number JSON.parse made into ±Infinity (`1e400`) cannot be used. */
export const NON_FINITE_REASON = 'not a finite number (a JSON number beyond ±1.8e308, such as 1e400, is Infinity once parsed)';

/** The largest finite float32; a number beyond it would be ±Infinity in a float32 input. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Writes one value; returns null, or why the value cannot be used. A value that is not a number,
 * string or null is treated as absent: request validation only lets those three through, so
 * anything else was found on the object's prototype (a feature named "constructor"). Numbers must
 * fit the input's type: finite, within ±3.4e38 for float32 (beyond, the model would see
 * Infinity), integers within int32's range, or within ±(2^53 − 1) for int64 (JSON numbers lose
 * precision beyond: 9007199254740993 parses to …992).
 */
function write(data: InputData, at: number, type: InputElementType, value: unknown): string | null {
  if (type === 'float32' || type === 'float64') {
    if (typeof value === 'number') {
      if (type === 'float32' ? value > FLOAT32_MAX || value < -FLOAT32_MAX : !Number.isFinite(value)) return outOfRange(value, type);
      (data as Float32Array)[at] = value;
      return null;
    }
    if (value === null) {
      (data as Float32Array)[at] = NaN;
      return null;
    }
    return typeof value === 'string' ? `expected a number for ${type} input, got a string` : MISSING;
  }
  if (type === 'string') {
    if (typeof value === 'string') {
      (data as string[])[at] = value;
      return null;
    }
    if (value === null) return 'null (missing) is not accepted by a string input; send "" instead';
    return typeof value === 'number' ? 'expected a string for string input, got a number' : MISSING;
  }
  // int32 / int64
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return Number.isFinite(value) ? `expected an integer for ${type} input, got ${value}` : outOfRange(value, type);
    if (type === 'int32') {
      if (value < -2147483648 || value > 2147483647) return outOfRange(value, type);
      (data as Int32Array)[at] = value;
    } else {
      if (!Number.isSafeInteger(value)) return outOfRange(value, type);
      (data as BigInt64Array)[at] = BigInt(value);
    }
    return null;
  }
  if (value === null) return `null (missing) is not accepted by an ${type} input`;
  return typeof value === 'string' ? `expected an integer for ${type} input, got a string` : MISSING;
}

/** The reason for a number the input's type cannot hold (cold path: only for a 422). */
function outOfRange(value: number, type: InputElementType): string {
  if (!Number.isFinite(value)) return NON_FINITE_REASON;
  switch (type) {
    case 'float32':
      return `${value} is out of range for float32 input (at most ±${FLOAT32_MAX}; beyond, the model would see Infinity)`;
    case 'int32':
      return `${value} is out of range for int32 input (-2147483648 to 2147483647)`;
    default:
      return `${value} is out of range for int64 input: integers beyond ±9007199254740991 (2^53 − 1) lose precision in JSON, so they are refused`;
  }
}

/** "missing features: a, b; invalid features: c (expected a number …)" — for a 422 message. */
export function describeProblems(problems: readonly FeatureProblem[], withRows: boolean, limit = 20): string {
  const parts: string[] = [];
  for (const p of problems.slice(0, limit)) {
    const where = withRows ? `rows[${p.row}]: ` : '';
    const bits: string[] = [];
    if (p.missing.length) bits.push(`missing features: ${p.missing.join(', ')}`);
    if (p.invalid.length) bits.push(`invalid features: ${p.invalid.map((i) => `${i.feature} (${i.reason})`).join(', ')}`);
    parts.push(where + bits.join('; '));
  }
  if (problems.length > limit) parts.push(`… and ${problems.length - limit} more rows`);
  return parts.join(' | ');
}
