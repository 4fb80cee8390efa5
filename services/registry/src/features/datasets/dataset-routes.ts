import { Router, type Response } from 'express';
import { CreateDatasetRequest, DatasetName, DatasetVersionSelector, ListDatasetsQuery, ListDatasetVersionsQuery, ListEventsQuery } from '@contender/contracts';
import { AppError, parseOrThrow, type ArtifactStorage } from '@contender/platform';
import { actorOf, type ApiKeyService } from '../api-keys/api-key-service.js';
import { requireRole } from '../api-keys/auth.js';
import type { IdempotencyService } from '../idempotency/idempotency-service.js';
import { idempotentJson, sendAnswer } from '../idempotency/idempotent-route.js';
import type { DatasetService } from './dataset-service.js';
import type { DatasetUploader } from './dataset-uploader.js';

export function datasetRoutes(deps: {
  datasets: DatasetService;
  uploader: DatasetUploader;
  keys: ApiKeyService;
  storage: ArtifactStorage;
  idempotency: IdempotencyService;
}): Router {
  const { datasets, uploader, keys, storage, idempotency } = deps;
  const r = Router();
  const reader = requireRole(keys, 'reader');
  const scientist = requireRole(keys, 'data-scientist');
  const actor = (req: { principal?: { name: string; keyId: number } }) => actorOf(req.principal!);
  // A name outside the rule cannot exist; saying why beats a 404 (and keeps odd bytes away from SQL).
  const name = (raw: unknown) => parseOrThrow(DatasetName, raw, 'name');
  const version = (raw: unknown) => parseOrThrow(DatasetVersionSelector, raw, 'version');

  r.post(
    '/datasets',
    scientist,
    idempotentJson(idempotency, 201, (req, hook) => datasets.createDataset(parseOrThrow(CreateDatasetRequest, req.body), actor(req), hook)),
  );
  r.get('/datasets', reader, async (req, res) => {
    res.json(await datasets.listDatasets(parseOrThrow(ListDatasetsQuery, req.query)));
  });
  r.get('/datasets/:name', reader, async (req, res) => {
    res.json(await datasets.getDataset(name(req.params.name)));
  });
  r.post('/datasets/:name/versions', scientist, async (req, res) => {
    sendAnswer(res, await uploader.upload(name(req.params.name), req, actor(req)));
  });
  r.get('/datasets/:name/versions', reader, async (req, res) => {
    res.json(await datasets.listVersions(name(req.params.name), parseOrThrow(ListDatasetVersionsQuery, req.query)));
  });
  r.get('/datasets/:name/versions/:version', reader, async (req, res) => {
    res.json(await datasets.getVersion(name(req.params.name), version(req.params.version)));
  });
  r.get('/datasets/:name/versions/:version/content', reader, async (req, res) => {
    const selector = version(req.params.version);
    const v = await datasets.getVersionRecord(name(req.params.name), selector);
    const etag = `"${v.sha256}"`;
    res.setHeader('ETag', etag);
    // private: datasets are read with a key; a numbered version never changes, `latest` may.
    res.setHeader('Cache-Control', selector === 'latest' ? 'private, no-cache' : 'private, max-age=31536000, immutable');
    res.setHeader('X-Dataset-Version', String(v.version));
    if (matchesEtag(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    await streamObject(res, await storage.get(v.objectKey), {
      contentType: 'text/csv; charset=utf-8',
      sizeBytes: v.sizeBytes,
      sha256: v.sha256,
      filename: `${v.datasetName}-v${v.version}.csv`,
    });
  });
  r.get('/datasets/:name/events', reader, async (req, res) => {
    res.json(await datasets.events(name(req.params.name), parseOrThrow(ListEventsQuery, req.query)));
  });
  return r;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

async function streamObject(
  res: Response,
  stream: NodeJS.ReadableStream & { destroy(): void },
  o: { contentType: string; sizeBytes: number; sha256: string; filename: string },
): Promise<void> {
  res.setHeader('Content-Type', o.contentType);
  res.setHeader('Content-Length', String(o.sizeBytes));
  res.setHeader('Content-Disposition', `attachment; filename="${o.filename}"`);
  res.setHeader('X-Content-SHA256', o.sha256);
  await new Promise<void>((resolve, reject) => {
    stream.on('error', (err: Error) => {
      // Headers are gone; the only honest signal left is a cut connection (the length won't match).
      res.destroy(err);
      reject(new AppError(502, 'artifact_read_failed', 'reading the dataset failed'));
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}
