import { createRandom, shuffle } from './random.js';

export interface SplitOptions {
  /** Share of rows for each part, e.g. [0.7, 0.15, 0.15]; must be non-negative and sum to 1. */
  readonly fractions: readonly number[];
  /** Same seed and labels → same split. */
  readonly seed: number;
}

/**
 * Seeded stratified split: the rows of every class (each distinct value of `y`) are shuffled and
 * dealt to the parts in proportion to `fractions`, so each part keeps the overall class balance.
 * Per class, a part gets n_c · fraction rounded down or up (the counts sum to n_c); the rows left
 * over after rounding down go to the parts furthest behind their exact share so far, counting the
 * classes already dealt — so the part totals also stay within one row of n · fraction instead of
 * every class rounding the same way. Returns one ascending index array per fraction; together they
 * partition 0..n−1.
 */
export function stratifiedSplit(y: ArrayLike<number>, options: SplitOptions): Uint32Array[] {
  const { fractions, seed } = options;
  if (fractions.length === 0) throw new RangeError('stratifiedSplit needs at least one fraction');
  let sum = 0;
  for (const f of fractions) {
    if (!(f >= 0)) throw new RangeError(`split fractions must be non-negative, got ${f}`);
    sum += f;
  }
  if (Math.abs(sum - 1) > 1e-9) throw new RangeError(`split fractions must sum to 1, got ${sum}`);

  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    if (Number.isNaN(label)) throw new RangeError(`label at index ${i} is NaN`);
    let rows = byClass.get(label);
    if (!rows) byClass.set(label, (rows = []));
    rows.push(i);
  }
  const random = createRandom(seed);
  const parts: number[][] = fractions.map(() => []);
  // Rows dealt to each part so far minus its exact share of the rows dealt so far.
  const surplus = fractions.map(() => 0);
  // Classes in ascending label order so the random stream does not depend on row order of first appearance.
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = shuffle(Uint32Array.from(byClass.get(label)!), random);
    const sizes = apportion(rows.length, fractions, surplus);
    sizes.forEach((size, k) => (surplus[k]! += size - rows.length * fractions[k]!));
    let start = 0;
    sizes.forEach((size, k) => {
      const part = parts[k]!;
      for (let i = start; i < start + size; i++) part.push(rows[i]!);
      start += size;
    });
  }
  return parts.map((p) => Uint32Array.from(p).sort());
}

/**
 * Split n into integer parts proportional to `fractions`: each part gets its exact share rounded
 * down, and the rows left go one each to the parts with the largest remainder net of their
 * earlier surplus (ties to the earlier part).
 */
function apportion(n: number, fractions: readonly number[], surplus: readonly number[]): number[] {
  const exact = fractions.map((f) => n * f);
  const sizes = exact.map(Math.floor);
  let left = n - sizes.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, k) => ({ k, priority: e - Math.floor(e) - surplus[k]! }))
    .sort((a, b) => b.priority - a.priority || a.k - b.k);
  for (const { k } of order) {
    if (left <= 0) break;
    sizes[k]!++;
    left--;
  }
  return sizes;
}
