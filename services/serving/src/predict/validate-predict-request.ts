import { isEntityId, PredictRequest } from '@contender/contracts';
import { parseFeatureBody } from '../features/feature-checks.js';

/**
 * Checks a parsed /predict body against `PredictRequest`. The hand-written check accepts exactly
 * what the zod schema accepts but costs a fraction of it (this runs on every prediction); when it
 * rejects, the zod schema runs to produce the 400 that names every bad field, so error messages
 * come from one place (or the 422 for features JSON.parse made infinite, see parseFeatureBody).
 */
export function validatePredictRequest(body: unknown): PredictRequest {
  if (isPredictRequest(body)) return body;
  return parseFeatureBody(PredictRequest, body);
}

export function isPredictRequest(b: unknown): b is PredictRequest {
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return false;
  const o = b as Record<string, unknown>;
  for (const k in o) {
    if (k !== 'model' && k !== 'entityId' && k !== 'features' && k !== 'variant') return false;
  }
  const model = o.model;
  if (typeof model !== 'string' || model.length < 1 || model.length > 63) return false;
  const entityId = o.entityId;
  if (entityId !== undefined && !isEntityId(entityId)) return false;
  const variant = o.variant;
  if (variant !== undefined && variant !== 'champion' && variant !== 'challenger') return false;
  const features = o.features;
  if (features !== undefined) {
    if (typeof features !== 'object' || features === null || Array.isArray(features)) return false;
    const f = features as Record<string, unknown>;
    for (const k in f) {
      if (k.length < 1 || k.length > 256) return false;
      const v = f[k];
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) return false; // 1e400 parses to Infinity
      } else if (v !== null && (typeof v !== 'string' || v.length > 4096)) return false;
    }
  } else if (entityId === undefined) {
    return false;
  }
  return true;
}
