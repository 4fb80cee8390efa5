import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { auth } from './fixtures.js';

describe('BOOTSTRAP_ADMIN_KEY', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(() => reg.close());

  it('is idempotent for the same key: nothing rotates and the key stays valid', async () => {
    assert.deepEqual(await reg.container.keys.ensureBootstrapAdmin(reg.adminKey), { rotated: false });
    await request(reg.app).get('/api/v1/api-keys').set(auth(reg.adminKey)).expect(200);
  });

  it('replaces the previous bootstrap key when the configured one changes, revoking it with an audit event', async () => {
    const next = `ctk_test_next_${randomBytes(16).toString('hex')}`;
    assert.deepEqual(await reg.container.keys.ensureBootstrapAdmin(next), { rotated: true });
    await request(reg.app).get('/api/v1/api-keys').set(auth(reg.adminKey)).expect(401);
    const list = await request(reg.app).get('/api/v1/api-keys').set(auth(next)).expect(200);
    const bootstrap = (list.body.items ?? list.body).filter((k: { name: string }) => k.name === 'bootstrap-admin');
    assert.equal(bootstrap.filter((k: { revokedAt: string | null }) => k.revokedAt === null).length, 1, 'one active bootstrap-admin');
    assert.equal(bootstrap.length, 2, 'the old one is kept, revoked');
    const { rows } = await reg.container.pool.query(
      `SELECT actor, reason FROM registry.audit_event WHERE action = 'api_key.revoked' ORDER BY id DESC LIMIT 1`,
    );
    assert.deepEqual(rows[0], { actor: 'system', reason: 'BOOTSTRAP_ADMIN_KEY changed' });
  });

  it('never brings a revoked key back', async () => {
    const third = `ctk_test_third_${randomBytes(16).toString('hex')}`;
    await reg.container.keys.ensureBootstrapAdmin(third);
    assert.deepEqual(await reg.container.keys.ensureBootstrapAdmin(reg.adminKey), { rotated: false });
    await request(reg.app).get('/api/v1/api-keys').set(auth(reg.adminKey)).expect(401);
    await request(reg.app).get('/api/v1/api-keys').set(auth(third)).expect(200);
  });
});
