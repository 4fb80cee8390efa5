import { checkLabelsAndScores } from './validate.js';

export interface ConfusionMatrix {
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly trueNegatives: number;
  readonly falseNegatives: number;
}

export interface ThresholdMetrics {
  readonly threshold: number;
  readonly confusion: ConfusionMatrix;
  readonly accuracy: number;
  /** TP / (TP + FP); NaN when nothing is predicted positive. */
  readonly precision: number;
  /** TP / (TP + FN), the true-positive rate; NaN when there are no positives. */
  readonly recall: number;
  /** Harmonic mean of precision and recall; NaN when either is undefined, 0 when TP = 0 but both are defined. */
  readonly f1: number;
}

/** Counts at a decision threshold: a row is predicted positive when its score is ≥ `threshold`. */
export function confusionMatrix(y: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): ConfusionMatrix {
  checkLabelsAndScores(y, scores);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (y[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn };
}

/**
 * Precision, recall, accuracy and F1 at a threshold. Undefined ratios are NaN rather than 0 so a
 * model that never predicts positive is not reported as having "precision 0" (JSON.stringify
 * writes them as null).
 */
export function thresholdMetrics(y: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): ThresholdMetrics {
  const confusion = confusionMatrix(y, scores, threshold);
  const { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } = confusion;
  const total = tp + fp + tn + fn;
  const precision = tp + fp === 0 ? NaN : tp / (tp + fp);
  const recall = tp + fn === 0 ? NaN : tp / (tp + fn);
  let f1: number;
  if (Number.isNaN(precision) || Number.isNaN(recall)) f1 = NaN;
  else f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { threshold, confusion, accuracy: total === 0 ? NaN : (tp + tn) / total, precision, recall, f1 };
}
