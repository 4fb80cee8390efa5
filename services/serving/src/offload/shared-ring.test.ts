import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { SharedRing } from './shared-ring.js';

const texts = (taken: { records: Buffer[] } | null) => (taken ? taken.records.map((r) => r.toString('utf8')) : []);

describe('SharedRing', () => {
  it('hands records over in order, as UTF-8, and is empty once they are taken', () => {
    const ring = SharedRing.create(1024);
    const consumer = SharedRing.attach(ring.buffer);
    for (const t of ['a', '', 'ünïcödé ✓', 'x'.repeat(100)]) assert.equal(ring.push(t), true);
    assert.deepEqual(texts(consumer.take()), ['a', '', 'ünïcödé ✓', 'x'.repeat(100)]);
    assert.equal(consumer.take(), null);
  });

  it('takes at most `max` records and leaves the rest for the next take', () => {
    const ring = SharedRing.create(1024);
    const consumer = SharedRing.attach(ring.buffer);
    for (let i = 0; i < 5; i++) ring.push(`r${i}`);
    assert.deepEqual(texts(consumer.take(2)), ['r0', 'r1']);
    assert.deepEqual(texts(consumer.take()), ['r2', 'r3', 'r4']);
  });

  it('refuses a record that does not fit, and reuses space only once it is released', () => {
    const ring = SharedRing.create(64); // 64 bytes: a record of 20 bytes takes 24
    const consumer = SharedRing.attach(ring.buffer);
    const record = (i: number) => `${i}`.padEnd(20, '.');
    assert.equal(ring.push(record(0)), true);
    assert.equal(ring.push(record(1)), true);
    assert.equal(ring.push(record(2)), false, 'full: 48 of 64 bytes used, and 4 always stay free');
    const taken = consumer.take()!;
    assert.equal(ring.push(record(2)), false, 'taken is not released');
    consumer.release(taken);
    assert.equal(ring.push(record(2)), true, 'written at the start again');
    assert.equal(ring.push(record(3)), false, 'the 24 bytes between it and the unreleased tail are one word short');
    const again = consumer.take()!;
    assert.deepEqual(texts(again), [record(2)]);
    consumer.release(again);
    assert.equal(ring.push(record(3)), true);
    assert.deepEqual(texts(consumer.take()), [record(3)]);
    assert.equal(ring.push('y'.repeat(100)), false, 'larger than the ring');
  });

  it('wraps around the end of its buffer over many rounds without losing or reordering a record', () => {
    const ring = SharedRing.create(256);
    const consumer = SharedRing.attach(ring.buffer);
    const got: string[] = [];
    const sent: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const t = `record ${i} ${'z'.repeat(i % 37)}`;
      while (!ring.push(t)) {
        const taken = consumer.take();
        assert.ok(taken, `record ${i} refused although the ring is empty`);
        got.push(...texts(taken));
        consumer.release(taken);
      }
      sent.push(t);
    }
    const rest = consumer.take();
    got.push(...texts(rest));
    assert.deepEqual(got, sent);
  });

  it('hands out ranges without copying, reads them back as one buffer, and takes a rewound range again', () => {
    const ring = SharedRing.create(128);
    const lines = ['aaa\n', 'bbbbbbb\n', 'c\n'];
    for (const l of lines) ring.push(l);
    const first = ring.takeRange(2)!;
    assert.equal(first.count, 2);
    assert.equal(ring.readRange(first).toString(), 'aaa\nbbbbbbb\n');
    ring.rewind(first);
    const again = ring.takeRange()!;
    assert.equal(again.count, 3);
    assert.equal(ring.readRange(again).toString(), lines.join(''));
    assert.equal(ring.takeRange(), null);
    ring.release(again);
    assert.equal(ring.hasUnreleased(), false);
    // Round the end of the buffer: a range spanning the wrap reads in order.
    for (let round = 0; round < 20; round++) {
      const batch = [`r${round}-1 ${'x'.repeat(round)}`, `r${round}-2`];
      for (const t of batch) assert.equal(ring.push(t), true);
      const r = ring.takeRange()!;
      assert.equal(ring.readRange(r).toString(), batch.join(''));
      ring.release(r);
    }
  });

  it('finds the oldest or newest unreleased record by its first bytes, folding ASCII case if asked', () => {
    const ring = SharedRing.create(1024);
    for (const t of ['3:keyold', '3:abcX', '3:keynew', 'ABC-upper']) ring.push(t);
    const prefix = Buffer.from('3:key');
    assert.equal(ring.text(ring.findUnreleased(prefix)!, prefix.length), 'old');
    assert.equal(ring.text(ring.findUnreleased(prefix, { newest: true })!, prefix.length), 'new');
    assert.equal(ring.findUnreleased(Buffer.from('abc-')), null);
    assert.equal(ring.text(ring.findUnreleased(Buffer.from('abc-'), { lowerCase: true })!), 'ABC-upper');
    // Released records are not found any more.
    ring.release(ring.takeRange(1)!);
    assert.equal(ring.text(ring.findUnreleased(prefix)!, prefix.length), 'new');
    ring.release(ring.takeRange()!);
    assert.equal(ring.findUnreleased(prefix), null);
    assert.equal(ring.hasUnreleased(), false);
  });

  it('scans unreleased records in steps, moving past what was released in between', () => {
    const ring = SharedRing.create(1024);
    for (let i = 0; i < 10; i++) ring.push(`n${i}`);
    const seen: string[] = [];
    const note = (offset: number, length: number) => void seen.push(ring.text({ offset, length }));
    let at = ring.scanUnreleased(null, 3, note);
    assert.deepEqual(seen, ['n0', 'n1', 'n2']);
    ring.release(ring.takeRange(6)!); // n0 … n5 done meanwhile
    at = ring.scanUnreleased(at, 3, note);
    assert.deepEqual(seen.slice(3), ['n6', 'n7', 'n8'], 'went on from the oldest unreleased record');
    at = ring.scanUnreleased(at, 3, note);
    assert.deepEqual(seen.slice(6), ['n9']);
    assert.equal(at, null);
  });

  it('wakes a consumer sleeping on another thread as soon as a record arrives', async () => {
    const ring = SharedRing.create(256);
    // The consumer sleeps up to an hour at a time; each record below is pushed while it sleeps, and
    // the next only once it was released, so every one of them has to wake it: finishing at all
    // (within the generous deadline below, far under one sleep) proves twenty wake-ups.
    const worker = new Worker(
      `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.module).then(async ({ SharedRing }) => {
        const ring = SharedRing.attach(workerData.buffer);
        parentPort.postMessage('ready');
        let sum = 0;
        for (let n = 0; n < 20; ) {
          await ring.waitForRecords(3_600_000);
          const taken = ring.take();
          if (!taken) continue;
          for (const r of taken.records) { n++; sum += Number(r.toString()); }
          ring.release(taken);
        }
        parentPort.postMessage(sum);
      });
      `,
      { eval: true, workerData: { buffer: ring.buffer, module: new URL('./shared-ring.js', import.meta.url).href } },
    );
    const messages: unknown[] = [];
    worker.on('message', (m) => messages.push(m));
    const deadline = Date.now() + 120_000;
    const until = async (done: () => boolean) => {
      while (!done()) {
        if (Date.now() > deadline) throw new Error('the consumer was not woken: it is still asleep');
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    await until(() => messages.length > 0);
    let expected = 0;
    for (let i = 1; i <= 20; i++) {
      await new Promise((r) => setTimeout(r, 5)); // time to fall asleep
      assert.equal(ring.push(String(i)), true);
      expected += i;
      await until(() => !ring.hasUnreleased());
    }
    await until(() => messages.length > 1);
    await worker.terminate();
    assert.equal(messages[1], expected);
  });
});
