import { ListRunsQuery } from '@contender/contracts';
import { parseOrThrow } from '@contender/platform';
import type { IntrospectionAuth, Principal } from '@contender/serving/auth';
import { Router } from 'express';
import type { RunService } from './run-service.js';

export function runRoutes(d: { runs: RunService; auth: IntrospectionAuth; created: () => void }): Router {
  const r = Router();
  r.post('/dags/:dag/runs', d.auth.middleware('data-scientist'), async (req, res) => {
    const p = res.locals.principal as Principal;
    const run = await d.runs.trigger(String(req.params.dag), req.body ?? {}, p.name);
    if (run.status === 'queued') d.created();
    res.status(202).json({ runId: String(run.runId), status: run.status });
  });
  r.get('/runs', d.auth.middleware('reader'), async (req, res) => {
    const q = parseOrThrow(ListRunsQuery, req.query);
    res.json(await d.runs.list(q));
  });
  r.get('/runs/:id', d.auth.middleware('reader'), async (req, res) => {
    res.json(await d.runs.get(String(req.params.id)));
  });
  r.post('/runs/:id/cancel', d.auth.middleware('data-scientist'), async (req, res) => {
    res.status(202).json(await d.runs.cancel(String(req.params.id)));
  });
  return r;
}
