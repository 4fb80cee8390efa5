/**
 * A seeded pseudo-random generator (a 32-bit LCG): the same seed gives the same numbers, so a
 * failing test can be reproduced. Uniform in [0, 1).
 */
export function seededRandom(seed = 1): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** `n` rows of `width` numbers uniform in [-2, 2), from `seed`. */
export function seededRows(n: number, width: number, seed = 1): number[][] {
  const next = seededRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: width }, () => next() * 4 - 2));
}
