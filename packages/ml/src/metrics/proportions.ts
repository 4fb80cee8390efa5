import { normalQuantile, twoSidedNormalPValue } from './special-functions.js';

export interface ProportionCount {
  readonly successes: number;
  readonly trials: number;
}

export interface ProportionInterval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly confidenceLevel: number;
}

export interface ProportionComparison {
  readonly rateA: number;
  readonly rateB: number;
  /** rateB − rateA. */
  readonly difference: number;
  /** Pooled two-proportion z statistic (the score test of H₀: equal rates). */
  readonly z: number;
  readonly pValue: number;
  /** Newcombe's hybrid score interval for the difference (his method 10). */
  readonly confidenceInterval: readonly [number, number];
  readonly confidenceLevel: number;
}

function checkCount(c: ProportionCount, what: string): void {
  const { successes, trials } = c;
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || trials <= 0 || successes < 0 || successes > trials) {
    throw new RangeError(`${what}: need integers 0 <= successes <= trials and trials > 0, got ${successes}/${trials}`);
  }
}

function zFor(confidenceLevel: number): number {
  if (!(confidenceLevel > 0 && confidenceLevel < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${confidenceLevel}`);
  return normalQuantile(1 - (1 - confidenceLevel) / 2);
}

/**
 * Wilson score interval for one proportion. Unlike the Wald interval it stays inside [0, 1] and
 * keeps close to nominal coverage for rates near 0 — the usual case for default rates.
 */
export function wilsonInterval(count: ProportionCount, confidenceLevel = 0.95): ProportionInterval {
  checkCount(count, 'Wilson interval');
  const z = zFor(confidenceLevel);
  const n = count.trials;
  const p = count.successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half), confidenceLevel };
}

/**
 * Compare two independent proportions, e.g. default rates in the champion arm (A) and the
 * challenger arm (B). The p-value is the pooled z-test (equivalent to a 2×2 chi-square test
 * without continuity correction); the interval is Newcombe (1998) method 10, built from the
 * two Wilson intervals, which has good coverage even with few events.
 */
export function compareProportions(a: ProportionCount, b: ProportionCount, confidenceLevel = 0.95): ProportionComparison {
  checkCount(a, 'proportion A');
  checkCount(b, 'proportion B');
  const wa = wilsonInterval(a, confidenceLevel);
  const wb = wilsonInterval(b, confidenceLevel);
  const pa = wa.estimate;
  const pb = wb.estimate;
  const difference = pb - pa;
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  // se = 0 only when both arms are all-success or all-failure, so the rates are equal.
  const z = se > 0 ? difference / se : 0;
  const lower = difference - Math.sqrt((pb - wb.lower) ** 2 + (wa.upper - pa) ** 2);
  const upper = difference + Math.sqrt((wb.upper - pb) ** 2 + (pa - wa.lower) ** 2);
  return { rateA: pa, rateB: pb, difference, z, pValue: twoSidedNormalPValue(z), confidenceInterval: [lower, upper], confidenceLevel };
}
