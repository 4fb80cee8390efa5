/**
 * Always-valid inference for an asymptotically normal estimate θ̂ (here the difference of two
 * AUCs with its DeLong variance V), so that an experiment can be looked at every 15 minutes and
 * stopped at any look without inflating the error rate.
 *
 * The method is the mixture sequential probability ratio test (mSPRT) with a normal mixture,
 * Johari, Pekelis & Walsh (2017), "Always Valid Inference: Bringing Sequential Analysis to A/B
 * Testing" (arXiv:1512.04922; Optimizely's Stats Engine), in the form it takes for an estimate
 * with known variance: mixing the likelihood ratio of N(θ, V) against N(θ₀, V) over
 * θ − θ₀ ~ N(0, τ²) gives
 *   Λ(θ₀) = √(V / (V + τ²)) · exp( τ² (θ̂ − θ₀)² / (2 V (V + τ²)) ),
 * the always-valid p-value is min(1, 1/Λ(0)), and inverting Λ(θ₀) < 1/α gives the confidence
 * sequence
 *   θ̂ ± √( V (V + τ²)/τ² · (2 ln(1/α) + ln((V + τ²)/V)) ),
 * which covers θ at every look at once with probability ≥ 1 − α (Robbins' normal-mixture
 * boundary; Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
 * nonasymptotic confidence sequences", Ann. Statist. 49(2), eq. (14)). For the AUC difference
 * the guarantee is asymptotic (DeLong's estimate is a U-statistic, normal with independent
 * increments in the limit: Waudby-Smith et al. 2023, "Time-uniform central limit theory and
 * asymptotic confidence sequences"); the A/A simulation in the tests checks it at our sizes.
 *
 * τ sets where the sequence is tightest: near V ≈ τ². τ = 0.05 (an AUC gain of a few
 * hundredths, what a retrain plausibly brings) keeps the interval about 1.6× the fixed-horizon
 * one at a few thousand labels per arm.
 */
export interface AlwaysValidOptions {
  /** 0.05 by default: the chance that the sequence ever misses θ, over all looks. */
  readonly alpha?: number;
  /** Standard deviation τ of the normal mixture, in the estimate's units (0.05 by default). */
  readonly mixtureSd?: number;
}

export interface AlwaysValidInterval {
  readonly method: 'msprt-normal-mixture';
  readonly estimate: number;
  readonly interval: readonly [number, number];
  /** min(1, 1/Λ(0)): always-valid p-value of θ = 0 at this look. */
  readonly pValue: number;
  readonly alpha: number;
  readonly mixtureSd: number;
}

export function alwaysValidInterval(estimate: number, variance: number, options: AlwaysValidOptions = {}): AlwaysValidInterval {
  const alpha = options.alpha ?? 0.05;
  const tau = options.mixtureSd ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(tau > 0)) throw new RangeError(`mixtureSd must be > 0, got ${tau}`);
  if (!Number.isFinite(estimate) || !(variance >= 0)) throw new RangeError(`estimate ${estimate} with variance ${variance}`);
  const t2 = tau * tau;
  if (variance === 0) {
    return { method: 'msprt-normal-mixture', estimate, interval: [estimate, estimate], pValue: estimate === 0 ? 1 : 0, alpha, mixtureSd: tau };
  }
  const v = variance;
  const radius = Math.sqrt(((v * (v + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((v + t2) / v)));
  const logLambda = 0.5 * Math.log(v / (v + t2)) + (t2 * estimate * estimate) / (2 * v * (v + t2));
  const pValue = Math.min(1, Math.exp(-logLambda));
  return { method: 'msprt-normal-mixture', estimate, interval: [estimate - radius, estimate + radius], pValue, alpha, mixtureSd: tau };
}
