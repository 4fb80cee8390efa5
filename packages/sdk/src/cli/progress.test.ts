import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress } from './progress.js';

function capture(isTTY: boolean): { stream: { isTTY: boolean; columns: number; write(t: string): boolean }; text: () => string } {
  let out = '';
  return {
    stream: { isTTY, columns: 120, write: (t: string) => ((out += t), true) },
    text: () => out,
  };
}

describe('createProgress', () => {
  it('writes one plain line per tenth of the total and a final line when the stream is not a TTY', () => {
    const { stream, text } = capture(false);
    const progress = createProgress(stream, 100, 'trees');
    for (let i = 1; i <= 100; i++) progress.update(i, `loss ${i}`);
    progress.finish('done');
    const lines = text().trimEnd().split('\n');
    assert.equal(lines[0], 'trees   1/100  loss 1');
    assert.equal(lines[1], 'trees  11/100  loss 11');
    assert.equal(lines.at(-1), 'trees 100/100  done');
    assert.equal(lines.length, 11);
    assert.doesNotMatch(text(), /\r|\x1b/);
  });

  it('redraws one line in place on a TTY and ends it with a newline', () => {
    const { stream, text } = capture(true);
    const progress = createProgress(stream, 4, 'trees');
    progress.update(2, 'half way');
    progress.finish('finished');
    assert.equal(text(), `\rtrees [${'#'.repeat(14)}${'-'.repeat(14)}] 2/4  half way\x1b[K\rtrees [${'#'.repeat(14)}${'-'.repeat(14)}] 2/4  finished\x1b[K\n`);
  });
});
