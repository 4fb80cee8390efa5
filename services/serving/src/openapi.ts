import {
  BatchPredictRequest,
  BatchPredictResponse,
  EntityFeatures,
  EntityId,
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
      'Features come with the request (and, with an entityId, are written through to the feature cache once they passed validation for the version that scores them: a request refused for its features writes nothing) or, with only an entityId, from the cache. ' +
      'Assignment is sticky per (model, entityId); without an entityId it is random. In shadow mode the champion answers and the challenger scores the request afterwards. ' +
      'If the routed version fails, the champion (or the previous champion) answers with `fallback: true`. Honours and returns X-Request-Id. ' +
      'Numbers must fit the input they feed: finite (1e400 is Infinity once parsed), within ±3.4028234663852886e38 for float32, within int32\'s range, within ±(2^53 − 1) for int64. ' +
      'An entityId is 1–256 characters without control characters (U+0000–U+001F, U+007F). ' +
      '422: missing_features / invalid_features (every name listed, with the reason), features_not_found, variant_unavailable, unscorable_features; 404 model_not_found; ' +
      '413 payload_too_large (over 1 MiB) or features_too_large (features with an entityId over FEATURE_MAX_BYTES, default 16384, of JSON); 400 too_many_features (over FEATURE_MAX_COUNT, default 512); ' +
      '401 unauthorized (also for a key not of the platform format `ctk_…`, refused without asking the registry); ' +
      '503 feature_cache_unavailable (entity-only request while Redis is down), no_model_available.',
    role: 'predictor',
    body: PredictRequest,
    responses: { 200: { description: 'the prediction', schema: PredictResponse } },
  },
  {
    method: 'post',
    path: '/predict/batch',
    summary: 'Score many rows: routed per row, one onnxruntime run per arm',
    description:
      'At most MAX_BATCH_ROWS rows (default 10,000; more → 413 too_many_rows, details.limit) and a body of MAX_BATCH_ROWS × BATCH_ROW_BYTES + 65,536 bytes ' +
      '(defaults 10,000 × 1,024 + 65,536 = 10,305,536 bytes; more → 413 payload_too_large, details.limitBytes), arriving within HTTP_BODY_TIMEOUT_MS (408). Every other route takes at most 1 MiB. A 422 lists every row whose features are missing or unusable (the same value rules as /predict). ' +
      'Rows with an entityId and features are written through once every row passed validation (a refused batch writes nothing), within FEATURE_MAX_BYTES (413 features_too_large) and FEATURE_MAX_COUNT (400 too_many_features), each breach naming its row.',
    role: 'predictor',
    body: BatchPredictRequest,
    responses: { 200: { description: 'one prediction per row, in order', schema: BatchPredictResponse } },
  },
  {
    method: 'put',
    path: '/features/{entityId}',
    summary: "Write an entity's features to the feature cache (expire FEATURE_TTL_SECONDS after the write)",
    description:
      'At most FEATURE_MAX_BYTES (default 16384) bytes of JSON (413 features_too_large) and FEATURE_MAX_COUNT (default 512) features (400 too_many_features); ' +
      'a number that is not finite (1e400) answers 422 invalid_features naming the feature. Nothing is stored on any error.',
    params: { entityId: EntityId },
    role: 'predictor',
    body: PutFeaturesRequest,
    responses: { 200: { description: 'stored', schema: EntityFeatures } },
  },
  {
    method: 'get',
    path: '/features/{entityId}',
    summary: "Read an entity's cached features, with when they were written",
    params: { entityId: EntityId },
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
