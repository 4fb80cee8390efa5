import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isApiKeyFormat } from './api-keys.js';
import { EntityId, isEntityId } from './serving.js';

describe('the entity id rule', () => {
  const cases: Array<[string, boolean]> = [
    ['c-42', true],
    ['customer 7 / ünïcode ✓', true],
    ['e'.repeat(256), true],
    ['', false],
    ['e'.repeat(257), false],
    ['a\u0000b', false],
    ['tab\there', false],
    ['line\nbreak', false],
    ['\u001f', false],
    ['del\u007f', false],
  ];

  it('accepts 1–256 characters without control characters, in the schema and in the hand-written check alike', () => {
    for (const [id, ok] of cases) {
      assert.equal(EntityId.safeParse(id).success, ok, JSON.stringify(id));
      assert.equal(isEntityId(id), ok, JSON.stringify(id));
    }
    assert.equal(isEntityId(7), false);
  });

  it('says why an id with a NUL is refused', () => {
    const r = EntityId.safeParse('a\u0000b');
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /must not contain control characters \(U\+0000–U\+001F, U\+007F\)/);
  });
});

describe('the API key format', () => {
  it('accepts the keys the registry issues, the test keys and the documented hex keys', () => {
    assert.ok(isApiKeyFormat(`ctk_${randomBytes(32).toString('base64url')}`));
    assert.ok(isApiKeyFormat(`ctk_test_admin_${randomBytes(16).toString('hex')}`));
    assert.ok(isApiKeyFormat(`ctk_${randomBytes(32).toString('hex')}`));
  });

  it('refuses anything else', () => {
    for (const key of ['', 'ctk_', 'ctk_short', 'Bearer ctk_abcdefghijklmnop', 'abc_abcdefghijklmnopqrstu', 'ctk_abcdefghijkl mnop', 'ctk_abcdefghijklm=', `ctk_${'a'.repeat(257)}`]) {
      assert.equal(isApiKeyFormat(key), false, key);
    }
  });
});
