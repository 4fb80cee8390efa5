import { findJsonProblem, type JsonProblem } from '@contender/contracts';
import { ValidationError } from '@contender/platform';
import type { RequestHandler } from 'express';

/** A 400 validation_failed naming the field, in the shape zod failures have. */
export function unsafeInputError(problem: JsonProblem, prefix?: string): ValidationError {
  const path = [...(prefix ? [prefix] : []), ...problem.path].join('.') || '(body)';
  return new ValidationError(`${path}: ${problem.message}`, [{ path, message: problem.message, code: 'custom' }]);
}

/**
 * One check for every registry route, before any of them looks at its input: a NUL in a query
 * string or anywhere in a JSON body (Postgres text and jsonb refuse it: a 500 before), or a body
 * nested deeper than MAX_JSON_DEPTH → 400 naming the field. Path parameters are checked by the
 * routers (`router.param`), which know their names.
 */
export const refuseUnsafeInput: RequestHandler = (req, _res, next) => {
  const problem = findJsonProblem(req.query) ?? (req.body === undefined ? null : findJsonProblem(req.body));
  next(problem ? unsafeInputError(problem) : undefined);
};
