import { Router } from 'express';
import { BatchPredictRequest } from '@contender/contracts';
import type { IntrospectionAuth, Principal } from '../auth/introspection-auth.js';
import { parseFeatureBody } from '../features/feature-checks.js';
import type { PredictService } from './predict-service.js';

/** `POST /predict/batch`: rows routed one by one, scored with one onnxruntime run per arm. */
export function batchRoutes(deps: { service: PredictService; auth: IntrospectionAuth }): Router {
  const r = Router();
  r.post('/predict/batch', deps.auth.middleware('predictor'), async (req, res) => {
    const startedAt = performance.now();
    const body = parseFeatureBody(BatchPredictRequest, req.body);
    res.json(await deps.service.predictBatch(body, res.locals.principal as Principal, req.requestId, startedAt));
  });
  return r;
}
