export { exportToOnnx, METADATA_KEYS, type ExportableModel, type ExportOnnxOptions } from './export.js';
export { findExternalTensors, OnnxWireError, type ExternalTensor } from './external-data.js';
export { decodeOnnxModel, encodeOnnxModel, type DecodeOptions, type OnnxObject } from './proto.js';
export { withZipMap } from './zipmap.js';
/** The plain-object constructors the exporters use, for tests and tools that build ONNX files by hand. */
export * as onnxBuilders from './builders.js';
