import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanText, fromSpillLine, recordProblem, toJsonRows, toSpillLine } from './prediction-record.js';
import { makeRecord } from './test-helpers.js';

describe('prediction record', () => {
  it('round-trips through a spill line, time included', () => {
    const r = makeRecord({ entityId: null, features: null, label: null });
    assert.deepEqual(fromSpillLine(toSpillLine(r)), r);
  });

  it('treats a torn spill line as unreadable rather than guessing', () => {
    const line = toSpillLine(makeRecord());
    assert.equal(fromSpillLine(line.slice(0, line.length - 5)), null);
    assert.equal(fromSpillLine('42'), null);
  });

  it('removes NUL characters and lone surrogates, which Postgres refuses, and keeps real emoji', () => {
    assert.equal(cleanText('a\u0000b'), 'ab');
    assert.equal(cleanText('x\ud800y'), 'x\ufffdy');
    assert.equal(cleanText('ok 👍'), 'ok 👍');
  });

  it('cleans entity ids and string features on the way to the insert, and keeps non-finite scores', () => {
    const [row] = JSON.parse(toJsonRows([makeRecord({ entityId: 'e\u0000', features: { 'k\u0000': 'v\ud83d', n: Number.NaN }, score: Number.NaN })]));
    assert.equal(row.entity_id, 'e');
    assert.deepEqual(row.features, { k: 'v\ufffd', n: null });
    assert.equal(row.score, 'NaN');
  });

  it('spots a record that could not be serialised', () => {
    assert.equal(recordProblem(makeRecord()), null);
    assert.match(recordProblem(makeRecord({ at: new Date('nope') })) ?? '', /at/);
    assert.match(recordProblem(makeRecord({ version: 2 ** 40 })) ?? '', /version/);
    assert.match(recordProblem(makeRecord({ variant: 'canary' as never })) ?? '', /variant/);
    assert.match(recordProblem(makeRecord({ features: { big: 1n } as never })) ?? '', /feature/);
  });
});
