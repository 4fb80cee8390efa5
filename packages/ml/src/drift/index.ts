export { detectDrift, type CategoricalFeatureDrift, type DriftOptions, type DriftReport, type FeatureDrift, type NumericFeatureDrift } from './detect.js';
export {
  buildReferenceProfile,
  categoricalFeatureProfileSchema,
  columnsFromMatrix,
  featureProfileSchema,
  numericFeatureProfileSchema,
  parseReferenceProfile,
  referenceProfileSchema,
  type CategoricalFeatureProfile,
  type ColumnValues,
  type FeatureColumn,
  type FeatureProfile,
  type NumericFeatureProfile,
  type ProfileOptions,
  type ReferenceProfile,
} from './profile.js';
export {
  chiSquareHomogeneity,
  jensenShannonDistance,
  ksPValue,
  ksTwoSample,
  populationStabilityIndex,
  PSI_EPSILON,
  type ChiSquareResult,
  type KsResult,
} from './statistics.js';
