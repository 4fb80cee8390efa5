import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvParser, readCsvRecords, type CsvRecord } from './csv.js';

function parse(text: string, chunkSize = text.length || 1): CsvRecord[] {
  const parser = new CsvParser();
  const out: CsvRecord[] = [];
  for (let i = 0; i < text.length; i += chunkSize) parser.push(text.slice(i, i + chunkSize), out);
  parser.end(out);
  return out;
}

const fields = (text: string): string[][] => parse(text).map((r) => r.fields);

describe('CsvParser', () => {
  it('splits plain records on commas and line feeds', () => {
    assert.deepEqual(fields('a,b,c\n1,2,3\n'), [['a', 'b', 'c'], ['1', '2', '3']]);
  });

  it('returns a last record that has no line break after it', () => {
    assert.deepEqual(fields('a,b\n1,2'), [['a', 'b'], ['1', '2']]);
  });

  it('keeps empty fields, including a trailing one', () => {
    assert.deepEqual(fields('a,,c,\n'), [['a', '', 'c', '']]);
  });

  it('reads quoted fields with embedded commas, doubled quotes and line breaks', () => {
    assert.deepEqual(fields('"a,b","say ""hi""","two\nlines"\n'), [['a,b', 'say "hi"', 'two\nlines']]);
  });

  it('treats CRLF and a lone CR as line breaks and keeps CRLF inside quotes', () => {
    assert.deepEqual(fields('a,b\r\n1,2\r3,4\r\n"x\r\ny",5\r\n'), [['a', 'b'], ['1', '2'], ['3', '4'], ['x\r\ny', '5']]);
  });

  it('numbers each record by the physical line it starts on, counting line breaks inside quotes', () => {
    const records = parse('h1,h2\r\n"multi\r\nline\nvalue",1\r\nnext,2\r\n');
    assert.deepEqual(records.map((r) => r.line), [1, 2, 5]);
  });

  it('skips blank lines but keeps a line holding one quoted empty field', () => {
    const records = parse('a\n\n1\n""\n\n');
    assert.deepEqual(records.map((r) => [r.line, r.fields]), [[1, ['a']], [3, ['1']], [4, ['']]]);
  });

  it('gives the same records however the input is chunked', () => {
    const text = 'id,"note, with comma"\r\n1,"he said ""no""\r\nthen left"\r\n2,plain\r\n3,"end"';
    const whole = parse(text);
    for (const size of [1, 2, 3, 7]) assert.deepEqual(parse(text, size), whole, `chunk size ${size}`);
  });

  it('drops a leading byte-order mark', () => {
    assert.deepEqual(fields('\ufeffa,b\n1,2\n'), [['a', 'b'], ['1', '2']]);
  });

  it('keeps a quote in the middle of an unquoted field as a literal character', () => {
    assert.deepEqual(fields('5" disk,1\n'), [['5" disk', '1']]);
  });

  it('rejects text after a closing quote, naming the line', () => {
    assert.throws(() => parse('a,b\n"x"y,1\n'), /^DataError: line 2: unexpected character "y" after a closing quote/);
  });

  it('rejects a quoted field that is never closed, naming the line where it opened', () => {
    assert.throws(() => parse('a,b\n1,2\n3,"open\nmore\n'), /^DataError: line 3: quoted field is never closed/);
  });
});

describe('readCsvRecords', () => {
  it('decodes UTF-8 characters split across byte chunks and reports every raw chunk', async () => {
    const bytes = Buffer.from('name,city\nZoë,Zürich\n', 'utf8');
    // Cut inside the two-byte "ë".
    const cut = bytes.indexOf(0xc3) + 1;
    const chunks = [bytes.subarray(0, cut), bytes.subarray(cut)];
    let seen = 0;
    const records: CsvRecord[] = [];
    for await (const r of readCsvRecords(chunks, { onChunk: (c) => (seen += c.length) })) records.push(r);
    assert.deepEqual(records.map((r) => r.fields), [['name', 'city'], ['Zoë', 'Zürich']]);
    assert.equal(seen, bytes.length);
  });

  it('supports another delimiter', async () => {
    const records: CsvRecord[] = [];
    for await (const r of readCsvRecords(['a;b\n1;"2;3"\n'], { delimiter: ';' })) records.push(r);
    assert.deepEqual(records.map((r) => r.fields), [['a', 'b'], ['1', '2;3']]);
  });
});
