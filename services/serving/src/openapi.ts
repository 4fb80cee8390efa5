import {
  BatchPredictRequest,
  BatchPredictResponse,
  EntityFeatures,
  PredictRequest,
  PredictResponse,
  PutFeaturesRequest,
  buildOpenApi,
  type RouteSpec,
} from '@contender/contracts';
import { feedbackRouteSpecs } from './feedback/feedback-routes.js';

export const servingRoutes: RouteSpec[] = [
  {
    method: 'post',
    path: '/predict',
    summary: 'Score one request with the champion or the challenger, as the traffic policy says',
    description:
      'Features come with the request (and are written through to the feature cache when an entityId is given) or, with only an entityId, from the cache. ' +
      'Assignment is sticky per (model, entityId); without an entityId it is random. In shadow mode the champion answers and the challenger scores the request afterwards. ' +
      'If the routed version fails, the champion (or the previous champion) answers with `fallback: true`. Honours and returns X-Request-Id. ' +
      '422: missing_features / invalid_features (every name listed), features_not_found, variant_unavailable, unscorable_features; 404 model_not_found; 413 over 1 MiB; ' +
      '503 feature_cache_unavailable (entity-only request while Redis is down), no_model_available.',
    role: 'predictor',
    body: PredictRequest,
    responses: { 200: { description: 'the prediction', schema: PredictResponse } },
  },
  {
    method: 'post',
    path: '/predict/batch',
    summary: 'Score many rows: routed per row, one onnxruntime run per arm',
    description: 'At most MAX_BATCH_ROWS rows (default 10,000) and 1 MiB. A 422 lists every row whose features are missing or unusable.',
    role: 'predictor',
    body: BatchPredictRequest,
    responses: { 200: { description: 'one prediction per row, in order', schema: BatchPredictResponse } },
  },
  {
    method: 'put',
    path: '/features/{entityId}',
    summary: "Write an entity's features to the feature cache (expire FEATURE_TTL_SECONDS after the write)",
    role: 'predictor',
    body: PutFeaturesRequest,
    responses: { 200: { description: 'stored', schema: EntityFeatures } },
  },
  {
    method: 'get',
    path: '/features/{entityId}',
    summary: "Read an entity's cached features, with when they were written",
    role: 'predictor',
    responses: { 200: { description: 'the features', schema: EntityFeatures }, 404: { description: 'features_not_found' } },
  },
  ...feedbackRouteSpecs,
];

let cached: object | undefined;
export function servingOpenApi(): object {
  cached ??= buildOpenApi(
    {
      title: 'Contender serving',
      version: '1',
      description:
        'Champion–challenger predictions, the feature cache, outcomes and the prediction log. Auth: Authorization: Bearer <registry API key>. Errors: { error: { code, message, details, requestId } }.',
    },
    servingRoutes,
  );
  return cached;
}
