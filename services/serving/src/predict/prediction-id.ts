import { randomFillSync } from 'node:crypto';

/**
 * Prediction ids: UUID version 7 (RFC 9562), a millisecond Unix timestamp followed by random bits.
 *
 * serving.prediction's primary key and serving.feedback's lead with the id. Random (v4) ids land on
 * a random leaf of each index, so every insert touches a page of its own and a day's index stops
 * fitting in memory long before the day's rows do. Time-ordered ids are appended at the right edge
 * instead: over 500,000 rows Postgres spent 15.8–15.9 µs per row on COPY against 19.2–20.5 with
 * random ids (`npm run bench:prediction-table`), and the gap grows with the table.
 *
 * Layout (RFC 9562 §5.7, with the counter of §6.2 method 1 in rand_a): 48 bits of milliseconds,
 * version 7, 12 bits of counter, variant 10, 62 random bits. The counter starts at a random value
 * below 2,048 each millisecond and counts up within it, so ids made by one process sort in the
 * order they were made; if it would overflow, the timestamp moves on by a millisecond (the RFC's
 * remedy), and a clock that steps back never makes ids go back either.
 *
 * The random bits come from a pool filled by the CSPRNG, as crypto.randomUUID() does it; the ids
 * are unique, not secret (they are handed to the client that asked).
 */
export class PredictionIdFactory {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;
  private lastMs = -1;
  private counter = 0;

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    let ms = this.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.counter = this.randomBits() & 0x7ff;
    } else {
      // The same millisecond, or the clock went back: keep counting from the last id.
      ms = this.lastMs;
      if (++this.counter > 0xfff) {
        ms = ++this.lastMs;
        this.counter = this.randomBits() & 0x7ff;
      }
    }
    const p = this.pool;
    const o = this.take(8);
    const hi = Math.floor(ms / 0x10000); // the top 32 of the 48 bits
    const lo = ms % 0x10000;
    return (
      hex8(hi) +
      '-' +
      hex4(lo) +
      '-' +
      hex4(0x7000 | this.counter) +
      '-' +
      HEX[0x80 | (p[o]! & 0x3f)]! +
      HEX[p[o + 1]!]! +
      '-' +
      HEX[p[o + 2]!]! +
      HEX[p[o + 3]!]! +
      HEX[p[o + 4]!]! +
      HEX[p[o + 5]!]! +
      HEX[p[o + 6]!]! +
      HEX[p[o + 7]!]!
    );
  }

  private randomBits(): number {
    return this.pool.readUInt16BE(this.take(2));
  }

  /** The offset of `bytes` unused random bytes in the pool, refilled when too few are left. */
  private take(bytes: number): number {
    if (this.offset + bytes > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += bytes;
    return at;
  }
}

/**
 * The Unix milliseconds at the head of a version 7 UUID (RFC 9562), whatever its letter case, or
 * null for any other id.
 */
export function uuidV7Time(id: string): number | null {
  if (!UUID_V7.test(id)) return null;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const POOL_BYTES = 8 * 1024;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex4 = (v: number): string => HEX[v >>> 8]! + HEX[v & 0xff]!;
const hex8 = (v: number): string => hex4(v >>> 16) + hex4(v & 0xffff);
