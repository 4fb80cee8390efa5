import { UnprocessableError } from '@contender/platform';

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
/** The header is held while it is read; a longer first record is not a header. */
const MAX_HEADER_BYTES = 1024 * 1024;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: the first half of "" or the closing quote. */
  QuoteInQuoted,
}

export interface CsvShape {
  /** The header's column names, in file order. */
  columns: string[];
  /** Data records, the header not counted. */
  rows: number;
}

/**
 * Checks the shape of a CSV while it streams past, byte chunk by byte chunk, and counts its rows:
 * it keeps only the header's names and a few counters, never a row, so memory stays flat however
 * large the file. A chunk may end anywhere: inside a field, a quoted field, a "" escape or a CRLF.
 *
 * The dialect is the one `@contender/ml`'s CsvParser reads (the DAGs read datasets with it), so a
 * file this accepts parses there with the same number of rows: RFC 4180 quoting, records ending at
 * LF, CRLF or a lone CR, empty lines skipped, a quote inside an unquoted field kept as data, a
 * leading UTF-8 byte-order mark dropped.
 *
 * Refused with 422, naming the 1-based line (physical, the header is line 1) and data row:
 * no header (an empty file, or a first record that is all numbers, i.e. data), an empty or
 * repeated column name, a record with another number of fields than the header, text after a
 * closing quote, and a quoted field still open at the end.
 */
export class CsvRowCounter {
  private state = State.FieldStart;
  private fieldCount = 0;
  private fieldLen = 0;
  private fieldQuoted = false;
  private lastFieldBlank = false;
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  private skipLf = false;
  private quotedCr = false;
  private rows = 0;
  private header: string[] | null = null;
  /** While the header is read: its finished fields and the bytes of the current one. */
  private headerFields: string[] = [];
  private headerBytes: Buffer[] = [];
  private headerSize = 0;
  /** Bytes before the first three have been seen, to drop a byte-order mark split across chunks. */
  private head: Buffer | null = Buffer.alloc(0);

  push(chunk: Buffer): void {
    if (this.head) {
      const h = Buffer.concat([this.head, chunk]);
      if (h.length < 3) {
        this.head = h;
        return;
      }
      this.head = null;
      chunk = h[0] === 0xef && h[1] === 0xbb && h[2] === 0xbf ? h.subarray(3) : h;
    }
    this.scan(chunk);
  }

  /** The end of the input: the shape, or a 422 for what the whole file shows (no header, an open quote). */
  end(): CsvShape {
    if (this.head) {
      const h = this.head;
      this.head = null;
      this.scan(h);
    }
    if (this.state === State.Quoted) {
      throw new UnprocessableError(
        'csv_unterminated_quote',
        `${this.where(this.quoteLine)}: a quoted field is never closed (a quote inside a quoted field must be doubled)`,
        { line: this.quoteLine, row: this.currentRow() },
      );
    }
    if (this.state !== State.FieldStart || this.fieldCount > 0) {
      this.endField();
      this.endRecord();
    }
    if (!this.header) {
      throw new UnprocessableError('csv_no_header', 'the CSV has no header: it is empty, and its first line must name the columns', { line: 1, row: null });
    }
    return { columns: this.header, rows: this.rows };
  }

  private scan(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    while (i < n) {
      if (this.skipLf) {
        this.skipLf = false;
        if (buf[i] === LF) {
          i++;
          continue;
        }
      }
      if (this.header && this.state !== State.Quoted && this.state !== State.QuoteInQuoted) {
        i = this.scanUnquoted(buf, i);
        if (i >= n) break;
      }
      switch (this.state) {
        case State.FieldStart:
        case State.Unquoted: {
          if (this.state === State.FieldStart && buf[i] === QUOTE) {
            this.state = State.Quoted;
            this.fieldQuoted = true;
            this.quoteLine = this.line;
            i++;
            break;
          }
          let j = i;
          while (j < n) {
            const c = buf[j]!;
            if (c === COMMA || c === LF || c === CR) break;
            j++;
          }
          this.take(buf, i, j);
          if (j === n) {
            this.state = State.Unquoted;
            i = j;
            break;
          }
          const c = buf[j]!;
          this.endField();
          if (c !== COMMA) this.endRecord(c);
          i = j + 1;
          break;
        }
        case State.Quoted: {
          let j = buf.indexOf(QUOTE, i);
          if (j < 0) j = n;
          for (let k = i; k < j; k++) {
            const c = buf[k];
            if (c === CR) {
              this.line++;
              this.quotedCr = true;
            } else {
              if (c === LF && !this.quotedCr) this.line++;
              this.quotedCr = false;
            }
          }
          this.take(buf, i, j);
          if (j < n) {
            this.quotedCr = false;
            this.state = State.QuoteInQuoted;
          }
          i = j + 1;
          break;
        }
        case State.QuoteInQuoted: {
          const c = buf[i]!;
          if (c === QUOTE) {
            this.take(buf, i, i + 1);
            this.state = State.Quoted;
          } else if (c === COMMA) {
            this.endField();
          } else if (c === LF || c === CR) {
            this.endField();
            this.endRecord(c);
          } else {
            throw new UnprocessableError(
              'csv_invalid_quote',
              `${this.where(this.line)}: unexpected character after a closing quote (a quote inside a quoted field must be doubled)`,
              { line: this.line, row: this.currentRow() },
            );
          }
          i++;
          break;
        }
      }
    }
  }

  /**
   * The hot path, once the header is known: unquoted fields, counted in local variables with no
   * call per field (most rows of most files). Returns where it stopped: the end of the chunk, or
   * a quote opening a field, which the general loop takes from there.
   */
  private scanUnquoted(buf: Buffer, i: number): number {
    const n = buf.length;
    const expected = this.header!.length;
    let fields = this.fieldCount;
    let len = this.fieldLen;
    let state = this.state;
    while (i < n) {
      const c = buf[i]!;
      if (c === COMMA) {
        fields++;
        len = 0;
        state = State.FieldStart;
        i++;
      } else if (c === LF || c === CR) {
        fields++;
        // One empty unquoted field on a line is an empty line: skipped, as the parser does.
        if (fields !== 1 || len !== 0) {
          if (fields !== expected) {
            this.fieldCount = fields;
            throw this.ragged();
          }
          this.rows++;
        }
        fields = 0;
        len = 0;
        state = State.FieldStart;
        this.line++;
        this.recordLine = this.line;
        i++;
        if (c === CR) {
          if (i === n) this.skipLf = true;
          else if (buf[i] === LF) i++;
        }
      } else if (c === QUOTE && state === State.FieldStart) {
        break;
      } else {
        len++;
        state = State.Unquoted;
        i++;
      }
    }
    this.fieldCount = fields;
    this.fieldLen = len;
    this.state = state;
    return i;
  }

  private ragged(): UnprocessableError {
    const row = this.rows + 1;
    const header = this.header!;
    return new UnprocessableError(
      'csv_ragged_row',
      `row ${row} (line ${this.recordLine}) has ${this.fieldCount} field${this.fieldCount === 1 ? '' : 's'}; the header has ${header.length} columns`,
      { line: this.recordLine, row, fields: this.fieldCount, columns: header.length },
    );
  }

  /** Bytes [from, to) belong to the current field. */
  private take(buf: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.fieldLen += to - from;
    if (this.header) return;
    this.headerSize += to - from;
    if (this.headerSize > MAX_HEADER_BYTES) {
      throw new UnprocessableError('csv_invalid_header', `the header (line ${this.recordLine}) is longer than ${MAX_HEADER_BYTES} bytes`, { line: this.recordLine, row: null });
    }
    // Copied: the chunk's memory is reused by the stream once this returns.
    this.headerBytes.push(Buffer.from(buf.subarray(from, to)));
  }

  private endField(): void {
    this.fieldCount++;
    this.lastFieldBlank = this.fieldLen === 0 && !this.fieldQuoted;
    if (!this.header) {
      this.headerFields.push(Buffer.concat(this.headerBytes).toString('latin1'));
      this.headerBytes = [];
    }
    this.fieldLen = 0;
    this.fieldQuoted = false;
    this.state = State.FieldStart;
  }

  private endRecord(lineBreak?: number): void {
    const blank = this.fieldCount === 1 && this.lastFieldBlank;
    if (blank) {
      if (!this.header) this.headerFields = [];
    } else if (!this.header) {
      this.header = this.checkHeader(this.headerFields);
      this.headerFields = [];
    } else if (this.fieldCount !== this.header.length) {
      throw this.ragged();
    } else {
      this.rows++;
    }
    this.fieldCount = 0;
    if (lineBreak !== undefined) {
      this.line++;
      this.recordLine = this.line;
      if (lineBreak === CR) this.skipLf = true;
    }
  }

  /** Header fields were kept as latin1 (one char per byte) so a name split across chunks decodes whole here. */
  private checkHeader(raw: string[]): string[] {
    const line = this.recordLine;
    const fail = (message: string, extra: Record<string, unknown> = {}) =>
      new UnprocessableError('csv_invalid_header', `the header (line ${line}) ${message}`, { line, row: null, ...extra });
    let names: string[];
    try {
      const decoder = new TextDecoder('utf-8', { fatal: true });
      names = raw.map((s) => decoder.decode(Buffer.from(s, 'latin1')));
    } catch {
      throw fail('is not valid UTF-8');
    }
    if (names.every((s) => s.trim() !== '' && Number.isFinite(Number(s)))) {
      throw new UnprocessableError(
        'csv_no_header',
        `the CSV has no header: its first line (line ${line}) is all numbers, which is data; the first line must name the columns`,
        { line, row: null },
      );
    }
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
      if (name.trim() === '') throw fail(`has an empty name for column ${i + 1}`, { column: i + 1 });
      const first = seen.get(name);
      if (first !== undefined) throw fail(`names "${name}" twice (columns ${first} and ${i + 1})`, { column: i + 1, name });
      seen.set(name, i + 1);
    });
    return names;
  }

  private currentRow(): number | null {
    return this.header ? this.rows + 1 : null;
  }

  private where(line: number): string {
    return this.header ? `row ${this.rows + 1} (line ${line})` : `the header (line ${line})`;
  }
}
