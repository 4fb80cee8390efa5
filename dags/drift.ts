import { parseReferenceProfile, type ReferenceProfile } from '@contender/ml';
import { defineDag, SkipRun, UnrecoverableStepError, type StepContext } from '@contender/pipeline';
import { ContenderApiError } from '@contender/sdk';
import { z } from 'zod';
import { countWindowRows } from './lib/drift-counts.js';
import { computeDriftReport, type DriftReport } from './lib/drift-report.js';

/**
 * drift: the champion version's logged inputs over the last `windowHours` against the reference
 * profile registered with that version; on drift, one retrain run (trigger "drift") at most once
 * per `cooldownHours`. The thresholds and why they are what they are: dags/README.md.
 */
export const driftParams = z
  .object({
    windowHours: z.number().positive().max(24 * 30).default(24).describe('the window of logged predictions compared with the reference'),
    minRows: z.number().int().min(1).default(500).describe('fewer logged predictions in the window → the run is skipped'),
    psiWarn: z.number().positive().default(0.1).describe('a feature warns at PSI ≥ this'),
    psiDrift: z.number().positive().default(0.2).describe('a feature drifts at PSI ≥ this'),
    driftShare: z.number().gt(0).max(1).default(0.3).describe('the model drifts when at least this share of its features drift'),
    retrainOnDrift: z.boolean().default(true).describe('trigger a run of the retrain schedule on drift'),
    cooldownHours: z.number().min(0).default(24).describe('at most one drift-triggered retrain per this many hours'),
  })
  .strict()
  .refine((p) => p.psiWarn <= p.psiDrift, { message: 'psiWarn must not exceed psiDrift', path: ['psiWarn'] });
export type DriftParams = z.output<typeof driftParams>;

type Ctx = StepContext<DriftParams>;

export interface RetrainDecision {
  triggered: boolean;
  runId?: string;
  reason: string;
}

export type DriftRunOutput = DriftReport & { retrain: RetrainDecision | null };

async function referenceProfile(ctx: Ctx, version: number): Promise<ReferenceProfile> {
  let raw: unknown;
  try {
    raw = await ctx.registry.getReferenceProfile(ctx.model, version, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ContenderApiError && err.status === 404) throw new SkipRun(`the champion (version ${version}) of "${ctx.model}" has no reference profile`);
    throw err;
  }
  try {
    return parseReferenceProfile(raw);
  } catch (err) {
    throw new UnrecoverableStepError(`the reference profile of version ${version} is not a valid profile: ${(err as Error).message}`);
  }
}

async function measure(ctx: Ctx): Promise<DriftReport> {
  const p = ctx.params;
  const model = await ctx.registry.findModel(ctx.model, { signal: ctx.signal });
  if (!model) throw new SkipRun(`model "${ctx.model}" does not exist in the registry`);
  const version = model.aliases.champion;
  if (version === undefined) throw new SkipRun(`model "${ctx.model}" has no champion`);
  const profile = await referenceProfile(ctx, version);
  const to = ctx.scheduledFor;
  const w = { model: ctx.model, version, from: new Date(to.getTime() - p.windowHours * 3_600_000), to };
  const rows = await countWindowRows(ctx.db, w);
  if (rows < p.minRows) {
    throw new SkipRun(`${rows} logged predictions of version ${version} in the last ${p.windowHours} h (${w.from.toISOString()} to ${to.toISOString()}); minRows is ${p.minRows}`);
  }
  ctx.signal.throwIfAborted();
  return computeDriftReport(ctx.db, w, rows, profile, { psiWarn: p.psiWarn, psiDrift: p.psiDrift, driftShare: p.driftShare });
}

function describeDrift(runId: string, r: DriftReport): string {
  const top = r.features
    .filter((f) => f.status === 'drift')
    .sort((a, b) => b.psi - a.psi)
    .slice(0, 5)
    .map((f) => `${f.name} PSI ${f.psi.toFixed(3)}`);
  const more = r.driftedFeatures.length > top.length ? `, +${r.driftedFeatures.length - top.length} more` : '';
  return `drift run ${runId}: ${r.driftedFeatures.length} of ${r.features.length} features drifted (share ${r.driftedShare.toFixed(2)} ≥ ${r.thresholds.driftShare}; ${top.join(', ')}${more}) in ${r.rows} predictions of version ${r.version} over ${r.window.hours} h`;
}

async function retrainOnDrift(ctx: Ctx): Promise<RetrainDecision | null> {
  const report = ctx.outputs.measure as DriftReport;
  const p = ctx.params;
  if (!report.drifted) return null;
  if (!p.retrainOnDrift) return { triggered: false, reason: 'retrainOnDrift is off' };
  if (!ctx.scheduler) return { triggered: false, reason: 'this runner offers no schedule lookup, so no retrain was triggered' };
  const schedule = await ctx.scheduler.schedule('retrain', ctx.model);
  if (!schedule) return { triggered: false, reason: `"${ctx.model}" has no retrain schedule` };
  if (!schedule.enabled) return { triggered: false, reason: `the retrain schedule of "${ctx.model}" is disabled` };
  const since = new Date(ctx.scheduledFor.getTime() - p.cooldownHours * 3_600_000);
  const recent = await ctx.scheduler.runs({ dag: 'retrain', model: ctx.model, trigger: 'drift', since, limit: 1 });
  const last = recent[0];
  if (last && p.cooldownHours > 0) {
    return { triggered: false, runId: last.id, reason: `retrain run ${last.id} was triggered by drift at ${last.createdAt.toISOString()}, within the ${p.cooldownHours} h cooldown` };
  }
  const cause = describeDrift(ctx.runId, report);
  const { runId } = await ctx.triggerRun({ dag: 'retrain', model: ctx.model, params: schedule.params, trigger: 'drift', cause });
  ctx.logger.info({ retrainRunId: runId, driftedFeatures: report.driftedFeatures }, 'drift: retrain triggered');
  return { triggered: true, runId, reason: cause };
}

export default defineDag({
  id: 'drift',
  description: "The champion's logged inputs over a window against its version's reference profile (PSI, KS, Jensen–Shannon); on drift, one retrain run per cooldown.",
  cron: '0 * * * *',
  params: driftParams,
  maxActiveRuns: 1,
  missedRuns: 'skip',
  steps: [
    { name: 'measure', run: measure, retries: { max: 2, backoffMs: 5_000 }, timeoutMs: 10 * 60_000 },
    { name: 'retrain', run: retrainOnDrift, retries: { max: 2, backoffMs: 5_000 }, timeoutMs: 60_000 },
  ],
  output: (outputs): DriftRunOutput => ({ ...(outputs.measure as DriftReport), retrain: (outputs.retrain as RetrainDecision | null | undefined) ?? null }),
});
