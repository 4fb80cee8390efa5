/**
 * A dense numeric table, row-major: the value of feature `j` in row `i` is `data[i * cols + j]`.
 * Missing values are NaN. Every trainer, exporter and metric in this package takes this shape so
 * that no hot loop touches per-row objects.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** A labelled table: features plus one target per row (0/1 for binary classification). */
export interface Dataset {
  readonly featureNames: readonly string[];
  readonly X: Matrix;
  readonly y: Float64Array;
}

export function matrix(rows: number, cols: number, data?: Float64Array): Matrix {
  const d = data ?? new Float64Array(rows * cols);
  if (d.length !== rows * cols) {
    throw new RangeError(`matrix data has ${d.length} values, expected ${rows} x ${cols} = ${rows * cols}`);
  }
  return { rows, cols, data: d };
}

/** The rows at `indices`, copied into a new matrix. */
export function takeRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = new Float64Array(indices.length * m.cols);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), k * m.cols);
  }
  return { rows: indices.length, cols: m.cols, data: out };
}
