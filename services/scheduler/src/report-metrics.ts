import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The drift and evaluation gauges, read at scrape time from the latest succeeded run of each DAG
 * per model (so every replica reports the same values, whichever ran the job), and the verdict
 * counter, counted by the replica that finished the run (sum over replicas). Labels are bounded:
 * models, a model's features, two arms, four verdicts.
 */
export interface ReportMetrics {
  /** a run of `dag` for `model` succeeded with this output */
  succeeded(dag: string, model: string, output: unknown): void;
}

interface DriftOutput {
  driftedShare?: number;
  drifted?: boolean;
  features?: Array<{ name?: string; psi?: number }>;
}

interface EvaluationOutput {
  verdict?: string;
  arms?: Record<'champion' | 'challenger', { auc?: number | null; labelled?: number } | undefined>;
  srm?: { pValue?: number } | null;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function createReportMetrics(registry: Registry, latestReports: (dag: 'drift' | 'evaluate') => Promise<Array<{ model: string; output: unknown }>>): ReportMetrics {
  // One read per scrape and DAG, shared by the gauges of that DAG.
  const cached = (dag: 'drift' | 'evaluate') => {
    let pending: Promise<Array<{ model: string; output: unknown }>> | null = null;
    return () => {
      pending ??= latestReports(dag).finally(() => setTimeout(() => (pending = null), 1000).unref());
      return pending;
    };
  };
  const drift = cached('drift');
  const evaluation = cached('evaluate');

  new Gauge({
    name: 'scheduler_drift_share',
    help: 'Share of the features that drift (PSI ≥ psiDrift) in the latest drift report of each model',
    labelNames: ['model'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await drift()) {
        const o = r.output as DriftOutput;
        if (num(o?.driftedShare)) this.set({ model: r.model }, o.driftedShare);
      }
    },
  });
  new Gauge({
    name: 'scheduler_drift_detected',
    help: '1 when the latest drift report of the model says it drifts, else 0',
    labelNames: ['model'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await drift()) {
        const o = r.output as DriftOutput;
        if (typeof o?.drifted === 'boolean') this.set({ model: r.model }, o.drifted ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'scheduler_feature_drift_psi',
    help: 'PSI of each feature in the latest drift report of each model',
    labelNames: ['model', 'feature'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await drift()) {
        for (const f of (r.output as DriftOutput)?.features ?? []) if (typeof f?.name === 'string' && num(f.psi)) this.set({ model: r.model, feature: f.name }, f.psi);
      }
    },
  });
  new Gauge({
    name: 'scheduler_arm_auc',
    help: "AUC of each arm's labelled predictions in the latest evaluation of each model",
    labelNames: ['model', 'arm'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await evaluation()) {
        for (const arm of ['champion', 'challenger'] as const) {
          const a = (r.output as EvaluationOutput)?.arms?.[arm];
          if (num(a?.auc)) this.set({ model: r.model, arm }, a.auc);
        }
      }
    },
  });
  new Gauge({
    name: 'scheduler_arm_labelled',
    help: 'Labelled predictions of each arm in the latest evaluation of each model',
    labelNames: ['model', 'arm'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await evaluation()) {
        for (const arm of ['champion', 'challenger'] as const) {
          const a = (r.output as EvaluationOutput)?.arms?.[arm];
          if (num(a?.labelled)) this.set({ model: r.model, arm }, a.labelled);
        }
      }
    },
  });
  new Gauge({
    name: 'scheduler_srm_p_value',
    help: 'p-value of the sample ratio mismatch test (χ², entities per arm) in the latest evaluation of each model',
    labelNames: ['model'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await evaluation()) {
        const p = (r.output as EvaluationOutput)?.srm?.pValue;
        if (num(p)) this.set({ model: r.model }, p);
      }
    },
  });
  const verdicts = new Counter({
    name: 'scheduler_evaluation_verdicts_total',
    help: 'Verdicts of succeeded evaluate runs (promote, rollback, continue, inconclusive), by model',
    labelNames: ['model', 'verdict'] as const,
    registers: [registry],
  });
  const VERDICTS = new Set(['promote', 'rollback', 'continue', 'inconclusive']);
  return {
    succeeded(dag, model, output) {
      if (dag !== 'evaluate') return;
      const v = (output as EvaluationOutput | null)?.verdict;
      if (typeof v === 'string' && VERDICTS.has(v)) verdicts.inc({ model, verdict: v });
    },
  };
}
