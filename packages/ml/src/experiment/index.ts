export { alwaysValidInterval, type AlwaysValidInterval, type AlwaysValidOptions } from './always-valid.js';
export {
  groupedAucDifferenceIndependent,
  groupedAucDifferencePaired,
  groupedDelongAuc,
  type GroupedAucDifference,
  type GroupedAucEstimate,
  type PairedScoreCounts,
  type ScoreHistogram,
} from './grouped-delong.js';
export { sampleRatioMismatch, type SampleRatioTest } from './srm.js';
