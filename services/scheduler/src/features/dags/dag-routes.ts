import type { DagDefinition } from '@contender/pipeline';
import type { IntrospectionAuth } from '@contender/serving/auth';
import { Router } from 'express';
import type { RunService } from '../runs/run-service.js';
import type { ScheduleService } from '../schedules/schedule-service.js';
import { stepPolicy, type DagCatalog } from './dag-catalog.js';

export function dagInfo(catalog: DagCatalog, dag: DagDefinition) {
  return {
    id: dag.id,
    description: dag.description,
    cron: dag.cron,
    maxActiveRuns: catalog.maxActiveRuns(dag),
    missedRuns: dag.missedRuns ?? 'skip',
    steps: dag.steps.map((s) => stepPolicy(s)),
    params: catalog.paramsJsonSchema(dag),
  };
}

export function dagRoutes(d: { catalog: DagCatalog; schedules: ScheduleService; runs: RunService; auth: IntrospectionAuth }): Router {
  const r = Router();
  r.get('/dags', d.auth.middleware('reader'), (_req, res) => {
    res.json({ items: d.catalog.list().map((dag) => dagInfo(d.catalog, dag)) });
  });
  r.get('/dags/:dag', d.auth.middleware('reader'), async (req, res) => {
    const dag = d.catalog.get(String(req.params.dag));
    const schedules = await d.schedules.list({ dag: dag.id });
    const next = schedules.map((s) => s.nextRun).filter((n): n is string => n !== null).sort()[0] ?? null;
    res.json({ ...dagInfo(d.catalog, dag), schedules, nextRun: next, lastRun: await d.runs.latest(dag.id) });
  });
  return r;
}
