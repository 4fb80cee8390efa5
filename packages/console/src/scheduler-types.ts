/**
 * The scheduler's payloads as the console reads them (the contract of the scheduler, drift and
 * evaluation issues). Fields the console does not show are left out; everything it shows is
 * treated as possibly absent, so an older or newer scheduler degrades to "—" rather than a crash.
 */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface RunStep {
  name: string;
  status: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error?: unknown;
  output?: unknown;
}

export interface RunSummary {
  id: string;
  dag: string;
  model: string;
  trigger: string;
  cause?: string;
  scheduledFor: string;
  status: RunStatus;
  reason?: string;
  attempt: number;
  params: Record<string, unknown>;
  startedAt: string | null;
  finishedAt: string | null;
  progress?: { done: number; total?: number; unit?: string; step?: string };
  output?: unknown;
  error?: unknown;
}
export interface Run extends RunSummary {
  steps: RunStep[];
}

export interface DagInfo {
  id: string;
  description: string;
  cron: string;
}
export interface Schedule {
  dag: string;
  model: string;
  cron: string;
  enabled: boolean;
  nextRun: string | null;
}

export interface ArmReport {
  version: number;
  predictions: number;
  entities?: number;
  labelled: number;
  positiveRate?: number | null;
  auc: number | null;
  aucInterval: [number, number] | null;
  logLoss?: number | null;
  brier?: number | null;
  fallbackRate?: number | null;
  p99LatencyMs?: number | null;
}
export interface Guardrail {
  challenger: number | null;
  champion: number | null;
  margin: number;
  ok: boolean;
}
export interface EvaluationReport {
  model: string;
  mode?: 'split' | 'shadow';
  experiment?: { champion: number; challenger: number; challengerPercent: number; startedAt: string; ageDays?: number };
  arms: { champion: ArmReport; challenger: ArmReport };
  comparison: {
    metric: string;
    method: string;
    rows: number;
    difference: number;
    fixedHorizon: { interval: [number, number]; pValue: number; confidenceLevel: number };
    alwaysValid: { method: string; interval: [number, number]; pValue: number; alpha: number };
  } | null;
  srm: { entities: [number, number]; expectedShare: number; statistic: number; pValue: number; flagged: boolean } | null;
  guardrails?: Record<string, Guardrail>;
  verdict: 'promote' | 'rollback' | 'continue' | 'inconclusive';
  reasons?: string[];
}

export interface FeatureDrift {
  name: string;
  kind?: string;
  psi: number;
  status?: string;
  statistic?: number;
  pValue?: number | null;
}
export interface DriftReport {
  model: string;
  version?: number;
  referenceVersion?: number;
  window?: { from: string; to: string; hours?: number };
  rows?: number;
  features: FeatureDrift[];
  driftedFeatures?: string[];
  warnedFeatures?: string[];
  driftedShare?: number;
  drifted: boolean;
}

/** One kept report with when it was made (oldest or newest first, as the scheduler answers). */
export interface Report<T> {
  at: string | null;
  runId: string | null;
  report: T;
}
