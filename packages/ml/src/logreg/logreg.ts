import type { Dataset, Matrix } from '../matrix.js';

export interface LogRegParams {
  /**
   * L2 penalty λ on the standardised coefficients (not the intercept): the fit minimises
   * Σ log loss + λ/2 · ‖w‖². λ = 1 is scikit-learn's default (C = 1/λ).
   */
  readonly l2: number;
  /** Newton iterations at most. */
  readonly maxIter: number;
  /** Converged when no standardised coefficient moves by more than this in an iteration. */
  readonly tol: number;
}

export const DEFAULT_LOGREG_PARAMS: LogRegParams = Object.freeze({ l2: 1, maxIter: 100, tol: 1e-8 });

/** The plain-JSON form of a model (`JSON.stringify(model)` produces it). */
/** The serialised form: everything the model is built from, tagged with its format. */
export interface LogRegModelJson extends LogRegModelInit {
  readonly format: typeof LOGREG_FORMAT;
  readonly version: 1;
}

export const LOGREG_FORMAT = 'contender.logreg';

export interface LogRegModelInit {
  readonly featureNames: readonly string[];
  readonly params: LogRegParams;
  readonly coefficients: readonly number[];
  readonly intercept: number;
  readonly imputeValues: readonly number[];
  readonly iterations: number;
  readonly converged: boolean;
  readonly trainLoss: number;
}

/**
 * Binary logistic regression on raw features: P(y = 1 | x) = σ(intercept + Σ coefficients[j] · x̃[j]),
 * where x̃[j] is x[j] rounded to float32, or `imputeValues[j]` (the training mean) when x[j] is NaN.
 *
 * Training standardises each feature to (x − mean) / sd, but that affine map is folded back into
 * `coefficients` (w/sd) and `intercept` (b − Σ w·mean/sd), so the model — and its ONNX export —
 * takes raw features. A NaN imputed by the mean has standardised value 0, i.e. it contributes
 * nothing beyond the intercept, in training and prediction alike. All stored numbers are float32
 * values so the exported float32 model computes the same function.
 */
export class LogRegModel {
  readonly kind = 'logreg' as const;
  readonly objective = 'binary' as const;
  readonly featureNames: readonly string[];
  readonly params: LogRegParams;
  readonly coefficients: readonly number[];
  readonly intercept: number;
  readonly imputeValues: readonly number[];
  readonly iterations: number;
  readonly converged: boolean;
  /** Mean log loss on the training rows (without the penalty). */
  readonly trainLoss: number;

  constructor(init: LogRegModelInit) {
    this.featureNames = init.featureNames;
    this.params = init.params;
    this.coefficients = init.coefficients;
    this.intercept = init.intercept;
    this.imputeValues = init.imputeValues;
    this.iterations = init.iterations;
    this.converged = init.converged;
    this.trainLoss = init.trainLoss;
  }

  /** Log-odds of class 1. */
  predictRaw(X: Matrix): Float64Array {
    const { rows, cols, data } = X;
    const nf = this.featureNames.length;
    if (cols !== nf) throw new RangeError(`model expects ${nf} features, matrix has ${cols} columns`);
    const out = new Float64Array(rows);
    const w = this.coefficients;
    const fill = this.imputeValues;
    for (let i = 0; i < rows; i++) {
      let z = this.intercept;
      for (let j = 0; j < nf; j++) {
        const x = Math.fround(data[i * cols + j]!);
        z += w[j]! * (x === x ? x : fill[j]!);
      }
      out[i] = z;
    }
    return out;
  }

  /** Probabilities of class 1. */
  predict(X: Matrix): Float64Array {
    const z = this.predictRaw(X);
    for (let i = 0; i < z.length; i++) z[i] = 1 / (1 + Math.exp(-z[i]!));
    return z;
  }

  toJSON(): LogRegModelJson {
    return {
      format: LOGREG_FORMAT,
      version: 1,
      featureNames: this.featureNames,
      params: this.params,
      coefficients: this.coefficients,
      intercept: this.intercept,
      imputeValues: this.imputeValues,
      iterations: this.iterations,
      converged: this.converged,
      trainLoss: this.trainLoss,
    };
  }

  static fromJSON(json: unknown): LogRegModel {
    const j = json as Partial<LogRegModelJson> | null;
    if (!j || typeof j !== 'object' || j.format !== LOGREG_FORMAT || j.version !== 1) throw new Error(`not a ${LOGREG_FORMAT} v1 model`);
    const names = j.featureNames;
    if (!Array.isArray(names) || !names.every((f) => typeof f === 'string')) throw new Error('featureNames must be strings');
    const finiteArray = (a: unknown, what: string): number[] => {
      if (!Array.isArray(a) || a.length !== names.length || !a.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new Error(`${what} must be ${names.length} finite numbers`);
      }
      return a as number[];
    };
    if (typeof j.intercept !== 'number' || !Number.isFinite(j.intercept)) throw new Error('intercept must be a finite number');
    return new LogRegModel({
      featureNames: names,
      params: resolveLogRegParams(j.params ?? {}),
      coefficients: finiteArray(j.coefficients, 'coefficients'),
      intercept: j.intercept,
      imputeValues: finiteArray(j.imputeValues, 'imputeValues'),
      iterations: typeof j.iterations === 'number' ? j.iterations : 0,
      converged: j.converged === true,
      trainLoss: typeof j.trainLoss === 'number' ? j.trainLoss : NaN,
    });
  }
}

export function resolveLogRegParams(params: Partial<LogRegParams>): LogRegParams {
  const p: LogRegParams = {
    l2: params.l2 ?? DEFAULT_LOGREG_PARAMS.l2,
    maxIter: params.maxIter ?? DEFAULT_LOGREG_PARAMS.maxIter,
    tol: params.tol ?? DEFAULT_LOGREG_PARAMS.tol,
  };
  if (!(p.l2 >= 0) || !Number.isFinite(p.l2)) throw new RangeError(`l2 must be a finite number >= 0, got ${p.l2}`);
  if (!Number.isInteger(p.maxIter) || p.maxIter < 1) throw new RangeError(`maxIter must be an integer >= 1, got ${p.maxIter}`);
  if (!(p.tol > 0)) throw new RangeError(`tol must be > 0, got ${p.tol}`);
  return p;
}

/**
 * Fits by Newton's method (IRLS) on standardised features: with p features the Hessian is
 * (p+1)², so each step is one pass over the rows plus a tiny Cholesky solve, and a handful of
 * steps reach machine precision. A step that would raise the penalised loss is halved until it
 * does not, which keeps the iteration safe on (nearly) separable data.
 */
export function trainLogReg(train: Dataset, params: Partial<LogRegParams> = {}, opts: { readonly signal?: AbortSignal } = {}): LogRegModel {
  const p = resolveLogRegParams(params);
  const { X, y } = train;
  const { rows: n, cols: d, data } = X;
  if (n === 0) throw new RangeError('training set has no rows');
  if (y.length !== n) throw new RangeError(`training set has ${n} rows but ${y.length} labels`);
  if (train.featureNames.length !== d) throw new RangeError(`training set has ${d} columns but ${train.featureNames.length} feature names`);
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`training label at row ${i} is ${y[i]}; logistic regression needs 0 or 1`);
  }

  // Means and standard deviations over the present (non-NaN, float32-rounded) values.
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  const count = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const x = Math.fround(data[i * d + j]!);
      if (x === x) {
        count[j]!++;
        mean[j]! += x;
      }
    }
  }
  for (let j = 0; j < d; j++) mean[j] = count[j]! > 0 ? Math.fround(mean[j]! / count[j]!) : 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const x = Math.fround(data[i * d + j]!);
      if (x === x) sd[j]! += (x - mean[j]!) ** 2;
    }
  }
  // A constant column standardises to 0 whatever the scale; 1 avoids dividing by zero.
  for (let j = 0; j < d; j++) sd[j] = count[j]! > 1 && sd[j]! > 0 ? Math.sqrt(sd[j]! / count[j]!) : 1;

  // Design matrix with a leading 1 for the intercept: Z[i, 0] = 1, Z[i, 1 + j] = standardised x.
  const m = d + 1;
  const Z = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    Z[i * m] = 1;
    for (let j = 0; j < d; j++) {
      const x = Math.fround(data[i * d + j]!);
      Z[i * m + 1 + j] = x === x ? (x - mean[j]!) / sd[j]! : 0;
    }
  }

  const w = new Float64Array(m);
  let prior = 0;
  for (let i = 0; i < n; i++) prior += y[i]!;
  prior /= n;
  w[0] = Math.log(Math.min(Math.max(prior, 1e-6), 1 - 1e-6) / (1 - Math.min(Math.max(prior, 1e-6), 1 - 1e-6)));

  const objective = (coef: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let k = 0; k < m; k++) z += Z[i * m + k]! * coef[k]!;
      loss += softplus(z) - y[i]! * z;
    }
    let penalty = 0;
    for (let k = 1; k < m; k++) penalty += coef[k]! * coef[k]!;
    return loss + (p.l2 / 2) * penalty;
  };

  const grad = new Float64Array(m);
  const hess = new Float64Array(m * m);
  const trial = new Float64Array(m);
  let current = objective(w);
  let iterations = 0;
  let converged = false;
  while (iterations < p.maxIter && !converged) {
    opts.signal?.throwIfAborted();
    iterations++;
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < n; i++) {
      const row = i * m;
      let z = 0;
      for (let k = 0; k < m; k++) z += Z[row + k]! * w[k]!;
      const prob = sigmoid(z);
      const r = prob - y[i]!;
      const s = Math.max(prob * (1 - prob), 1e-12);
      for (let a = 0; a < m; a++) {
        const za = Z[row + a]!;
        grad[a]! += r * za;
        const sa = s * za;
        // Lower triangle only; the solve reads nothing else.
        for (let b = 0; b <= a; b++) hess[a * m + b]! += sa * Z[row + b]!;
      }
    }
    for (let k = 1; k < m; k++) {
      grad[k]! += p.l2 * w[k]!;
      hess[k * m + k]! += p.l2;
    }
    // A tiny ridge keeps the Cholesky factorisation defined when λ = 0 and a column is constant.
    for (let k = 0; k < m; k++) hess[k * m + k]! += 1e-10;
    const step = choleskySolve(hess, grad, m);

    let scale = 1;
    let next = current;
    for (let halvings = 0; halvings < 30; halvings++) {
      for (let k = 0; k < m; k++) trial[k] = w[k]! - scale * step[k]!;
      next = objective(trial);
      if (next <= current) break;
      scale /= 2;
    }
    let maxMove = 0;
    for (let k = 0; k < m; k++) maxMove = Math.max(maxMove, Math.abs(trial[k]! - w[k]!));
    if (next <= current) {
      w.set(trial);
      current = next;
    }
    converged = maxMove <= p.tol;
  }

  // Fold the standardisation back: b + Σ w_j (x_j − μ_j)/σ_j = (b − Σ w_j μ_j/σ_j) + Σ (w_j/σ_j) x_j.
  const coefficients: number[] = [];
  let intercept = w[0]!;
  for (let j = 0; j < d; j++) {
    coefficients.push(Math.fround(w[1 + j]! / sd[j]!));
    intercept -= (w[1 + j]! * mean[j]!) / sd[j]!;
  }
  let penalty = 0;
  for (let k = 1; k < m; k++) penalty += w[k]! * w[k]!;
  return new LogRegModel({
    featureNames: [...train.featureNames],
    params: p,
    coefficients,
    intercept: Math.fround(intercept),
    imputeValues: Array.from(mean),
    iterations,
    converged,
    trainLoss: (current - (p.l2 / 2) * penalty) / n,
  });
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Solves A x = b for symmetric positive-definite A given by its lower triangle (row-major m×m). */
function choleskySolve(A: Float64Array, b: Float64Array, m: number): Float64Array {
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * m + j]!;
      for (let k = 0; k < j; k++) s -= L[i * m + k]! * L[j * m + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('logistic regression Hessian is not positive definite; try a larger l2');
        L[i * m + i] = Math.sqrt(s);
      } else {
        L[i * m + j] = s / L[j * m + j]!;
      }
    }
  }
  const x = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * m + k]! * x[k]!;
    x[i] = s / L[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < m; k++) s -= L[k * m + i]! * x[k]!;
    x[i] = s / L[i * m + i]!;
  }
  return x;
}
