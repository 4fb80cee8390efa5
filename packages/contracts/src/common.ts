import { z } from 'zod';

/** Roles, weakest first: each role may do everything the ones before it may. */
export const ROLES = ['reader', 'predictor', 'data-scientist', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string().describe('stable snake_case code, e.g. validation_failed, promotion_gate_failed'),
    message: z.string(),
    details: z.unknown().nullable(),
    requestId: z.string(),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

/** `?limit=` for list endpoints: 1–200, default 50. */
export const Limit = z.coerce.number().int().min(1).max(200).default(50);

/**
 * Text the platform stores: Postgres `text` and `jsonb` cannot hold U+0000, so a NUL that
 * reached SQL was a 500. Every name, id, cursor and free-text field shares this one rule.
 */
export const NUL_FREE = /^[^\u0000]*$/;
export const NUL_MESSAGE = 'must not contain NUL (\\u0000) characters';
export const SafeString = z.string().regex(NUL_FREE, NUL_MESSAGE);

export const Tags = z.record(SafeString.min(1).max(128), SafeString.max(1024));

/** Deepest nesting accepted in a JSON value (bodies, metadata, a reference profile); real ones stay under 10. */
export const MAX_JSON_DEPTH = 32;

export interface JsonProblem {
  /** Where, as field names from the top (the depth case stops a few levels down and adds `…`). */
  path: string[];
  message: string;
}

/**
 * The first string or key with a NUL, or the first value nested deeper than `maxDepth`, in a
 * parsed JSON value; null when there is none. It stops at `maxDepth`, so it never recurses
 * further than that however deep the value is (JSON.stringify of a 5,000-deep value throws).
 */
export function findJsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | null {
  const walk = (v: unknown, path: string[]): JsonProblem | null => {
    if (typeof v === 'string') return NUL_FREE.test(v) ? null : { path, message: NUL_MESSAGE };
    if (v === null || typeof v !== 'object') return null;
    if (path.length >= maxDepth) {
      return { path: [...path.slice(0, 3), ...(path.length > 3 ? ['…'] : [])], message: `nested deeper than ${maxDepth} levels` };
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const p = walk(v[i], [...path, String(i)]);
        if (p) return p;
      }
      return null;
    }
    for (const [k, child] of Object.entries(v)) {
      if (!NUL_FREE.test(k)) return { path: [...path, k.replace(/\u0000/g, '\\u0000')], message: `key ${NUL_MESSAGE}` };
      const p = walk(child, [...path, k]);
      if (p) return p;
    }
    return null;
  };
  return walk(value, []);
}
