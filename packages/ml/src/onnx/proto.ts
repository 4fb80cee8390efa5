import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/**
 * ONNX's own schema (`onnx.proto`, Apache-2.0, from github.com/onnx/onnx), parsed at runtime by
 * protobufjs: every model is encoded and decoded by the schema, never by hand-written wire code.
 *
 * The file stays in `src/onnx/` (tsc copies only .ts), and is found relative to this module: from
 * `dist/onnx/proto.js` that is `../../src/onnx/onnx.proto`; a copy next to the compiled module
 * (bundles, images that ship `dist/` alone) is preferred when present.
 */
const SCHEMA_LOCATIONS = [new URL('./onnx.proto', import.meta.url), new URL('../../src/onnx/onnx.proto', import.meta.url)];

/** Plain-object form of an ONNX message (protobufjs `toObject` output, snake_case field names). */
export type OnnxObject = { [field: string]: unknown };

export interface DecodeOptions {
  /**
   * How int64 fields are returned. 'number' (default) is convenient and exact up to 2⁵³, which
   * covers shapes, attributes and versions; 'string' keeps any int64 exactly.
   */
  readonly int64?: 'number' | 'string';
}

let root: protobuf.Root | undefined;

function schema(): protobuf.Root {
  if (root) return root;
  let text: string | undefined;
  for (const url of SCHEMA_LOCATIONS) {
    try {
      text = readFileSync(url, 'utf8');
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (text === undefined) {
    throw new Error(`onnx.proto not found (looked at ${SCHEMA_LOCATIONS.map((u) => u.pathname).join(', ')})`);
  }
  root = protobuf.parse(text, { keepCase: true }).root;
  return root;
}

export function onnxType(name: string): protobuf.Type {
  return schema().lookupType(`onnx.${name}`);
}

/** Decodes a serialized ModelProto into a plain object (enums as names, bytes fields as Uint8Array). */
export function decodeOnnxModel(bytes: Uint8Array, options: DecodeOptions = {}): OnnxObject {
  const type = onnxType('ModelProto');
  const message = type.decode(bytes);
  return type.toObject(message, {
    longs: options.int64 === 'string' ? String : Number,
    enums: String,
    // Only what the bytes contain: no default scalars, no empty repeated fields.
    defaults: false,
    arrays: false,
  }) as OnnxObject;
}

/**
 * Encodes a plain ModelProto object (as returned by `decodeOnnxModel`, or built by hand with
 * snake_case field names; enums by name or number). Values of the wrong type are an error; fields
 * the schema does not know are ignored, as protobufjs does.
 */
export function encodeOnnxModel(model: OnnxObject): Uint8Array {
  const type = onnxType('ModelProto');
  const message = type.fromObject(model);
  const problem = type.verify(message);
  if (problem) throw new Error(`invalid ONNX ModelProto: ${problem}`);
  return type.encode(message).finish();
}
