import { chiSquareSurvival } from '../metrics/special-functions.js';

export interface SampleRatioTest {
  readonly observed: readonly number[];
  readonly expected: readonly number[];
  readonly statistic: number;
  readonly dof: number;
  readonly pValue: number;
}

/**
 * Sample ratio mismatch: Pearson's χ² goodness-of-fit test of the units observed per arm (distinct
 * entities) against the configured shares. A tiny p-value (the usual bar is 0.001) says the
 * assignment or the logging is broken, and no metric of the experiment can be trusted (Fabijan et
 * al. 2019, "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments"). Arms with a
 * share of 0 must have no units; they are left out of the degrees of freedom.
 */
export function sampleRatioMismatch(observed: readonly number[], shares: readonly number[]): SampleRatioTest {
  if (observed.length !== shares.length || observed.length < 2) throw new RangeError('SRM needs one share per arm and at least two arms');
  const total = observed.reduce((a, b) => a + b, 0);
  const shareSum = shares.reduce((a, b) => a + b, 0);
  if (!(shareSum > 0)) throw new RangeError('SRM shares sum to 0');
  const expected = shares.map((s) => (total * s) / shareSum);
  let statistic = 0;
  let arms = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    if (e === 0) {
      if (observed[i]! > 0) return { observed, expected, statistic: Infinity, dof: observed.length - 1, pValue: 0 };
      continue;
    }
    arms++;
    statistic += (observed[i]! - e) ** 2 / e;
  }
  const dof = arms - 1;
  if (total === 0 || dof < 1) return { observed, expected, statistic: 0, dof: Math.max(0, dof), pValue: 1 };
  return { observed, expected, statistic, dof, pValue: chiSquareSurvival(statistic, dof) };
}
