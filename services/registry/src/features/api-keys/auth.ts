import { roleAtLeast, type Role } from '@contender/contracts';
import { ForbiddenError, UnauthorizedError } from '@contender/platform';
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

/** 401 without a valid key, 403 when the key's role is weaker than `role`. */
export function requireRole(keys: ApiKeyService, role: Role): RequestHandler {
  return async (req, _res, next) => {
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new UnauthorizedError('missing API key: send Authorization: Bearer <key>');
      const principal = await keys.authenticate(token);
      if (!principal) throw new UnauthorizedError('unknown or revoked API key');
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
