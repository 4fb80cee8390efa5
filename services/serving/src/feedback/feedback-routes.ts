import express from 'express';
import {
  Feedback,
  FeedbackRequest,
  ListPredictionsQuery,
  PredictionList,
  type Role,
  type RouteSpec,
} from '@contender/contracts';
import { asyncHandler, parseOrThrow, type Pool } from '@contender/platform';
import type { PredictionLog } from '../prediction-log/prediction-log.js';
import { FeedbackService } from './feedback-service.js';
import { PgFeedbackStore, type StoredFeedback } from './pg-feedback-store.js';
import { PgPredictionReadModel } from './pg-prediction-read-model.js';

export interface FeedbackRoutesDeps {
  pool: Pool;
  log: Pick<PredictionLog, 'findPending' | 'pendingForEntity' | 'hasSpillBacklog'>;
  requireRole: (role: Role) => express.RequestHandler;
  /** Wait this long for an unknown prediction id to appear before 404 (other replicas' buffers). Default 500. */
  notFoundGraceMs?: number;
}

/** `POST /feedback` and `GET /predictions`. */
export function feedbackRoutes(deps: FeedbackRoutesDeps): express.Router {
  const service = new FeedbackService({
    store: new PgFeedbackStore(deps.pool),
    readModel: new PgPredictionReadModel(deps.pool),
    log: deps.log,
    notFoundGraceMs: deps.notFoundGraceMs ?? 500,
  });
  const router = express.Router();

  router.post(
    '/feedback',
    deps.requireRole('predictor'),
    asyncHandler(async (req, res) => {
      const body = parseOrThrow(FeedbackRequest, req.body);
      const stored = await service.record({
        predictionId: body.predictionId,
        label: body.label,
        at: body.at === undefined ? undefined : new Date(body.at),
      });
      res.status(202).json(toJson(stored));
    }),
  );

  router.get(
    '/predictions',
    deps.requireRole('reader'),
    asyncHandler(async (req, res) => {
      const q = parseOrThrow(ListPredictionsQuery, req.query);
      res.json({ items: await service.listPredictions(q) });
    }),
  );

  return router;
}

const toJson = (f: StoredFeedback): Feedback => ({
  predictionId: f.predictionId,
  label: f.label,
  at: f.at.toISOString(),
  receivedAt: f.receivedAt.toISOString(),
});

/** For the service's OpenAPI document. */
export const feedbackRouteSpecs: RouteSpec[] = [
  {
    method: 'post',
    path: '/feedback',
    summary: 'Record the observed outcome of a prediction',
    description:
      'Idempotent per prediction: the same label again answers 202 and stores nothing new; a different label answers 409 feedback_conflict. The outcome of a classifier\'s prediction must be 0 or 1 (else 422 invalid_label); a regressor\'s may be any finite number. An unknown predictionId answers 404 prediction_not_found, or 503 prediction_log_catching_up while predictions from a database outage are still being written.',
    role: 'predictor',
    body: FeedbackRequest,
    responses: { 202: { description: 'stored (or already stored with the same label)', schema: Feedback } },
  },
  {
    method: 'get',
    path: '/predictions',
    summary: "An entity's logged predictions with their outcomes, newest first",
    description:
      "This replica's predictions appear at once, read from memory until they are written; another replica's within about one flush interval (200 ms).",
    role: 'reader',
    query: ListPredictionsQuery,
    responses: { 200: { description: 'the predictions', schema: PredictionList } },
  },
];
