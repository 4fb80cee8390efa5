/**
 * A queue of text records from one thread to another in a SharedArrayBuffer: one producer (the
 * thread that answers requests) writes each record's UTF-8 bytes straight into shared memory, one
 * consumer (a worker thread) copies them out, and the producer's heap holds nothing per record.
 * That is the point: whatever the request path keeps alive for a while (a write-through waiting to
 * be sent, a prediction waiting for its COPY) survives young-generation collections on the heap of
 * the thread that has it, and there it costs copying, promotion and old-generation collections,
 * which on two cores make the tail of /predict.
 *
 * The consumer takes records (advancing a read position of its own) and releases them later, in
 * order, once done with them; only released space is written again. Until then the producer can
 * still read them (forEachUnreleased, findUnreleased): what is unreleased is what is not done.
 *
 * Layout: `bytes` of data, then control words (Int32): head (where the producer writes next),
 * tail (the start of what is not released yet), a flag the consumer raises while it goes to
 * sleep, and the word it sleeps on (bumped to wake it). A record is a 4-byte length and its
 * bytes, padded to a multiple of 4; a length of -1 means "continue at offset 0". The ring keeps 4
 * bytes free at least, so head === tail means empty.
 */
const HEAD = 0;
const TAIL = 1;
const SLEEPING = 2;
const WAKE = 3;
const CONTROL_WORDS = 4;
const WRAP = -1;

const encoder = new TextEncoder();
const align4 = (n: number) => (n + 3) & ~3;

/** Records in the ring, by place: what takeRange() hands out, readRange() reads and release() frees. */
export interface RingRange {
  start: number;
  /** Where the ring's tail moves on release. */
  end: number;
  count: number;
  /** Their bytes, lengths not counted. */
  bytes: number;
}

/** Records taken by take(): their range, and their bytes (copies). */
export interface Taken extends RingRange {
  records: Buffer[];
}

export class SharedRing {
  readonly buffer: SharedArrayBuffer;
  private readonly size: number;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly control: Int32Array;
  /** Consumer side: where the next take() starts. */
  private readPos: number;

  /** A new ring of `bytes` bytes of data (a multiple of 4, at least 64). */
  static create(bytes: number): SharedRing {
    if (!Number.isInteger(bytes) || bytes < 64 || bytes % 4 !== 0) throw new RangeError(`ring size must be a multiple of 4, at least 64: ${bytes}`);
    return new SharedRing(new SharedArrayBuffer(bytes + CONTROL_WORDS * 4));
  }

  /** The same ring, seen from another thread (the buffer as posted to a worker). */
  static attach(buffer: SharedArrayBuffer): SharedRing {
    return new SharedRing(buffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.size = buffer.byteLength - CONTROL_WORDS * 4;
    this.bytes = new Uint8Array(buffer, 0, this.size);
    this.words = new Int32Array(buffer, 0, this.size / 4);
    this.control = new Int32Array(buffer, this.size, CONTROL_WORDS);
    this.readPos = Atomics.load(this.control, TAIL);
  }

  // ---- producer ----

  /**
   * Appends `text` as one record. False when it does not fit in the free space (the consumer is
   * behind, or the record is larger than the ring): the caller decides what that costs.
   */
  push(text: string): boolean {
    const head = this.control[HEAD]!;
    const tail = Atomics.load(this.control, TAIL);
    let at = head;
    let room: number;
    let wrapRoom = 0;
    if (head >= tail) {
      // Free: head … end, and 0 … tail. Reaching the end exactly is allowed only if tail > 0.
      room = this.size - head - (tail === 0 ? 4 : 0);
      wrapRoom = tail - 4;
    } else {
      room = tail - head - 4;
    }
    let written = room >= 8 ? this.encode(text, at, room) : -1;
    if (written < 0) {
      if (wrapRoom < 8) return false;
      written = this.encode(text, 0, wrapRoom);
      if (written < 0) return false;
      if (head < this.size) this.words[head >> 2] = WRAP;
      at = 0;
    }
    this.words[at >> 2] = written;
    let next = at + 4 + align4(written);
    if (next === this.size) next = 0;
    // The store publishes the record: Atomics are sequentially consistent, so its bytes are
    // visible to the consumer before the new head is.
    Atomics.store(this.control, HEAD, next);
    if (Atomics.load(this.control, SLEEPING) === 1) this.wake();
    return true;
  }

  /** Wakes the consumer if it waits in waitForRecords() (for a reason of the caller's own). */
  wake(): void {
    Atomics.add(this.control, WAKE, 1);
    Atomics.notify(this.control, WAKE);
  }

  /** UTF-8 of `text` at `at` + 4 within `room` bytes (length word included): bytes written, or -1. */
  private encode(text: string, at: number, room: number): number {
    const r = encoder.encodeInto(text, this.bytes.subarray(at + 4, at + room));
    return r.read === text.length ? r.written : -1;
  }

  // ---- consumer ----

  /** Copies out the records pushed since the last take, at most `max` of them; null if none. */
  take(max = Infinity): Taken | null {
    const range = this.takeRange(max);
    if (!range) return null;
    const records: Buffer[] = [];
    this.eachRecord(range.start, range.end, (offset, length) => void records.push(Buffer.from(this.bytes.subarray(offset, offset + length))));
    return { ...range, records };
  }

  /** Frees the space of records taken, up to the range's end; releases must come in take order. */
  release(range: RingRange): void {
    Atomics.store(this.control, TAIL, range.end);
  }

  /**
   * Like take(), without copying: the next records (at most `max`) as a range, for a thread that
   * hands the range to another to read (readRange) and releases it itself. Null if none.
   */
  takeRange(max = Infinity): RingRange | null {
    const start = this.readPos;
    const end = this.eachRecord(start, Atomics.load(this.control, HEAD), () => undefined, max);
    if (end.count === 0) return null;
    this.readPos = end.next;
    return { start, end: end.next, count: end.count, bytes: end.bytes };
  }

  /** Gives back the range last taken: the next take starts at it again. */
  rewind(range: RingRange): void {
    this.readPos = range.start;
  }

  /** The records of a range, one after the other, as one Buffer (a copy). */
  readRange(range: RingRange): Buffer {
    const out = Buffer.allocUnsafe(range.bytes);
    let at = 0;
    this.eachRecord(range.start, range.end, (offset, len) => {
      out.set(this.bytes.subarray(offset, offset + len), at);
      at += len;
    });
    return out;
  }

  /**
   * Calls `fn` with the place of every record pushed and not released yet, oldest first; `false`
   * from `fn` stops. For the producer's thread: it alone writes, so nothing it reads changes
   * under it while it reads synchronously (the consumer may release meanwhile; the bytes stay).
   */
  forEachUnreleased(fn: (offset: number, length: number) => boolean | void): void {
    this.eachRecord(Atomics.load(this.control, TAIL), this.control[HEAD]!, fn);
  }

  /**
   * forEachUnreleased() in steps, for a scan that lets other work run between them: calls `fn`
   * for at most `max` records from `from` (null: the oldest unreleased one) and returns where to
   * go on, or null at the end. Between two steps the consumer may release records, and the
   * producer reuse their space: a `from` already released is moved up to the oldest unreleased
   * record (what was skipped is done with).
   */
  scanUnreleased(from: number | null, max: number, fn: (offset: number, length: number) => void): number | null {
    const tail = Atomics.load(this.control, TAIL);
    const head = this.control[HEAD]!;
    const pos = from === null || this.distance(tail, from) > this.distance(tail, head) ? tail : from;
    const { next } = this.eachRecord(pos, head, fn, max);
    return next === head ? null : next;
  }

  /** Bytes from `a` forward to `b`, round the ring. */
  private distance(a: number, b: number): number {
    return b >= a ? b - a : this.size - a + b;
  }

  /**
   * The oldest (or `newest`) record not released yet whose bytes start with `prefix` (ASCII
   * letters of the record folded to lower case first, with `lowerCase`), as its place; null if
   * none. For the producer's thread (see forEachUnreleased). Compares in place: nothing is
   * allocated for the records that do not match.
   */
  findUnreleased(prefix: Uint8Array, opts: { newest?: boolean; lowerCase?: boolean } = {}): { offset: number; length: number } | null {
    let found: { offset: number; length: number } | null = null;
    const bytes = this.bytes;
    this.forEachUnreleased((offset, length) => {
      if (length < prefix.length) return true;
      for (let i = 0; i < prefix.length; i++) {
        let b = bytes[offset + i]!;
        if (opts.lowerCase && b >= 0x41 && b <= 0x5a) b += 0x20;
        if (b !== prefix[i]) return true;
      }
      found = { offset, length };
      return opts.newest === true;
    });
    return found;
  }

  /** A record's text (UTF-8), from `skip` bytes into it. */
  text(place: { offset: number; length: number }, skip = 0): string {
    return Buffer.from(this.buffer, place.offset + skip, place.length - skip).toString('utf8');
  }

  /** True while records are pushed and not released. */
  hasUnreleased(): boolean {
    return Atomics.load(this.control, TAIL) !== this.control[HEAD];
  }

  /** A record's bytes, as a Buffer over the shared memory (not a copy: read it at once). */
  view(offset: number, length: number): Buffer {
    return Buffer.from(this.buffer, offset, length);
  }

  /**
   * The one walk over records: calls `fn` with the place of each record from `from` up to `to`,
   * at most `max` of them; `false` from `fn` stops after that record. Returns where the walk
   * stopped (the next record's length word, or `to`), and how many records and bytes it passed.
   */
  private eachRecord(
    from: number,
    to: number,
    fn: (offset: number, length: number) => boolean | void,
    max = Infinity,
  ): { next: number; count: number; bytes: number } {
    let pos = from;
    let count = 0;
    let bytes = 0;
    while (pos !== to && count < max) {
      const len = this.words[pos >> 2]!;
      if (len === WRAP) {
        pos = 0;
        continue;
      }
      const go = fn(pos + 4, len);
      count++;
      bytes += len;
      pos += 4 + align4(len);
      if (pos === this.size) pos = 0;
      if (go === false) break;
    }
    return { next: pos, count, bytes };
  }

  /**
   * Resolves at once if records wait to be taken or `ready()` says so, else once the producer pushes
   * one or calls wake(), or after `timeoutMs`. The producer wakes the consumer only while it sleeps
   * here, so pushes into a busy consumer's ring cost no system call.
   */
  async waitForRecords(timeoutMs: number, ready?: () => boolean): Promise<void> {
    const seen = Atomics.load(this.control, WAKE);
    Atomics.store(this.control, SLEEPING, 1);
    try {
      // Sequentially consistent: a push (or the caller's own event) after the flag was raised
      // bumps the word, so the wait returns at once; one before it is seen by the checks.
      if (Atomics.load(this.control, HEAD) !== this.readPos || ready?.()) return;
      const w = Atomics.waitAsync(this.control, WAKE, seen, timeoutMs);
      if (!w.async) return;
      // A pending waitAsync does not keep node's event loop alive: without this timer a thread
      // with nothing else to do would end here instead of sleeping.
      const keepAlive = setTimeout(() => undefined, timeoutMs + 1_000);
      try {
        await w.value;
      } finally {
        clearTimeout(keepAlive);
      }
    } finally {
      Atomics.store(this.control, SLEEPING, 0);
    }
  }
}
