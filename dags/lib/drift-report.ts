import {
  binPlan,
  categoricalDriftFromBins,
  driftVerdict,
  numericDriftFromBins,
  populationStabilityIndex,
  type BinnedFeatureDrift,
  type DriftVerdictOptions,
  type FeatureStatus,
  type ReferenceProfile,
} from '@contender/ml';
import type { ReadOnlyDb } from '@contender/pipeline';
import { countFeatureBins, countScoreBins, SCORE_THRESHOLDS, type PredictionWindow } from './drift-counts.js';

export type FeatureDriftReport = BinnedFeatureDrift & { status: FeatureStatus };

export interface DriftReport {
  model: string;
  /** the champion version whose predictions were compared */
  version: number;
  /** the version whose reference profile they were compared with (the same version) */
  referenceVersion: number;
  window: { from: string; to: string; hours: number };
  rows: number;
  referenceRows: number;
  thresholds: DriftVerdictOptions;
  features: FeatureDriftReport[];
  driftedFeatures: string[];
  warnedFeatures: string[];
  driftedShare: number;
  drifted: boolean;
  /**
   * The score's own distribution: shares per tenth in this window and in the window of the same
   * length before it, and the PSI between them (null when the earlier window has no rows). Reported,
   * not part of the verdict: the reference profile describes inputs only.
   */
  score: { mean: number | null; bins: number[]; previousWindowRows: number; previousBins: number[] | null; psiVsPreviousWindow: number | null };
}

function shares(bins: readonly number[]): number[] {
  const total = bins.reduce((a, b) => a + b, 0);
  return bins.map((b) => (total === 0 ? 0 : Number((b / total).toFixed(6))));
}

/** Compares the window of `w.version`'s logged predictions with the version's reference profile. */
export async function computeDriftReport(db: ReadOnlyDb, w: PredictionWindow, rows: number, profile: ReferenceProfile, thresholds: DriftVerdictOptions): Promise<DriftReport> {
  const plan = binPlan(profile);
  const counts = await countFeatureBins(db, w, plan);
  const drifts: BinnedFeatureDrift[] = profile.features.map((f, i) => {
    const p = plan[i]!;
    const c = counts[i]!;
    if (f.kind === 'numeric' && p.kind === 'numeric') return numericDriftFromBins(f, p, c);
    if (f.kind === 'categorical') return categoricalDriftFromBins(f, c);
    throw new Error(`feature "${f.name}": plan and profile disagree on its kind`);
  });
  const verdict = driftVerdict(drifts, thresholds);

  const span = w.to.getTime() - w.from.getTime();
  const [score, previous] = await Promise.all([countScoreBins(db, w), countScoreBins(db, { ...w, from: new Date(w.from.getTime() - span), to: w.from })]);
  const psiVsPreviousWindow = previous.rows > 0 && score.rows > 0 ? Number(populationStabilityIndex(previous.bins, score.bins).toFixed(6)) : null;

  return {
    model: w.model,
    version: w.version,
    referenceVersion: w.version,
    window: { from: w.from.toISOString(), to: w.to.toISOString(), hours: span / 3_600_000 },
    rows,
    referenceRows: profile.rows,
    thresholds,
    features: drifts.map((d) => ({ ...d, status: verdict.status[d.name]! })),
    driftedFeatures: [...verdict.driftedFeatures],
    warnedFeatures: [...verdict.warnedFeatures],
    driftedShare: verdict.driftedShare,
    drifted: verdict.drifted,
    score: {
      mean: score.mean === null ? null : Number(score.mean.toFixed(6)),
      bins: shares(score.bins),
      previousWindowRows: previous.rows,
      previousBins: previous.rows > 0 ? shares(previous.bins) : null,
      psiVsPreviousWindow,
    },
  };
}

export { SCORE_THRESHOLDS };
