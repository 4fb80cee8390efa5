export { calibrationTable, type CalibrationBin, type CalibrationOptions, type CalibrationStrategy, type CalibrationTable } from './calibration.js';
export { compareAucIndependent, compareAucPaired, delongAuc, type AucComparison, type AucEstimate, type ConfidenceOptions, type ScoredSample } from './delong.js';
export { brierScore, logLoss, LOG_LOSS_EPSILON } from './probability.js';
export { compareProportions, wilsonInterval, type ProportionComparison, type ProportionCount, type ProportionInterval } from './proportions.js';
export { ksStatistic, midranks, rocAuc } from './ranking.js';
export { evaluateBinaryClassifier, type BinaryClassificationReport, type BinaryClassificationReportOptions } from './report.js';
export {
  chiSquareSurvival,
  kolmogorovSurvival,
  lnGamma,
  normalCdf,
  normalQuantile,
  regularizedGammaP,
  regularizedGammaQ,
  twoSidedNormalPValue,
} from './special-functions.js';
export { confusionMatrix, thresholdMetrics, type ConfusionMatrix, type ThresholdMetrics } from './threshold.js';
