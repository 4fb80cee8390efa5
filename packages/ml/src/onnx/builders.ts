import type { OnnxObject } from './proto.js';

/**
 * Small constructors for the plain ModelProto objects fed to `encodeOnnxModel`. Field names are
 * those of onnx.proto (snake_case); string attributes are bytes in the schema and must be passed
 * as Uint8Array (protobufjs would read a JS string there as base64).
 */

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;
export const STRING = 8;

export const ML_DOMAIN = 'ai.onnx.ml';
/** Opsets of the exported graphs: TreeEnsemble*, LinearClassifier, Imputer and ZipMap exist in ai.onnx.ml 3. */
export const ML_OPSET = 3;
export const ONNX_OPSET = 17;
/** IR 8 is what opset 17 pairs with, and every current onnxruntime reads it. */
export const IR_VERSION = 8;

const utf8 = new TextEncoder();

export function bytes(s: string): Uint8Array {
  return utf8.encode(s);
}

export const attr = {
  int: (name: string, i: number): OnnxObject => ({ name, type: 'INT', i }),
  float: (name: string, f: number): OnnxObject => ({ name, type: 'FLOAT', f }),
  string: (name: string, s: string): OnnxObject => ({ name, type: 'STRING', s: bytes(s) }),
  ints: (name: string, ints: ArrayLike<number>): OnnxObject => ({ name, type: 'INTS', ints: Array.from(ints) }),
  floats: (name: string, floats: ArrayLike<number>): OnnxObject => ({ name, type: 'FLOATS', floats: Array.from(floats) }),
  strings: (name: string, strings: readonly string[]): OnnxObject => ({ name, type: 'STRINGS', strings: strings.map(bytes) }),
};

/** A dimension: a number is fixed, a string is symbolic (the batch size `N`). */
export type Dim = number | string;

function shape(dims: readonly Dim[]): OnnxObject {
  return { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) };
}

export function tensorInfo(name: string, elemType: number, dims: readonly Dim[]): OnnxObject {
  return { name, type: { tensor_type: { elem_type: elemType, shape: shape(dims) } } };
}

export function node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: OnnxObject[], domain = ''): OnnxObject {
  return { op_type: opType, domain, name: `${opType}_${outputs[0] ?? ''}`, input: [...inputs], output: [...outputs], attribute: attributes };
}

export function metadataProps(entries: Record<string, string>): OnnxObject[] {
  return Object.entries(entries).map(([key, value]) => ({ key, value }));
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: OnnxObject[];
  readonly inputs: OnnxObject[];
  readonly outputs: OnnxObject[];
  readonly metadata: Record<string, string>;
  readonly docString?: string;
}

export function modelProto(spec: GraphSpec): OnnxObject {
  return {
    ir_version: IR_VERSION,
    producer_name: '@contender/ml',
    opset_import: [
      { domain: '', version: ONNX_OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    doc_string: spec.docString ?? '',
    graph: {
      name: spec.name,
      node: spec.nodes,
      input: spec.inputs,
      output: spec.outputs,
    },
    metadata_props: metadataProps(spec.metadata),
  };
}
