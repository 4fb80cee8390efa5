import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { challengerBucketCount } from '@contender/contracts';
import { chooseArm, type RoutingPolicy } from './choose-arm.js';

const policy = (challengerPercent: number, mode: 'split' | 'shadow' = 'split', hasChallenger = true): RoutingPolicy => ({
  name: 'credit',
  hasChallenger,
  mode,
  challengerBuckets: challengerBucketCount(challengerPercent),
});

/** Half-width of the 99.9% normal interval of a binomial proportion (z = 3.29). */
const halfWidth999 = (n: number, p: number) => 3.29 * Math.sqrt((p * (1 - p)) / n);

describe('chooseArm', () => {
  for (const percent of [10, 50]) {
    it(`sends ${percent}% of 10,000 entities to the challenger, within the 99.9% binomial interval`, () => {
      let challenger = 0;
      for (let i = 0; i < 10_000; i++) if (chooseArm(policy(percent), `customer-${i}`, undefined).arm === 'challenger') challenger++;
      const p = percent / 100;
      const share = challenger / 10_000;
      assert.ok(Math.abs(share - p) <= halfWidth999(10_000, p), `challenger share ${share} outside ${p} ± ${halfWidth999(10_000, p)}`);
    });
  }

  it('gives every entity the same arm on every call', () => {
    for (let i = 0; i < 2_000; i++) {
      const first = chooseArm(policy(25), `e-${i}`, undefined).arm;
      for (let k = 0; k < 5; k++) assert.equal(chooseArm(policy(25), `e-${i}`, undefined).arm, first);
    }
  });

  it('keeps the entities that were in the challenger at 10% there at 30%', () => {
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      if (chooseArm(policy(10), `c${i}`, undefined).arm === 'challenger') {
        assert.equal(chooseArm(policy(30), `c${i}`, undefined).arm, 'challenger', `c${i} left the challenger`);
      }
      if (chooseArm(policy(10), `c${i}`, undefined).arm !== chooseArm(policy(30), `c${i}`, undefined).arm) moved++;
    }
    assert.ok(moved > 1_500 && moved < 2_500, `${moved} entities joined the challenger going from 10% to 30%`);
  });

  it('assigns requests without an entityId at random, in proportion', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let challenger = 0;
    for (let i = 0; i < 10_000; i++) if (chooseArm(policy(10), undefined, undefined, random).arm === 'challenger') challenger++;
    assert.ok(Math.abs(challenger / 10_000 - 0.1) <= halfWidth999(10_000, 0.1));
    assert.equal(chooseArm(policy(10), undefined, undefined, () => 0.0999).arm, 'challenger');
    assert.equal(chooseArm(policy(10), undefined, undefined, () => 0.1).arm, 'champion');
  });

  it('answers with the champion in shadow mode and marks the challenger\'s share for shadow scoring', () => {
    let shadowed = 0;
    for (let i = 0; i < 10_000; i++) {
      const c = chooseArm(policy(20, 'shadow'), `s${i}`, undefined);
      assert.equal(c.arm, 'champion');
      if (c.shadow) {
        shadowed++;
        assert.equal(chooseArm(policy(20, 'split'), `s${i}`, undefined).arm, 'challenger', 'shadowed entities are the split challenger ones');
      }
    }
    assert.ok(Math.abs(shadowed / 10_000 - 0.2) <= halfWidth999(10_000, 0.2));
  });

  it('routes everything to the champion without a challenger or at 0%', () => {
    for (let i = 0; i < 500; i++) {
      assert.deepEqual(chooseArm(policy(50, 'split', false), `x${i}`, undefined), { arm: 'champion', shadow: false });
      assert.deepEqual(chooseArm(policy(0), `x${i}`, undefined), { arm: 'champion', shadow: false });
    }
  });

  it('lets a forced variant win and never shadows it', () => {
    assert.deepEqual(chooseArm(policy(0), 'e', 'challenger'), { arm: 'challenger', shadow: false });
    assert.deepEqual(chooseArm(policy(100, 'shadow'), 'e', 'champion'), { arm: 'champion', shadow: false });
  });
});
