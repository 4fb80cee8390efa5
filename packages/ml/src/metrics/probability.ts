import { checkLabelsAndScores, checkNonEmpty } from './validate.js';

/**
 * The probability given to the observed outcome is clipped to at least ε before taking its log,
 * so one confident mistake (p = 0 for a positive) costs −ln ε ≈ 34.5 instead of making the mean
 * infinite. (Clipping 1 − p rather than p keeps that exact for negatives: 1 − (1 − 1e-15) is not
 * 1e-15 in floating point.)
 */
export const LOG_LOSS_EPSILON = 1e-15;

function checkProbabilities(p: ArrayLike<number>): void {
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (v < 0 || v > 1) throw new RangeError(`probability at index ${i} is ${v}; expected a value in [0, 1]`);
  }
}

/** Mean binary cross-entropy (natural log), with the probability of the observed outcome clipped to ≥ ε. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>, epsilon = LOG_LOSS_EPSILON): number {
  checkLabelsAndScores(y, p, 'probabilities');
  checkNonEmpty(y.length, 'log loss');
  checkProbabilities(p);
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const q = y[i] === 1 ? p[i]! : 1 - p[i]!;
    sum -= Math.log(Math.max(epsilon, q));
  }
  return sum / y.length;
}

/** Brier score: mean squared difference between probability and outcome (0 is perfect). */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkLabelsAndScores(y, p, 'probabilities');
  checkNonEmpty(y.length, 'Brier score');
  checkProbabilities(p);
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const d = p[i]! - y[i]!;
    sum += d * d;
  }
  return sum / y.length;
}
