// Diagnostics on known answers: SVCCA's invariances and its value on independent data, KNN against
// brute force, Network Dissection on a unit that fires exactly on a concept, each query helper on
// hand-made inputs, and the heatmap image.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pixelConcepts } from '../datasets/fashion-mnist/concepts.js';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { colDiff, colDist, dissectionPng, groupedCompare, heatmap, heatmapPng, knn, knnMany, lookup, netdissect, overlap, pointq, rowDiff, svcca, topk } from '../src/diagnostics/index.js';
import { leadingEigenpairs, matmul, symEig } from '../src/diagnostics/linalg.js';
import { Matrix, type MatrixColumn } from '../src/model/matrix.js';
import { rng } from './helpers.js';

function matrix(values: ArrayLike<number>, rows: number, cols: number, opts: { ids?: number[]; shape?: number[]; names?: string[]; key?: string } = {}): Matrix {
  const columns: MatrixColumn[] = Array.from({ length: cols }, (_, j) => {
    const name = opts.names?.[j] ?? String(j);
    return { key: `${opts.key ?? 'p.m.layer'}.${name}`, name, type: 'float64' };
  });
  const ids = Int32Array.from(opts.ids ?? Array.from({ length: rows }, (_, i) => i));
  return new Matrix(ids, columns, Float64Array.from(values), opts.shape ?? null);
}

function randn(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}

describe('svcca', () => {
  it('is 1 for a representation against itself, and against any invertible linear map of it', async () => {
    const n = 400, d = 12;
    const a = randn(n * d, 1);
    expect((await svcca(matrix(a, n, d), matrix(a, n, d))).mean).toBeCloseTo(1, 9);
    // A·R for a random (invertible) R: CCA is invariant to it; the 99% SVD step is not (it keeps a
    // different subspace when R stretches directions), so the full rank is kept here
    const R = randn(d * d, 2);
    const ar = await matmul(a, R, n, d, d);
    const r = await svcca(matrix(a, n, d), matrix(ar, n, d), { variance: 1 });
    expect(r.mean).toBeCloseTo(1, 6);
    expect(r.correlations).toHaveLength(d);
    // an orthogonal R keeps every variance, so even the 99% step keeps the same subspace
    const { vectors: Q } = symEig(await matmul(R, Float64Array.from(R), d, d, d), d);
    const aq = await matmul(a, Q, n, d, d);
    expect((await svcca(matrix(a, n, d), matrix(aq, n, d))).mean).toBeCloseTo(1, 6);
  });

  it('is near 0 for independent random sets, shrinking as rows grow', async () => {
    const d = 8;
    const at = async (n: number) => (await svcca(matrix(randn(n * d, 3), n, d), matrix(randn(n * d, 4), n, d))).mean;
    const small = await at(200), large = await at(5000);
    expect(small).toBeLessThan(0.2);
    expect(large).toBeLessThan(0.05);
    expect(large).toBeLessThan(small / 2);
  });

  it('joins on row id, drops rows holding NaN or ±Infinity, and rejects results without shared rows', async () => {
    const n = 300, d = 5;
    const a = randn(n * d, 5);
    const ids = Array.from({ length: n }, (_, i) => n - 1 - i);
    const rev = new Float64Array(n * d);
    for (let i = 0; i < n; i++) rev.set(a.subarray((n - 1 - i) * d, (n - i) * d), i * d);
    const withNaN = Float64Array.from(a);
    withNaN[7 * d] = NaN; withNaN[9 * d + 2] = Infinity;
    const r = await svcca(matrix(withNaN, n, d), matrix(rev, n, d, { ids }));
    expect(r.droppedRows).toBe(2);
    expect(r.rows).toBe(n - 2);
    expect(r.mean).toBeCloseTo(1, 9);
    await expect(svcca(matrix(a, n, d), matrix(a, n, d, { ids: ids.map((i) => i + 1000) }))).rejects.toThrow(/share no row ids/);
  });

  it('finds the leading eigenpairs of a large matrix by subspace iteration, as the full decomposition does', async () => {
    const m = 800, k = 40;
    // C = X·Xᵀ-like: a low-rank part with a decaying spectrum plus small noise
    const basis = randn(m * k, 6);
    const scaled = Float64Array.from(basis, (v, i) => v * Math.pow(0.85, i % k));
    const c = await matmul(scaled, transposeOf(scaled, m, k), m, k, m);
    for (let i = 0; i < m; i++) c[i * m + i]! += 1e-3;
    const sub = await leadingEigenpairs(c, m, 0.99, { native: false }); // the fallback without LAPACK
    expect(sub.method).toBe('subspace');
    const exact = symEig(c, m);
    for (let j = 0; j < Math.min(sub.count, 10); j++) expect(Math.abs(sub.values[j]! / exact.values[j]! - 1)).toBeLessThan(1e-7);
    let total = 0, kept = 0;
    for (let j = 0; j < m; j++) total += exact.values[j]!;
    for (let j = 0; j < sub.count; j++) kept += exact.values[j]!;
    expect(kept / total).toBeGreaterThanOrEqual(0.99);
  }, 60_000);
});

function transposeOf(x: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j]!;
  return out;
}

describe('knn', () => {
  const n = 300, d = 16;
  const v = randn(n * d, 7);
  const m = matrix(v, n, d, { ids: Array.from({ length: n }, (_, i) => 1000 + i) });
  const brute = (q: number, metric: 'euclidean' | 'cosine', k: number) => {
    const dist = Array.from({ length: n }, (_, i) => {
      let s = 0, dot = 0, xn = 0, qn = 0;
      for (let j = 0; j < d; j++) {
        const x = v[i * d + j]!, y = v[q * d + j]!;
        s += (x - y) ** 2; dot += x * y; xn += x * x; qn += y * y;
      }
      return { id: 1000 + i, dist: metric === 'euclidean' ? Math.sqrt(s) : 1 - dot / Math.sqrt(xn * qn) };
    }).filter((e) => e.id !== 1000 + q);
    return dist.sort((a, b) => a.dist - b.dist).slice(0, k);
  };

  it('matches brute force, Euclidean and cosine, one query and many', async () => {
    for (const metric of ['euclidean', 'cosine'] as const) {
      const want = brute(51, metric, 20);
      const got = knn(m, 1051, { k: 20, metric });
      expect([...got.rowIds]).toEqual(want.map((e) => e.id));
      want.forEach((e, i) => expect(got.distances[i]).toBeCloseTo(e.dist, 9));
      const many = await knnMany(m, [1051, 1007], { k: 20, metric });
      expect([...many[0]!.rowIds]).toEqual(want.map((e) => e.id));
      expect([...many[1]!.rowIds]).toEqual(brute(7, metric, 20).map((e) => e.id));
    }
    expect(overlap([1, 2, 3, 4], [4, 3, 9, 8])).toBe(0.5);
  });

  it('skips rows holding NaN or ±Infinity, refuses such a query row and unknown rows', () => {
    const w = Float64Array.from(v);
    w[3 * d] = NaN; w[4 * d + 1] = -Infinity;
    const r = knn(matrix(w, n, d), 51, { k: n });
    expect(r.skipped).toBe(2);
    expect(r.rowIds).not.toContain(3);
    expect(() => knn(matrix(w, n, d), 3)).toThrow(/NaN or ±Infinity/);
    expect(() => knn(m, 5)).toThrow(/not in this result/);
    expect(() => knn(m, 1051, { k: 0 })).toThrow(/positive integer/);
  });
});

describe('netdissect', () => {
  it('gives IoU 1 to a unit that fires exactly on a concept, and a low IoU to noise', () => {
    const { x, rowIds } = batches(loadSubset(), 60).next().value!;
    const concepts = pixelConcepts(x, rowIds);
    const n = rowIds.length, SS = 784;
    const edge = concepts.masks[concepts.names.indexOf('edge')]!;
    const noise = rng(9);
    const acts = new Float64Array(n * 2 * SS);
    for (let i = 0; i < n; i++) for (let p = 0; p < SS; p++) {
      acts[i * 2 * SS + p] = edge[i * SS + p]! ? 3 : -1; // unit 0: the edge concept
      acts[i * 2 * SS + SS + p] = noise(); // unit 1: noise
    }
    const edgeFrac = edge.reduce((s, b) => s + b, 0) / edge.length;
    const res = netdissect(matrix(acts, n, 2 * SS, { ids: [...rowIds], shape: [2, 28, 28] }), concepts, { alpha: edgeFrac / 2 });
    expect(res.units[0]!.concept).toBe('edge');
    // top α of a 0/1 unit is its "on" value: binarized it is the concept, IoU exactly 1
    expect(res.units[0]!.iou).toBe(1);
    expect(res.units[1]!.iou).toBeLessThan(0.2);
    expect(res.iou).toHaveLength(2 * concepts.names.length);
    // the picture: a row per unit, 6 images of 28 × 3 px with 2 px gaps
    const png = dissectionPng(matrix(acts, n, 2 * SS, { ids: [...rowIds], shape: [2, 28, 28] }), matrix(x, n, SS, { ids: [...rowIds] }), res.units);
    expect(png.readUInt32BE(16)).toBe(6 * (84 + 2) + 2);
    expect(png.readUInt32BE(20)).toBe(2 * (84 + 2) + 2);
  });

  it('upsamples a smaller map to the input size, and rejects a layer without a [C, H, W] shape', () => {
    const { x, rowIds } = batches(loadSubset(), 20).next().value!;
    const concepts = pixelConcepts(x, rowIds);
    const n = rowIds.length;
    // a 14×14 unit that is on over the top half of the image: nearest to the concept 'upper'/'foreground' top
    const acts = new Float64Array(n * 196);
    for (let i = 0; i < n; i++) for (let y = 0; y < 7; y++) for (let xx = 0; xx < 14; xx++) acts[i * 196 + y * 14 + xx] = 1;
    const r = netdissect(matrix(acts, n, 196, { ids: [...rowIds], shape: [1, 14, 14] }), concepts, { alpha: 0.4 });
    expect(r.units).toHaveLength(1);
    expect(r.units[0]!.iou).toBeGreaterThan(0);
    expect(() => netdissect(matrix(acts, n, 196, { ids: [...rowIds] }), concepts)).toThrow(/\[C, H, W\]/);
  });
});

describe('the query catalogue', () => {
  // 6 homes: id, error of model A, error of model B, type
  const ids = [10, 11, 12, 13, 14, 15];
  const a = matrix([0.1, NaN, Infinity, -0.5, 0.3, 0.3], 6, 1, { ids, key: 'z.A.pred', names: ['err'] });
  const b = matrix([0.1, NaN, 0.2, -0.5, 0.31, 0.9], 6, 1, { ids, key: 'z.B.pred', names: ['err'] });
  const type = matrix([1, 2, 1, 2, 1, 3], 6, 1, { ids, key: 'z.A.test', names: ['type'] });

  it('POINTQ and TOPK: ±Infinity ranks as a value, NaN is left out, ties go to the lower row id', () => {
    expect([...pointq(a, 12).values]).toEqual([Infinity]);
    const t = topk(a, 'err', 3);
    expect([...t.rowIds]).toEqual([12, 14, 15]);
    expect(t.nanSkipped).toBe(1);
    expect([...topk(a, 0, 2, 'asc').rowIds]).toEqual([13, 10]);
    expect(() => topk(a, 'nope', 2)).toThrow(/no column/);
    expect(() => pointq(a, 99)).toThrow(/not in this result/);
  });

  it('COL_DIFF: rows that differ (NaN equals NaN), with a tolerance; grouped comparison of two models', () => {
    expect([...colDiff(a, 0, b, 0).rowIds]).toEqual([12, 14, 15]);
    expect([...colDiff(a, 0, b, 0, 0.05).rowIds]).toEqual([12, 15]);
    const g = groupedCompare(type, 'type', a, 0, b, 0);
    expect(g.map((s) => s.group)).toEqual([1, 2, 3]);
    expect(g[0]).toMatchObject({ count: 3, a: Infinity });
    expect(g[1]!.a).toBeCloseTo(-0.5);
    expect(g[2]).toMatchObject({ count: 1, a: 0.3, b: 0.9 });
  });

  it('COL_DIST counts NaN and ±Infinity apart and bins the finite values', () => {
    const dist = colDist(matrix([1, 2, 3, 4, NaN, Infinity, -Infinity, 4], 8, 1), 0, 3);
    expect(dist).toMatchObject({ count: 8, nan: 1, posInf: 1, negInf: 1, min: 1, max: 4, mean: 2.8 });
    expect([...dist.counts]).toEqual([1, 1, 3]);
    expect(dist.quantiles.p50).toBe(3);
  });

  it('ROW_DIFF orders columns by the size of the difference; lookup joins labels', () => {
    const m = matrix([1, 5, 0, 7, /* row 1 */ 1, 2, 9, 7], 2, 4, { ids: [3, 4] });
    const r = rowDiff(m, 3, 4);
    expect(r.columns.map((c) => c.split('.').pop())).toEqual(['2', '1', '0', '3']);
    expect([...r.diff]).toEqual([9, -3, 0, 0]);
    expect(lookup(type, [15, 99, 10]).rows).toEqual([[3], [null], [1]]);
  });

  it('VIS: the mean activation per class, per neuron or per channel, as a PNG', () => {
    // 4 examples of 2 classes, a layer of 2 channels × 2 positions
    const acts = matrix([1, 1, 0, 0, 3, 3, 0, 0, 0, 0, 2, 4, 0, 0, 4, NaN], 4, 4, { shape: [2, 2] });
    const labels = matrix([7, 7, 5, 5], 4, 1, { key: 'p.data.labels', names: ['label'] });
    const h = heatmap(acts, labels);
    expect(h.classes).toEqual([5, 7]);
    expect([...h.values]).toEqual([0, 0, 3, 4, 2, 2, 0, 0]);
    const c = heatmap(acts, labels, { perChannel: true });
    expect(c.units).toEqual(['c0', 'c1']);
    expect([...c.values]).toEqual([0, 10 / 3, 2, 0]);
    const png = heatmapPng(h, { cell: [2, 3] });
    expect([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(8); // width: 4 units × 2 px
    expect(png.readUInt32BE(20)).toBe(6); // height: 2 classes × 3 px
    const idat = png.indexOf('IDAT');
    const raw = zlib.inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
    expect(raw.length).toBe(6 * (8 * 3 + 1));
  });
});
