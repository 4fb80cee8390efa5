import { roleAtLeast, type Role } from '@contender/contracts';
import { ForbiddenError, hasBody, UnauthorizedError } from '@contender/platform';
import type { RequestHandler } from 'express';
import type { ApiKeyService, Principal } from './api-key-service.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

async function principalOf(keys: ApiKeyService, authorization: string | undefined): Promise<Principal> {
  const token = bearerToken(authorization);
  if (!token) throw new UnauthorizedError('missing API key: send Authorization: Bearer <key>');
  const principal = await keys.authenticate(token);
  if (!principal) throw new UnauthorizedError('unknown or revoked API key');
  await keys.countRequest(principal);
  return principal;
}

/**
 * Runs before any body is read: a request that carries a body to an authenticated route must
 * first show a valid key, so a stranger's gigabytes are answered 401 without being read (the
 * connection is then closed). `isPublic` names the routes that take no key
 * (`POST /api/v1/auth/introspect`); roles are still checked by each route's `requireRole`.
 */
export function authenticateBeforeBody(keys: ApiKeyService, prefix: string, isPublic: (method: string, path: string) => boolean): RequestHandler {
  return async (req, _res, next) => {
    if (!hasBody(req) || !req.path.startsWith(prefix) || isPublic(req.method, req.path)) return next();
    try {
      req.principal = await principalOf(keys, req.headers.authorization);
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** 401 without a valid key, 403 when the key's role is weaker than `role`. */
export function requireRole(keys: ApiKeyService, role: Role): RequestHandler {
  return async (req, _res, next) => {
    try {
      // Already authenticated before the body was read: the key was checked moments ago.
      const principal = req.principal ?? (await principalOf(keys, req.headers.authorization));
      if (!roleAtLeast(principal.role, role)) {
        throw new ForbiddenError(`this call needs role "${role}" or above; key "${principal.name}" has role "${principal.role}"`);
      }
      req.principal = principal;
      next();
    } catch (err) {
      next(err);
    }
  };
}
