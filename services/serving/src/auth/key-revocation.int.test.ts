import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { API_KEY_REVOCATIONS_CHANNEL } from '@contender/contracts';
import { createRedis, type Redis } from '@contender/platform';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const features = Object.fromEntries(TREECL2_FEATURES.map((n, i) => [n, i / 20]));
const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * A revoked key stops working in serving as soon as the registry's message arrives on
 * `contender:api-key-revocations`, not AUTH_CACHE_TTL_MS later. The message is published here,
 * exactly as the registry is to publish it: `{"keyId": <id>, "keyHash": "<sha256 hex of the key>"}`.
 */
describe('key revocations published on Redis reach serving at once', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let admin: RegistryAdmin;
  let serving: TestServing;
  let publisher: Redis;

  before(async () => {
    db = await createTestDatabase('serving_revocation');
    reg = await startTestRegistry();
    admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('credit');
    await admin.setAlias('credit', 'champion', await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES }));
    // A TTL far longer than the test: only the message can make serving forget a key in time.
    serving = await startTestServing({
      registryUrl: reg.url,
      apiKey: await reg.createKey('predictor'),
      databaseUrl: db.url,
      env: { AUTH_CACHE_TTL_MS: '600000' },
    });
    publisher = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  after(async () => {
    publisher?.disconnect();
    await serving?.close();
    await reg?.close();
    await db?.drop();
  });

  /** Resolves once serving's subscriber has handled a message on the revocation channel that `match` accepts. */
  function handled(match: (text: string) => boolean): Promise<void> {
    const sub = serving.container.subscriber;
    return new Promise<void>((resolve) => {
      // Listeners run in the order they were added: serving's own ran before this one.
      const onMessage = (channel: string, text: string) => {
        if (channel === API_KEY_REVOCATIONS_CHANNEL && match(text)) {
          sub.off('message', onMessage);
          resolve();
        }
      };
      sub.on('message', onMessage);
    });
  }

  /** Publishes as the registry does and resolves once serving has handled the message. */
  async function publishRevocation(message: string): Promise<void> {
    const done = handled((text) => text === message);
    const receivers = await publisher.publish(API_KEY_REVOCATIONS_CHANNEL, message);
    assert.ok(receivers >= 1, 'serving is subscribed to the revocation channel');
    await done;
  }

  it('ignores messages that are not a revocation of a cached key, and drops a key whose revocation arrives', async () => {
    const kept = await reg.container.keys.create({ name: 'kept-app', role: 'predictor' }, 'test');
    const predict = (key: string) => request(serving.app).post('/predict').set(bearer(key)).send({ model: 'credit', features });
    await predict(kept.key).expect(200);
    await publishRevocation('not json');
    await publishRevocation(JSON.stringify({ keyId: 1, keyHash: 'ABC' }));
    await publishRevocation(JSON.stringify({ keyId: kept.id + 1000, keyHash: sha256('ctk_someone_elses_key') }));
    await predict(kept.key).expect(200);
    // Serving acts on the message itself, whoever sent it: the registry has not revoked this key.
    await publishRevocation(JSON.stringify({ keyId: kept.id, keyHash: sha256(kept.key) }));
    await predict(kept.key).expect(401);
  });

  it('refuses a key the registry revoked on the next request, long before the TTL, and keeps other keys', async () => {
    const doomed = await reg.container.keys.create({ name: 'doomed-app', role: 'predictor' }, 'test');
    const other = await reg.createKey('predictor');
    const predict = (key: string) => request(serving.app).post('/predict').set(bearer(key)).send({ model: 'credit', features });
    await predict(doomed.key).expect(200);
    await predict(other).expect(200);

    // Serving's cache holds the key for AUTH_CACHE_TTL_MS (10 min here): only the registry's
    // message, published after the revocation commits, can make it refuse the key now.
    const message = handled((text) => text === JSON.stringify({ keyId: doomed.id, keyHash: sha256(doomed.key) }));
    await admin.call('DELETE', `/api-keys/${doomed.id}`);
    await message;
    const refused = await predict(doomed.key).expect(401);
    assert.equal(refused.body.error.code, 'unauthorized');
    assert.match(refused.body.error.message, /unknown, revoked or inactive API key/);
    // The express routes share the cache.
    await request(serving.app).get('/features/anyone').set(bearer(doomed.key)).expect(401);
    await predict(other).expect(200);
  });

  it('refuses a key that is not of the platform\'s format with 401, naming the format', async () => {
    const res = await request(serving.app).post('/predict').set(bearer('guess-0000000000000000')).send({ model: 'credit', features }).expect(401);
    assert.match(res.body.error.message, /malformed API key: platform keys are "ctk_"/);
  });
});
