import protobuf from 'protobufjs';
import { onnxType } from './proto.js';

/** A tensor of the model whose bytes live outside the file (`data_location = EXTERNAL` or `external_data` entries). */
export interface ExternalTensor {
  /** The tensor's name ('' when it has none). */
  readonly name: string;
  /** Where it sits, as a path of onnx.proto field names: `graph.node.attribute.g.initializer`. */
  readonly path: string;
}

/** The bytes are not a ModelProto that protobuf could parse (truncated, bad wire types, nested too deep). */
export class OnnxWireError extends Error {}

/** Protobuf's own parsers stop at 100 levels of nested messages; a real model never comes near. */
const MAX_DEPTH = 100;
const TENSOR = '.onnx.TensorProto';
// TensorProto field numbers (onnx.proto): name = 8, external_data = 13, data_location = 14.
const TENSOR_NAME = 8;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;

/**
 * Every tensor of a serialized ModelProto that is stored as external data, wherever it sits:
 * initializers, sparse initializers, tensors in node attributes (`t`, `tensors`, `sparse_tensor`,
 * `sparse_tensors`), subgraphs in attributes (`g`, `graphs`: If/Loop/Scan bodies) to any depth,
 * functions and training graphs.
 *
 * It walks the protobuf wire format itself rather than a decoded object, and looks at every
 * occurrence of every message field. A decoder keeps the last occurrence of a non-repeated message
 * field, whereas protobuf's C++ parser (onnxruntime's) merges all of them; walking every
 * occurrence finds an external tensor hidden in an earlier copy of `graph` or `t` too. A tensor
 * counts as external when any occurrence sets a non-default `data_location` or has any
 * `external_data` entry, which refuses more than onnxruntime would read, never less.
 */
export function findExternalTensors(bytes: Uint8Array, limit = 16): ExternalTensor[] {
  const model = onnxType('ModelProto');
  model.root.resolveAll();
  const found: ExternalTensor[] = [];
  const reader = protobuf.Reader.create(bytes);
  try {
    walk(reader, bytes.length, model, '', 0, found, limit);
  } catch (err) {
    if (err instanceof OnnxWireError) throw err;
    throw new OnnxWireError(`not a valid ONNX protobuf: ${(err as Error).message}`);
  }
  return found;
}

function walk(reader: protobuf.Reader, end: number, type: protobuf.Type, at: string, depth: number, found: ExternalTensor[], limit: number): void {
  if (depth > MAX_DEPTH) throw new OnnxWireError(`messages nested more than ${MAX_DEPTH} deep`);
  const isTensor = type.fullName === TENSOR;
  let name = '';
  let external = false;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new OnnxWireError('field number 0');
    if (isTensor && id === TENSOR_DATA_LOCATION && wireType === 0) {
      if (reader.uint64().toString() !== '0') external = true;
      continue;
    }
    if (isTensor && id === TENSOR_EXTERNAL_DATA) {
      external = true;
      reader.skipType(wireType);
      continue;
    }
    if (isTensor && id === TENSOR_NAME && wireType === 2) {
      name = reader.string();
      continue;
    }
    const field = type.fieldsById[id];
    if (field && wireType === 2 && field.resolvedType instanceof protobuf.Type) {
      const length = reader.uint32();
      const subEnd = reader.pos + length;
      if (subEnd > end) throw new OnnxWireError(`field ${field.name} runs past the end of its message`);
      walk(reader, subEnd, field.resolvedType, at ? `${at}.${field.name}` : field.name, depth + 1, found, limit);
      reader.pos = subEnd;
      if (found.length >= limit) return;
      continue;
    }
    reader.skipType(wireType);
  }
  if (reader.pos !== end) throw new OnnxWireError('a field runs past the end of its message');
  if (isTensor && external && found.length < limit) found.push({ name, path: at });
}
