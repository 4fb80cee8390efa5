import { z } from 'zod';
import { Limit } from './common.js';
import { ModelName } from './registry.js';

export const DAG_ID = /^[a-z][a-z0-9-]{0,62}$/;
export const DagId = z.string().regex(DAG_ID, 'must match ^[a-z][a-z0-9-]{0,62}$');

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;
/** Active runs count against a DAG's maxActiveRuns. */
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running'];

/** `retrying`: an attempt failed and the next waits out its backoff. */
export const StepStatus = z.enum(['pending', 'running', 'retrying', 'succeeded', 'failed', 'skipped', 'cancelled']);
export type StepStatus = z.infer<typeof StepStatus>;

const Params = z.record(z.string(), z.unknown());

export const PutScheduleRequest = z.strictObject({
  cron: z.string().min(1).max(200).optional().describe("node-cron syntax with its optional seconds field, UTC; default: the DAG's cron"),
  params: Params.optional().describe("validated against the DAG's params schema; omitted: kept (new schedule: {})"),
  enabled: z.boolean().optional().describe('omitted: kept (new schedule: true)'),
});
export type PutScheduleRequest = z.infer<typeof PutScheduleRequest>;

export const Schedule = z.object({
  dag: z.string(),
  model: z.string(),
  cron: z.string(),
  params: Params,
  enabled: z.boolean(),
  /** the next occurrence (UTC), null when disabled */
  nextRun: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
});
export type Schedule = z.infer<typeof Schedule>;
export const ScheduleList = z.object({ items: z.array(Schedule) });
export const ListSchedulesQuery = z.object({ dag: z.string().optional(), model: z.string().optional() });

export const TriggerRunRequest = z.strictObject({
  model: ModelName,
  params: Params.optional(),
});
export type TriggerRunRequest = z.infer<typeof TriggerRunRequest>;
export const TriggerRunResponse = z.object({ runId: z.string() });

export const RunProgress = z.object({ done: z.number(), total: z.number().optional(), unit: z.string().optional(), step: z.string().optional() });

export const StepAttempt = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** succeeded | failed | timed_out | interrupted (lease lost, shutdown) | cancelled | skipped | null while it runs */
  outcome: z.string().nullable(),
  error: z.string().optional(),
});

export const RunStep = z.object({
  name: z.string(),
  status: StepStatus,
  attempts: z.number().int(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.unknown().optional(),
  output: z.unknown().optional(),
  /** every attempt with its times: the backoff between retries shows here */
  history: z.array(StepAttempt),
});

export const Run = z.object({
  id: z.string(),
  dag: z.string(),
  model: z.string(),
  trigger: z.string(),
  cause: z.string().optional(),
  scheduledFor: z.string(),
  status: RunStatus,
  /** why a run was skipped */
  reason: z.string().optional(),
  /** 1, plus one each time a step of it moved to another replica mid-attempt (its replica died, or shut down) */
  attempt: z.number().int(),
  params: Params,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  cancelRequested: z.boolean(),
  progress: RunProgress.optional(),
  steps: z.array(RunStep),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
});
export type Run = z.infer<typeof Run>;
export const RunSummary = Run.omit({ steps: true });
export type RunSummary = z.infer<typeof RunSummary>;

export const ListRunsQuery = z.object({
  dag: z.string().optional(),
  model: z.string().optional(),
  status: RunStatus.optional(),
  limit: Limit,
  cursor: z.string().regex(/^\d+$/, 'must be a run id').optional().describe('cursor: runs with a smaller id (newest first)'),
});
export const RunList = z.object({ items: z.array(RunSummary), nextCursor: z.string().nullable() });

export const DagStep = z.object({
  name: z.string(),
  retries: z.object({ max: z.number().int(), backoffMs: z.number().int() }),
  timeoutMs: z.number().int(),
});
export const DagInfo = z.object({
  id: z.string(),
  description: z.string(),
  cron: z.string(),
  maxActiveRuns: z.number().int(),
  missedRuns: z.enum(['skip', 'once']),
  steps: z.array(DagStep),
  /** the params as JSON Schema */
  params: z.record(z.string(), z.unknown()),
});
export const DagList = z.object({ items: z.array(DagInfo) });
export const DagDetail = DagInfo.extend({
  schedules: z.array(Schedule),
  /** the soonest next occurrence over its enabled schedules */
  nextRun: z.string().nullable(),
  lastRun: RunSummary.nullable(),
});
