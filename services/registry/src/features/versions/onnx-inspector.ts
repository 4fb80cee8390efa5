import * as ort from 'onnxruntime-node';
import type { Signature, Task } from '@contender/contracts';
import { UnprocessableError } from '@contender/platform';

export interface InspectedModel {
  signature: Signature;
  featureNames: string[];
}

type ValueMetadata = ort.InferenceSession.ValueMetadata;

// Severity 3 = errors only would still print every failed test inference; 4 = fatal.
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4, intraOpNumThreads: 1, interOpNumThreads: 1 };

const ZIPMAP_HINT =
  "skl2onnx ends classifiers in a ZipMap by default; export with options={id(model): {'zipmap': False}} " +
  '(or convert_sklearn(..., options={"zipmap": False})) so probabilities come out as a float tensor [N, 2]';

/**
 * Loads an uploaded file in onnxruntime-node exactly as serving will, and refuses what serving
 * could not use: unparseable files, outputs that are not tensors (skl2onnx's ZipMap), feature
 * names that do not fit the inputs, no float output to score from. It ends with one real inference
 * on a row of zeros of the declared width, which catches what shapes cannot say (a tree that reads
 * feature 19 of a model whose input width is unknown).
 */
export async function inspectOnnx(
  file: string,
  opts: { task: Task; featureNames?: string[] | undefined; scoreOutput?: string | undefined },
): Promise<InspectedModel> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
  } catch (err) {
    throw new UnprocessableError('invalid_model', `the artifact is not a loadable ONNX model: ${shortOrtMessage(err)}`);
  }
  try {
    const signature: Signature = {
      inputs: session.inputMetadata.map(toTensorInfo),
      outputs: session.outputMetadata.map(toTensorInfo),
    };
    const nonTensor = session.outputMetadata.filter((o) => !o.isTensor);
    if (nonTensor.length) {
      throw new UnprocessableError(
        'non_tensor_output',
        `output${nonTensor.length > 1 ? 's' : ''} ${nonTensor.map((o) => `"${o.name}"`).join(', ')} ` +
          `${nonTensor.length > 1 ? 'are' : 'is'} not a tensor (a sequence or map, such as skl2onnx's ZipMap), which serving cannot return. ${ZIPMAP_HINT}.`,
        { outputs: nonTensor.map((o) => o.name) },
      );
    }
    const nonTensorIn = session.inputMetadata.filter((i) => !i.isTensor);
    if (nonTensorIn.length) {
      throw new UnprocessableError('invalid_model', `input "${nonTensorIn[0]!.name}" is not a tensor; serving feeds tensors only`);
    }
    const floatOutputs = session.outputMetadata.filter((o) => o.isTensor && (o.type === 'float32' || o.type === 'float64'));
    if (opts.scoreOutput !== undefined) {
      if (!floatOutputs.some((o) => o.name === opts.scoreOutput)) {
        throw new UnprocessableError(
          'invalid_score_output',
          `scoreOutput "${opts.scoreOutput}" is not a float output of the model (float outputs: ${floatOutputs.map((o) => o.name).join(', ') || 'none'})`,
        );
      }
    } else if (floatOutputs.length === 0) {
      throw new UnprocessableError('no_score_output', `the model has no float output to score from (outputs: ${signature.outputs.map((o) => `${o.name}:${o.type}`).join(', ')})`);
    }
    const featureNames = resolveFeatureNames(session.inputMetadata, opts.featureNames);
    await testInference(session, featureNames);
    return { signature, featureNames };
  } finally {
    await session.release().catch(() => {});
  }
}

function resolveFeatureNames(inputs: readonly ValueMetadata[], given: string[] | undefined): string[] {
  if (given) {
    const dup = given.find((n, i) => given.indexOf(n) !== i);
    if (dup !== undefined) throw new UnprocessableError('feature_mismatch', `featureNames lists "${dup}" more than once`);
  }
  if (inputs.length === 1) {
    const input = inputs[0]! as ValueMetadata & { shape?: ReadonlyArray<number | string> };
    const shape = input.shape ?? [];
    if (shape.length > 2) {
      throw new UnprocessableError('feature_mismatch', `input "${input.name}" has rank ${shape.length}; serving feeds a table [rows, features]`);
    }
    const width = shape.length === 2 && typeof shape[1] === 'number' && shape[1] > 0 ? shape[1] : null;
    if (!given) {
      if (shape.length < 2 || width === 1) return [input.name]; // one column: the input itself is the feature
      throw new UnprocessableError(
        'feature_names_required',
        `metadata.featureNames is required: the model takes one input "${input.name}" of shape [${shape.join(', ')}], ` +
          'and serving builds that row from named features in this order',
      );
    }
    if (width !== null && width !== given.length) {
      throw new UnprocessableError(
        'feature_mismatch',
        `featureNames has ${given.length} names but input "${input.name}" takes ${width} features`,
        { featureNames: given.length, inputWidth: width },
      );
    }
    return given;
  }
  // One input per feature (skl2onnx pipelines): the names are the inputs' names.
  const names = inputs.map((i) => i.name);
  if (!given) return names;
  const missing = names.filter((n) => !given.includes(n));
  const extra = given.filter((n) => !names.includes(n));
  if (missing.length || extra.length) {
    throw new UnprocessableError(
      'feature_mismatch',
      `the model has one input per feature, so featureNames must name exactly its inputs` +
        (missing.length ? `; missing: ${missing.join(', ')}` : '') +
        (extra.length ? `; not inputs of the model: ${extra.join(', ')}` : ''),
      { missing, extra },
    );
  }
  return given;
}

async function testInference(session: ort.InferenceSession, featureNames: string[]): Promise<void> {
  const feeds: Record<string, ort.Tensor> = {};
  if (session.inputMetadata.length === 1) {
    const input = session.inputMetadata[0]! as ValueMetadata & { type?: string; shape?: ReadonlyArray<number | string> };
    const rank = input.shape?.length ?? 2;
    const dims = rank === 2 ? [1, featureNames.length] : [1];
    feeds[input.name] = zeros(input.type ?? 'float32', dims);
  } else {
    for (const input of session.inputMetadata as Array<ValueMetadata & { type?: string; shape?: ReadonlyArray<number | string> }>) {
      const dims = (input.shape?.length ?? 2) === 2 ? [1, 1] : [1];
      feeds[input.name] = zeros(input.type ?? 'float32', dims);
    }
  }
  try {
    await session.run(feeds);
  } catch (err) {
    throw new UnprocessableError(
      'feature_mismatch',
      `the model failed a test inference on one row of ${featureNames.length} features (${featureNames.length === 1 ? featureNames[0] : 'featureNames'}): ${shortOrtMessage(err)}`,
    );
  }
}

function zeros(type: string, dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(n), dims);
    case 'float64':
      return new ort.Tensor('float64', new Float64Array(n), dims);
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n), dims);
    case 'string':
      return new ort.Tensor('string', new Array<string>(n).fill(''), dims);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(n), dims);
    default:
      throw new UnprocessableError('invalid_model', `input type ${type} is not supported by serving`);
  }
}

function toTensorInfo(m: ValueMetadata): Signature['inputs'][number] {
  const t = m as ValueMetadata & { type?: string; shape?: ReadonlyArray<number | string> };
  return {
    name: m.name,
    type: m.isTensor ? (t.type ?? 'unknown') : 'non-tensor',
    shape: m.isTensor ? (t.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : String(d || '?'))) : [],
  };
}

/** onnxruntime's messages carry a C++ signature; the last sentence is the part a person needs. */
export function shortOrtMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const status = /Status Message: (.*)$/s.exec(msg)?.[1] ?? msg;
  const tail = status
    .replace(/^\S+:\d+ [^\n]*?\) const(?: \[with [^\]]*\])? /s, '')
    // "Load model from /tmp/upload-….onnx failed:" names a temp file the client never saw.
    .replace(/^Load model from \S+ failed:\s*/, '');
  return tail.trim().slice(0, 500);
}
