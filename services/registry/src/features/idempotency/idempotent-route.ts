import type { Request, RequestHandler, Response } from 'express';
import { canonicalJson, type CommitHook, type IdempotencyService, type IdempotentAnswer } from './idempotency-service.js';

/** Sends an answer; a replayed one says so in `Idempotent-Replayed: true`. */
export function sendAnswer(res: Response, answer: IdempotentAnswer): void {
  if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(answer.status).json(answer.body);
}

/**
 * A creating JSON POST that honours `Idempotency-Key`: the body's canonical JSON is the request's
 * identity, `handler` passes the hook to the service that commits. Put after the role check.
 */
export function idempotentJson(idem: IdempotencyService, status: number, handler: (req: Request, hook?: CommitHook) => Promise<unknown>): RequestHandler {
  return async (req, res) => {
    const scope = idem.scope(req);
    const fingerprint = scope ? idem.fingerprint(scope, [canonicalJson(req.body ?? {})]) : '';
    sendAnswer(res, await idem.run(scope, fingerprint, status, (hook) => handler(req, hook)));
  };
}
