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

export const Tags = z.record(z.string().min(1).max(128), z.string().max(1024));

/** `?limit=` for list endpoints: 1–200, default 50. */
export const Limit = z.coerce.number().int().min(1).max(200).default(50);
