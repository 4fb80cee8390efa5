import type { AuditEvent } from '@contender/contracts';
import { defineDag, SkipRun, type StepContext } from '@contender/pipeline';
import { ContenderApiError } from '@contender/sdk';
import { z } from 'zod';
import { computeEvaluationStats, decide, type Decision, type EvaluationStats, type Verdict } from './lib/evaluation-report.js';
import { findExperimentStart, type ExperimentState } from './lib/experiment.js';

/**
 * evaluate: the current champion–challenger experiment on live outcomes — per-arm metrics, the
 * AUC difference with an always-valid interval (mSPRT), SRM and guardrails — and the verdict
 * acted on through the registry. Thresholds and the method: dags/README.md.
 */
export const evaluateParams = z
  .object({
    minLabelledPerArm: z.number().int().min(10).default(300).describe('labelled predictions each arm needs before the metric decides anything'),
    autoPromote: z.boolean().default(true).describe('on a promote verdict, promote the challenger in the registry'),
    autoRollback: z.boolean().default(true).describe("on a rollback verdict, set the challenger's share to 0 and remove its alias"),
    maxDays: z.number().positive().default(14).describe('an experiment still undecided after this many days is inconclusive'),
    alpha: z.number().gt(0).lt(0.5).default(0.05).describe('error rate of the always-valid interval over all looks'),
    mixtureSd: z.number().positive().default(0.05).describe('τ of the mSPRT normal mixture, in AUC units'),
    srmPValue: z.number().gt(0).lt(1).default(0.001).describe('SRM is flagged below this p-value'),
    fallbackRateMargin: z.number().min(0).max(1).default(0.01).describe("the challenger's fallback rate may exceed the champion's by this much (absolute)"),
    p99LatencyMarginMs: z.number().min(0).default(25).describe("the challenger's p99 latency may exceed the champion's by this many ms"),
  })
  .strict();
export type EvaluateParams = z.output<typeof evaluateParams>;

type Ctx = StepContext<EvaluateParams>;

export interface EvaluationReport extends EvaluationStats {
  model: string;
  experiment: { champion: number; challenger: number; challengerPercent: number; startedAt: string; startEventId: number; ageDays: number };
  window: { from: string; to: string };
  thresholds: EvaluateParams;
  verdict: Verdict;
  reasons: string[];
  guardrails: Decision['guardrails'];
}

export interface EvaluationAction {
  /** what was done in the registry: promote, rollback (share 0 and alias removed), or nothing */
  action: 'promoted' | 'rolled_back' | 'none';
  reason: string;
  /** a registry refusal (e.g. the promotion gate), when the move was tried and refused */
  error?: { status: number; code: string; message: string };
}

export type EvaluationRunOutput = EvaluationReport & { action: EvaluationAction };

async function allEvents(ctx: Ctx): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await ctx.registry.events(ctx.model, { limit: 200, ...(after === undefined ? {} : { after }) }, { signal: ctx.signal });
    out.push(...page.items);
    if (page.nextCursor === null || page.items.length === 0) return out;
    after = page.nextCursor;
  }
}

async function currentExperiment(ctx: Ctx): Promise<ExperimentState> {
  const model = await ctx.registry.findModel(ctx.model, { signal: ctx.signal });
  if (!model) throw new SkipRun(`model "${ctx.model}" does not exist in the registry`);
  const champion = model.aliases.champion;
  const challenger = model.aliases.challenger;
  if (champion === undefined) throw new SkipRun(`model "${ctx.model}" has no champion`);
  if (challenger === undefined) throw new SkipRun(`model "${ctx.model}" has no challenger: no experiment to evaluate`);
  if (model.traffic.challengerPercent === 0) throw new SkipRun(`the challenger (version ${challenger}) of "${ctx.model}" has 0% of the traffic: no experiment to evaluate`);
  return { champion, challenger, challengerPercent: model.traffic.challengerPercent, mode: model.traffic.mode };
}

async function measure(ctx: Ctx): Promise<EvaluationReport> {
  const p = ctx.params;
  const state = await currentExperiment(ctx);
  const start = findExperimentStart(await allEvents(ctx), state);
  if (!start) throw new SkipRun(`no audit event of "${ctx.model}" leads to the current champion ${state.champion} / challenger ${state.challenger} at ${state.challengerPercent}%`);
  const to = ctx.scheduledFor;
  const experiment = { model: ctx.model, mode: state.mode, championVersion: state.champion, challengerVersion: state.challenger, from: start.at, to };
  const stats = await computeEvaluationStats(ctx.db, experiment, { alpha: p.alpha, mixtureSd: p.mixtureSd, challengerShare: state.challengerPercent / 100, srmPValue: p.srmPValue });
  const ageDays = Math.max(0, (to.getTime() - start.at.getTime()) / 86_400_000);
  const decision = decide(stats, ageDays, p);
  return {
    model: ctx.model,
    experiment: { champion: state.champion, challenger: state.challenger, challengerPercent: state.challengerPercent, startedAt: start.at.toISOString(), startEventId: start.eventId, ageDays: Number(ageDays.toFixed(4)) },
    window: { from: start.at.toISOString(), to: to.toISOString() },
    thresholds: p,
    ...stats,
    verdict: decision.verdict,
    reasons: decision.reasons,
    guardrails: decision.guardrails,
  };
}

function refusal(err: unknown): EvaluationAction['error'] | null {
  return err instanceof ContenderApiError && err.status >= 400 && err.status < 500 ? { status: err.status, code: err.code, message: err.message } : null;
}

async function act(ctx: Ctx): Promise<EvaluationAction> {
  const report = ctx.outputs.measure as EvaluationReport;
  const p = ctx.params;
  const reason = `evaluate run ${ctx.runId}: ${report.verdict} version ${report.experiment.challenger} vs champion ${report.experiment.champion}: ${report.reasons.join('; ')}`.slice(0, 2000);
  if (report.verdict !== 'promote' && report.verdict !== 'rollback') return { action: 'none', reason: report.reasons.join('; ') };
  if (report.verdict === 'promote' && !p.autoPromote) return { action: 'none', reason: `autoPromote is off; ${report.reasons.join('; ')}` };
  if (report.verdict === 'rollback' && !p.autoRollback) return { action: 'none', reason: `autoRollback is off; ${report.reasons.join('; ')}` };

  // Act only on the experiment that was measured: a person may have moved things since.
  const model = await ctx.registry.getModel(ctx.model, { signal: ctx.signal });
  const e = report.experiment;
  if (report.verdict === 'promote' && model.aliases.champion === e.challenger && model.aliases.challenger === undefined) {
    return { action: 'promoted', reason }; // a retried attempt whose promotion went through
  }
  if (model.aliases.champion !== e.champion || model.aliases.challenger !== e.challenger) {
    return { action: 'none', reason: `the experiment changed while it was measured (now champion ${model.aliases.champion ?? 'none'}, challenger ${model.aliases.challenger ?? 'none'}); nothing moved` };
  }
  try {
    if (report.verdict === 'promote') {
      await ctx.registry.promote(ctx.model, { reason }, { signal: ctx.signal, idempotencyKey: ctx.idempotencyKey('promote') });
      ctx.logger.info({ champion: e.challenger, previous: e.champion }, 'evaluate: challenger promoted');
      return { action: 'promoted', reason };
    }
    if (model.traffic.challengerPercent !== 0) await ctx.registry.setTraffic(ctx.model, { challengerPercent: 0, mode: model.traffic.mode, reason }, { signal: ctx.signal });
    await ctx.registry.deleteAlias(ctx.model, 'challenger', { reason, signal: ctx.signal });
    ctx.logger.info({ challenger: e.challenger }, 'evaluate: challenger rolled back');
    return { action: 'rolled_back', reason };
  } catch (err) {
    const refused = refusal(err);
    if (!refused) throw err;
    ctx.logger.warn({ err }, 'evaluate: the registry refused the move');
    return { action: 'none', reason: `the registry refused: ${refused.message}`, error: refused };
  }
}

export default defineDag({
  id: 'evaluate',
  description: 'The champion–challenger experiment on live outcomes: per-arm metrics, AUC difference with an always-valid (mSPRT) interval, SRM and guardrails → promote, roll back, continue or inconclusive.',
  cron: '*/15 * * * *',
  params: evaluateParams,
  maxActiveRuns: 1,
  missedRuns: 'skip',
  steps: [
    { name: 'measure', run: measure, retries: { max: 2, backoffMs: 5_000 }, timeoutMs: 10 * 60_000 },
    { name: 'act', run: act, retries: { max: 2, backoffMs: 5_000 }, timeoutMs: 60_000 },
  ],
  output: (outputs): EvaluationRunOutput => ({ ...(outputs.measure as EvaluationReport), action: outputs.act as EvaluationAction }),
});
