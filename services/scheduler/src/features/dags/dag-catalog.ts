import type { DagDefinition, StepDefinition } from '@contender/pipeline';
import { NotFoundError, zodToValidationError } from '@contender/platform';
import { z } from 'zod';

/** Defaults of the DAG contract (packages/pipeline/src/define-dag.ts). */
export const DEFAULT_STEP_TIMEOUT_MS = 30 * 60_000;

export interface StepPolicy {
  name: string;
  retries: { max: number; backoffMs: number };
  timeoutMs: number;
}

export function stepPolicy(step: StepDefinition<never> | StepDefinition): StepPolicy {
  return {
    name: step.name,
    retries: { max: Math.max(0, step.retries?.max ?? 0), backoffMs: Math.max(0, step.retries?.backoffMs ?? 0) },
    timeoutMs: step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
  };
}

/** The DAGs this scheduler offers, by id (given to the container: tests pass their own). */
export class DagCatalog {
  private readonly byId = new Map<string, DagDefinition>();

  constructor(dags: ReadonlyArray<DagDefinition>) {
    for (const d of dags) {
      if (this.byId.has(d.id)) throw new Error(`two DAGs have the id "${d.id}"`);
      if (!d.steps.length) throw new Error(`dag ${d.id} has no steps`);
      this.byId.set(d.id, d);
    }
  }

  list(): DagDefinition[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  find(id: string): DagDefinition | undefined {
    return this.byId.get(id);
  }

  /** 404 dag_not_found for an id no DAG has. */
  get(id: string): DagDefinition {
    const d = this.byId.get(id);
    if (!d) throw new NotFoundError(`no DAG "${id}"; GET /api/v1/dags lists them`, 'dag_not_found');
    return d;
  }

  /** The params with the DAG's defaults applied; a 400 naming every bad field as `params.<field>`. */
  parseParams(dag: DagDefinition, params: unknown): Record<string, unknown> {
    const r = dag.params.safeParse(params ?? {});
    if (!r.success) throw zodToValidationError(r.error, 'params');
    return r.data as Record<string, unknown>;
  }

  maxActiveRuns(dag: DagDefinition): number {
    return Math.max(1, dag.maxActiveRuns ?? 1);
  }

  paramsJsonSchema(dag: DagDefinition): Record<string, unknown> {
    return z.toJSONSchema(dag.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  }
}
