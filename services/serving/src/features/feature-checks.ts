import type { z } from 'zod';
import { AppError, UnprocessableError, zodToValidationError } from '@contender/platform';
import { describeProblems, NON_FINITE_REASON, type FeatureMap, type FeatureProblem } from './feature-encoder.js';


/**
 * Parses a body whose features may hold numbers that JSON.parse made infinite (`1e400`): the
 * schemas refuse them like any other bad value, but when they are the body's only problem the
 * answer is 422 `invalid_features` naming each such feature (and row), as for any other value a
 * model cannot take; otherwise the usual 400 naming every bad field. Runs only on a body the
 * schema refused, so a valid body costs nothing more.
 */
export function parseFeatureBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const found: Array<{ row: number | null; feature: string; path: string }> = [];
  let batch = false;
  if (typeof body === 'object' && body !== null) {
    const b = body as { features?: unknown; rows?: unknown };
    scan(b.features, null, 'features.', found);
    if (Array.isArray(b.rows)) {
      batch = true;
      b.rows.forEach((row: unknown, i) => scan((row as { features?: unknown } | null)?.features, i, `rows.${i}.features.`, found));
    }
  }
  if (found.length > 0) {
    const paths = new Set(found.map((f) => f.path));
    if (r.error.issues.every((i) => paths.has(i.path.map(String).join('.')))) {
      const problems: FeatureProblem[] = [];
      for (const f of found) {
        const row = f.row ?? 0;
        let p = problems.at(-1);
        if (!p || p.row !== row) problems.push((p = { row, missing: [], invalid: [] }));
        p.invalid.push({ feature: f.feature, reason: NON_FINITE_REASON });
      }
      const message = `features are not usable: ${describeProblems(problems, batch)}`;
      throw new UnprocessableError(
        'invalid_features',
        message,
        batch ? { rows: problems } : { missing: [], invalid: problems[0]!.invalid },
      );
    }
  }
  throw zodToValidationError(r.error);
}

function scan(features: unknown, row: number | null, prefix: string, out: Array<{ row: number | null; feature: string; path: string }>): void {
  if (typeof features !== 'object' || features === null || Array.isArray(features)) return;
  const f = features as Record<string, unknown>;
  for (const k of Object.keys(f)) {
    const v = f[k];
    if (typeof v === 'number' && !Number.isFinite(v)) out.push({ row, feature: k, path: prefix + k });
  }
}

/** The caps on what the feature cache keeps per entity (FEATURE_MAX_BYTES, FEATURE_MAX_COUNT). */
export interface FeatureLimits {
  /** Most bytes of the features' JSON (UTF-8). */
  maxBytes: number;
  /** Most features. */
  maxCount: number;
}

/** Which cap an entity's features break, and by how much. */
export interface FeatureLimitBreach {
  limit: 'FEATURE_MAX_BYTES' | 'FEATURE_MAX_COUNT';
  max: number;
  actual: number;
}

/**
 * Checks one entity's features against the caps (`json` is JSON.stringify(features)); null = within them. Cheap for the usual request: the JSON's length
 * decides most cases without counting bytes, and the features are counted only when the JSON is
 * long enough to hold more than `maxCount` of them (n features take at least 6n + 1 characters:
 * `{"a":1,"b":2}`).
 */
export function featureLimitBreach(features: FeatureMap, json: string, limits: FeatureLimits): FeatureLimitBreach | null {
  const length = json.length;
  if (length > limits.maxBytes) return { limit: 'FEATURE_MAX_BYTES', max: limits.maxBytes, actual: Buffer.byteLength(json) };
  if (length * 3 > limits.maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > limits.maxBytes) return { limit: 'FEATURE_MAX_BYTES', max: limits.maxBytes, actual: bytes };
  }
  if (length >= 6 * (limits.maxCount + 1) + 1) {
    let count = 0;
    for (const _ in features) count++;
    if (count > limits.maxCount) return { limit: 'FEATURE_MAX_COUNT', max: limits.maxCount, actual: count };
  }
  return null;
}

/**
 * 413 `features_too_large` (bytes) or 400 `too_many_features` (count) for the entities whose
 * features would not be cached; in a batch each breach names its row. When rows break both caps,
 * the byte cap is reported, with every row over it.
 */
export function featureLimitError(breaches: Array<FeatureLimitBreach & { row?: number }>, batch: boolean): AppError {
  const bytes = breaches.filter((b) => b.limit === 'FEATURE_MAX_BYTES');
  const shown = bytes.length ? bytes : breaches;
  const first = shown[0]!;
  const where = (b: { row?: number }) => (batch ? `rows[${b.row}].features` : 'features');
  const what = (b: FeatureLimitBreach) =>
    b.limit === 'FEATURE_MAX_BYTES' ? `${b.actual} bytes of JSON, over FEATURE_MAX_BYTES (${b.max})` : `${b.actual} features, over FEATURE_MAX_COUNT (${b.max})`;
  const list = shown.slice(0, 20).map((b) => `${where(b)}: ${what(b)}`);
  if (shown.length > 20) list.push(`… and ${shown.length - 20} more rows`);
  const message = `an entity's cached features are capped: ${list.join('; ')}`;
  const details = {
    limit: first.limit,
    max: first.max,
    ...(batch ? { rows: shown.map((b) => ({ row: b.row, actual: b.actual })) } : { actual: first.actual }),
  };
  return first.limit === 'FEATURE_MAX_BYTES' ? new AppError(413, 'features_too_large', message, details) : new AppError(400, 'too_many_features', message, details);
}
