export { binCount, binMatrix, binOf, binTrainingMatrix, computeBins, MAX_VALUE_BINS, type FeatureBins } from './binning.js';
export { GbdtModel, GBDT_FORMAT, type GbdtModelJson, type IterationInfo, type FeatureGain } from './model.js';
export { DEFAULT_GBDT_PARAMS, resolveGbdtParams, type GbdtParams, type GbdtObjective } from './params.js';
export { createPrng, type Prng } from './prng.js';
export { trainGbdt, type TrainGbdtOptions } from './train.js';
export type { GbdtTree } from './tree.js';
