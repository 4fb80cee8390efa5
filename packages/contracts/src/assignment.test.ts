import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ASSIGNMENT_BUCKETS,
  assignmentBucket,
  assignsChallenger,
  challengerBucketCount,
  murmurHash3,
  murmurHash3String,
} from './assignment.js';

describe('murmurHash3', () => {
  // Published reference values of MurmurHash3_x86_32 (SMHasher), so every language's SDK can check
  // itself against the same table.
  const vectors: Array<[string, number, number]> = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['test', 0, 0xba6bd213],
    ['Hello, world!', 0, 0xc0363e43],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['aaa', 0x9747b28c, 0x283e0130],
    ['aa', 0x9747b28c, 0x5d211726],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ];
  for (const [text, seed, expected] of vectors) {
    it(`matches the reference value for ${JSON.stringify(text)} with seed ${seed.toString(16)}`, () => {
      assert.equal(murmurHash3String(text, seed), expected);
    });
  }

  it('matches the reference value for four zero bytes', () => {
    assert.equal(murmurHash3(new Uint8Array(4), 0), 0x2362f9de);
  });

  it('hashes the UTF-8 bytes of non-ASCII text, including characters outside the BMP', () => {
    for (const text of ['Ünïcödé', 'カスタマー', 'emoji 🙂 id', 'x'.repeat(2000)]) {
      assert.equal(murmurHash3String(text), murmurHash3(new TextEncoder().encode(text)));
    }
    // U+03C0 (π) is two bytes in UTF-8: cf 80. SMHasher value for seed 0x9747b28c.
    assert.equal(murmurHash3String('ππππππππ', 0x9747b28c), 0xd58063c1);
  });
});

describe('assignment', () => {
  it('puts every entity in a bucket in [0, 10000) and keeps it there', () => {
    for (let i = 0; i < 1000; i++) {
      const b = assignmentBucket('credit', `c-${i}`);
      assert.ok(Number.isInteger(b) && b >= 0 && b < ASSIGNMENT_BUCKETS);
      assert.equal(assignmentBucket('credit', `c-${i}`), b);
    }
  });

  it('depends on the model, so one entity lands in different buckets for different models', () => {
    let differ = 0;
    for (let i = 0; i < 200; i++) if (assignmentBucket('credit', `e${i}`) !== assignmentBucket('churn', `e${i}`)) differ++;
    assert.ok(differ > 190, `${differ} of 200 differ`);
  });

  it('hashes "model:entityId", the documented key', () => {
    assert.equal(assignmentBucket('credit', 'c-42'), murmurHash3String('credit:c-42') % 10_000);
  });

  it('counts challenger buckets as percent × 100, rounded and clamped', () => {
    assert.equal(challengerBucketCount(0), 0);
    assert.equal(challengerBucketCount(0.01), 1);
    assert.equal(challengerBucketCount(10), 1000);
    assert.equal(challengerBucketCount(33.33), 3333);
    assert.equal(challengerBucketCount(100), 10_000);
    assert.equal(challengerBucketCount(150), 10_000);
    assert.equal(challengerBucketCount(-1), 0);
  });

  it('never moves an entity back to the champion when the share grows', () => {
    const steps = [0, 1, 5, 10, 30, 50, 99.99, 100];
    for (let i = 0; i < 5000; i++) {
      let was = false;
      for (const p of steps) {
        const now = assignsChallenger('credit', `entity-${i}`, p);
        assert.ok(now || !was, `entity-${i} left the challenger at ${p}%`);
        was = now;
      }
      assert.equal(was, true);
    }
  });

  it('sends nobody to the challenger at 0% and everybody at 100%', () => {
    for (let i = 0; i < 1000; i++) {
      assert.equal(assignsChallenger('m', String(i), 0), false);
      assert.equal(assignsChallenger('m', String(i), 100), true);
    }
  });
});
