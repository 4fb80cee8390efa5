import { calibrationTable, type CalibrationOptions, type CalibrationTable } from './calibration.js';
import { delongAuc } from './delong.js';
import { brierScore, logLoss } from './probability.js';
import { ksStatistic, rocAuc } from './ranking.js';
import { thresholdMetrics, type ConfusionMatrix } from './threshold.js';

export interface BinaryClassificationReport {
  readonly rows: number;
  readonly positives: number;
  readonly positiveRate: number;
  readonly auc: number;
  /** DeLong 95% interval for the AUC; null with fewer than 2 rows of either class. */
  readonly aucConfidenceInterval: readonly [number, number] | null;
  readonly logLoss: number;
  readonly brier: number;
  readonly ks: number;
  readonly threshold: number;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly confusion: ConfusionMatrix;
  readonly calibration: CalibrationTable;
}

export interface BinaryClassificationReportOptions {
  /** Decision threshold for the confusion matrix and the ratios built on it; 0.5 by default. */
  readonly threshold?: number;
  readonly calibration?: CalibrationOptions;
}

/** Every metric of this module for one set of predicted probabilities, as one JSON-friendly object. */
export function evaluateBinaryClassifier(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  options: BinaryClassificationReportOptions = {},
): BinaryClassificationReport {
  const threshold = options.threshold ?? 0.5;
  const t = thresholdMetrics(y, p, threshold);
  const positives = t.confusion.truePositives + t.confusion.falseNegatives;
  const negatives = y.length - positives;
  return {
    rows: y.length,
    positives,
    positiveRate: y.length === 0 ? NaN : positives / y.length,
    auc: rocAuc(y, p),
    aucConfidenceInterval: positives >= 2 && negatives >= 2 ? delongAuc(y, p).confidenceInterval : null,
    logLoss: logLoss(y, p),
    brier: brierScore(y, p),
    ks: ksStatistic(y, p),
    threshold,
    accuracy: t.accuracy,
    precision: t.precision,
    recall: t.recall,
    f1: t.f1,
    confusion: t.confusion,
    calibration: calibrationTable(y, p, options.calibration),
  };
}
