export * from './matrix.js';
export * from './metrics/index.js';
export * from './drift/index.js';
export * from './data/index.js';
export * from './gbdt/index.js';
export * from './logreg/index.js';
export * from './onnx/index.js';
export * from './experiment/index.js';
