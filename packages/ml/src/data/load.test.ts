import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { alignFeatures, loadCsvDataset, oneHotColumns, readCsvDataset, readCsvHeader, type CsvDatasetOptions } from './load.js';

const read = (text: string, options: Partial<CsvDatasetOptions> = {}) => readCsvDataset([text], { label: 'y', ...options });

const rowsOf = (X: { rows: number; cols: number; data: Float64Array }): number[][] =>
  Array.from({ length: X.rows }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)));

describe('readCsvDataset', () => {
  it('reads numeric features in column order without the label and dropped columns', async () => {
    const ds = await read('id,a,y,b\n1,0.5,1,10\n2,-1e2,0,20\n', { drop: ['id'] });
    assert.deepEqual(ds.featureNames, ['a', 'b']);
    assert.deepEqual(rowsOf(ds.X), [[0.5, 10], [-100, 20]]);
    assert.deepEqual([...ds.y], [1, 0]);
    assert.equal(ds.rows, 2);
    assert.deepEqual(ds.label, { column: 'y', positive: '1', negative: '0' });
  });

  it('reads empty cells, NA and null as missing (NaN) feature values', async () => {
    const ds = await read('a,b,y\n,NA,1\nnull, 3 ,0\n');
    assert.deepEqual(rowsOf(ds.X), [[NaN, NaN], [NaN, 3]]);
  });

  it('one-hot encodes a column whose values are not numbers, one indicator per category in sorted order', async () => {
    const ds = await read('status,amount,y\nA12,100,1\nA11,200,0\n,300,0\nA12,400,1\n');
    assert.deepEqual(ds.featureNames, ['status=A11', 'status=A12', 'amount']);
    assert.deepEqual(rowsOf(ds.X), [[0, 1, 100], [1, 0, 200], [0, 0, 300], [0, 1, 400]]);
    assert.deepEqual(ds.encodings, [
      { column: 'status', kind: 'one-hot', categories: ['A11', 'A12'] },
      { column: 'amount', kind: 'numeric' },
    ]);
  });

  it('one-hot encodes numeric-looking codes when the column is named as categorical', async () => {
    const ds = await read('grade,y\n3,1\n1,0\n3,0\n', { categorical: ['grade'] });
    assert.deepEqual(ds.featureNames, ['grade=1', 'grade=3']);
  });

  it('maps labels to 1 for the named positive class and 0 for the other', async () => {
    const ds = await read('x,class\n1,1\n2,2\n3,1\n', { label: 'class', positive: '2' });
    assert.deepEqual([...ds.y], [0, 1, 0]);
    assert.deepEqual(ds.label, { column: 'class', positive: '2', negative: '1' });
  });

  it('computes the sha256 of the bytes read', async () => {
    const text = 'x,y\n1,0\n2,1\n';
    const ds = await read(text);
    assert.equal(ds.sha256, createHash('sha256').update(text).digest('hex'));
  });

  describe('errors', () => {
    it('names the line and column of a non-numeric cell in a numeric column', async () => {
      await assert.rejects(read('a,b,y\n1,2,0\n3,x7,1\n'), {
        name: 'DataError',
        message: 'line 3, column "b": "x7" is not a number (the column was read as numeric from its first value on line 2; list it as categorical to one-hot encode it)',
      });
    });

    it('names the missing label column and lists the columns there are', async () => {
      await assert.rejects(read('a,b\n1,2\n', { label: 'target' }), { message: 'line 1: label column "target" not found; the columns are "a", "b"' });
    });

    it('refuses labels other than 0/1 unless the positive class is named', async () => {
      await assert.rejects(read('x,y\n1,1\n2,2\n'), {
        message: 'line 3, column "y": label "2" is not 0 or 1; name the positive class (option positive, CLI --positive) to use other label values',
      });
    });

    it('refuses a third label value when the positive class is named', async () => {
      await assert.rejects(read('x,y\n1,a\n2,b\n3,c\n', { positive: 'a' }), { message: 'line 4, column "y": label "c" is a third class after "a" and "b"; a binary classifier needs exactly two' });
    });

    it('refuses a positive class that never occurs', async () => {
      await assert.rejects(read('x,y\n1,a\n2,b\n', { positive: 'bad' }), { message: 'positive class "bad" does not occur in label column "y"; its values are "a", "b"' });
    });

    it('refuses data with only one class', async () => {
      await assert.rejects(read('x,y\n1,0\n2,0\n'), { message: 'label column "y" has only one class ("0") in 2 rows; a classifier needs both' });
    });

    it('refuses a missing label, naming the line', async () => {
      await assert.rejects(read('x,y\n1,0\n2,NA\n'), { message: 'line 3, column "y": the label is missing' });
    });

    it('refuses a header without data rows, and an empty file', async () => {
      await assert.rejects(read('x,y\n'), { message: 'the file has a header but no data rows' });
      await assert.rejects(read(''), { message: 'the file is empty (no header row)' });
    });

    it('refuses a ragged row, naming the line', async () => {
      await assert.rejects(read('x,y\n1,0\n2,1,5\n'), { message: 'line 3: expected 2 fields as in the header, found 3' });
    });

    it('refuses a dropped or categorical column that is not in the header', async () => {
      await assert.rejects(read('x,y\n1,0\n', { drop: ['id'] }), { message: 'line 1: column "id" given in the options is not in the header' });
    });

    it('refuses string columns when categorical encoding is turned off', async () => {
      await assert.rejects(read('c,y\nA,0\nB,1\n', { inferCategorical: false }), /^DataError: line 2, column "c": "A" is not a number, and categorical columns are not accepted/);
    });

    it('refuses duplicate column names', async () => {
      await assert.rejects(read('x,x,y\n1,2,0\n'), { message: 'line 1: column name "x" appears twice in the header' });
    });
  });
});

describe('loadCsvDataset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'contender-load-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('streams a file, reading the header on its own when asked', async () => {
    const path = join(dir, 'data.csv');
    const text = 'amount,"the label",colour\r\n1,1,red\r\n2,0,"blue"\r\n3,1,red\r\n';
    writeFileSync(path, text);
    assert.deepEqual(await readCsvHeader(path), ['amount', 'the label', 'colour']);
    const ds = await loadCsvDataset(path, { label: 'the label' });
    assert.equal(ds.rows, 3);
    assert.equal(ds.sha256, createHash('sha256').update(text).digest('hex'));
    assert.deepEqual(ds.featureNames, ['amount', 'colour=blue', 'colour=red']);
  });
});

describe('alignFeatures', () => {
  it("orders columns as the model's feature names and zero-fills categories absent from the file", async () => {
    const ds = await read('colour,amount,y\nred,1,1\nred,2,0\n');
    const X = alignFeatures(ds, ['amount', 'colour=blue', 'colour=red']);
    assert.deepEqual(rowsOf(X), [[1, 0, 1], [2, 0, 1]]);
  });

  it('refuses a feature the data cannot provide', async () => {
    const ds = await read('amount,y\n1,1\n2,0\n');
    assert.throws(() => alignFeatures(ds, ['amount', 'income']), { message: 'the model expects feature "income", which the data does not have' });
  });

  it('finds the one-hot source columns of feature names given the header', () => {
    assert.deepEqual(oneHotColumns(['amount', 'grade=1', 'grade=3', 'x=y=z'], ['amount', 'grade', 'x', 'y']), ['grade', 'x']);
  });
});
