import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { canonicalJson, canonicalMetadata, IdempotencyService } from './idempotency-service.js';

const service = new IdempotencyService({ pool: null as never, store: null as never, ttlMs: 86_400_000, logger: null as never });
const req = (key: string | undefined) =>
  ({ headers: key === undefined ? {} : { 'idempotency-key': key }, method: 'POST', baseUrl: '/api/v1', path: '/models/m/promote', principal: { keyId: 7, name: 'k', role: 'admin' } }) as unknown as Request;

describe('request identity for Idempotency-Key', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  });

  it('reads a metadata part as JSON when it is JSON, else as its text', () => {
    assert.equal(canonicalMetadata('{ "b": 1, "a": 2 }'), canonicalMetadata('{"a":2,"b":1}'));
    assert.equal(canonicalMetadata(null), canonicalMetadata('  '));
    assert.notEqual(canonicalMetadata('{nope'), canonicalMetadata('{nope '));
  });

  it('scopes a key to the API key, method and path, and tells bodies apart', () => {
    const scope = service.scope(req('abc'))!;
    assert.deepEqual(scope, { apiKeyId: 7, key: 'abc', method: 'POST', path: '/api/v1/models/m/promote' });
    assert.equal(service.fingerprint(scope, ['x']), service.fingerprint({ ...scope }, ['x']));
    assert.notEqual(service.fingerprint(scope, ['x']), service.fingerprint(scope, ['y']));
    // Parts are length-prefixed, so moving bytes between parts is another request.
    assert.notEqual(service.fingerprint(scope, ['ab', 'c']), service.fingerprint(scope, ['a', 'bc']));
    assert.notEqual(service.fingerprint(scope, ['x']), service.fingerprint({ ...scope, path: '/api/v1/models/n/promote' }, ['x']));
  });

  it('has no scope without the header and refuses a malformed key', () => {
    assert.equal(service.scope(req(undefined)), null);
    for (const bad of ['', 'a b', 'x'.repeat(256), 'tab\there', 'é']) {
      assert.throws(() => service.scope(req(bad)), { status: 400, code: 'invalid_idempotency_key' }, JSON.stringify(bad));
    }
    assert.equal(service.scope(req('x'.repeat(255)))!.key.length, 255);
  });
});
