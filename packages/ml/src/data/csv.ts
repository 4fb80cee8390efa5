import { StringDecoder } from 'node:string_decoder';
import { DataError } from './errors.js';

/** One CSV record with the 1-based physical line it starts on (records can span lines). */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const BOM = 0xfeff;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: either the first half of "" or the closing quote. */
  QuoteInQuoted,
}

/**
 * Incremental RFC 4180 parser: feed it text in chunks of any size (a chunk may end in the middle
 * of a field, a "" escape or a CRLF) and it returns the records completed so far.
 *
 * - Fields may be quoted; inside quotes, delimiters, CR/LF and "" (a literal quote) are data.
 * - Records end at LF, CRLF or a lone CR. A final record without a line break is still returned.
 * - Lines that are completely empty are skipped (they carry no record in any real export).
 * - A quote in the middle of an unquoted field is kept as a literal character (lenient, as most
 *   exporters produce it); text between a closing quote and the next delimiter is an error, as is
 *   a quoted field still open at the end of the input.
 * - A leading UTF-8 byte-order mark is dropped.
 */
export class CsvParser {
  private readonly delimiter: number;
  private state = State.FieldStart;
  private field = '';
  private fieldQuoted = false;
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  /** A CR just ended a record, so an LF right after it belongs to the same line break. */
  private skipLf = false;
  /** The previous character inside a quoted field was CR (counts CRLF as one line). */
  private quotedCr = false;
  private started = false;

  constructor(delimiter = ',') {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new RangeError(`CSV delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
    }
    this.delimiter = delimiter.charCodeAt(0);
  }

  /** Parse the next chunk; completed records are appended to `out`. */
  push(chunk: string, out: CsvRecord[]): void {
    let i = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === BOM) i = 1;
    }
    const n = chunk.length;
    const delimiter = this.delimiter;
    while (i < n) {
      const ch = chunk.charCodeAt(i);
      if (this.skipLf) {
        this.skipLf = false;
        if (ch === LF) {
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart:
        case State.Unquoted: {
          if (this.state === State.FieldStart && ch === QUOTE) {
            this.state = State.Quoted;
            this.fieldQuoted = true;
            this.quoteLine = this.line;
            i++;
            break;
          }
          // Copy the run of ordinary characters in one slice rather than char by char.
          let j = i;
          while (j < n) {
            const c = chunk.charCodeAt(j);
            if (c === delimiter || c === LF || c === CR) break;
            j++;
          }
          if (j > i) this.field += chunk.slice(i, j);
          if (j === n) {
            this.state = State.Unquoted;
            i = j;
            break;
          }
          const c = chunk.charCodeAt(j);
          this.endField();
          if (c !== delimiter) this.endRecord(c, out);
          i = j + 1;
          break;
        }
        case State.Quoted: {
          let j = i;
          while (j < n) {
            const c = chunk.charCodeAt(j);
            if (c === QUOTE) break;
            if (c === CR) {
              this.line++;
              this.quotedCr = true;
            } else {
              if (c === LF && !this.quotedCr) this.line++;
              this.quotedCr = false;
            }
            j++;
          }
          if (j > i) this.field += chunk.slice(i, j);
          if (j < n) {
            this.quotedCr = false;
            this.state = State.QuoteInQuoted;
          }
          i = j + 1;
          break;
        }
        case State.QuoteInQuoted: {
          if (ch === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
          } else if (ch === delimiter) {
            this.endField();
          } else if (ch === LF || ch === CR) {
            this.endField();
            this.endRecord(ch, out);
          } else {
            throw new DataError(`unexpected character ${JSON.stringify(chunk[i])} after a closing quote (a quote inside a quoted field must be doubled)`, { line: this.line });
          }
          i++;
          break;
        }
      }
    }
  }

  /** Signal the end of input; returns the last record if the input did not end with a line break. */
  end(out: CsvRecord[]): void {
    if (this.state === State.Quoted) {
      throw new DataError('quoted field is never closed (unbalanced quote)', { line: this.quoteLine });
    }
    if (this.state !== State.FieldStart || this.fields.length > 0) {
      this.endField();
      this.emit(out);
    }
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
  }

  private endRecord(lineBreak: number, out: CsvRecord[]): void {
    this.emit(out);
    this.line++;
    this.recordLine = this.line;
    if (lineBreak === CR) this.skipLf = true;
  }

  private emit(out: CsvRecord[]): void {
    const fields = this.fields;
    const blank = fields.length === 1 && fields[0] === '' && !this.fieldQuoted;
    if (!blank) out.push({ fields, line: this.recordLine });
    this.fields = [];
    this.fieldQuoted = false;
  }
}

/**
 * Stream CSV records from byte chunks (a file stream, a socket…) without holding the whole file.
 * `onChunk` sees every raw chunk before it is decoded — used to hash the exact bytes of the file.
 */
export async function* readCsvRecords(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: { delimiter?: string; onChunk?: (chunk: Uint8Array | string) => void } = {},
): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser(options.delimiter);
  // StringDecoder keeps a multi-byte UTF-8 character split across two chunks intact.
  const decoder = new StringDecoder('utf8');
  const out: CsvRecord[] = [];
  for await (const chunk of source) {
    options.onChunk?.(chunk);
    parser.push(typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)), out);
    yield* out;
    out.length = 0;
  }
  parser.push(decoder.end(), out);
  parser.end(out);
  yield* out;
}
