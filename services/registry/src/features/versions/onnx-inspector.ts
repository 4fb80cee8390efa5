import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { Signature, Task } from '@contender/contracts';
import { findExternalTensors, OnnxWireError } from '@contender/ml';
import { UnprocessableError, type Logger } from '@contender/platform';

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

export interface InspectOptions {
  task: Task;
  featureNames?: string[] | undefined;
  scoreOutput?: string | undefined;
  /** onnxruntime's own messages go here (warn), never to the client. */
  logger: Logger;
  requestId?: string | undefined;
}

/**
 * Loads an uploaded file in onnxruntime-node exactly as serving will, and refuses what serving
 * could not use: unparseable files, tensors stored as external data, outputs that are not tensors
 * (skl2onnx's ZipMap), feature names that do not fit the inputs, no float output to score from.
 * It ends with one real inference on a row of zeros of the declared width, which catches what
 * shapes cannot say (a tree that reads feature 19 of a model whose input width is unknown).
 *
 * `file` must be the only file in a folder of its own: the protobuf is checked for external data
 * before any session exists, and the folder is the second wall should that check ever miss one.
 * onnxruntime's messages can quote tensor values (a failed Reshape prints the requested shape), so
 * a client gets a stable code and a reason of ours; onnxruntime's text goes to the log.
 */
export async function inspectOnnx(file: string, opts: InspectOptions): Promise<InspectedModel> {
  refuseExternalData(await readFile(file));
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
  } catch (err) {
    opts.logger.warn({ err, requestId: opts.requestId }, 'onnxruntime could not load an uploaded model');
    throw new UnprocessableError('invalid_model', 'the artifact is not a loadable ONNX model: onnxruntime refused to load it (the registry log has its message under this request id)');
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
    await testInference(session, featureNames, opts);
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

/**
 * Refuses, naming them, tensors whose bytes onnxruntime would read from a file next to the model
 * (`data_location = EXTERNAL`): a registered model is one self-contained file, and a location
 * under the staging folder would let an upload read whatever sits there.
 */
function refuseExternalData(bytes: Uint8Array): void {
  let external;
  try {
    external = findExternalTensors(bytes);
  } catch (err) {
    if (!(err instanceof OnnxWireError)) throw err;
    throw new UnprocessableError('invalid_model', 'the artifact is not a loadable ONNX model: it does not parse as an ONNX protobuf');
  }
  if (external.length === 0) return;
  const first = external[0]!;
  throw new UnprocessableError(
    'external_data',
    `tensor "${first.name}" (${first.path})${external.length > 1 ? ` and ${external.length - 1} more are` : ' is'} stored as external data; ` +
      'the registry accepts only self-contained ONNX files (save with onnx.save_model(..., save_as_external_data=False))',
    { tensors: external.map((t) => ({ name: t.name, path: t.path })) },
  );
}

async function testInference(session: ort.InferenceSession, featureNames: string[], opts: InspectOptions): Promise<void> {
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
    opts.logger.warn({ err, requestId: opts.requestId }, 'an uploaded model failed its test inference');
    const feature = readsFeature(err);
    throw new UnprocessableError(
      'feature_mismatch',
      `the model failed a test inference on one row of ${featureNames.length} features (${featureNames.length === 1 ? featureNames[0] : 'featureNames'})` +
        (feature === null ? '' : `: it requests feature ${feature}`),
      feature === null ? null : { requestedFeature: feature },
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

/**
 * The one fact of onnxruntime's message worth repeating: a tree ensemble that reads a feature
 * index past the row's width. Only a small integer is taken from it, never the text.
 */
function readsFeature(err: unknown): number | null {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /requests? feature (\d{1,6})\b/.exec(msg);
  return m ? Number(m[1]) : null;
}
