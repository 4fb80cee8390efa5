import { Router } from 'express';
import { z } from 'zod';
import { CreateApiKeyRequest, IntrospectRequest } from '@contender/contracts';
import { parseOrThrow } from '@contender/platform';
import { actorOf, type ApiKeyService } from './api-key-service.js';
import { requireRole } from './auth.js';

export function apiKeyRoutes(keys: ApiKeyService): Router {
  const r = Router();
  const admin = requireRole(keys, 'admin');
  r.post('/api-keys', admin, async (req, res) => {
    res.status(201).json(await keys.create(parseOrThrow(CreateApiKeyRequest, req.body), actorOf(req.principal!)));
  });
  r.get('/api-keys', admin, async (_req, res) => {
    res.json({ items: await keys.list() });
  });
  r.delete('/api-keys/:id', admin, async (req, res) => {
    const id = parseOrThrow(z.coerce.number().int().min(1), req.params.id, 'id');
    res.json(await keys.revoke(id, actorOf(req.principal!)));
  });
  // No key needed: the answer only tells the holder of a key what that key is. Keys are 256-bit
  // random, so this is no guessing oracle.
  // Limited per client address all the same, so guessing costs time.
  r.post('/auth/introspect', async (req, res) => {
    await keys.countAnonymousRequest(req.socket.remoteAddress);
    res.json(await keys.introspect(parseOrThrow(IntrospectRequest, req.body).key));
  });
  return r;
}
