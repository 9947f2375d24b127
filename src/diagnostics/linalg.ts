// Dense linear algebra for the diagnostics, split by cost. The O(n·d²) products run in BLAS's dgemm
// (native/lapack, Debian's OpenBLAS, on a libuv thread) or as an ONNX MatMul in onnxruntime (MLAS,
// float64), whichever was measured faster for the shape; the eigenproblems in LAPACK's dsyevr. Without
// native/lapack: every product in onnxruntime, the small dense eigenproblems
// (l×l, l ≤ ~1 500) in ml-matrix, large ones by randomized subspace iteration. ml-matrix alone was
// measured too slow for the largest layers: its symmetric eigendecomposition takes 1.6 s at 700×700 and
// grows with the cube (≈150 s at 3 136), and the Gram matrix of 10 000 × 3 136 activations is 10¹¹
// multiply-adds. See bench/README.md.
import { createRequire } from 'node:module';
import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import onnxProto from 'onnx-proto';
import * as ort from '../executor/onnx/ort.js';
import { MistiqueError } from '../errors.js';
import { unshared } from '../model/matrix.js';

const { onnx } = onnxProto;

/** LAPACK's dsyevr and BLAS's dgemm through native/lapack (Debian's OpenBLAS), when it was built at install; else null. */
type Lapack = {
  eigh(a: Float64Array, n: number, top: number): { values: Float64Array; vectors: Float64Array };
  /** op(A)·B, op(A) = A (m×k) or Aᵀ (A k×m); checks every size before BLAS runs (RangeError). */
  gemm(a: Float64Array, b: Float64Array, m: number, k: number, n: number, transA: boolean): Promise<Float64Array>;
};
let lapack: Lapack | null | undefined;
export function nativeLapack(): Lapack | null {
  // Stryker disable next-line ConditionalExpression: requiring the addon again returns the module Node cached
  if (lapack === undefined) {
    // MISTIQUE_LAPACK=0: the JavaScript fallback (ml-matrix, randomized subspace iteration), as without the addon
    if (process.env.MISTIQUE_LAPACK === '0') lapack = null;
    else try { lapack = createRequire(import.meta.url)('mistique-lapack') as Lapack; } catch { lapack = null; }
  }
  return lapack;
}

/** Products below this many multiply-adds run in plain JavaScript (a session call costs ~0.1 ms). */
const SMALL = 1 << 18;
/**
 * Which products BLAS takes when native/lapack is built (npm run bench:linalg: median of 5, interleaved,
 * float64, 2 cores): every Aᵀ·B — onnxruntime's needs the transpose materialized and its float64 kernel
 * runs at ~70 GFLOP/s where dgemm reaches ~105 (XᵀX of 5 000 × 3 136: 0.93 s against 1.43) — and the A·B
 * whose result is tall and wide (10 000 × 3 136 · 3 136 × 670: 0.43 s against 0.60). Skinny A·B stays in
 * onnxruntime, which streams A where dgemm first packs it (KNN's 2 000 × 12 544 · 12 544 × 10: 9 ms
 * against 46), as do square ones of ~3 000 (3 136² · 3 136 × 512: 114 ms against 131).
 */
const BLAS_AB_ROWS = 4096, BLAS_AB_COLS = 512;

// Stryker disable all: onnxruntime aborts the process (SIGABRT, a C++ exception) when a run throws on a
// worker thread, where Stryker runs every test, so a mutant that breaks this graph costs restarts instead
// of a verdict. These lines are pinned outside the mutation run by linalg.test's onnxruntime case
// (MISTIQUE_LAPACK=0: every product through this graph, against the naive product).
let sessions: Promise<{ ab: ort.InferenceSession; atb: ort.InferenceSession }> | null = null;

function matmulModel(transposeA: boolean): Uint8Array {
  const dims = (a: string, b: string) => ({ dim: [{ dimParam: a }, { dimParam: b }] });
  const vi = (name: string, shape: ReturnType<typeof dims>) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.DOUBLE, shape } } });
  const node = transposeA
    ? [onnx.NodeProto.create({ opType: 'Transpose', input: ['a'], output: ['at'], attribute: [{ name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 0] }] }),
      onnx.NodeProto.create({ opType: 'MatMul', input: ['at', 'b'], output: ['c'] })]
    : [onnx.NodeProto.create({ opType: 'MatMul', input: ['a', 'b'], output: ['c'] })];
  const graph = onnx.GraphProto.create({
    name: transposeA ? 'atb' : 'ab', node,
    input: [vi('a', transposeA ? dims('K', 'M') : dims('M', 'K')), vi('b', dims('K', 'N'))],
    output: [vi('c', dims('M', 'N'))],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ version: 17 }], graph })).finish();
}

function matmulSessions() {
  sessions ??= (async () => ({
    ab: await ort.InferenceSession.create(matmulModel(false)),
    atb: await ort.InferenceSession.create(matmulModel(true)),
  }))();
  return sessions;
}

/** op(A)·B as an ONNX MatMul in onnxruntime (sizes checked by the caller). */
export async function matmulOnnx(a: Float64Array, b: Float64Array, m: number, k: number, n: number, transA: boolean): Promise<Float64Array> {
  const out = await (await matmulSessions())[transA ? 'atb' : 'ab'].run({
    a: new ort.Tensor('float64', unshared(a), transA ? [k, m] : [m, k]),
    b: new ort.Tensor('float64', unshared(b), [k, n]),
  });
  return out.c!.data as Float64Array;
}
// Stryker restore all

/**
 * Where a product op(A)·B (op(A) m×k, B k×n) runs: plain JavaScript below SMALL multiply-adds or on an
 * empty shape; else BLAS (when native/lapack is built) for every Aᵀ·B and the tall and wide A·B;
 * else onnxruntime.
 */
export function productBackend(m: number, k: number, n: number, transA: boolean, blas: boolean): 'js' | 'blas' | 'onnx' {
  if (m * k * n <= SMALL) return 'js'; // an empty shape has no multiply-adds
  if (blas && (transA || (m >= BLAS_AB_ROWS && n >= BLAS_AB_COLS))) return 'blas';
  return 'onnx';
}

/** C = A·B, A m×k, B k×n, all row-major float64. */
export async function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Promise<Float64Array> {
  check(a, m * k, 'A'); check(b, k * n, 'B');
  return product(a, b, m, k, n, false);
}

/** C = Aᵀ·B, A k×m, B k×n (e.g. the Gram matrix XᵀX with A = B = X). */
export async function matmulAtB(a: Float64Array, b: Float64Array, k: number, m: number, n: number): Promise<Float64Array> {
  check(a, k * m, 'A'); check(b, k * n, 'B');
  return product(a, b, m, k, n, true);
}

async function product(a: Float64Array, b: Float64Array, m: number, k: number, n: number, transA: boolean): Promise<Float64Array> {
  const blas = nativeLapack();
  switch (productBackend(m, k, n, transA, blas !== null)) {
    case 'js': return matmulJs(a, b, m, k, n, transA);
    case 'blas': return blas!.gemm(a, b, m, k, n, transA);
    case 'onnx': return matmulOnnx(a, b, m, k, n, transA);
  }
}

function check(x: Float64Array, n: number, name: string): void {
  if (x.length !== n) throw new MistiqueError('INTERNAL', `matrix ${name} has ${x.length} values, its shape needs ${n}`);
}

function matmulJs(a: Float64Array, b: Float64Array, m: number, k: number, n: number, transA: boolean): Float64Array {
  const c = new Float64Array(m * n);
  // Stryker disable next-line EqualityOperator: `i <= m` only writes row m, past the typed array's end (ignored)
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i]! : a[i * k + p]!;
      // Stryker disable next-line ConditionalExpression: skipping a zero only saves work (the operands are finite)
      if (av === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
    }
  }
  return c;
}

/**
 * Eigenvalues (descending) and eigenvectors (column j of the row-major n×n `vectors`) of a symmetric
 * matrix: LAPACK when it was built, else ml-matrix (`native: false` asks for ml-matrix).
 */
export function symEig(s: Float64Array, n: number, opts: { native?: boolean } = {}): { values: Float64Array; vectors: Float64Array } {
  check(s, n * n, 'S');
  const native = opts.native === false ? null : nativeLapack();
  if (native) return native.eigh(unshared(s), n, n);
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: without the hint ml-matrix finds the matrix symmetric itself
  const evd = new EigenvalueDecomposition(MlMatrix.from1DArray(n, n, s), { assumeSymmetric: true });
  const ev = evd.realEigenvalues; // ascending
  const V = evd.eigenvectorMatrix;
  const order = ev.map((_, i) => i).sort((x, y) => ev[y]! - ev[x]!);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, j) => {
    values[j] = ev[src]!;
    for (let i = 0; i < n; i++) vectors[i * n + j] = V.get(i, src);
  });
  return { values, vectors };
}

/** The unit roundoff of float64, 2⁻⁵³. */
const EPS = 2 ** -53;

/**
 * Orthonormalizes the columns of Y (m×l, row-major) in place of a QR: shifted Cholesky-QR3 (Fukaya et al.
 * 2020), at most three passes, stopping once QᵀQ = I to 1e-13. Each pass first scales the Gram to unit
 * columns (a zero column stays zero), so the shift weighs every column alike however their norms differ;
 * the first pass shifts the diagonal by 11(ml + l(l+1))·u·‖Y‖₂² (‖Y‖₂² bounded by the Gram's largest
 * absolute row sum), which keeps the Cholesky defined however ill-conditioned Y is; the later ones by
 * 1e-16·l. QᵀQ = I to 1e-13 up to κ(Y) ≈ 1e16 (linalg.test; the subspace iteration's C·Q reaches κ ≈ 1e8 and more); a
 * column Y does not span comes out as a unit direction orthogonal to the others (to ~1e-6), not an error.
 */
export async function orthonormalize(y: Float64Array, m: number, l: number): Promise<Float64Array> {
  let q = y;
  // Stryker disable next-line EqualityOperator: a fourth pass is not reached (the third leaves QᵀQ = I to rounding)
  for (let pass = 0; pass < 3; pass++) {
    const g = await matmulAtB(q, q, m, l, l);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: stopping early only saves passes; another pass leaves Q as it is
    if (pass > 0 && offIdentity(g, l) <= 1e-13) break;
    const d = new Float64Array(l);
    // Stryker disable next-line EqualityOperator: `i <= l` only writes d[l], past its end (ignored)
    for (let i = 0; i < l; i++) d[i] = Math.sqrt(g[i * l + i]!) || 1;
    // Stryker disable next-line EqualityOperator: `i <= l` only writes past g's end (ignored)
    for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) g[i * l + j]! /= d[i]! * d[j]!;
    const shift = pass === 0 ? 11 * (m * l + l * (l + 1)) * EPS * rowSumNorm(g, l) : 1e-16 * l;
    // Stryker disable next-line EqualityOperator: `i <= l` only writes past g's end (ignored)
    for (let i = 0; i < l; i++) g[i * l + i]! += shift;
    const rinv = upperInverse(cholesky(g, l), l);
    // Stryker disable next-line EqualityOperator: `i <= l` writes past the end; `j <= l` divides rinv[i+1][0], a zero below the diagonal
    for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) rinv[i * l + j]! /= d[i]!; // D⁻¹·R⁻¹
    q = await matmul(q, rinv, m, l, l);
  }
  return q;
}

/** The largest absolute row sum of an l×l matrix: ≥ its largest eigenvalue (Gershgorin). */
export function rowSumNorm(g: Float64Array, l: number): number {
  let best = 0;
  for (let i = 0; i < l; i++) {
    let s = 0;
    for (let j = 0; j < l; j++) s += Math.abs(g[i * l + j]!);
    best = Math.max(best, s);
  }
  return best;
}

/** max |G − I| over an l×l matrix. */
export function offIdentity(g: Float64Array, l: number): number {
  let e = 0;
  for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) e = Math.max(e, Math.abs(g[i * l + j]! - (i === j ? 1 : 0)));
  return e;
}

/** Upper-triangular R with RᵀR = G (G symmetric positive definite, l×l). */
function cholesky(g: Float64Array, l: number): Float64Array {
  const r = new Float64Array(l * l);
  // Stryker disable next-line EqualityOperator: `j <= l` only writes r past its end (ignored)
  for (let j = 0; j < l; j++) {
    let d = g[j * l + j]!;
    // Stryker disable next-line EqualityOperator: `p <= j` subtracts r[j][j]², still 0 here
    for (let p = 0; p < j; p++) d -= r[p * l + j]! * r[p * l + j]!;
    const rjj = Math.sqrt(Math.max(d, 1e-300));
    r[j * l + j] = rjj;
    // Stryker disable next-line EqualityOperator,ArithmeticOperator: `i <= l` writes r[j+1][0], below the diagonal, which nothing reads; starting at j − 1 writes r[j][j−1] (below it too) and r[j][j] again as d/√d, the same value (a zero column aside, whose row of Q stays zero either way)
    for (let i = j + 1; i < l; i++) {
      let s = g[j * l + i]!;
      // Stryker disable next-line EqualityOperator: `p <= j` subtracts r[j][j]·r[j][i], r[j][i] still 0 here
      for (let p = 0; p < j; p++) s -= r[p * l + j]! * r[p * l + i]!;
      r[j * l + i] = s / rjj;
    }
  }
  return r;
}

function upperInverse(r: Float64Array, l: number): Float64Array {
  const x = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    x[j * l + j] = 1 / r[j * l + j]!;
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let p = i + 1; p <= j; p++) s += r[i * l + p]! * x[p * l + j]!;
      x[i * l + j] = -s / r[i * l + i]!;
    }
  }
  return x;
}

/** A deterministic standard-normal matrix (Box–Muller over a xorshift stream). */
export function gaussian(rows: number, cols: number, seed = 0x9e3779b9): Float64Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float64Array(rows * cols);
  // Stryker disable next-line EqualityOperator: `i <= length` only writes past the typed array's end (ignored)
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next())), t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: the test only keeps out[length] from being written, which a typed array ignores anyway
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

export interface Eigenpairs {
  /** The top eigenvalues found, descending. */
  values: Float64Array;
  /** Their eigenvectors: m×count, row-major. */
  vectors: Float64Array;
  count: number;
  /** 'exact' (full eigendecomposition) or 'subspace' (randomized subspace iteration, l columns). */
  method: 'exact' | 'subspace';
  l: number;
}

/**
 * The leading eigenpairs of a symmetric positive semi-definite m×m matrix C that together hold at least
 * `variance` of its trace. Small C: a full eigendecomposition. Large C: randomized subspace iteration
 * (Halko, Martinsson & Tropp 2011) with l columns, doubling l until the top Ritz values reach the
 * fraction with room to spare; Ritz values never exceed the true ones, so the fraction is a lower bound.
 */
export async function leadingEigenpairs(c: Float64Array, m: number, variance: number, opts: { exactBelow?: number; powerIterations?: number; native?: boolean } = {}): Promise<Eigenpairs> {
  const exactBelow = opts.exactBelow ?? 700;
  let trace = 0;
  for (let i = 0; i < m; i++) trace += c[i * m + i]!;
  const want = variance * trace;
  // directions below the rank tolerance are rounding noise, never kept (variance 1 keeps the full rank)
  const cut = (vals: Float64Array, exact: boolean): number => {
    const tol = Math.max(0, vals[0]!) * 1e-12;
    let s = 0;
    // Stryker disable next-line EqualityOperator: `i <= length` adds undefined (NaN) after every value was seen, and returns as before
    for (let i = 0; i < vals.length; i++) {
      if (vals[i]! <= tol) return Math.max(1, i); // the rank is found, in either method
      s += vals[i]!;
      if (s >= want * (1 - 1e-12)) return i + 1;
    }
    return exact ? vals.length : -1;
  };
  // with LAPACK: exact at any size — every eigenvalue (no vectors) to find how many hold the variance,
  // then the eigenvectors of those only (dsyevr's MRRR computes just the ones asked)
  const native = opts.native === false ? null : nativeLapack();
  if (native) {
    const all = native.eigh(unshared(c), m, 0).values;
    // Stryker disable next-line BooleanLiteral: a whole spectrum always reaches the fraction (its sum is the trace to rounding far below 1e-12)
    const k = cut(all, true);
    const top = native.eigh(unshared(c), m, k);
    return { values: top.values, vectors: top.vectors, count: k, method: 'exact', l: m };
  }
  // Stryker disable next-line MethodExpression: widening straight to l = m gives the full decomposition, the same answer, later
  for (let l = Math.min(m, 256); ; l = Math.min(m, 2 * l)) {
    if (m <= exactBelow || l > m / 2) {
      const { values, vectors } = symEig(c, m, opts);
      // Stryker disable next-line BooleanLiteral: as above, a whole spectrum always reaches the fraction
      const k = cut(values, true);
      return { values: values.slice(0, k), vectors: takeColumns(vectors, m, m, k), count: k, method: 'exact', l: m };
    }
    let q = await orthonormalize(gaussian(m, l), m, l);
    // Stryker disable next-line EqualityOperator: one power iteration more only sharpens the same subspace
    for (let it = 0; it < (opts.powerIterations ?? 3); it++) q = await orthonormalize(await matmul(c, q, m, m, l), m, l);
    const cq = await matmul(c, q, m, m, l);
    const t = await matmulAtB(q, cq, m, l, l);
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: QᵀCQ is symmetric to rounding; averaging its halves only takes that rounding out
    for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) t[i * l + j] = t[j * l + i] = (t[i * l + j]! + t[j * l + i]!) / 2;
    const { values, vectors } = symEig(t, l, opts);
    // Stryker disable next-line BooleanLiteral: `true` returns l where the fraction is not reached, which the test below rejects as it rejects -1
    const k = cut(values, false);
    // accept when the fraction is reached well inside the subspace (the last columns converge worst)
    if (k > 0 && k <= l - Math.max(16, Math.floor(l / 8))) {
      const v = await matmul(q, takeColumns(vectors, l, l, k), m, l, k);
      return { values: values.slice(0, k), vectors: v, count: k, method: 'subspace', l };
    }
  }
}

/** The first k columns of a row-major rows×cols matrix. */
export function takeColumns(x: Float64Array, rows: number, cols: number, k: number): Float64Array {
  const out = new Float64Array(rows * k);
  // Stryker disable next-line EqualityOperator: `i <= rows` sets an empty range at the end
  for (let i = 0; i < rows; i++) out.set(x.subarray(i * cols, i * cols + k), i * k);
  return out;
}
