import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

  it('answers a path parameter that is not valid percent-encoding with 400 malformed_path, not 500', async () => {
    const { app: a, logs } = app((x) => x.get('/things/:name', (req, res) => res.json({ name: req.params.name })));
    for (const bad of ['%', '%zz', '%E0%A4%A', '%C0%AF', '%FF']) {
      const res = await request(a).get(`/things/${bad}`).expect(400);
      assert.equal(res.body.error.code, 'malformed_path', bad);
    }
    assert.equal((await request(a).get('/things/a%20b').expect(200)).body.name, 'a b');
    assert.equal(logs.length, 0, 'a client error is not logged as a failure');
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

  it('serves /docs as Swagger UI from the package: the page, its assets and the initializer load, under a policy of scripts from itself only', async () => {
    const { app: a } = app(() => {});
    const res = await request(a).get('/docs').expect(200);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    const csp = res.headers['content-security-policy'] as string;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    // No inline script: every <script> has a src, and each of those, and the stylesheet, answers 200.
    const scripts = [...res.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 2);
    for (const [, attrs, body] of scripts) {
      assert.equal(body!.trim(), '', 'an inline script');
      assert.match(attrs!, /src="\/docs\/assets\//);
    }
    const assets = [...res.text.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.includes('/docs/assets/swagger-ui-bundle.js') && assets.includes('/docs/assets/swagger-ui.css') && assets.includes('/docs/assets/init.js'));
    for (const asset of assets) {
      const r = await request(a).get(asset).expect(200);
      assert.ok((r.body as Buffer).length > 0 || r.text.length > 0, `${asset} is empty`);
    }
    const bundle = await request(a).get('/docs/assets/swagger-ui-bundle.js').expect(200);
    assert.match(bundle.headers['content-type'] as string, /javascript/);
    assert.match((await request(a).get('/docs/assets/init.js').expect(200)).text, /SwaggerUIBundle\([\s\S]*url: '\/openapi.json'/);
    // Only the files the page needs: the rest of the package is not served.
    await request(a).get('/docs/assets/package.json').expect(404);
    await request(a).get('/docs/assets/..%2Fpackage.json').expect(404);
  });

  it('serves /docs/static under a Content-Security-Policy that allows only its own inline style, with nosniff and frames denied', async () => {
    const { app: a } = app(() => {});
    const res = await request(a).get('/docs/static').expect(200);
    const csp = res.headers['content-security-policy'] as string;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|script-src/);
    // The page works under it: every inline <style> is allowed by its hash, and there is no script.
    const styles = [...res.text.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    assert.ok(styles.length > 0);
    for (const style of styles) assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}'`), 'an inline style the policy blocks');
    assert.doesNotMatch(res.text, /<script/i);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['strict-transport-security'], undefined);
  });

  it('gives JSON answers X-Content-Type-Options and no page policy', async () => {
    const { app: a } = app((x) => x.get('/thing', (_req, res) => res.json({})));
    const res = await request(a).get('/thing').expect(200);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['content-security-policy'], undefined);
  });

  it('refuses a JSON body over the limit with 413, a charset other than UTF-8 with 415 and a scalar top level with 400', async () => {
    const { app: a } = app((x) => x.post('/things', (_req, res) => res.json({})));
    const big = await request(a).post('/things').set('content-type', 'application/json').send(`[${'1,'.repeat(100)}1]`).expect(413);
    assert.equal(big.body.error.code, 'payload_too_large');
    const charset = await request(a).post('/things').set('content-type', 'application/json; charset=latin1').send('{}').expect(415);
    assert.match(charset.body.error.message, /charset "latin1"/);
    const scalar = await request(a).post('/things').set('content-type', 'application/json').send('"x"').expect(400);
    assert.equal(scalar.body.error.code, 'malformed_json');
  });
});
