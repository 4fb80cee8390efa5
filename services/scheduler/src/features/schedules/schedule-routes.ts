import { ListSchedulesQuery } from '@contender/contracts';
import { parseOrThrow } from '@contender/platform';
import type { IntrospectionAuth, Principal } from '@contender/serving/auth';
import { Router } from 'express';
import type { ScheduleService } from './schedule-service.js';

export function scheduleRoutes(d: { schedules: ScheduleService; auth: IntrospectionAuth }): Router {
  const r = Router();
  r.put('/schedules/:dag/:model', d.auth.middleware('data-scientist'), async (req, res) => {
    const p = res.locals.principal as Principal;
    const { schedule, created } = await d.schedules.put(String(req.params.dag), String(req.params.model), req.body ?? {}, p.name);
    res.status(created ? 201 : 200).json(schedule);
  });
  r.get('/schedules', d.auth.middleware('reader'), async (req, res) => {
    const q = parseOrThrow(ListSchedulesQuery, req.query);
    res.json({ items: await d.schedules.list(q) });
  });
  r.delete('/schedules/:dag/:model', d.auth.middleware('data-scientist'), async (req, res) => {
    await d.schedules.delete(String(req.params.dag), String(req.params.model));
    res.status(204).end();
  });
  return r;
}
