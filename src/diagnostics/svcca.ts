// SVCCA (Raghu et al. 2017; paper Alg. 1): how similar two representations of the same examples are.
// Each activation set is centred and reduced by SVD to the directions that explain `variance` (99%) of
// its variance; CCA between the two reduced sets gives canonical correlations, whose mean is the score.
// CCA is computed as the singular values of Q_aᵀ·Q_b, with Q the orthonormal bases of the reduced sets.
import { MistiqueError } from '../errors.js';
import type { Matrix } from '../model/matrix.js';
import { leadingEigenpairs, matmul, matmulAtB, orthonormalize, symEig } from './linalg.js';
import { alignRows, type Dense } from './dense.js';

export interface SvccaOptions {
  /** Fraction of each set's variance its SVD keeps (default 0.99; 1 keeps the full rank). */
  variance?: number;
}

export interface SvccaResult {
  /** Mean canonical correlation: 1 for representations equal up to an invertible linear map. */
  mean: number;
  /** Canonical correlations, descending (min of the two kept dimensions). */
  correlations: Float64Array;
  rows: number;
  /** Rows left out because a value in either set was NaN or ±Infinity. */
  droppedRows: number;
  /**
   * Canonical correlations that are 1 by dimension count alone: n centred examples span n − 1 dimensions,
   * and two subspaces of k_a and k_b of them share at least k_a + k_b − (n − 1) directions, whatever the
   * layers compute. Above 0 the mean says little about the layers: use more examples than directions kept.
   */
  forced: number;
  a: SubspaceInfo;
  b: SubspaceInfo;
  /** Time of each step, ms: centring, each set's Gram + eigen + projection, the CCA. */
  ms: Record<string, number>;
}

export interface SubspaceInfo { columns: number; kept: number; method: 'exact' | 'subspace'; route: 'columns' | 'rows'; l: number }

/** SVCCA between two query results, joined on row id. */
export async function svcca(a: Matrix, b: Matrix, opts: SvccaOptions = {}): Promise<SvccaResult> {
  const { a: da, b: db, dropped } = alignRows(a, b);
  return svccaDense(da, db, opts, dropped);
}

/** SVCCA between two row-aligned dense sets (n×d_a and n×d_b, row-major). */
export async function svccaDense(a: Dense, b: Dense, opts: SvccaOptions = {}, droppedRows = 0): Promise<SvccaResult> {
  const variance = opts.variance ?? 0.99;
  if (!(variance > 0 && variance <= 1)) throw new MistiqueError('BAD_OPTION', `variance must be in (0, 1], got ${variance}`);
  if (a.rows !== b.rows) throw new MistiqueError('BAD_INPUT', `svcca needs the same examples in both sets: ${a.rows} rows against ${b.rows}`);
  if (a.rows < 2) throw new MistiqueError('BAD_INPUT', `svcca needs at least 2 examples with finite values in both sets, got ${a.rows}`);
  const ms: Record<string, number> = {};
  const A = await basis(a, variance, ms, 'a');
  const B = await basis(b, variance, ms, 'b');
  let t = performance.now();
  const n = a.rows;
  const m = await matmulAtB(A.u, B.u, n, A.k, B.k); // ka×kb
  const small = Math.min(A.k, B.k);
  // Stryker disable next-line EqualityOperator: with A.k = B.k either product has the same eigenvalues
  const g = A.k <= B.k ? await matmul(m, transpose(m, A.k, B.k), A.k, B.k, A.k) : await matmulAtB(m, m, A.k, B.k, B.k);
  const { values } = symEig(g, small);
  const correlations = values.map((v) => Math.sqrt(Math.min(1, Math.max(0, v))));
  ms.cca = performance.now() - t;
  let sum = 0;
  for (const c of correlations) sum += c;
  const forced = Math.min(small, Math.max(0, A.k + B.k - (n - 1)));
  return { mean: sum / small, correlations, rows: n, droppedRows, forced, a: A.info, b: B.info, ms: roundMs(ms) };
}

/** Centred copy, then an orthonormal basis (n×k) of the directions that hold `variance` of it. */
async function basis(x: Dense, variance: number, ms: Record<string, number>, tag: string): Promise<{ u: Float64Array; k: number; info: SubspaceInfo }> {
  const n = x.rows, d = x.cols;
  let t = performance.now();
  const c = centred(x);
  noVariance(c, tag, n);
  ms[`${tag}_centre`] = performance.now() - t;
  t = performance.now();
  if (d <= n) {
    // Gram of the columns: C = XᵀX = V Λ Vᵀ, basis U = X V Λ^-½ — orthonormalize does the Λ^-½ (it scales
    // to unit columns) and takes out the rounding
    const gram = await matmulAtB(c, c, n, d, d);
    ms[`${tag}_gram`] = performance.now() - t; t = performance.now();
    const e = await leadingEigenpairs(gram, d, variance);
    ms[`${tag}_eigen`] = performance.now() - t; t = performance.now();
    const u = await orthonormalize(await matmul(c, e.vectors, n, d, e.count), n, e.count);
    ms[`${tag}_project`] = performance.now() - t;
    return { u, k: e.count, info: { columns: d, kept: e.count, method: e.method, route: 'columns', l: e.l } };
  }
  // fewer examples than columns: the Gram of the rows, C = XXᵀ = U Λ Uᵀ gives the basis directly
  const gram = await matmul(c, transpose(c, n, d), n, d, n);
  ms[`${tag}_gram`] = performance.now() - t; t = performance.now();
  const e = await leadingEigenpairs(gram, n, variance);
  ms[`${tag}_eigen`] = performance.now() - t;
  return { u: e.vectors, k: e.count, info: { columns: d, kept: e.count, method: e.method, route: 'rows', l: e.l } };
}

/** A set whose every column is constant (a dead layer: centred, all zeros) has no directions to correlate. */
function noVariance(c: Float64Array, tag: string, n: number): void {
  if (c.every((v) => v === 0)) {
    throw new MistiqueError('BAD_INPUT', `svcca: the ${tag === 'a' ? 'first' : 'second'} set has no variance (every column is constant over the ${n} rows, e.g. a dead layer); SVCCA needs activations that vary`);
  }
}

function centred(x: Dense): Float64Array {
  const n = x.rows, d = x.cols, v = x.values;
  const mean = new Float64Array(d);
  // Stryker disable next-line EqualityOperator: `j <= d` only adds into mean[d], past the typed array's end (ignored)
  for (let i = 0; i < n; i++) for (let j = 0, p = i * d; j < d; j++, p++) mean[j]! += v[p]!;
  // Stryker disable next-line EqualityOperator: `j <= d` only divides mean[d], past the end
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const out = new Float64Array(n * d);
  // Stryker disable next-line EqualityOperator: `i <= n` only writes past the end; `j <= d` writes NaN into the next row's first cell, which the next row then sets
  for (let i = 0; i < n; i++) for (let j = 0, p = i * d; j < d; j++, p++) out[p] = v[p]! - mean[j]!;
  return out;
}

export function transpose(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  // Stryker disable next-line EqualityOperator: `j <= cols` only writes past the typed array's end (ignored)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!;
  return out;
}

function roundMs(ms: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
