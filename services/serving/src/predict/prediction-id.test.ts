import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PredictionIdFactory, uuidV7Time } from './prediction-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisOf = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
const counterOf = (id: string) => Number.parseInt(id.slice(15, 18), 16);

describe('PredictionIdFactory', () => {
  it('makes RFC 9562 version 7 UUIDs carrying the clock’s millisecond, which the API’s uuid schema accepts', () => {
    const ms = Date.UTC(2026, 10, 21, 12, 34, 56, 789);
    const ids = new PredictionIdFactory(() => ms);
    for (let i = 0; i < 1_000; i++) {
      const id = ids.next();
      assert.match(id, V7);
      assert.ok(z.uuid().safeParse(id).success, id);
      assert.equal(millisOf(id), ms);
    }
  });

  it('makes ids that sort in the order they were made, across milliseconds', () => {
    let ms = 1_790_000_000_000;
    const ids = new PredictionIdFactory(() => ms);
    const made: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (i % 7 === 0) ms++;
      made.push(ids.next());
    }
    for (let i = 1; i < made.length; i++) assert.ok(made[i - 1]! < made[i]!, `${made[i - 1]} then ${made[i]}`);
  });

  it('moves on to the next millisecond when a millisecond’s counter is used up', () => {
    const ms = 1_790_000_000_000;
    const ids = new PredictionIdFactory(() => ms);
    const made = Array.from({ length: 5_000 }, () => ids.next());
    // The counter starts below 2,048, so 5,000 ids in one millisecond overflow its 4,096 values.
    assert.ok(counterOf(made[0]!) < 2_048);
    assert.ok(millisOf(made.at(-1)!) > ms, 'the last id should carry a later millisecond');
    for (let i = 1; i < made.length; i++) {
      assert.ok(made[i - 1]! < made[i]!, `${made[i - 1]} then ${made[i]}`);
      assert.ok(millisOf(made[i]!) - millisOf(made[i - 1]!) <= 1);
    }
  });

  it('never goes back when the clock does', () => {
    const clock = [1_790_000_000_500, 1_790_000_000_000, 1_790_000_000_000, 1_790_000_000_501];
    let i = 0;
    const ids = new PredictionIdFactory(() => clock[i++]!);
    const made = clock.map(() => ids.next());
    assert.deepEqual(made.map(millisOf), [1_790_000_000_500, 1_790_000_000_500, 1_790_000_000_500, 1_790_000_000_501]);
    for (let k = 1; k < made.length; k++) assert.ok(made[k - 1]! < made[k]!);
  });

  it('fills the last 62 bits at random: no repeats among 200,000 ids, and every bit varies', () => {
    const ids = new PredictionIdFactory(() => 1_790_000_000_000);
    const tails = new Set<string>();
    let ones = 0n;
    let zeros = 0n;
    for (let i = 0; i < 200_000; i++) {
      const tail = ids.next().slice(19).replace('-', '');
      tails.add(tail);
      const bits = BigInt(`0x${tail}`) & ((1n << 62n) - 1n);
      ones |= bits;
      zeros |= ~bits & ((1n << 62n) - 1n);
    }
    assert.equal(tails.size, 200_000);
    assert.equal(ones, (1n << 62n) - 1n, 'some random bit was never 1');
    assert.equal(zeros, (1n << 62n) - 1n, 'some random bit was never 0');
  });
});

describe('uuidV7Time', () => {
  it('reads the milliseconds of a version 7 id and nothing from other ids', () => {
    const ms = Date.UTC(2026, 10, 21, 8, 0, 0, 123);
    const id = new PredictionIdFactory(() => ms).next();
    assert.equal(uuidV7Time(id), ms);
    assert.equal(uuidV7Time(id.toUpperCase()), ms);
    assert.equal(uuidV7Time(randomUUID()), null);
    assert.equal(uuidV7Time('not-a-uuid'), null);
  });
});
