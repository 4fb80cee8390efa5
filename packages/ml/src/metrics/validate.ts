/**
 * Input checks shared by the metrics. Labels must be exactly 0 or 1 and scores finite numbers:
 * a NaN score would silently sort to one end and bias every rank-based metric, so it is refused
 * with the offending row rather than skipped.
 */

export interface ClassCounts {
  readonly positives: number;
  readonly negatives: number;
}

export function checkLabelsAndScores(y: ArrayLike<number>, scores: ArrayLike<number>, what = 'scores'): ClassCounts {
  if (y.length !== scores.length) {
    throw new RangeError(`labels and ${what} differ in length: ${y.length} vs ${scores.length}`);
  }
  let positives = 0;
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    if (label === 1) positives++;
    else if (label !== 0) throw new RangeError(`label at index ${i} is ${label}; binary metrics need labels 0 or 1`);
    const s = scores[i]!;
    if (!Number.isFinite(s)) throw new RangeError(`${what} at index ${i} is ${s}; expected a finite number`);
  }
  return { positives, negatives: y.length - positives };
}

export function checkNonEmpty(n: number, what: string): void {
  if (n === 0) throw new RangeError(`${what} needs at least one row`);
}
