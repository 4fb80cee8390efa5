import {
  alwaysValidInterval,
  groupedAucDifferenceIndependent,
  groupedAucDifferencePaired,
  groupedDelongAuc,
  sampleRatioMismatch,
  type ScoreHistogram,
} from '@contender/ml';
import type { ReadOnlyDb } from '@contender/pipeline';
import { countArms, pairedScoreCounts, scoreHistograms, type ArmCounts, type Experiment } from './evaluation-counts.js';

export interface ArmReport {
  version: number;
  predictions: number;
  entities: number;
  labelled: number;
  positiveRate: number | null;
  auc: number | null;
  /** fixed-horizon 95 % DeLong interval of the arm's AUC */
  aucInterval: [number, number] | null;
  logLoss: number | null;
  brier: number | null;
  fallbackRate: number | null;
  p99LatencyMs: number | null;
}

export interface EvaluationStats {
  mode: 'split' | 'shadow';
  arms: { champion: ArmReport; challenger: ArmReport };
  /** AUC(challenger) − AUC(champion); null until both arms have both classes */
  comparison: {
    metric: 'auc';
    method: 'delong-independent' | 'delong-paired';
    /** rows in the comparison: labelled rows of both arms (split) or labelled pairs (shadow) */
    rows: number;
    difference: number;
    fixedHorizon: { interval: [number, number]; pValue: number; confidenceLevel: number };
    alwaysValid: { method: 'msprt-normal-mixture'; interval: [number, number]; pValue: number; alpha: number; mixtureSd: number };
  } | null;
  srm: { entities: [number, number]; expectedShare: number; statistic: number; pValue: number; flagged: boolean } | null;
}

const r6 = (v: number): number => Number(v.toFixed(6));

function armReport(version: number, c: ArmCounts, h: ScoreHistogram): ArmReport {
  let auc: number | null = null;
  let aucInterval: [number, number] | null = null;
  const positives = Array.from(h.positives).reduce((a, b) => a + b, 0);
  const negatives = Array.from(h.negatives).reduce((a, b) => a + b, 0);
  if (positives >= 2 && negatives >= 2) {
    const e = groupedDelongAuc(h);
    auc = r6(e.auc);
    aucInterval = [r6(e.confidenceInterval[0]), r6(e.confidenceInterval[1])];
  }
  return {
    version,
    predictions: c.predictions,
    entities: c.entities,
    labelled: c.labelled,
    positiveRate: c.labelled > 0 ? r6(c.positives / c.labelled) : null,
    auc,
    aucInterval,
    logLoss: c.labelled > 0 ? r6(c.logLossSum / c.labelled) : null,
    brier: c.labelled > 0 ? r6(c.brierSum / c.labelled) : null,
    fallbackRate: c.predictions > 0 ? r6(c.fallbacks / c.predictions) : null,
    p99LatencyMs: c.p99LatencyMs === null ? null : r6(c.p99LatencyMs),
  };
}

export interface StatsOptions {
  alpha: number;
  mixtureSd: number;
  /** the share of entities the challenger should get (challengerPercent / 100) */
  challengerShare: number;
  srmPValue: number;
}

/** Per-arm metrics, the AUC difference with fixed-horizon and always-valid intervals, and SRM. */
export async function computeEvaluationStats(db: ReadOnlyDb, e: Experiment, o: StatsOptions): Promise<EvaluationStats> {
  const [counts, hist] = await Promise.all([countArms(db, e), scoreHistograms(db, e)]);
  const champion = armReport(e.championVersion, counts.champion, hist.champion);
  const challenger = armReport(e.challengerVersion, counts.challenger, hist.challenger);

  let comparison: EvaluationStats['comparison'] = null;
  const confidenceLevel = 1 - o.alpha;
  if (e.mode === 'split') {
    if (champion.auc !== null && challenger.auc !== null) {
      const d = groupedAucDifferenceIndependent(hist.champion, hist.challenger, confidenceLevel);
      const av = alwaysValidInterval(d.difference, d.variance, { alpha: o.alpha, mixtureSd: o.mixtureSd });
      comparison = {
        metric: 'auc',
        method: d.method,
        rows: champion.labelled + challenger.labelled,
        difference: r6(d.difference),
        fixedHorizon: { interval: [r6(d.confidenceInterval[0]), r6(d.confidenceInterval[1])], pValue: d.pValue, confidenceLevel },
        alwaysValid: { method: av.method, interval: [r6(av.interval[0]), r6(av.interval[1])], pValue: av.pValue, alpha: av.alpha, mixtureSd: av.mixtureSd },
      };
    }
  } else {
    const pairs = await pairedScoreCounts(db, e);
    let pos = 0;
    let neg = 0;
    for (let i = 0; i < pairs.counts.length; i++) (pairs.labels[i] === 1 ? (pos += pairs.counts[i]!) : (neg += pairs.counts[i]!));
    if (pos >= 2 && neg >= 2) {
      const d = groupedAucDifferencePaired(pairs, confidenceLevel);
      const av = alwaysValidInterval(d.difference, d.variance, { alpha: o.alpha, mixtureSd: o.mixtureSd });
      comparison = {
        metric: 'auc',
        method: d.method,
        rows: pairs.pairs,
        difference: r6(d.difference),
        fixedHorizon: { interval: [r6(d.confidenceInterval[0]), r6(d.confidenceInterval[1])], pValue: d.pValue, confidenceLevel },
        alwaysValid: { method: av.method, interval: [r6(av.interval[0]), r6(av.interval[1])], pValue: av.pValue, alpha: av.alpha, mixtureSd: av.mixtureSd },
      };
      // In shadow mode the challenger's labelled rows are the labelled pairs (its outcome is the champion row's).
      challenger.labelled = pairs.pairs;
    }
  }

  // SRM: split mode assigns entities to one arm or the other; shadow mode shadows a share of all
  // entities (every entity has champion rows), so its test is shadowed vs not shadowed.
  let srm: EvaluationStats['srm'] = null;
  const a = counts.champion.entities;
  const b = counts.challenger.entities;
  const observed: [number, number] = e.mode === 'split' ? [a, b] : [Math.max(0, a - b), b];
  if (observed[0] + observed[1] > 0 && o.challengerShare > 0 && o.challengerShare < 1) {
    const t = sampleRatioMismatch(observed, [1 - o.challengerShare, o.challengerShare]);
    srm = { entities: observed, expectedShare: o.challengerShare, statistic: r6(t.statistic), pValue: t.pValue, flagged: t.pValue < o.srmPValue };
  }
  return { mode: e.mode, arms: { champion, challenger }, comparison, srm };
}

export type Verdict = 'promote' | 'rollback' | 'continue' | 'inconclusive';

export interface PolicyOptions {
  minLabelledPerArm: number;
  maxDays: number;
  /** absolute: the challenger's fallback rate may exceed the champion's by at most this */
  fallbackRateMargin: number;
  /** absolute, ms: the challenger's p99 latency may exceed the champion's by at most this */
  p99LatencyMarginMs: number;
}

export interface Decision {
  verdict: Verdict;
  /** why, with the numbers */
  reasons: string[];
  guardrails: { fallbackRate: { challenger: number | null; champion: number | null; margin: number; ok: boolean }; p99LatencyMs: { challenger: number | null; champion: number | null; margin: number; ok: boolean } };
}

const signed = (v: number, digits = 3): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
const pct = (v: number | null): string => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);

/**
 * The policy, in order: too few labels → continue (inconclusive past maxDays); a broken
 * guardrail → rollback; SRM → no decision on the metric (continue, or inconclusive past maxDays);
 * the always-valid interval of AUC(challenger) − AUC(champion) above 0 → promote, below 0 →
 * rollback; otherwise continue, or inconclusive once the experiment is maxDays old.
 */
export function decide(stats: EvaluationStats, ageDays: number, o: PolicyOptions): Decision {
  const { champion, challenger } = stats.arms;
  const reasons: string[] = [];
  const expired = ageDays >= o.maxDays;
  const waitOrStop = (): Verdict => (expired ? 'inconclusive' : 'continue');

  const enoughTraffic = champion.predictions >= o.minLabelledPerArm && challenger.predictions >= o.minLabelledPerArm;
  const fallbackOk = !enoughTraffic || challenger.fallbackRate === null || champion.fallbackRate === null || challenger.fallbackRate <= champion.fallbackRate + o.fallbackRateMargin;
  const latencyOk = !enoughTraffic || challenger.p99LatencyMs === null || champion.p99LatencyMs === null || challenger.p99LatencyMs <= champion.p99LatencyMs + o.p99LatencyMarginMs;
  const guardrails: Decision['guardrails'] = {
    fallbackRate: { challenger: challenger.fallbackRate, champion: champion.fallbackRate, margin: o.fallbackRateMargin, ok: fallbackOk },
    p99LatencyMs: { challenger: challenger.p99LatencyMs, champion: champion.p99LatencyMs, margin: o.p99LatencyMarginMs, ok: latencyOk },
  };

  if (!fallbackOk) {
    reasons.push(`guardrail broken: challenger fallback rate ${pct(challenger.fallbackRate)} vs champion ${pct(champion.fallbackRate)} (margin ${pct(o.fallbackRateMargin)})`);
  }
  if (!latencyOk) {
    reasons.push(`guardrail broken: challenger p99 latency ${challenger.p99LatencyMs!.toFixed(1)} ms vs champion ${champion.p99LatencyMs!.toFixed(1)} ms (margin ${o.p99LatencyMarginMs} ms)`);
  }
  if (!fallbackOk || !latencyOk) return { verdict: 'rollback', reasons, guardrails };

  const labelled = `${challenger.labelled} vs ${champion.labelled} labelled`;
  if (champion.labelled < o.minLabelledPerArm || challenger.labelled < o.minLabelledPerArm || stats.comparison === null) {
    reasons.push(`too few labels: ${labelled} (minLabelledPerArm ${o.minLabelledPerArm})${expired ? `, and the experiment is ${ageDays.toFixed(1)} days old (maxDays ${o.maxDays})` : ''}`);
    return { verdict: waitOrStop(), reasons, guardrails };
  }
  const c = stats.comparison;
  const numbers =
    `AUC ${challenger.auc!.toFixed(3)} vs champion ${champion.auc!.toFixed(3)} (Δ ${signed(c.difference)}, always-valid ${Math.round((1 - c.alwaysValid.alpha) * 100)}% CI ` +
    `${signed(c.alwaysValid.interval[0])}…${signed(c.alwaysValid.interval[1])} [mSPRT], fixed-horizon ${signed(c.fixedHorizon.interval[0])}…${signed(c.fixedHorizon.interval[1])}, ${labelled}` +
    `${stats.srm ? `, SRM p ${stats.srm.pValue.toPrecision(2)}` : ''})`;
  if (stats.srm?.flagged) {
    reasons.push(`sample ratio mismatch: ${stats.srm.entities[1]} challenger vs ${stats.srm.entities[0]} champion entities for a ${pct(stats.srm.expectedShare)} share (χ² ${stats.srm.statistic.toFixed(1)}, p ${stats.srm.pValue.toPrecision(2)}); no decision on ${numbers}`);
    return { verdict: waitOrStop(), reasons, guardrails };
  }
  if (c.alwaysValid.interval[0] > 0) {
    reasons.push(`challenger better: ${numbers}`);
    return { verdict: 'promote', reasons, guardrails };
  }
  if (c.alwaysValid.interval[1] < 0) {
    reasons.push(`challenger worse: ${numbers}`);
    return { verdict: 'rollback', reasons, guardrails };
  }
  reasons.push(`no difference yet: ${numbers}${expired ? `; the experiment is ${ageDays.toFixed(1)} days old (maxDays ${o.maxDays})` : ''}`);
  return { verdict: waitOrStop(), reasons, guardrails };
}
