import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { z } from 'zod';
import { ConflictError } from './errors.js';
import { createHttpApp, finishHttpApp, parseOrThrow } from './http.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';

function app(route: (a: ReturnType<typeof createHttpApp>) => void, readiness = async () => ({ ready: true, checks: {} })) {
  const logs: unknown[] = [];
  const logger = createLogger('test', 'error');
  logger.error = ((obj: unknown) => logs.push(obj)) as typeof logger.error;
  const a = createHttpApp({ service: 'test', logger, metrics: createMetricsRegistry('test', { defaultMetrics: false }), readiness, openapi: () => ({ openapi: '3.0.3', paths: {} }), jsonLimitBytes: 100 });
  route(a);
  return { app: finishHttpApp(a, logger), logs };
}

describe('the shared HTTP app', () => {
  it('turns a zod failure into 400 validation_failed naming each field and reason', async () => {
    const { app: a } = app((x) =>
      x.post('/things', (req, res) => {
        res.json(parseOrThrow(z.object({ name: z.string(), size: z.number().int() }), req.body));
      }),
    );
    const res = await request(a).post('/things').send({ size: 1.5 }).expect(400);
    assert.equal(res.body.error.code, 'validation_failed');
    assert.match(res.body.error.message, /name: .*; size: /);
    assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ['name', 'size']);
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const { app: a } = app((x) => x.post('/things', (_req, res) => res.json({})));
    assert.equal((await request(a).post('/things').set('content-type', 'application/json').send('{"a":').expect(400)).body.error.code, 'malformed_json');
    assert.equal((await request(a).post('/things').send({ a: 'x'.repeat(200) }).expect(413)).body.error.code, 'payload_too_large');
  });

  it('reports AppErrors with their status and code, and hides unknown errors behind a logged 500', async () => {
    const { app: a, logs } = app((x) => {
      x.get('/conflict', () => {
        throw new ConflictError('taken', { name: 'x' }, 'model_exists');
      });
      x.get('/boom', () => {
        throw new Error('database password is hunter2');
      });
    });
    const c = await request(a).get('/conflict').expect(409);
    assert.deepEqual({ code: c.body.error.code, message: c.body.error.message, details: c.body.error.details }, { code: 'model_exists', message: 'taken', details: { name: 'x' } });
    const b = await request(a).get('/boom').expect(500);
    assert.equal(b.body.error.message, 'internal error');
    assert.equal(logs.length, 1);
  });

  it('honours a sane X-Request-Id and replaces an unsafe one', async () => {
    const { app: a } = app(() => {});
    const kept = await request(a).get('/nope').set('X-Request-Id', 'abc-123').expect(404);
    assert.equal(kept.headers['x-request-id'], 'abc-123');
    assert.equal(kept.body.error.requestId, 'abc-123');
    const replaced = await request(a).get('/nope').set('X-Request-Id', 'bad id with spaces').expect(404);
    assert.notEqual(replaced.headers['x-request-id'], 'bad id with spaces');
  });

  it('answers /readyz with 503 and the failing check when a dependency is down', async () => {
    const { app: a } = app(() => {}, async () => ({ ready: false, checks: { postgres: { ok: false, detail: 'ECONNREFUSED' } } }));
    const res = await request(a).get('/readyz').expect(503);
    assert.equal(res.body.checks.postgres.detail, 'ECONNREFUSED');
  });
});
