export { exportToOnnx, METADATA_KEYS, type ExportableModel, type ExportOnnxOptions } from './export.js';
export { decodeOnnxModel, encodeOnnxModel, type DecodeOptions, type OnnxObject } from './proto.js';
export { withZipMap } from './zipmap.js';
