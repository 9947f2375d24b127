// The linear algebra under SVCCA (src/diagnostics/linalg.ts) and SVCCA itself on small sets, checked
// against definitions (A·v = λ·v, QᵀQ = I, a naive product) and against numpy computing the same SVCCA
// (python/reference/svcca.py). Small and fast on purpose: these are the tests the mutation run of
// linalg.ts and svcca.ts executes per mutant (svcca.test.ts holds the wide, slow case).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { gaussian, leadingEigenpairs, matmul, matmulAtB, nativeLapack, offIdentity as offI, orthonormalize, productBackend, rowSumNorm, symEig, takeColumns } from '../src/diagnostics/linalg.js';
import { svccaDense, transpose } from '../src/diagnostics/svcca.js';
import { npyHeader } from '../src/export/writers.js';
import { rng, slow, tempDir, thrownCode, thrownCodeAsync } from './helpers.js';

function randomMatrix(rows: number, cols: number, seed: number, zeros = 0): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: rows * cols }, () => (r() < zeros ? 0 : r() * 2 - 1));
}

function naive(a: Float64Array, b: Float64Array, m: number, k: number, n: number, transA = false): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += (transA ? a[p * m + i]! : a[i * k + p]!) * b[p * n + j]!;
    c[i * n + j] = s;
  }
  return c;
}

function maxAbsDiff(x: Float64Array, y: Float64Array): number {
  expect(x.length).toBe(y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

/** C = Q·diag(λ)·Qᵀ with Q an m×r orthonormal basis: a symmetric matrix whose spectrum is λ and zeros. */
async function withSpectrum(m: number, lambda: number[], seed: number): Promise<{ c: Float64Array; q: Float64Array }> {
  const r = lambda.length;
  const q = await orthonormalize(gaussian(m, r, seed), m, r);
  const ql = Float64Array.from(q, (v, i) => v * lambda[i % r]!);
  return { c: await matmul(ql, transpose(q, m, r), m, r, m), q };
}

describe('matmul and matmulAtB', () => {
  // [3,4,5] runs in plain JavaScript (below SMALL); above it every Aᵀ·B and the tall and wide A·B
  // ([4096,2,512]) in BLAS, the other A·B in onnxruntime's MatMul — every product there without native/lapack
  const shapes = [[3, 4, 5], [70, 65, 60], [1, 300, 1000], [4096, 2, 512]] as const;
  async function equalNaive(lib: Pick<typeof import('../src/diagnostics/linalg.js'), 'matmul' | 'matmulAtB'>): Promise<void> {
    for (const [m, k, n] of shapes) {
      const a = randomMatrix(m, k, m + k, 0.3), b = randomMatrix(k, n, n);
      expect(maxAbsDiff(await lib.matmul(a, b, m, k, n), naive(a, b, m, k, n))).toBeLessThan(1e-12);
      const at = transpose(a, m, k); // k×m
      expect(maxAbsDiff(await lib.matmulAtB(at, b, k, m, n), naive(at, b, m, k, n, true))).toBeLessThan(1e-12);
    }
    expect(Array.from(await lib.matmul(new Float64Array(0), new Float64Array(0), 2, 0, 3))).toEqual([0, 0, 0, 0, 0, 0]);
    expect((await lib.matmul(new Float64Array(0), randomMatrix(4, 3, 1), 0, 4, 3)).length).toBe(0);
    expect(Array.from(await lib.matmulAtB(new Float64Array(0), new Float64Array(0), 0, 2, 2))).toEqual([0, 0, 0, 0]);
  }

  it('equal the naive product in plain JavaScript, BLAS and onnxruntime, with zeros and empty shapes', async () => {
    expect(nativeLapack(), 'native/lapack is not built: install libopenblas-dev and run npm ci').not.toBeNull();
    await equalNaive({ matmul, matmulAtB });
  });

  // onnxruntime aborts the process on an error thrown in a worker thread, where Stryker runs every test:
  // this one runs outside the mutation run (slow() skips it there)
  slow('equal the naive product through onnxruntime when native/lapack is not there (MISTIQUE_LAPACK=0)', async () => {
    vi.stubEnv('MISTIQUE_LAPACK', '0');
    vi.resetModules();
    try {
      const lib = await import('../src/diagnostics/linalg.js');
      expect(lib.nativeLapack()).toBeNull();
      await equalNaive(lib);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });

  it('route each product where it was measured fastest (bench:linalg)', () => {
    expect(productBackend(64, 64, 64, false, true)).toBe('js'); // 2^18 multiply-adds: still JavaScript
    expect(productBackend(64, 64, 65, false, true)).toBe('onnx');
    expect(productBackend(0, 1e6, 1e6, true, true)).toBe('js'); // empty results never leave JavaScript
    expect(productBackend(1e6, 0, 1e6, false, true)).toBe('js');
    expect(productBackend(1e6, 1e6, 0, false, true)).toBe('js');
    expect(productBackend(65, 64, 64, true, true)).toBe('blas'); // every Aᵀ·B
    expect(productBackend(4096, 64, 512, false, true)).toBe('blas'); // tall and wide A·B
    expect(productBackend(4095, 64, 512, false, true)).toBe('onnx');
    expect(productBackend(4096, 64, 511, false, true)).toBe('onnx'); // skinny: KNN's few queries
    expect(productBackend(3136, 3136, 3136, false, true)).toBe('onnx');
    for (const transA of [true, false]) expect(productBackend(10000, 3136, 3136, transA, false)).toBe('onnx'); // no native/lapack
  });

  it('send the products routed to BLAS to its dgemm, and no other', async () => {
    const blas = nativeLapack()!;
    const gemm = vi.spyOn(blas, 'gemm');
    try {
      const a = randomMatrix(65, 64, 1), b = randomMatrix(65, 64, 2);
      expect(maxAbsDiff(await matmulAtB(a, b, 65, 64, 64), naive(a, b, 64, 65, 64, true))).toBeLessThan(1e-12);
      expect(gemm).toHaveBeenCalledTimes(1);
      await matmul(randomMatrix(70, 65, 3), randomMatrix(65, 60, 4), 70, 65, 60); // onnxruntime
      await matmul(randomMatrix(3, 4, 3), randomMatrix(4, 5, 4), 3, 4, 5); // JavaScript
      expect(gemm).toHaveBeenCalledTimes(1);
    } finally { gemm.mockRestore(); }
  });

  it('load native/lapack once, and not at all with MISTIQUE_LAPACK=0', async () => {
    expect(typeof nativeLapack()?.gemm).toBe('function');
    expect(nativeLapack()).toBe(nativeLapack());
    try {
      for (const [flag, loaded] of [['0', false], ['1', true]] as const) {
        vi.stubEnv('MISTIQUE_LAPACK', flag);
        vi.resetModules();
        const fresh = await import('../src/diagnostics/linalg.js');
        expect([flag, typeof fresh.nativeLapack()?.gemm]).toEqual([flag, loaded ? 'function' : 'undefined']);
        if (!loaded) expect(fresh.nativeLapack()).toBeNull();
      }
    } finally { vi.unstubAllEnvs(); vi.resetModules(); }
  });

  it('BLAS checks every size before it runs: a wrong one is a RangeError, not a crash', async () => {
    const blas = nativeLapack()!;
    expect(() => blas.gemm(new Float64Array(5), new Float64Array(6), 2, 3, 2, false)).toThrow(RangeError);
    expect(() => blas.gemm(new Float64Array(6), new Float64Array(5), 2, 3, 2, true)).toThrow(RangeError);
    expect(() => blas.gemm(new Float64Array(0), new Float64Array(0), 0, 3, 2, false)).toThrow(RangeError);
    expect(() => blas.gemm(new Float32Array(6) as unknown as Float64Array, new Float64Array(6), 2, 3, 2, false)).toThrow(TypeError);
    expect(Array.from(await blas.gemm(Float64Array.from([1, 2, 3, 4, 5, 6]), Float64Array.from([1, 1]), 3, 2, 1, true))).toEqual([5, 7, 9]);
  });

  it('refuse operands whose length does not match the shape', async () => {
    expect(await thrownCodeAsync(matmul(new Float64Array(5), new Float64Array(6), 2, 3, 2))).toBe('INTERNAL');
    await expect(matmul(new Float64Array(5), new Float64Array(6), 2, 3, 2)).rejects.toThrow(/matrix A has 5 values, its shape needs 6/);
    await expect(matmul(new Float64Array(6), new Float64Array(5), 2, 3, 2)).rejects.toThrow(/matrix B has 5 values/);
    await expect(matmulAtB(new Float64Array(7), new Float64Array(6), 3, 2, 2)).rejects.toThrow(/matrix A has 7 values/);
    expect(await thrownCodeAsync(matmul(new Float64Array(6), new Float64Array(5), 2, 3, 2))).toBe('INTERNAL');
    expect(await thrownCodeAsync(matmulAtB(new Float64Array(7), new Float64Array(6), 3, 2, 2))).toBe('INTERNAL');
    await expect(matmulAtB(new Float64Array(6), new Float64Array(5), 3, 2, 2)).rejects.toThrow(/matrix B has 5 values, its shape needs 6/);
  });
});

describe('symEig', () => {
  for (const native of [true, false]) {
    it(`gives eigenpairs with A·v = λ·v, descending and orthonormal (${native ? 'LAPACK' : 'ml-matrix'})`, async () => {
      if (native) expect(nativeLapack(), 'native/lapack is not built: install libopenblas-dev and run npm ci').not.toBeNull();
      const n = 12;
      const x = randomMatrix(n, n, 3);
      const s = Float64Array.from({ length: n * n }, (_, p) => x[p]! + x[(p % n) * n + Math.floor(p / n)]!);
      const { values, vectors } = symEig(s, n, { native });
      expect(values.length).toBe(n);
      for (let j = 1; j < n; j++) expect(values[j]!).toBeLessThanOrEqual(values[j - 1]!);
      expect(values[0]!).toBeGreaterThan(0);
      expect(values[n - 1]!).toBeLessThan(0); // an indefinite matrix: the order is by value, not by size
      const av = naive(s, vectors, n, n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(av[i * n + j]! - values[j]! * vectors[i * n + j]!)).toBeLessThan(1e-10);
      const vtv = await matmulAtB(vectors, vectors, n, n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(vtv[i * n + j]! - (i === j ? 1 : 0))).toBeLessThan(1e-10);
    });
  }

  it('refuses a matrix of the wrong size', () => {
    expect(thrownCode(() => symEig(new Float64Array(5), 2))).toBe('INTERNAL');
    expect(() => symEig(new Float64Array(5), 2)).toThrow(/matrix S has 5 values, its shape needs 4/);
  });

  it('is LAPACK\'s answer when native/lapack is built, and ml-matrix\'s with native: false, to the last bit', async () => {
    const n = 9, x = randomMatrix(n, n, 5);
    const s = Float64Array.from({ length: n * n }, (_, p) => x[p]! + x[(p % n) * n + Math.floor(p / n)]!);
    const lapack = nativeLapack()!.eigh(Float64Array.from(s), n, n).values;
    const ml = Array.from(new EigenvalueDecomposition(MlMatrix.from1DArray(n, n, s), { assumeSymmetric: true }).realEigenvalues).reverse();
    expect(Array.from(lapack)).not.toEqual(ml); // the two differ in the last bits: each answer is told apart
    expect(Array.from(symEig(s, n).values)).toEqual(Array.from(lapack));
    expect(Array.from(symEig(s, n, { native: true }).values)).toEqual(Array.from(lapack));
    expect(Array.from(symEig(s, n, { native: false }).values)).toEqual(ml);
    const c = (await withSpectrum(40, [4, 3, 2, 1], 3)).c;
    const top = nativeLapack()!.eigh(Float64Array.from(c), 40, 3).values;
    expect(Array.from((await leadingEigenpairs(c, 40, 0.85)).values)).toEqual(Array.from(top));
    const mlTop = symEig(c, 40, { native: false }).values.slice(0, 3);
    expect(Array.from((await leadingEigenpairs(c, 40, 0.85, { native: false })).values)).toEqual(Array.from(mlTop));
    expect(Array.from(mlTop)).not.toEqual(Array.from(top));
  });
});

describe('orthonormalize', () => {
  function offIdentity(g: Float64Array, l: number, skip = -1): number {
    let e = 0;
    for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) if (i !== skip && j !== skip) e = Math.max(e, Math.abs(g[i * l + j]! - (i === j ? 1 : 0)));
    return e;
  }

  it('returns Q with QᵀQ = I to rounding, spanning the columns of Y, however ill-conditioned Y is', async () => {
    for (const [m, l, f] of [[50, 6, 1], [50, 6, 1e3], [6000, 8, 1], [6000, 8, 1e3], [6000, 8, 1e6], [300, 40, 1e8], [300, 40, 1e10]] as const) {
      const y = randomMatrix(m, l, m);
      for (let i = 0; i < m; i++) y[i * l + 1] = f * y[i * l]! + 1e-2 * y[i * l + 1]!; // κ(Y) up to ~1e12, column norms 1e10 apart
      const q = await orthonormalize(y, m, l);
      expect([m, f, offIdentity(await matmulAtB(q, q, m, l, l), l) < 1e-13]).toEqual([m, f, true]);
      const back = await matmul(q, await matmulAtB(q, y, m, l, l), m, l, l); // Q·Qᵀ·Y = Y
      expect(maxAbsDiff(back, y) / f).toBeLessThan(1e-12);
    }
    // every column nearly the first (‖Y‖₂² ≈ l): the first pass's shift must grow with ‖Y‖₂² — a fixed 1e-16·l
    // gives NaN here, as does a shift of 2⁵³ times Fukaya's; and a pair 1e14 apart in norm, κ ≈ 1e16
    for (const [m, l, f, kind] of [[300, 40, 1e8, 'all'], [300, 40, 1e12, 'all'], [300, 40, 1e14, 'pair']] as const) {
      const y = randomMatrix(m, l, m + 1);
      for (let i = 0; i < m; i++) {
        if (kind === 'pair') y[i * l + 1] = f * y[i * l]! + 1e-2 * y[i * l + 1]!;
        else for (let j = 1; j < l; j++) y[i * l + j] = y[i * l]! + y[i * l + j]! / f;
      }
      const q = await orthonormalize(y, m, l);
      expect([kind, f, offIdentity(await matmulAtB(q, q, m, l, l), l) < 1e-13]).toEqual([kind, f, true]);
    }
  });

  it('measures |G − I| and bounds the largest eigenvalue by the largest absolute row sum', () => {
    expect(offI(Float64Array.from([1, 0, 0, 1]), 2)).toBe(0);
    expect(offI(Float64Array.from([1, 0.5, -0.25, 1]), 2)).toBe(0.5);
    expect(offI(Float64Array.from([1, 0.1, 0.1, 0.7]), 2)).toBeCloseTo(0.3, 15);
    expect(offI(Float64Array.from([1.2, 0, 0, 1]), 2)).toBeCloseTo(0.2, 15);
    expect(offI(Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1 + 1e-3]), 3)).toBeCloseTo(1e-3, 15);
    expect(rowSumNorm(Float64Array.from([1, -2, 3, 0.5]), 2)).toBe(3.5);
    expect(rowSumNorm(Float64Array.from([2, -1, 0, -1, 2, -1, 0, -1, 2]), 3)).toBe(4);
    expect(rowSumNorm(new Float64Array(4), 2)).toBe(0);
  });

  it('leaves an orthonormal Y as it is, and a column Y does not span becomes a unit direction orthogonal to the rest', async () => {
    const m = 200, l = 8;
    const q0 = await orthonormalize(randomMatrix(m, l, 2), m, l);
    expect(maxAbsDiff(await orthonormalize(q0, m, l), q0)).toBeLessThan(1e-14);
    const y = randomMatrix(m, l, 9);
    for (let i = 0; i < m; i++) y[i * l + 5] = y[i * l + 2]!; // a repeated column
    const q = await orthonormalize(y, m, l);
    expect(q.every(Number.isFinite)).toBe(true);
    const g = await matmulAtB(q, q, m, l, l);
    expect(offIdentity(g, l, 5)).toBeLessThan(1e-9);
    expect(offIdentity(g, l)).toBeLessThan(1e-6);
    expect((await orthonormalize(new Float64Array(m * l), m, l)).every((v) => v === 0)).toBe(true);
  });
});

describe('leadingEigenpairs', () => {
  const lambda = [10, 5, 3, 1, 0.5, 0.1];
  const trace = lambda.reduce((s, v) => s + v, 0);
  const cases: Array<{ name: string; m: number; opts: { native?: boolean; exactBelow?: number }; method: 'exact' | 'subspace' }> = [
    { name: 'LAPACK', m: 30, opts: {}, method: 'exact' },
    { name: 'ml-matrix, small', m: 30, opts: { native: false }, method: 'exact' },
    { name: 'subspace iteration', m: 600, opts: { native: false, exactBelow: 100 }, method: 'subspace' },
  ];
  for (const c of cases) {
    it(`keeps the fewest leading directions that hold the variance (${c.name})`, async () => {
      const { c: mat, q } = await withSpectrum(c.m, lambda, 21);
      // (the subspace path, slow under the mutation run's instrumentation, is asked three of them)
      const asked = c.method === 'exact' ? [[0.5, 1], [0.75, 2], [15 / trace, 2], [0.9, 3], [0.99, 5], [0.999, 6], [1, 6]] as const : [[0.75, 2], [0.99, 5], [1, 6]] as const;
      for (const [variance, k] of asked) {
        const e = await leadingEigenpairs(mat, c.m, variance, c.opts);
        expect(e.method).toBe(c.method);
        expect([variance, e.count]).toEqual([variance, k]);
        expect(e.values.length).toBe(k);
        expect(e.vectors.length).toBe(c.m * k);
        expect(e.l).toBe(c.method === 'exact' ? c.m : 256);
        for (let j = 0; j < k; j++) {
          expect(Math.abs(e.values[j]! / lambda[j]! - 1)).toBeLessThan(1e-8);
          let dot = 0; // the j-th vector is ±the j-th column of Q
          for (let i = 0; i < c.m; i++) dot += e.vectors[i * k + j]! * q[i * lambda.length + j]!;
          expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-9);
        }
      }
    }, 60_000);
  }

  it('accepts a subspace that reaches the fraction with l − max(16, l/8) columns to spare, else widens it, else falls back to the full decomposition', async () => {
    const m = 520, opts = { native: false, exactBelow: 100 };
    // rank 240 (< l = 256), so the Ritz values are its eigenvalues: the variance picks k exactly
    const lambda = Array.from({ length: 240 }, (_, i) => 2 - i / 240);
    const { c } = await withSpectrum(m, lambda, 5);
    const total = lambda.reduce((s, v) => s + v, 0);
    const upTo = (k: number) => lambda.slice(0, k).reduce((s, v) => s + v, 0);
    const asking = (k: number) => (upTo(k) + upTo(k - 1)) / 2 / total; // a variance that needs exactly k directions
    const at224 = await leadingEigenpairs(c, m, asking(224), opts);
    expect([at224.method, at224.l, at224.count]).toEqual(['subspace', 256, 224]);
    for (const k of [225]) { // past the margin of 32: widened to l = 512 > m/2, the full decomposition
      const e = await leadingEigenpairs(c, m, asking(k), opts);
      expect([k, e.method, e.l, e.count]).toEqual([k, 'exact', m, k]);
    }
    // rank 300 > l: 256 Ritz values cannot hold 0.99 of it
    const flat = Array.from({ length: 300 }, (_, i) => 2 - i / 300);
    const wide = await withSpectrum(m, flat, 6);
    const ftotal = flat.reduce((s, v) => s + v, 0);
    let k = 0, s = 0;
    while (s < 0.99 * ftotal) s += flat[k++]!;
    const e = await leadingEigenpairs(wide.c, m, 0.99, opts);
    expect([e.method, e.l, e.count]).toEqual(['exact', m, k]);
  }, 60_000);

  it('decomposes fully at exactBelow and at l > m/2, and iterates a subspace at l = m/2', async () => {
    const lambda = [5, 4, 3, 2, 1];
    for (const [m, exactBelow, method] of [[520, 520, 'exact'], [512, 100, 'subspace'], [514, 100, 'subspace'], [510, 100, 'exact']] as const) {
      const { c } = await withSpectrum(m, lambda, m);
      const e = await leadingEigenpairs(c, m, 0.9, { native: false, exactBelow });
      expect([m, exactBelow, e.method, e.count]).toEqual([m, exactBelow, method, 4]);
    }
  }, 60_000);

  it('leaves out directions below 1e-12 of the largest, however many, and keeps one of a zero matrix', async () => {
    const m = 30;
    const lambda = [3, 2, 1, ...Array.from({ length: m - 3 }, () => 1e-12)]; // 27e-12 of noise: past the 1e-12 slack of the fraction
    const { c } = await withSpectrum(m, lambda, 11);
    for (const native of [true, false]) {
      expect([native, (await leadingEigenpairs(c, m, 1, { native })).count]).toEqual([native, 3]);
      const zero = await leadingEigenpairs(new Float64Array(16), 4, 0.99, { native });
      expect([native, zero.count, Array.from(zero.values)]).toEqual([native, 1, [0]]);
    }
  });

  it('keeps one direction of a rank-one matrix at any variance, and the full rank at variance 1', async () => {
    const m = 10;
    const v = randomMatrix(m, 1, 4);
    const c = naive(v, v, m, 1, m);
    for (const native of [true, false]) {
      expect((await leadingEigenpairs(c, m, 1, { native })).count).toBe(1);
      expect((await leadingEigenpairs(c, m, 0.2, { native })).count).toBe(1);
    }
    const full = await withSpectrum(m, Array.from({ length: m }, (_, i) => m - i), 8);
    expect((await leadingEigenpairs(full.c, m, 1)).count).toBe(m);
    expect((await leadingEigenpairs(full.c, m, 1, { native: false })).count).toBe(m);
  });
});

describe('gaussian and takeColumns', () => {
  it('draws a deterministic standard-normal matrix for a seed', () => {
    const g = gaussian(200, 101, 17);
    expect(g.length).toBe(200 * 101);
    expect(Array.from(gaussian(200, 101, 17))).toEqual(Array.from(g));
    expect(Array.from(gaussian(3, 3, 18))).not.toEqual(Array.from(g.subarray(0, 9)));
    expect(Array.from(gaussian(3, 3, 0))).toEqual(Array.from(gaussian(3, 3, 1))); // seed 0 would stall xorshift
    expect(Array.from(gaussian(2, 2))).toEqual(Array.from(gaussian(2, 2, 0x9e3779b9)));
    // the stream is fixed (xorshift32, u = (s + 0.5)/2³²): a subspace iteration is reproducible across versions
    expect(Array.from(gaussian(1, 3, 17))).toEqual([-0.41199234189996453, 3.675620134979409, 1.4917769253815618]);
    expect(Array.from(gaussian(1, 1))).toEqual([1.07719752552418]);
    const odd = gaussian(1, 7, 3);
    expect(odd.every((x) => Number.isFinite(x) && x !== 0)).toBe(true);
    let mean = 0, sq = 0, fourth = 0, evenOdd = 0;
    for (let i = 0; i < g.length; i++) { mean += g[i]!; sq += g[i]! ** 2; fourth += g[i]! ** 4; }
    for (let i = 0; i + 1 < g.length; i += 2) evenOdd += g[i]! * g[i + 1]!;
    mean /= g.length; sq /= g.length; fourth /= g.length; evenOdd /= g.length / 2;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sq - 1)).toBeLessThan(0.05);
    expect(Math.abs(fourth - 3)).toBeLessThan(0.3); // normal, not uniform (1.8)
    expect(Math.abs(evenOdd)).toBeLessThan(0.03); // the pair of a Box–Muller draw is independent
    expect(g.filter((x) => x < 0).length / g.length).toBeCloseTo(0.5, 1);
  });

  it('takes the first k columns', () => {
    const x = Float64Array.from({ length: 12 }, (_, i) => i); // 3×4
    expect(Array.from(takeColumns(x, 3, 4, 2))).toEqual([0, 1, 4, 5, 8, 9]);
    expect(Array.from(transpose(Float64Array.from([1, 2, 3, 4, 5, 6]), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('svccaDense on small sets', () => {
  function numpy(a: Float64Array, b: Float64Array, n: number, da: number, db: number, variance: number): { mean: number; ka: number; kb: number } {
    const dir = tempDir();
    const write = (f: string, v: Float64Array, d: number) =>
      fs.writeFileSync(path.join(dir, f), Buffer.concat([npyHeader('<f8', [n, d]), Buffer.from(v.buffer, v.byteOffset, v.byteLength)]));
    write('a.npy', a, da); write('b.npy', b, db);
    return JSON.parse(execFileSync('/usr/bin/python3', [path.resolve(__dirname, '../python/reference/svcca.py'), path.join(dir, 'a.npy'), path.join(dir, 'b.npy'), String(variance)], { encoding: 'utf8' }));
  }

  /** b: a few mixed columns of a, plus its own noise, so that the correlations spread out. */
  function related(a: Float64Array, n: number, da: number, db: number, seed: number): Float64Array {
    const r = rng(seed), w = randomMatrix(da, db, seed + 1);
    const b = naive(a, w, n, da, db);
    for (let i = 0; i < b.length; i++) b[i]! += (r() - 0.5) * (1 + (i % db));
    return b;
  }

  const shapes = [
    { n: 60, da: 8, db: 5, route: 'columns' },
    { n: 60, da: 5, db: 12, route: 'columns' },
    { n: 20, da: 20, db: 9, route: 'columns' },
    { n: 15, da: 40, db: 30, route: 'rows' },
  ] as const;
  for (const { n, da, db, route } of shapes) {
    it(`equals numpy's SVCCA, n=${n}, ${da} and ${db} columns (${route})`, async () => {
      const a = randomMatrix(n, da, n * da);
      for (let i = 0; i < a.length; i++) a[i]! *= Math.pow(0.7, i % da) + 0.5; // a spread spectrum
      const b = related(a, n, da, db, db);
      for (const variance of [0.99, 0.8, 1]) {
        const ref = numpy(a, b, n, da, db, variance);
        const got = await svccaDense({ rows: n, cols: da, values: a }, { rows: n, cols: db, values: b }, { variance });
        expect([variance, got.a.kept, got.b.kept]).toEqual([variance, ref.ka, ref.kb]);
        expect(Math.abs(got.mean - ref.mean)).toBeLessThan(1e-10);
        expect(got.rows).toBe(n);
        expect(got.droppedRows).toBe(0);
        expect(got.correlations.length).toBe(Math.min(ref.ka, ref.kb));
        for (let j = 0; j < got.correlations.length; j++) {
          expect(got.correlations[j]!).toBeGreaterThanOrEqual(0);
          expect(got.correlations[j]!).toBeLessThanOrEqual(1);
          if (j > 0) expect(got.correlations[j]!).toBeLessThanOrEqual(got.correlations[j - 1]!);
        }
        expect(got.a).toMatchObject({ columns: da, kept: ref.ka, route, method: 'exact' });
        expect(got.b.route).toBe(db <= n ? 'columns' : 'rows');
        const steps = (tag: string, r: string) => [`${tag}_centre`, `${tag}_gram`, `${tag}_eigen`, ...(r === 'columns' ? [`${tag}_project`] : [])];
        expect(Object.keys(got.ms).sort()).toEqual([...steps('a', route), ...steps('b', got.b.route), 'cca'].sort());
        for (const s of Object.keys(got.ms)) expect(got.ms[s], s).toBeGreaterThanOrEqual(0);
      }
    }, 30_000);
  }

  it('scores 1 for sets equal up to an invertible linear map and a shift, never above 1', async () => {
    const n = 40, d = 6;
    const a = randomMatrix(n, d, 31);
    const b = naive(a, randomMatrix(d, d, 32), n, d, d).map((v, i) => v + 100 * (i % d));
    for (const variance of [1, 0.99]) {
      const r = await svccaDense({ rows: n, cols: d, values: a }, { rows: n, cols: d, values: b }, { variance });
      if (variance === 1) expect(r.mean).toBeCloseTo(1, 9);
      expect(r.mean).toBeLessThanOrEqual(1);
      for (const c of r.correlations) expect(c).toBeLessThanOrEqual(1);
    }
    const same = await svccaDense({ rows: n, cols: d, values: a }, { rows: n, cols: d, values: a }, { variance: 1 });
    expect(same.mean).toBeLessThanOrEqual(1);
    expect(same.mean).toBeCloseTo(1, 9);
    const passed = await svccaDense({ rows: n, cols: d, values: a }, { rows: n, cols: d, values: b }, {}, 7);
    expect(passed.droppedRows).toBe(7);
    expect(passed.a.kept).toBe(numpy(a, b, n, d, d, 0.99).ka); // the default variance is 0.99
  });

  it('times each step: in 0.1 ms, none longer than the whole, together most of it', async () => {
    const n = 3000, d = 200;
    const a = randomMatrix(n, d, 41);
    const b = related(a, n, d, 50, 42);
    const t0 = performance.now();
    const r = await svccaDense({ rows: n, cols: d, values: a }, { rows: n, cols: 50, values: b });
    const elapsed = performance.now() - t0;
    const steps = Object.values(r.ms);
    for (const v of steps) {
      expect(v).toBeLessThanOrEqual(elapsed + 0.1);
      expect(Math.abs(v * 10 - Math.round(v * 10))).toBeLessThan(1e-6);
    }
    expect(steps.reduce((s, v) => s + v, 0)).toBeGreaterThan(0.5 * elapsed);
    // fewer examples than columns: the Gram of the rows, no projection step
    const wa = { rows: 300, cols: 1500, values: randomMatrix(300, 1500, 43) }, wb = { rows: 300, cols: 800, values: randomMatrix(300, 800, 44) };
    const t1 = performance.now();
    const wide = await svccaDense(wa, wb);
    const wideElapsed = performance.now() - t1;
    expect([wide.a.route, wide.b.route]).toEqual(['rows', 'rows']);
    for (const v of Object.values(wide.ms)) expect(v).toBeLessThanOrEqual(wideElapsed + 0.1);
  });

  it('refuses a set without variance (a dead layer), on either side and either route', async () => {
    const live = (n: number, d: number) => ({ rows: n, cols: d, values: randomMatrix(n, d, n + d) });
    const dead = (n: number, d: number) => ({ rows: n, cols: d, values: new Float64Array(n * d).fill(0.25) });
    for (const [n, d] of [[20, 3], [5, 8]] as const) {
      expect(await thrownCodeAsync(svccaDense(dead(n, d), live(n, d)))).toBe('BAD_INPUT');
      await expect(svccaDense(dead(n, d), live(n, d))).rejects.toThrow(new RegExp(`the first set has no variance \\(every column is constant over the ${n} rows`));
      await expect(svccaDense(live(n, d), dead(n, d))).rejects.toThrow(/the second set has no variance/);
    }
  });

  it('refuses a variance outside (0, 1], different examples and fewer than 2 rows', async () => {
    await expect(svccaDense({ rows: 4, cols: 2, values: randomMatrix(4, 2, 1) }, { rows: 4, cols: 2, values: randomMatrix(4, 2, 1) }, { variance: 0 })).rejects.toThrow(/variance must be in \(0, 1\], got 0/);
    const x = { rows: 4, cols: 2, values: randomMatrix(4, 2, 1) };
    for (const variance of [0, -0.5, 1.0001, NaN]) {
      expect(await thrownCodeAsync(svccaDense(x, x, { variance })), String(variance)).toBe('BAD_OPTION');
    }
    expect(await thrownCodeAsync(svccaDense(x, { rows: 3, cols: 2, values: randomMatrix(3, 2, 2) }))).toBe('BAD_INPUT');
    await expect(svccaDense(x, { rows: 3, cols: 2, values: randomMatrix(3, 2, 2) })).rejects.toThrow(/4 rows against 3/);
    const one = { rows: 1, cols: 2, values: randomMatrix(1, 2, 3) };
    expect(await thrownCodeAsync(svccaDense(one, one))).toBe('BAD_INPUT');
    await expect(svccaDense(one, one)).rejects.toThrow(/svcca needs at least 2 examples with finite values in both sets, got 1/);
    const two = { rows: 2, cols: 2, values: Float64Array.from([1, 2, 3, 5]) };
    expect((await svccaDense(two, two)).rows).toBe(2);
  });
});
