import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maxRetryWaitMs, retryDelaySeconds } from './step-dispatcher.js';
import { idempotencyKey } from './runner.js';

const policy = (backoffMs: number) => ({ name: 's', retries: { max: 3, backoffMs }, timeoutMs: 1000 });

describe('retry timing', () => {
  it('rounds a backoff up to the whole seconds pg-boss retries in', () => {
    assert.equal(retryDelaySeconds(0), 0);
    assert.equal(retryDelaySeconds(1), 1);
    assert.equal(retryDelaySeconds(1000), 1);
    assert.equal(retryDelaySeconds(2500), 3);
  });

  it("bounds pg-boss' jittered exponential wait before each retry", () => {
    assert.equal(maxRetryWaitMs(policy(1000), 0), 2000);
    assert.equal(maxRetryWaitMs(policy(1000), 1), 4000);
    assert.equal(maxRetryWaitMs(policy(0), 2), 0);
  });
});

describe('idempotencyKey', () => {
  it('is the same for one run, step and purpose, and differs otherwise', () => {
    assert.equal(idempotencyKey('42', 'register', 'version'), 'run-42-register-version');
    assert.notEqual(idempotencyKey('42', 'register', 'version'), idempotencyKey('43', 'register', 'version'));
  });

  it('hashes a purpose that would not fit a header', () => {
    const k = idempotencyKey('42', 'register', 'a purpose with spaces / and slashes');
    assert.match(k, /^run-42-[0-9a-f]{64}$/);
    assert.equal(k, idempotencyKey('42', 'register', 'a purpose with spaces / and slashes'));
  });
});
