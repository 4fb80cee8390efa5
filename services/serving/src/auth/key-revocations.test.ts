import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { API_KEY_REVOCATIONS_CHANNEL, REGISTRY_EVENTS_CHANNEL, type IntrospectResponse } from '@contender/contracts';
import { AppError, createLogger, type Redis } from '@contender/platform';
import { IntrospectionAuth } from './introspection-auth.js';
import { KeyRevocationListener } from './key-revocations.js';

/** The part of an ioredis subscriber the listener uses: events, status and subscribe(). */
class Subscriber extends EventEmitter {
  status = 'connecting';
  channels: string[] = [];
  async subscribe(channel: string) {
    this.channels.push(channel);
    return 1;
  }
}

const KEY = 'ctk_listener_test_key_0001';
const sha256 = (k: string) => createHash('sha256').update(k, 'utf8').digest('hex');

async function setup() {
  const answers: Record<string, IntrospectResponse> = { [KEY]: { active: true, role: 'predictor', name: 'app', keyId: 5 } };
  let calls = 0;
  const auth = new IntrospectionAuth({
    introspect: async (k) => {
      calls++;
      return answers[k] ?? { active: false };
    },
    logger: createLogger('test', 'silent'),
    ttlMs: 600_000,
  });
  const sub = new Subscriber();
  const listener = new KeyRevocationListener({ subscriber: sub as unknown as Redis, auth, logger: createLogger('test', 'silent') });
  listener.start();
  await auth.authenticate(`Bearer ${KEY}`);
  const cached = () => !(auth.authenticate(`Bearer ${KEY}`) instanceof Promise);
  return { auth, sub, listener, answers, cached, calls: () => calls };
}

describe('KeyRevocationListener', () => {
  it('subscribes to the revocation channel and drops the key whose sha256 a message names', async () => {
    const t = await setup();
    assert.deepEqual(t.sub.channels, [API_KEY_REVOCATIONS_CHANNEL]);
    t.sub.emit('message', REGISTRY_EVENTS_CHANNEL, JSON.stringify({ keyId: 5, keyHash: sha256(KEY) }));
    t.sub.emit('message', API_KEY_REVOCATIONS_CHANNEL, '{"keyId":5}');
    t.sub.emit('message', API_KEY_REVOCATIONS_CHANNEL, 'not json');
    assert.ok(t.cached(), 'other channels and malformed messages change nothing');
    t.sub.emit('message', API_KEY_REVOCATIONS_CHANNEL, JSON.stringify({ keyId: 5, keyHash: sha256(KEY) }));
    assert.throws(() => t.auth.authenticate(`Bearer ${KEY}`), (err: unknown) => err instanceof AppError && err.status === 401);
    assert.equal(t.calls(), 1);
  });

  it('after a reconnect (messages may have been lost) has every cached key checked again on its next use', async () => {
    const t = await setup();
    t.sub.emit('ready'); // the first connection
    assert.ok(t.cached());
    t.answers[KEY] = { active: false }; // revoked while the subscriber was away
    t.sub.emit('ready');
    assert.ok(t.cached(), 'answered from memory once, while it is asked again');
    await new Promise((r) => setImmediate(r));
    assert.equal(t.calls(), 2);
    assert.throws(() => t.auth.authenticate(`Bearer ${KEY}`), (err: unknown) => err instanceof AppError && err.status === 401);
  });

  it('stops listening on stop()', async () => {
    const t = await setup();
    t.listener.stop();
    t.sub.emit('message', API_KEY_REVOCATIONS_CHANNEL, JSON.stringify({ keyId: 5, keyHash: sha256(KEY) }));
    assert.ok(t.cached());
  });
});
