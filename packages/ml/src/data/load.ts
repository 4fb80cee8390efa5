import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Dataset, Matrix } from '../matrix.js';
import { readCsvRecords, type CsvRecord } from './csv.js';
import { DataError } from './errors.js';

/**
 * Cells that mean "no value". In feature columns they become NaN (numeric) or all-zero indicators
 * (one-hot); in the label column they are an error.
 */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'NaN', 'null', 'NULL']);

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Decimal number (optionally signed, with exponent); hex, Infinity and the like are not numbers here. */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  return NUMBER.test(t) ? Number(t) : undefined;
}

export interface CsvDatasetOptions {
  /** Name of the label column. */
  readonly label: string;
  /** Columns to leave out (IDs, leakage). Each must exist. */
  readonly drop?: readonly string[];
  /**
   * The label value (as written in the file) of the positive class; every other value is the
   * negative class, and at most two distinct values may occur. Without it the labels must be 0/1.
   */
  readonly positive?: string;
  /** Columns to one-hot encode even if their values look numeric (integer codes). Each must exist. */
  readonly categorical?: readonly string[];
  /**
   * Other columns whose first non-missing value is not a number are one-hot encoded too (true, the
   * default). With false such a column is an error — for pipelines that must be all-numeric.
   */
  readonly inferCategorical?: boolean;
  /** Field delimiter; ',' by default. */
  readonly delimiter?: string;
}

/** How one source column became feature columns. */
export type ColumnEncoding =
  | { readonly column: string; readonly kind: 'numeric' }
  /**
   * One indicator feature per category, named `column=category`, categories in ascending string
   * order. A missing cell, or a category the model never saw, sets every indicator to 0.
   */
  | { readonly column: string; readonly kind: 'one-hot'; readonly categories: readonly string[] };

export interface CsvDataset extends Dataset {
  /** Data rows read (header and blank lines excluded). */
  readonly rows: number;
  /** Hex sha256 of the file's bytes exactly as read. */
  readonly sha256: string;
  readonly label: { readonly column: string; readonly positive: string; readonly negative: string };
  readonly encodings: readonly ColumnEncoding[];
}

interface ColumnState {
  readonly name: string;
  readonly index: number;
  kind: 'numeric' | 'categorical' | undefined;
  /** First line with a value, which fixed the kind when it was inferred. */
  kindLine: number;
  values: Float64Array;
  /** Categorical only: category → code stored in `values`. */
  readonly codes: Map<string, number>;
}

/** Read a labelled dataset from a CSV file, streaming. Errors are DataErrors naming line and column. */
export async function loadCsvDataset(path: string, options: CsvDatasetOptions): Promise<CsvDataset> {
  return readCsvDataset(createReadStream(path), options);
}

/** The header row of a CSV file (reads only as far as the first record). */
export async function readCsvHeader(path: string, delimiter?: string): Promise<string[]> {
  const stream = createReadStream(path);
  try {
    for await (const record of readCsvRecords(stream, { delimiter })) return record.fields.map((f) => f.trim());
  } finally {
    stream.destroy();
  }
  throw new DataError('the file is empty (no header row)');
}

/** As `loadCsvDataset`, from any byte or text stream. */
export async function readCsvDataset(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: CsvDatasetOptions,
): Promise<CsvDataset> {
  const hash = createHash('sha256');
  const records = readCsvRecords(source, { delimiter: options.delimiter, onChunk: (chunk) => hash.update(chunk) });
  let header: string[] | undefined;
  let columns: ColumnState[] = [];
  let labelIndex = -1;
  let width = 0;
  let rows = 0;
  let capacity = 1024;
  let labels: Float64Array = new Float64Array(capacity);
  const labelLines = new Map<string, number>();
  const positive = options.positive;
  const inferCategorical = options.inferCategorical ?? true;

  const setup = (record: CsvRecord): void => {
    header = record.fields.map((f) => f.trim());
    width = header.length;
    const seen = new Set<string>();
    header.forEach((name, j) => {
      if (name === '') throw new DataError(`header cell ${j + 1} is empty; every column needs a name`, { line: record.line });
      if (seen.has(name)) throw new DataError(`column name "${name}" appears twice in the header`, { line: record.line });
      seen.add(name);
    });
    labelIndex = header.indexOf(options.label);
    if (labelIndex < 0) {
      throw new DataError(`label column "${options.label}" not found; the columns are ${header.map((h) => `"${h}"`).join(', ')}`, { line: record.line });
    }
    for (const name of [...(options.drop ?? []), ...(options.categorical ?? [])]) {
      if (!seen.has(name)) throw new DataError(`column "${name}" given in the options is not in the header`, { line: record.line });
    }
    const drop = new Set(options.drop ?? []);
    if (drop.has(options.label)) throw new DataError(`the label column "${options.label}" is also listed to drop`);
    const categorical = new Set(options.categorical ?? []);
    columns = header.flatMap((name, index) =>
      index === labelIndex || drop.has(name)
        ? []
        : [{ name, index, kind: categorical.has(name) ? ('categorical' as const) : undefined, kindLine: 0, values: new Float64Array(capacity), codes: new Map<string, number>() }],
    );
  };

  const grow = (): void => {
    capacity *= 2;
    const more = (a: Float64Array): Float64Array => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    labels = more(labels);
    for (const c of columns) c.values = more(c.values);
  };

  const readLabel = (raw: string, line: number): number => {
    const value = raw.trim();
    if (MISSING_TOKENS.has(value)) throw new DataError('the label is missing', { line, column: options.label });
    if (!labelLines.has(value)) {
      if (positive === undefined) {
        const n = parseNumber(value);
        if (n !== 0 && n !== 1) {
          throw new DataError(`label ${JSON.stringify(value)} is not 0 or 1; name the positive class (option positive, CLI --positive) to use other label values`, { line, column: options.label });
        }
      } else if (labelLines.size === 2) {
        throw new DataError(`label ${JSON.stringify(value)} is a third class after ${[...labelLines.keys()].map((k) => JSON.stringify(k)).join(' and ')}; a binary classifier needs exactly two`, { line, column: options.label });
      }
      labelLines.set(value, line);
    }
    return positive === undefined ? parseNumber(value)! : value === positive ? 1 : 0;
  };

  const readCell = (column: ColumnState, raw: string, line: number): number => {
    const text = raw.trim();
    if (MISSING_TOKENS.has(text)) return NaN;
    if (column.kind === undefined) {
      column.kindLine = line;
      if (parseNumber(text) !== undefined) column.kind = 'numeric';
      else if (inferCategorical) column.kind = 'categorical';
      else {
        throw new DataError(`${JSON.stringify(text)} is not a number, and categorical columns are not accepted here (drop the column or allow categorical encoding)`, { line, column: column.name });
      }
    }
    if (column.kind === 'categorical') {
      let code = column.codes.get(text);
      if (code === undefined) column.codes.set(text, (code = column.codes.size));
      return code;
    }
    const value = parseNumber(text);
    if (value === undefined) {
      const why = column.kindLine > 0 ? `the column was read as numeric from its first value on line ${column.kindLine}` : 'the column is numeric';
      throw new DataError(`${JSON.stringify(text)} is not a number (${why}; list it as categorical to one-hot encode it)`, { line, column: column.name });
    }
    return value;
  };

  for await (const record of records) {
    if (header === undefined) {
      setup(record);
      continue;
    }
    const { fields, line } = record;
    if (fields.length !== width) throw new DataError(`expected ${width} fields as in the header, found ${fields.length}`, { line });
    if (rows === capacity) grow();
    labels[rows] = readLabel(fields[labelIndex]!, line);
    for (const column of columns) column.values[rows] = readCell(column, fields[column.index]!, line);
    rows++;
  }
  if (header === undefined) throw new DataError('the file is empty (no header row)');
  if (rows === 0) throw new DataError('the file has a header but no data rows');

  const classes = [...labelLines.keys()];
  let positiveLabel: string;
  let negativeLabel: string;
  if (positive === undefined) {
    positiveLabel = classes.find((c) => parseNumber(c) === 1) ?? '1';
    negativeLabel = classes.find((c) => parseNumber(c) === 0) ?? '0';
  } else {
    if (!labelLines.has(positive)) {
      throw new DataError(`positive class ${JSON.stringify(positive)} does not occur in label column "${options.label}"; its values are ${classes.map((c) => JSON.stringify(c)).join(', ')}`);
    }
    positiveLabel = positive;
    negativeLabel = classes.find((c) => c !== positive) ?? '';
  }
  // Two spellings of one class ("1" and "1.0") count as one class here.
  let ones = 0;
  for (let i = 0; i < rows; i++) ones += labels[i]!;
  if (ones === 0 || ones === rows) {
    throw new DataError(`label column "${options.label}" has only one class (${JSON.stringify(ones === 0 ? negativeLabel : positiveLabel)}) in ${rows} rows; a classifier needs both`);
  }

  return assemble(columns, rows, labels.slice(0, rows), {
    rows,
    sha256: hash.digest('hex'),
    label: { column: options.label, positive: positiveLabel, negative: negativeLabel },
  });
}

function assemble(
  columns: readonly ColumnState[],
  rows: number,
  y: Float64Array,
  meta: Pick<CsvDataset, 'rows' | 'sha256' | 'label'>,
): CsvDataset {
  const encodings: ColumnEncoding[] = [];
  const featureNames: string[] = [];
  // For each output feature: source column and, for an indicator, the code that sets it to 1.
  const sources: { column: ColumnState; code: number | undefined }[] = [];
  for (const column of columns) {
    if (column.kind === 'categorical') {
      const categories = [...column.codes.keys()].sort();
      encodings.push({ column: column.name, kind: 'one-hot', categories });
      for (const category of categories) {
        featureNames.push(`${column.name}=${category}`);
        sources.push({ column, code: column.codes.get(category)! });
      }
    } else {
      // A column with no values at all stays numeric (all NaN).
      encodings.push({ column: column.name, kind: 'numeric' });
      featureNames.push(column.name);
      sources.push({ column, code: undefined });
    }
  }
  const cols = featureNames.length;
  const data = new Float64Array(rows * cols);
  sources.forEach(({ column, code }, j) => {
    const values = column.values;
    if (code === undefined) for (let i = 0; i < rows; i++) data[i * cols + j] = values[i]!;
    else for (let i = 0; i < rows; i++) data[i * cols + j] = values[i] === code ? 1 : 0;
  });
  return { ...meta, featureNames, X: { rows, cols, data }, y, encodings };
}

/** The source columns a model's one-hot feature names refer to (`column=category`), given the CSV header. */
export function oneHotColumns(featureNames: readonly string[], header: readonly string[]): string[] {
  const names = new Set(header);
  const out = new Set<string>();
  for (const feature of featureNames) {
    if (names.has(feature)) continue;
    for (const column of header) if (feature.startsWith(`${column}=`)) out.add(column);
  }
  return [...out];
}

/**
 * The feature matrix in a model's feature order. A feature name that is a column of the dataset
 * is copied; `column=category` for a one-hot encoded column with no row in that category (a
 * category seen in training but not in this file) is all zeros; anything else is an error.
 */
export function alignFeatures(dataset: CsvDataset, featureNames: readonly string[]): Matrix {
  const index = new Map(dataset.featureNames.map((name, j) => [name, j]));
  const oneHot = dataset.encodings.filter((e) => e.kind === 'one-hot').map((e) => e.column);
  const { rows, cols: sourceCols, data: source } = dataset.X;
  const cols = featureNames.length;
  const data = new Float64Array(rows * cols);
  featureNames.forEach((name, j) => {
    const from = index.get(name);
    if (from !== undefined) {
      for (let i = 0; i < rows; i++) data[i * cols + j] = source[i * sourceCols + from]!;
    } else if (!oneHot.some((column) => name.startsWith(`${column}=`))) {
      throw new DataError(`the model expects feature "${name}", which the data does not have`);
    }
  });
  return { rows, cols, data };
}
