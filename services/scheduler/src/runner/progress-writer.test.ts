import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressWriter } from './progress-writer.js';

describe('ProgressWriter', () => {
  it('writes the first report at once and only the latest of a burst after the interval', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const written: number[] = [];
    const w = new ProgressWriter('score', 1000, async (p) => void written.push(p.done));
    w.report({ done: 1 });
    w.report({ done: 2 });
    w.report({ done: 3 });
    assert.deepEqual(written, [1]);
    t.mock.timers.tick(999);
    assert.deepEqual(written, [1]);
    t.mock.timers.tick(1);
    assert.deepEqual(written, [1, 3]);
    w.close();
    w.report({ done: 4 });
    t.mock.timers.tick(5000);
    assert.deepEqual(written, [1, 3]);
  });
});
