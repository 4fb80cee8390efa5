import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  COPY_COLUMNS,
  cleanText,
  copyData,
  entityNeedle,
  fromSpillLine,
  lineText,
  parseLogLine,
  recordProblem,
  toLogRow,
} from './prediction-record.js';
import { makeRecord } from './test-helpers.js';
import type { LogRow } from './prediction-record.js';

/** A row's COPY text-format line back into its fields, unescaped (\N → null). */
function fields(row: LogRow): Array<string | null> {
  const line = row.line.toString('utf8');
  assert.ok(line.endsWith('\n') && line.indexOf('\n') === line.length - 1, 'one line, newline-terminated');
  return lineText(row).split('\t').map((f) =>
    f === '\\N' ? null : f.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c),
  );
}

describe('prediction record', () => {
  it('becomes one COPY line with a field per column, in COPY_COLUMNS order', () => {
    const r = makeRecord({ label: null, fallback: true });
    const row = toLogRow(r);
    assert.equal(row.id, r.id);
    assert.equal(row.at, r.at);
    const f = fields(row);
    assert.equal(f.length, COPY_COLUMNS.length);
    const byColumn = Object.fromEntries(COPY_COLUMNS.map((c, i) => [c, f[i]]));
    assert.deepEqual(byColumn, {
      id: r.id,
      request_id: r.requestId,
      at: r.at.toISOString(),
      model: r.model,
      version: String(r.version),
      variant: r.variant,
      entity_id: r.entityId,
      features: JSON.stringify(r.features),
      score: String(r.score),
      label: null,
      latency_ms: String(r.latencyMs),
      fallback: 't',
    });
  });

  it('escapes what COPY gives a meaning to, so text with tabs, newlines and backslashes survives', () => {
    const entityId = 'a\tb\nc\rd\\e';
    const features = { 'k\t': 'x\\y\n', n: 1 };
    const f = fields(toLogRow(makeRecord({ entityId, features, requestId: 'r\\1' })));
    assert.equal(f.length, COPY_COLUMNS.length, 'no raw tab or newline splits the line');
    assert.equal(f[COPY_COLUMNS.indexOf('entity_id')], entityId);
    assert.equal(f[COPY_COLUMNS.indexOf('request_id')], 'r\\1');
    assert.deepEqual(JSON.parse(f[COPY_COLUMNS.indexOf('features')]!), features);
  });

  it('removes NUL characters and lone surrogates, which Postgres refuses, and keeps real emoji', () => {
    assert.equal(cleanText('a\u0000b'), 'ab');
    assert.equal(cleanText('x\ud800y'), 'x\ufffdy');
    assert.equal(cleanText('ok 👍'), 'ok 👍');
    const f = fields(toLogRow(makeRecord({ entityId: 'e\u0000', features: { 'k\u0000': 'v\ud83d', n: Number.NaN, ok: '👍' }, score: Number.NaN })));
    assert.equal(f[COPY_COLUMNS.indexOf('entity_id')], 'e');
    assert.deepEqual(JSON.parse(f[COPY_COLUMNS.indexOf('features')]!), { k: 'v\ufffd', n: null, ok: '👍' });
    assert.equal(f[COPY_COLUMNS.indexOf('score')], 'NaN', 'float8 reads NaN as text');
  });

  it('reads its own spill lines back, and spill lines of the earlier JSON format', () => {
    const r = makeRecord({ entityId: null, features: null });
    const row = toLogRow(r);
    assert.deepEqual(fromSpillLine(lineText(row)), row);
    const legacy = fromSpillLine(JSON.stringify(r));
    assert.deepEqual(legacy, row, 'an old JSON line becomes the same row');
    assert.equal(copyData([row, row]).toString(), `${lineText(row)}\n${lineText(row)}\n`);
  });

  it('treats a torn or foreign spill line as unreadable rather than guessing', () => {
    const line = lineText(toLogRow(makeRecord()));
    assert.equal(fromSpillLine(line.slice(0, line.lastIndexOf('\t'))), null, 'a field short');
    assert.equal(fromSpillLine(`nope${line.slice(4)}`), null, 'no uuid first');
    const json = JSON.stringify(makeRecord());
    assert.equal(fromSpillLine(json.slice(0, json.length - 5)), null);
    assert.equal(fromSpillLine('42'), null);
  });

  it('reads back from its line what GET /predictions shows, through the escaping', () => {
    const r = makeRecord({ entityId: 'a\tb\\c\nd', requestId: 'r\r1', model: 'm\\x', version: 9, variant: 'shadow', score: Number.NaN, label: null, fallback: true });
    const row = toLogRow(r);
    assert.deepEqual(parseLogLine(row), {
      id: r.id,
      requestId: 'r\r1',
      at: r.at,
      model: 'm\\x',
      version: 9,
      variant: 'shadow',
      entityId: 'a\tb\\c\nd',
      score: Number.NaN,
      label: null,
      fallback: true,
    });
    assert.equal(parseLogLine(toLogRow(makeRecord({ score: 0.125, label: 1 })))?.score, 0.125);
    assert.equal(parseLogLine(toLogRow(makeRecord({ entityId: null }))), null, 'no entity, nothing to list it under');
    assert.ok(row.line.includes(entityNeedle(r.entityId!)), 'the needle is in the line of that entity');
    assert.ok(!toLogRow(makeRecord({ entityId: 'a\tb\\c\nd-2' })).line.includes(entityNeedle(r.entityId!)), 'and not in a longer id');
  });

  it('refuses to make a row of a record that could not be stored, saying why', () => {
    assert.equal(recordProblem(makeRecord()), null);
    assert.match(recordProblem(makeRecord({ at: new Date('nope') })) ?? '', /at/);
    assert.match(recordProblem(makeRecord({ version: 2 ** 40 })) ?? '', /version/);
    assert.match(recordProblem(makeRecord({ variant: 'canary' as never })) ?? '', /variant/);
    assert.match(recordProblem(makeRecord({ features: { big: 1n } as never })) ?? '', /feature/);
    assert.throws(() => toLogRow(makeRecord({ variant: 'canary' as never })), /variant/);
  });
});
