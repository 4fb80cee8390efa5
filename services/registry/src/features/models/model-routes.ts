import { Router } from 'express';
import { z } from 'zod';
import {
  AliasName,
  CreateModelRequest,
  DeleteAliasQuery,
  ListEventsQuery,
  ListModelsQuery,
  ListVersionsQuery,
  PromoteRequest,
  RollbackRequest,
  SetAliasRequest,
  SetTrafficRequest,
} from '@contender/contracts';
import { AppError, parseOrThrow, type ArtifactStorage } from '@contender/platform';
import type { ApiKeyService } from '../api-keys/api-key-service.js';
import { requireRole } from '../api-keys/auth.js';
import type { IdempotencyService } from '../idempotency/idempotency-service.js';
import { idempotentJson, sendAnswer } from '../idempotency/idempotent-route.js';
import type { VersionUploader } from '../versions/version-uploader.js';
import type { ModelService } from './model-service.js';

const VersionParam = z.coerce.number().int().min(1).max(2_147_483_647);

export function modelRoutes(deps: {
  models: ModelService;
  uploader: VersionUploader;
  keys: ApiKeyService;
  storage: ArtifactStorage;
  idempotency: IdempotencyService;
}): Router {
  const { models, uploader, keys, storage, idempotency } = deps;
  const r = Router();
  const reader = requireRole(keys, 'reader');
  const scientist = requireRole(keys, 'data-scientist');
  const actor = (req: { principal?: { name: string } }) => req.principal!.name;
  const version = (raw: string | undefined) => parseOrThrow(VersionParam, raw, 'version');
  const alias = (raw: string | undefined) => parseOrThrow(AliasName, raw, 'alias');

  r.post(
    '/models',
    scientist,
    idempotentJson(idempotency, 201, (req, hook) => models.createModel(parseOrThrow(CreateModelRequest, req.body), actor(req), hook)),
  );
  r.get('/models', reader, async (req, res) => {
    res.json(await models.listModels(parseOrThrow(ListModelsQuery, req.query)));
  });
  r.get('/models/:name', reader, async (req, res) => {
    res.json(await models.getModel(req.params.name as string));
  });

  r.post('/models/:name/versions', scientist, async (req, res) => {
    sendAnswer(res, await uploader.upload(req.params.name as string, req, actor(req)));
  });
  r.get('/models/:name/versions', reader, async (req, res) => {
    res.json(await models.listVersions(req.params.name as string, parseOrThrow(ListVersionsQuery, req.query)));
  });
  r.get('/models/:name/versions/:version', reader, async (req, res) => {
    res.json(await models.getVersion(req.params.name as string, version(req.params.version as string)));
  });
  r.get('/models/:name/versions/:version/reference-profile', reader, async (req, res) => {
    res.json(await models.getReferenceProfile(req.params.name as string, version(req.params.version as string)));
  });
  r.get('/models/:name/versions/:version/artifact', reader, async (req, res) => {
    const v = await models.getVersionRecord(req.params.name as string, version(req.params.version as string));
    const etag = `"${v.sha256}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable'); // content-addressed: never changes
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    const stream = await storage.get(v.artifactKey);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(v.sizeBytes));
    res.setHeader('Content-Disposition', `attachment; filename="${v.modelName}-v${v.version}.onnx"`);
    res.setHeader('X-Content-SHA256', v.sha256);
    await new Promise<void>((resolve, reject) => {
      stream.on('error', (err: Error) => {
        // Headers are gone; the only honest signal left is a cut connection (the length won't match).
        res.destroy(err);
        reject(new AppError(502, 'artifact_read_failed', 'reading the artifact failed'));
      });
      res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  });

  r.put('/models/:name/aliases/:alias', scientist, async (req, res) => {
    const body = parseOrThrow(SetAliasRequest, req.body);
    res.json(await models.setAlias(req.params.name as string, alias(req.params.alias as string), body, actor(req)));
  });
  r.delete('/models/:name/aliases/:alias', scientist, async (req, res) => {
    const q = parseOrThrow(DeleteAliasQuery, req.query);
    res.json(await models.deleteAlias(req.params.name as string, alias(req.params.alias as string), q.reason, actor(req)));
  });
  r.put('/models/:name/traffic', scientist, async (req, res) => {
    const body = parseOrThrow(SetTrafficRequest, req.body);
    res.json(await models.setTraffic(req.params.name as string, body, actor(req)));
  });
  r.post(
    '/models/:name/promote',
    scientist,
    idempotentJson(idempotency, 200, (req, hook) =>
      models.promote(req.params.name as string, parseOrThrow(PromoteRequest, req.body ?? {}), actor(req), hook),
    ),
  );
  r.post(
    '/models/:name/rollback',
    scientist,
    idempotentJson(idempotency, 200, (req, hook) =>
      models.rollback(req.params.name as string, parseOrThrow(RollbackRequest, req.body ?? {}), actor(req), hook),
    ),
  );
  r.get('/models/:name/events', reader, async (req, res) => {
    res.json(await models.events(req.params.name as string, parseOrThrow(ListEventsQuery, req.query)));
  });
  return r;
}
