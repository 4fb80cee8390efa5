import { Router } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '@contender/platform';
import type { ApiKeyService } from '../api-keys/api-key-service.js';
import { requireRole } from '../api-keys/auth.js';
import type { DeploymentReadModel } from './deployment-read-model.js';

const Query = z.object({ models: z.string().optional().describe('comma-separated model names; default all') });

export function deploymentRoutes(deps: { deployments: DeploymentReadModel; keys: ApiKeyService }): Router {
  const r = Router();
  r.get('/deployments', requireRole(deps.keys, 'reader'), async (req, res) => {
    const q = parseOrThrow(Query, req.query);
    res.json(await deps.deployments.list(q.models ? { models: q.models.split(',').map((s) => s.trim()).filter(Boolean) } : undefined));
  });
  return r;
}
