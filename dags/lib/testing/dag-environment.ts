import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPool, type Pool } from '@contender/platform';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import type { DagDefinition, RunProgress, StepContext } from '@contender/pipeline';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { RegistryClient, ServingClient } from '@contender/sdk';
import { migrateServing } from '@contender/serving';
import { startTestServing, type TestServing } from '@contender/serving/testing';

/**
 * The real parts a DAG's steps talk to, for tests and benchmarks: an in-process registry (own
 * database and artifact folder), a serving database with serving's published tables (serving
 * itself is started on demand, once there is a champion to load), and clients with a
 * data-scientist key, as the scheduler holds.
 */
export interface DagEnvironment {
  registry: TestRegistry;
  /** the scheduler's view: a data-scientist key */
  registryClient: RegistryClient;
  servingDatabase: TestDatabase;
  /** read access to serving.* (what the runner gives as ctx.db) */
  db: Pool;
  /** started by startServing() */
  serving: TestServing | null;
  servingClient: ServingClient;
  startServing(env?: Record<string, string>): Promise<TestServing>;
  close(): Promise<void>;
}

export async function startDagEnvironment(): Promise<DagEnvironment> {
  const registry = await startTestRegistry();
  const cleanups: (() => Promise<void>)[] = [() => registry.close()];
  try {
    const schedulerKey = await registry.createKey('data-scientist', 'scheduler');
    const servingKey = await registry.createKey('predictor', 'serving');
    const servingDatabase = await createTestDatabase('dags_serving');
    cleanups.unshift(() => servingDatabase.drop());
    // Serving's migrations create serving.*; run them now so steps can read the tables before serving starts.
    const migratePool = createPool(servingDatabase.url, { max: 1 });
    try {
      await migrateServing(migratePool);
    } finally {
      await migratePool.end();
    }
    const db = createPool(servingDatabase.url, { max: 4 });
    cleanups.unshift(() => db.end());
    const env: DagEnvironment = {
      registry,
      registryClient: new RegistryClient({ baseUrl: registry.url, apiKey: schedulerKey }),
      servingDatabase,
      db,
      serving: null,
      servingClient: new ServingClient({ baseUrl: 'http://127.0.0.1:1', apiKey: schedulerKey }),
      async startServing(extra = {}) {
        if (env.serving) return env.serving;
        const serving = await startTestServing({ registryUrl: registry.url, apiKey: servingKey, databaseUrl: servingDatabase.url, env: extra });
        cleanups.unshift(() => serving.close());
        env.serving = serving;
        env.servingClient = new ServingClient({ baseUrl: serving.url, apiKey: schedulerKey });
        return serving;
      },
      async close() {
        for (const c of cleanups) await c().catch(() => undefined);
      },
    };
    return env;
  } catch (err) {
    for (const c of cleanups) await c().catch(() => undefined);
    throw err;
  }
}

export interface TestRunResult {
  runId: string;
  /** each step's output after a JSON round trip, as the runner stores it */
  outputs: Record<string, unknown>;
  output: unknown;
  progress: RunProgress[];
  /** step name → attempts made */
  attempts: Record<string, number>;
}

export interface RunDagOptions {
  model: string;
  params?: unknown;
  runId?: string;
  /** aborts the step that is running */
  signal?: AbortSignal;
  /** steps whose output is given instead of running them (as after a takeover) */
  outputs?: Record<string, unknown>;
  /** called with every progress report, after it is recorded */
  onProgress?: (p: RunProgress, step: string) => void;
}

/**
 * Runs a DAG's steps in order with a real StepContext, in this process: the params parsed by the
 * DAG's schema, outputs stored as JSON between steps, a folder of its own per step (removed after
 * it), idempotency keys stable per run and step. No retries and no lease: that is the runner's
 * part, tested with the scheduler.
 */
export async function runDagSteps<S extends DagDefinition>(dag: S, env: Pick<DagEnvironment, 'registryClient' | 'servingClient' | 'db'>, o: RunDagOptions): Promise<TestRunResult> {
  const runId = o.runId ?? randomUUID();
  const params = dag.params.parse(o.params ?? {});
  const outputs: Record<string, unknown> = { ...(o.outputs ?? {}) };
  const progress: RunProgress[] = [];
  const attempts: Record<string, number> = {};
  for (const step of dag.steps) {
    if (step.name in outputs) continue;
    const controller = new AbortController();
    const onAbort = () => controller.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const tmpDir = await mkdtemp(path.join(os.tmpdir(), `dag-${dag.id}-${step.name}-`));
    attempts[step.name] = (attempts[step.name] ?? 0) + 1;
    const ctx: StepContext<unknown> = {
      runId,
      dag: dag.id,
      model: o.model,
      trigger: 'manual',
      cause: null,
      scheduledFor: new Date(),
      params,
      outputs: { ...outputs },
      attempt: attempts[step.name]!,
      signal: controller.signal,
      logger: silentLogger,
      registry: env.registryClient,
      serving: env.servingClient,
      db: env.db,
      progress: (p) => {
        progress.push({ ...p });
        o.onProgress?.(p, step.name);
      },
      idempotencyKey: (purpose) => `${dag.id}:${runId}:${step.name}:${purpose}`,
      triggerRun: () => Promise.reject(new Error('triggerRun is the runner’s; not available in runDagSteps')),
      tmpDir,
    };
    try {
      const out = await step.run(ctx as never);
      outputs[step.name] = out === undefined ? null : JSON.parse(JSON.stringify(out));
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      await rm(tmpDir, { recursive: true, force: true });
    }
  }
  return { runId, outputs, output: dag.output ? dag.output(outputs) : outputs[dag.steps[dag.steps.length - 1]!.name], progress, attempts };
}

const noop = () => undefined;
const silentLogger = { debug: noop, info: noop, warn: noop, error: noop };
