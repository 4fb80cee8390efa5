import { Router } from 'express';
import { EntityId, PutFeaturesRequest, type EntityFeatures } from '@contender/contracts';
import { NotFoundError, parseOrThrow } from '@contender/platform';
import type { IntrospectionAuth } from '../auth/introspection-auth.js';
import { featureLimitBreach, featureLimitError, parseFeatureBody, type FeatureLimits } from './feature-checks.js';
import type { FeatureCache } from './redis-feature-cache.js';

/**
 * `PUT|GET /features/:entityId`: push an entity's features into the cache, or read them back.
 * A PUT is held to the same rules as the features of /predict: finite numbers (422 otherwise) and
 * the caps of `limits` (413 / 400).
 */
export function featureRoutes(deps: { cache: FeatureCache; auth: IntrospectionAuth; ttlSeconds: number; limits: FeatureLimits }): Router {
  const r = Router();
  r.put('/features/:entityId', deps.auth.middleware('predictor'), async (req, res) => {
    const entityId = parseOrThrow(EntityId, req.params.entityId, 'entityId');
    const body = parseFeatureBody(PutFeaturesRequest, req.body);
    const json = JSON.stringify(body.features);
    const breach = featureLimitBreach(body.features, json, deps.limits);
    if (breach) throw featureLimitError([breach], false);
    const written = await deps.cache.put(entityId, body.features, json);
    const out: EntityFeatures = {
      entityId,
      features: body.features,
      updatedAt: new Date(written.updatedAt).toISOString(),
      expiresInSeconds: deps.ttlSeconds,
    };
    res.json(out);
  });
  r.get('/features/:entityId', deps.auth.middleware('predictor'), async (req, res) => {
    const entityId = parseOrThrow(EntityId, req.params.entityId, 'entityId');
    const cached = await deps.cache.readWithTtl(entityId);
    if (!cached) throw new NotFoundError(`entityId: no cached features for "${entityId}" (never written, or expired)`, 'features_not_found');
    const out: EntityFeatures = {
      entityId,
      features: cached.features as EntityFeatures['features'],
      updatedAt: new Date(cached.updatedAt).toISOString(),
      expiresInSeconds: cached.expiresInSeconds,
    };
    res.json(out);
  });
  return r;
}
