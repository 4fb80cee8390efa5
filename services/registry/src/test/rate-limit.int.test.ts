import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import request from 'supertest';
import { startTestRegistry, type TestRegistry } from '../testing.js';

const ANONYMOUS = 5;

/** POST /api/v1/auth/introspect over a connection from `localAddress` (a loopback address). */
function introspectFrom(url: string, localAddress: string, key: string): Promise<{ status: number; retryAfter: string | undefined; body: any }> {
  const payload = JSON.stringify({ key });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/api/v1/auth/introspect`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const guess = (i: number) => `ctk_guess_${i}_${'x'.repeat(20)}`;

describe('the registry\'s rate limits: per client address on introspection, per key elsewhere', () => {
  let reg: TestRegistry;

  before(async () => {
    // A long window, so the whole test falls within one window however slow the machine is.
    reg = await startTestRegistry({
      env: { RATE_LIMIT_ANONYMOUS: String(ANONYMOUS), RATE_LIMITS: JSON.stringify({ reader: 3 }), RATE_LIMIT_WINDOW_SECONDS: '600' },
    });
  });
  after(async () => {
    await reg?.close();
  });

  it('refuses introspection from an address that guessed too many keys, while another address still passes', async () => {
    for (let i = 0; i < ANONYMOUS; i++) {
      const r = await introspectFrom(reg.url, '127.0.0.1', guess(i));
      assert.equal(r.status, 200);
      assert.equal(r.body.active, false);
    }
    const refused = await introspectFrom(reg.url, '127.0.0.1', guess(99));
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'rate_limited');
    assert.equal(refused.body.error.details.limit, ANONYMOUS);
    assert.match(refused.retryAfter ?? '', /^[1-9]\d*$/);
    // Another client address has a count of its own.
    const other = await introspectFrom(reg.url, '127.0.0.2', reg.adminKey);
    assert.equal(other.status, 200);
    assert.equal(other.body.active, true);
    const metrics = (await request(reg.app).get('/metrics').expect(200)).text;
    assert.match(metrics, /registry_rate_limited_total\{[^}]*role="anonymous"[^}]*\} 1\b/);
  });

  it('limits an API key by its role: a reader\'s fourth call in the window gets 429 with Retry-After, the admin is unaffected', async () => {
    const key = await reg.createKey('reader');
    for (let i = 0; i < 3; i++) await request(reg.app).get('/api/v1/models').set('Authorization', `Bearer ${key}`).expect(200);
    const refused = await request(reg.app).get('/api/v1/models').set('Authorization', `Bearer ${key}`).expect(429);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(refused.body.error.details.limit, 3);
    await request(reg.app).get('/api/v1/models').set('Authorization', `Bearer ${reg.adminKey}`).expect(200);
  });
});
