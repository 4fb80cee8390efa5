import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CsvParser, type CsvRecord } from '@contender/ml';
import { CsvRowCounter, type CsvShape } from './csv-row-counter.js';

/** Feeds `text` in chunks cut at `cuts` (byte offsets). */
function count(text: string | Buffer, cuts: number[] = []): CsvShape {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const c = new CsvRowCounter();
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    c.push(buf.subarray(at, cut));
    at = cut;
  }
  return c.end();
}

function refused(text: string, cuts: number[] = []): { code: string; message: string; details: Record<string, unknown> } {
  try {
    count(text, cuts);
  } catch (err) {
    return err as never;
  }
  throw new Error(`accepted ${JSON.stringify(text)}`);
}

/** What @contender/ml reads from the same text: the independent reference. */
function reference(text: string): { columns: string[]; rows: number } {
  const p = new CsvParser();
  const out: CsvRecord[] = [];
  p.push(text, out);
  p.end(out);
  return { columns: out[0]!.fields, rows: out.length - 1 };
}

/** What the counter must answer for `text`, derived from the parser's records (header 'h…' is never all numbers). */
function expectedFromParser(text: string): { shape?: CsvShape; code?: string; line?: number } {
  const p = new CsvParser();
  const out: CsvRecord[] = [];
  try {
    p.push(text, out);
    p.end(out);
  } catch (err) {
    const msg = (err as Error).message;
    const line = Number(/^line (\d+)/.exec(msg)![1]);
    // A record that ends before the parse error is reached is checked first.
    const early = ragged(out, line);
    if (early) return early;
    return { code: /never closed/.test(msg) ? 'csv_unterminated_quote' : 'csv_invalid_quote', line };
  }
  const header = out[0]!.fields;
  const seen = new Set<string>();
  for (const name of header) {
    if (name.trim() === '' || seen.has(name)) return { code: 'csv_invalid_header', line: out[0]!.line };
    seen.add(name);
  }
  return ragged(out, Infinity) ?? { shape: { columns: header, rows: out.length - 1 } };
}

function ragged(records: CsvRecord[], before: number): { code: string; line: number } | null {
  if (records.length === 0) return null;
  const header = records[0]!.fields;
  const seen = new Set<string>();
  for (const name of header) {
    if (name.trim() === '' || seen.has(name)) return { code: 'csv_invalid_header', line: records[0]!.line };
    seen.add(name);
  }
  const bad = records.slice(1).find((r) => r.line < before && r.fields.length !== header.length);
  return bad ? { code: 'csv_ragged_row', line: bad.line } : null;
}

const SAMPLES = [
  'a,b,c\n1,2,3\n4,5,6\n',
  'a,b,c\r\n1,2,3\r\n4,5,6',
  'a,b\r1,2\r3,4\r',
  '\ufeffname,"note, with comma"\nx,"multi\nline\r\nfield"\n"y ""quoted""",z\n\n\nlast,row\n',
  'h1,"h""2"\n"",\n,""\n',
  'ünïcödé,名前\nä,字\n',
  'a,b\n1,2,\n'.replace('1,2,\n', '1,"2"\n'),
  'x\n1\n\n2\n',
];

describe('CsvRowCounter', () => {
  it('counts the same rows and reads the same header as @contender/ml, wherever the chunks are cut', () => {
    for (const text of SAMPLES) {
      const want = reference(text);
      const bytes = Buffer.from(text, 'utf8');
      for (let a = 0; a <= bytes.length; a++) {
        for (let b = a; b <= bytes.length; b += 3) {
          assert.deepEqual(count(bytes, [a, b]), want, `${JSON.stringify(text)} cut at ${a},${b}`);
        }
      }
    }
  });

  it('feeds byte by byte, with a byte-order mark and a UTF-8 name split between chunks', () => {
    const bytes = Buffer.from('\ufeffnämé,b\n1,2\n', 'utf8');
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(count(bytes, cuts), { columns: ['nämé', 'b'], rows: 1 });
  });

  it('refuses a ragged row naming its row and line', () => {
    const e = refused('a,b,c\n1,2,3\n\n4,5\n6,7,8\n');
    assert.equal(e.code, 'csv_ragged_row');
    assert.match(e.message, /^row 2 \(line 4\) has 2 fields; the header has 3 columns$/);
    assert.deepEqual(e.details, { line: 4, row: 2, fields: 2, columns: 3 });
    assert.equal(refused('a,b\n1,2\n3,4,5').details.row, 2, 'a last row without a line break is checked too');
  });

  it('counts lines inside quoted fields when it names a row', () => {
    const e = refused('a,b\n"x\ny",1\n2\n');
    assert.deepEqual(e.details, { line: 4, row: 2, fields: 1, columns: 2 });
  });

  it('refuses a quoted field that is never closed, naming the line it opened on', () => {
    const e = refused('a,b\n1,2\n3,"open\n4,5\n', [12]);
    assert.equal(e.code, 'csv_unterminated_quote');
    assert.deepEqual(e.details, { line: 3, row: 2 });
    assert.match(e.message, /^row 2 \(line 3\): a quoted field is never closed/);
  });

  it('refuses text after a closing quote', () => {
    const e = refused('a,b\n"x"y,2\n');
    assert.equal(e.code, 'csv_invalid_quote');
    assert.deepEqual(e.details, { line: 2, row: 1 });
  });

  it('refuses an empty file, blank lines only, and a first line of numbers as having no header', () => {
    for (const text of ['', '\n\r\n', '\ufeff', '1,2,3\n4,5,6\n']) assert.equal(refused(text).code, 'csv_no_header', JSON.stringify(text));
  });

  it('refuses empty and repeated column names', () => {
    assert.match(refused('a,,c\n1,2,3\n').message, /empty name for column 2/);
    assert.match(refused('a,b,a\n1,2,3\n').message, /names "a" twice \(columns 1 and 3\)/);
    assert.throws(() => count(Buffer.from([0x61, 0x2c, 0xff, 0x0a])), { code: 'csv_invalid_header' });
  });

  it('agrees with @contender/ml on thousands of random small CSVs cut into random chunks', () => {
    // A seeded generator, so a failure names an input that can be replayed.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'b', '1', ',', ',', '"', '\n', '\n', '\r', '\r\n', 'é'];
    for (let t = 0; t < 5000; t++) {
      const text = 'h' + Array.from({ length: rand(24) }, () => alphabet[rand(alphabet.length)]).join('');
      const bytes = Buffer.from(text, 'utf8');
      const cuts = [rand(bytes.length + 1), rand(bytes.length + 1)].sort((x, y) => x - y);
      const expected = expectedFromParser(text);
      let got: { shape?: CsvShape; code?: string; line?: number };
      try {
        got = { shape: count(bytes, cuts) };
      } catch (err) {
        const e = err as { code: string; details: { line: number } };
        got = { code: e.code, line: e.details.line };
      }
      assert.deepEqual(got, expected, `${JSON.stringify(text)} cut at ${cuts}`);
    }
  });

  it('accepts a header without rows', () => {
    assert.deepEqual(count('a,b\n'), { columns: ['a', 'b'], rows: 0 });
  });
});
