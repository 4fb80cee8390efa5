import { ReportQuery, type Report } from '@contender/contracts';
import { NotFoundError, parseOrThrow } from '@contender/platform';
import type { IntrospectionAuth } from '@contender/serving/auth';
import { Router } from 'express';
import type { RunService } from '../runs/run-service.js';

/**
 * The drift and evaluation reports of a model: the outputs of the latest succeeded runs of the
 * `drift` and `evaluate` DAGs for it (a report is a run's output; the run keeps it).
 */
export function reportRoutes(d: { runs: RunService; auth: IntrospectionAuth }): Router {
  const r = Router();
  const route = (path: string, dag: 'drift' | 'evaluate') =>
    r.get(path, d.auth.middleware('reader'), async (req, res) => {
      const model = String(req.params.model);
      const q = parseOrThrow(ReportQuery, req.query);
      const rows = await d.runs.latestSucceededOutputs(dag, model, q.history ?? 1);
      const items: Report[] = rows.map((x) => ({ model, dag, runId: x.runId, scheduledFor: x.scheduledFor, finishedAt: x.finishedAt, report: x.output }));
      if (q.history !== undefined) {
        res.json({ model, dag, items });
        return;
      }
      if (!items[0]) throw new NotFoundError(`no ${dag} run of "${model}" has succeeded yet`, 'report_not_found');
      res.json(items[0]);
    });
  route('/models/:model/drift', 'drift');
  route('/models/:model/evaluation', 'evaluate');
  return r;
}
