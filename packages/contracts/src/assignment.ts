/**
 * Sticky champion–challenger assignment. Every serving replica, the scheduler and the SDK must
 * compute the same arm for the same (model, entityId) with no shared state, so this is a pure
 * function of its inputs: MurmurHash3 x86_32 (seed 0) of the UTF-8 bytes of `${model}:${entityId}`,
 * modulo 10,000 buckets; the challenger takes the buckets below `challengerPercent × 100`.
 * Because the bucket of an entity never changes, raising the percentage only adds buckets to the
 * challenger and never moves an entity back to the champion.
 */

export const ASSIGNMENT_BUCKETS = 10_000;

/** MurmurHash3 x86_32 of `bytes[0..length)`, as an unsigned 32-bit integer. */
export function murmurHash3(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = length - (length & 3);
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // The 1–3 trailing bytes, little-endian, mixed like a block.
  const tail = length & 3;
  if (tail > 0) {
    let k = bytes[blocks]!;
    if (tail > 1) k ^= bytes[blocks + 1]! << 8;
    if (tail > 2) k ^= bytes[blocks + 2]! << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();
// Reused between calls: assignment runs on every prediction, and encoding into a buffer that is
// already there avoids an allocation per request. Safe because the hash is synchronous.
let scratch = new Uint8Array(512);

/** MurmurHash3 x86_32 of the UTF-8 encoding of `text` (lone surrogates become U+FFFD). */
export function murmurHash3String(text: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return murmurHash3(scratch, seed, written);
}

/** The entity's bucket in [0, 10000) for this model; stable for ever. */
export function assignmentBucket(model: string, entityId: string): number {
  return murmurHash3String(`${model}:${entityId}`) % ASSIGNMENT_BUCKETS;
}

/** How many of the 10,000 buckets the challenger takes at this percentage (two decimals). */
export function challengerBucketCount(challengerPercent: number): number {
  const n = Math.round(challengerPercent * 100);
  return n < 0 ? 0 : n > ASSIGNMENT_BUCKETS ? ASSIGNMENT_BUCKETS : n;
}

/** True iff the entity belongs to the challenger at `challengerPercent` (0–100). */
export function assignsChallenger(model: string, entityId: string, challengerPercent: number): boolean {
  return assignmentBucket(model, entityId) < challengerBucketCount(challengerPercent);
}
