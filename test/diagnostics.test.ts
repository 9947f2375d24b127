// Diagnostics on known answers: SVCCA's invariances and its value on independent data, KNN against
// brute force, Network Dissection on a unit that fires exactly on a concept, each query helper on
// hand-made inputs, and the heatmap image.
import zlib from 'node:zlib';
import { decode as decodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { pixelConcepts } from '../datasets/fashion-mnist/concepts.js';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { colDiff, colDist, dissectionPng, groupedCompare, heatmap, heatmapPng, predictedClass, knn, knnMany, lookup, netdissect, overlap, pointq, rowDiff, svcca, topk, upsampler, type ConceptSet, type KnnOptions, type Metric } from '../src/diagnostics/index.js';
import { alignRows } from '../src/diagnostics/dense.js';
import { leadingEigenpairs, matmul, symEig } from '../src/diagnostics/linalg.js';
import { colour } from '../src/diagnostics/png.js';
import { Matrix, type MatrixColumn } from '../src/model/matrix.js';
import { rng, thrownCode, thrownCodeAsync, thrownError } from './helpers.js';

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

  it('counts the correlations that are 1 by dimension count alone: independent sets with fewer rows than directions kept', async () => {
    // 20 examples span 19 dimensions once centred: two independent 30-column sets keep ~19 directions each,
    // which must share ~19 — a mean of 1 that says nothing about them
    const few = await svcca(matrix(randn(20 * 30, 6), 20, 30), matrix(randn(20 * 30, 7), 20, 30));
    expect(few.forced).toBe(Math.min(few.correlations.length, few.a.kept + few.b.kept - 19));
    expect(few.forced).toBeGreaterThan(0);
    // the forced ones lead the (descending) correlations, and carry the mean far from independent sets' ~0
    for (let i = 0; i < few.forced; i++) expect(few.correlations[i]).toBeCloseTo(1, 6);
    expect(few.mean).toBeGreaterThanOrEqual(few.forced / few.correlations.length - 1e-9);
    expect(few.mean).toBeGreaterThan(0.9);
    // with rows to spare nothing is forced, and the same sets are near 0
    const many = await svcca(matrix(randn(2000 * 8, 6), 2000, 8), matrix(randn(2000 * 8, 7), 2000, 8));
    expect(many.forced).toBe(0);
    expect(many.mean).toBeLessThan(0.1);
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

describe('knn, edge by edge', () => {
  // rows 1 and 3 are equally far from row 2; row 4 is the zero vector
  const m = matrix([1, 0, 2, 0, 3, 0, 0, 0], 4, 2, { ids: [1, 2, 3, 4] });

  it('keeps the query row when asked, breaks ties by row id, one query or many', async () => {
    for (const run of [(o: KnnOptions) => knn(m, 2, o), async (o: KnnOptions) => (await knnMany(m, [2], o))[0]!]) {
      const self = await run({ k: 3, includeSelf: true });
      expect([...self.rowIds]).toEqual([2, 1, 3]);
      expect([...self.distances]).toEqual([0, 1, 1]);
      expect(self).toMatchObject({ query: 2, metric: 'euclidean', skipped: 0 });
      expect([...(await run({ k: 3 })).rowIds]).toEqual([1, 3, 4]);
    }
  });

  it('cosine: the zero vector is at distance 0 from itself and 1 from anything else', async () => {
    const z = knn(m, 4, { k: 4, metric: 'cosine', includeSelf: true });
    expect([...z.rowIds]).toEqual([4, 1, 2, 3]);
    expect([...z.distances]).toEqual([0, 1, 1, 1]);
    const [many] = await knnMany(m, [1], { k: 4, metric: 'cosine' });
    expect([...many!.rowIds]).toEqual([2, 3, 4]);
    expect([...many!.distances]).toEqual([0, 0, 1]);
    // a row holding NaN has no distance from the zero vector either: skipped, never a neighbour at 1
    const withNaN = matrix([1, 0, NaN, 0, 3, 0, 0, 0], 4, 2, { ids: [1, 2, 3, 4] });
    for (const r of [knn(withNaN, 4, { k: 4, metric: 'cosine' }), (await knnMany(withNaN, [4], { k: 4, metric: 'cosine' }))[0]!]) {
      expect([...r.rowIds]).toEqual([1, 3]);
      expect(r.skipped).toBe(1);
    }
  });

  it('refuses an unknown metric, a result without columns, unknown rows and strings', async () => {
    expect(thrownError(() => knn(m, 1, { metric: 'manhattan' as Metric }))).toBe('BAD_OPTION: metric must be euclidean or cosine, got "manhattan"');
    expect(thrownError(() => knn(new Matrix(Int32Array.from([1]), [], new Float64Array(0)), 1))).toBe('BAD_INPUT: knn needs at least one column');
    expect(thrownError(() => knn(m, 9))).toBe('NOT_FOUND: row 9 is not in this result (4 rows, ids 1…4): query it with the rows you search');
    expect(await thrownCodeAsync(knnMany(m, [1, 9]))).toBe('NOT_FOUND');
    expect(thrownCode(() => knn(strings(), 0))).toBe('BAD_INPUT');
    expect(thrownError(() => knn(matrix([NaN, 1, 2, 3], 2, 2), 0))).toBe('BAD_INPUT: row 0 holds NaN or ±Infinity: it has no distance to any row; pick another query row');
  });

  it('overlap is over the longer list, and two empty lists agree', () => {
    expect(overlap([1, 2], [2])).toBe(0.5);
    expect(overlap([2], [1, 2, 3, 4])).toBe(0.25);
    expect(overlap([], [])).toBe(1);
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
    for (const t of [-1, NaN]) expect(() => colDiff(a, 0, b, 0, t)).toThrow(/^tolerance must be a number ≥ 0 .*, got (-1|NaN)$/);
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
    // a column of scores is no class: said so (it had made a class of every distinct value)
    expect(() => heatmap(acts, matrix([7, 7.25, 5, 5], 4, 1))).toThrow(/^heatmap averages a layer per class, and `by` holds 7\.25 \(row 1\), which is no class: give labels or predicted classes/);
    const idat = png.indexOf('IDAT');
    const raw = zlib.inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
    expect(raw.length).toBe(6 * (8 * 3 + 1));
  });
});

/** A PNG decoded once: its size, and the RGB of the pixel at (x, y). */
function pixels(png: Buffer): { width: number; height: number; at(x: number, y: number): number[] } {
  const img = decodePng(png);
  return {
    width: img.width, height: img.height,
    at: (x, y) => { const p = (y * img.width + x) * img.channels; return [...img.data.subarray(p, p + 3)]; },
  };
}

describe('the colour map and the heatmap image, pixel by pixel', () => {

  it('viridis at its ends, its middle and between two samples; NaN grey; out of [0, 1] clamped', () => {
    expect(colour(0)).toEqual([68, 1, 84]);
    expect(colour(1)).toEqual([253, 231, 37]);
    expect(colour(0.5)).toEqual([33, 144, 141]);
    expect(colour(1 / 16)).toEqual([70, 23, 103]); // halfway between the first two samples, rounded
    expect(colour(15 / 16)).toEqual([212, 226, 44]); // halfway between the last two
    expect(colour(-3)).toEqual(colour(0));
    expect(colour(7)).toEqual(colour(1));
    expect(colour(NaN)).toEqual([128, 128, 128]);
  });

  it('each unit scaled to its own range across classes, or one range for all; a flat unit is the middle colour', () => {
    // 2 classes × 4 units; unit 2 is flat, unit 3 has a NaN
    const h = { classes: [5, 7], units: ['a', 'b', 'c', 'd'], values: Float64Array.from([0, 1, 2, NaN, 4, -1, 2, 8]) };
    const png = pixels(heatmapPng(h, { cell: [2, 3] }));
    const at = (k: number, u: number) => png.at(u * 2 + 1, k * 3 + 2);
    expect([at(0, 0), at(1, 0)]).toEqual([colour(0), colour(1)]);
    expect([at(0, 1), at(1, 1)]).toEqual([colour(1), colour(0)]);
    expect([at(0, 2), at(1, 2)]).toEqual([colour(0.5), colour(0.5)]);
    expect([at(0, 3), at(1, 3)]).toEqual([[128, 128, 128], colour(0.5)]);
    // every pixel of a cell has its colour
    for (let y = 0; y < 3; y++) for (let x = 0; x < 2; x++) expect(png.at(2 + x, 3 + y)).toEqual(colour(0));
    const g = pixels(heatmapPng(h, { cell: [1, 1], scale: 'global' }));
    const gat = (k: number, u: number) => g.at(u, k);
    expect([gat(0, 0), gat(0, 1), gat(0, 2), gat(1, 0), gat(1, 1), gat(1, 3)]).toEqual([colour(1 / 9), colour(2 / 9), colour(3 / 9), colour(5 / 9), colour(0), colour(1)]);
    // the default cell: 1600 px wide at most, 24 × 16 px for a few units
    const d = pixels(heatmapPng(h));
    expect([d.width, d.height]).toEqual([4 * 24, 2 * 16]);
    const wide = pixels(heatmapPng({ classes: [1], units: Array.from({ length: 400 }, String), values: new Float64Array(400) }));
    expect(wide.width).toBe(1600);
  });
});

describe('VIS: the mean per class', () => {
  it('predictedClass: the column of each row\'s largest score (the first of equals), NaN for a row of no number', () => {
    const p = predictedClass(matrix([0.1, 0.7, 0.2, /**/ 5, 5, -1, /**/ NaN, NaN, NaN, /**/ NaN, -3, -Infinity], 4, 3, { ids: [4, 3, 2, 1] }));
    expect([p.ncols, Array.from(p.rowIds), Array.from(p.values)]).toEqual([1, [4, 3, 2, 1], [1, 0, NaN, 1]]);
    expect(p.columns[0]!.name).toBe('argmax');
  });

  it('takes the class from a named or numbered column of `by`, joined on row id; rows without a class are left out', () => {
    const acts = matrix([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, 2, { ids: [10, 11, 12, 13, 14] });
    // ids 10..14; `by` in another order, id 14 missing, id 12's class NaN
    const by = matrix([99, 1, 99, 0, 99, NaN, 99, 1], 4, 2, { ids: [13, 10, 12, 11], names: ['x', 'cls'] });
    for (const byColumn of ['cls', 1] as const) {
      const h = heatmap(acts, by, { byColumn });
      expect(h.classes).toEqual([0, 1]);
      expect(h.counts).toEqual([1, 2]);
      expect(h.units).toEqual(['0', '1']);
      expect([...h.values]).toEqual([1, 2, 5, 6]); // class 0: id 10; class 1: ids 11 and 13
    }
    expect([...heatmap(acts, by).classes]).toEqual([99]); // the first column by default
  });

  it('sorts string classes by their text, skips null ones, and leaves NaN values out of a mean', () => {
    const acts = matrix([1, NaN, 3, 4, 5, 6, 7, 8], 4, 2);
    const by = new Matrix(Int32Array.from([0, 1, 2, 3]), [{ key: 'p.data.labels.name', name: 'name', type: 'utf8', dictionary: ['shirt', 'bag'] }], Int32Array.from([0, 1, -1, 0]));
    const h = heatmap(acts, by);
    expect(h.classes).toEqual(['bag', 'shirt']);
    expect(h.counts).toEqual([1, 2]);
    expect([...h.values]).toEqual([3, 4, 4, 8]); // shirt: rows 0 and 3; row 0's NaN left out of unit 1
    const allNaN = heatmap(matrix([NaN, 1], 1, 2), matrix([4], 1, 1));
    expect([...allNaN.values]).toEqual([NaN, 1]);
  });

  it('refuses a per-channel map without a shape, string activations, and classes that match no row', () => {
    const acts = matrix([1, 2], 1, 2);
    expect(thrownCode(() => heatmap(acts, matrix([1], 1, 1), { perChannel: true }))).toBe('BAD_INPUT');
    expect(thrownCode(() => heatmap(matrix([1, 2], 1, 2, { shape: [2] }), matrix([1], 1, 1), { perChannel: true }))).toBe('BAD_INPUT');
    expect(thrownCode(() => heatmap(acts, matrix([1], 1, 1, { ids: [5] })))).toBe('BAD_INPUT');
    expect(thrownCode(() => heatmap(acts, matrix([NaN], 1, 1)))).toBe('BAD_INPUT');
    expect(thrownError(() => heatmap(strings(), matrix([1], 1, 1)))).toBe('BAD_INPUT: column p.m.layer.s holds strings; this diagnostic needs numeric columns (query the numeric ones, e.g. p.m.layer.<column>)');
  });
});

/** A one-row result with a string column. */
function strings(): Matrix {
  return new Matrix(Int32Array.from([0]), [{ key: 'p.m.layer.s', name: 's', type: 'utf8', dictionary: ['a'] }], Int32Array.from([0]));
}

describe('NETDISSECT on hand-computed examples', () => {
  // one unit of 2×2 maps, at the input size (no upsampling), over two images
  const masks = (a: number[], b: number[]): ConceptSet => ({ names: ['a', 'b'], size: 2, rowIds: Int32Array.from([21, 20]), masks: [Uint8Array.from(a), Uint8Array.from(b)] });

  it('thresholds at the top-α quantile and sums intersection and union over the images', () => {
    // values of image 20: 4 1 0 0, image 21: 3 0 0 2 → sorted 0 0 0 0 1 2 3 4; α = 0.25 → T = 3
    const acts = matrix([4, 1, 0, 0, 3, 0, 0, 2, 9, 9, 9, 9], 3, 4, { ids: [20, 21, 22], shape: [1, 2, 2] });
    // concept masks are in the concepts' row order (21 first); image 22 has none and is left out
    const r = netdissect(acts, masks([1, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 0, 0, 1, 1]), { alpha: 0.25 });
    expect(r.rows).toBe(2);
    expect(r.units).toEqual([{ unit: 0, threshold: 3, concept: 'a', iou: 2 / 3, strict: false }]);
    expect([...r.iou]).toEqual([2 / 3, 0]);
    expect(r.concepts).toEqual(['a', 'b']);
  });

  it('selects the values above T when T falls in a large tie, keeps the first of equal concepts, and skips NaN', () => {
    // seven zeros and a 5: T = 0 is a tie of 7/8 > 2α, so the mask is "value > 0"
    const acts = matrix([0, 0, 0, 5, 0, 0, 0, 0], 2, 4, { ids: [21, 20], shape: [1, 2, 2] });
    const same = masks([0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0]);
    const r = netdissect(acts, same, { alpha: 0.25 });
    expect(r.units[0]).toEqual({ unit: 0, threshold: 0, concept: 'a', iou: 1, strict: true });
    // NaN positions are not values: the quantile is over 0 1 2 3 4 5 (T = 5 at α = 0.1) and a NaN is never on
    const withNaN = matrix([NaN, 1, 2, 5, 0, 3, 4, NaN], 2, 4, { ids: [21, 20], shape: [1, 2, 2] });
    const n = netdissect(withNaN, masks([0, 0, 0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 1]), { alpha: 0.1 });
    expect(n.units[0]).toMatchObject({ threshold: 5, concept: 'a', iou: 1, strict: false });
    // a unit whose every value is NaN has no threshold and no mask
    const dead = netdissect(matrix(new Array(8).fill(NaN), 2, 4, { ids: [21, 20], shape: [1, 2, 2] }), same, { alpha: 0.25 });
    expect(dead.units[0]).toMatchObject({ threshold: Infinity, iou: 0, strict: false });
  });

  it('refuses α outside (0, 1), strings, and a layer whose rows have no masks', () => {
    const acts = matrix([0, 0, 0, 5], 1, 4, { ids: [20], shape: [1, 2, 2] });
    const m = masks([0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0]);
    for (const alpha of [0, 1, -0.5, NaN]) expect(thrownError(() => netdissect(acts, m, { alpha }))).toBe(`BAD_OPTION: alpha must be in (0, 1), got ${alpha}`);
    expect(thrownCode(() => netdissect(matrix([0, 0, 0, 5], 1, 4, { ids: [7], shape: [1, 2, 2] }), m))).toBe('BAD_INPUT');
    expect(thrownError(() => netdissect(matrix([1, 2], 1, 2, { shape: [2] }), m))).toBe('BAD_INPUT: netdissect needs a convolutional layer with per-example shape [C, H, W]; this result has [2]');
    expect(thrownCode(() => netdissect(strings(), m))).toBe('BAD_INPUT');
  });

  it('upsamples bilinearly with half-pixel centres and clamped edges', () => {
    const out = new Float64Array(16);
    upsampler(2, 2, 4)(Float64Array.from([0, 4, 8, 12]), out);
    expect([...out]).toEqual([0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12]);
    const wide = new Float64Array(4);
    upsampler(1, 2, 2)(Float64Array.from([3, 7]), wide);
    expect([...wide]).toEqual([3, 7, 3, 7]);
    const same = new Float64Array(4);
    upsampler(2, 2, 2)(Float64Array.from([1, 2, 3, 4]), same);
    expect([...same]).toEqual([1, 2, 3, 4]);
  });

  it('draws each unit\'s most excited images, greyscale, with the binarized map tinted red', () => {
    // two 2×2 images; the unit peaks on image 21, and its mask is the top-right pixel
    const acts = matrix([0, 1, 0, 0, 0, 9, 0, 0], 2, 4, { ids: [20, 21], shape: [1, 2, 2] });
    const images = matrix([0.2, 0.2, 0.2, 0.2, 1, 0.6, 0, 2], 2, 4, { ids: [20, 21] });
    const unit = { unit: 0, threshold: 5, concept: 'a', iou: 1, strict: false };
    const png = pixels(dissectionPng(acts, images, [unit], { perUnit: 2, scale: 1, size: 2 }));
    expect([png.width, png.height]).toEqual([2 * (2 + 2) + 2, 1 * (2 + 2) + 2]);
    const px = png.at;
    // first tile: image 21 (the larger peak) at (2, 2); its top-right pixel (0.6 → 153) is on: red-tinted
    expect([px(2, 2), px(3, 2), px(2, 3), px(3, 3)]).toEqual([[255, 255, 255], [Math.round(0.45 * 153 + 140), Math.round(0.45 * 153), Math.round(0.45 * 153)], [0, 0, 0], [255, 255, 255]]);
    // second tile: image 20, below the threshold everywhere: plain grey 0.2 → 51
    expect(px(6, 2)).toEqual([51, 51, 51]);
    expect(px(0, 0)).toEqual([255, 255, 255]); // the gap
    // strict: "> T", so a value equal to T is off
    const strictPng = pixels(dissectionPng(acts, images, [{ ...unit, threshold: 9, strict: true }], { perUnit: 1, scale: 1, size: 2 }));
    expect(strictPng.at(3, 2)).toEqual([153, 153, 153]);
    expect(thrownCode(() => dissectionPng(matrix([1], 1, 1), images, [unit]))).toBe('BAD_INPUT');
  });
});

describe('the query catalogue, edge by edge', () => {
  const m = matrix([3, 1, 2, NaN, 5, -Infinity], 3, 2, { ids: [7, 8, 9], shape: [2] });

  it('POINTQ returns the row with its columns and shape; TOPK checks k and the column', () => {
    expect(pointq(m, 8)).toEqual({ row: 8, values: Float64Array.from([2, NaN]), columns: ['p.m.layer.0', 'p.m.layer.1'], shape: [2] });
    expect(thrownError(() => pointq(m, 99))).toBe('NOT_FOUND: row 99 is not in this result (3 rows): query it, e.g. --rows 99');
    for (const k of [0, -1, 1.5, NaN]) expect(thrownError(() => topk(m, 0, k))).toBe(`BAD_OPTION: k must be a positive integer, got ${k}`);
    for (const j of [-1, 2]) expect(thrownError(() => topk(m, j, 1))).toBe(`BAD_OPTION: column ${j} is out of range: the result has 2 columns`);
    expect(topk(m, 1, 5)).toEqual({ column: 'p.m.layer.1', rowIds: Int32Array.from([7, 9]), values: Float64Array.from([1, -Infinity]), nanSkipped: 1 });
    expect([...topk(m, '1', 1, 'asc').rowIds]).toEqual([9]);
    expect(thrownCode(() => pointq(strings(), 0))).toBe('BAD_INPUT');
    expect(thrownCode(() => topk(strings(), 0, 1))).toBe('BAD_INPUT');
  });

  it('COL_DIFF by column name, over the rows both results hold; NaN equals NaN, and differs from a number', () => {
    const a = matrix([1, 2, NaN, 4, 5], 5, 1, { ids: [1, 2, 3, 4, 5], names: ['y'] });
    const b = matrix([4.5, NaN, NaN, 1, 7], 5, 1, { ids: [4, 3, 2, 1, 9], names: ['p'] });
    expect(colDiff(a, 'y', b, 'p', 0.5)).toEqual({ rowIds: Int32Array.from([2]), a: Float64Array.from([2]), b: Float64Array.from([NaN]), compared: 4 });
    expect(colDiff(a, 'y', b, 'p')).toEqual({ rowIds: Int32Array.from([2, 4]), a: Float64Array.from([2, 4]), b: Float64Array.from([NaN, 4.5]), compared: 4 });
    expect(colDiff(a, 0, b, 0).compared).toBe(4);
    expect(thrownCode(() => colDiff(a, 'nope', b, 0))).toBe('NOT_FOUND');
    expect(thrownCode(() => colDiff(a, 0, b, 'nope'))).toBe('NOT_FOUND');
  });

  it('grouped COL_DIFF: by a named column, rows in all three results only, NaN left out of a mean, the largest groups first', () => {
    const groups = new Matrix(Int32Array.from([1, 2, 3, 4, 5, 6]), [{ key: 'p.d.t.kind', name: 'kind', type: 'utf8', dictionary: ['x', 'y'] }], Int32Array.from([1, 0, 1, -1, 0, 1]));
    const a = matrix([1, 2, 3, 4, 5, 6], 6, 1, { ids: [1, 2, 3, 4, 5, 6], names: ['e'] });
    const b = matrix([10, NaN, 30, 40, 50], 5, 1, { ids: [1, 2, 3, 4, 5], names: ['e'] });
    const g = groupedCompare(groups, 'kind', a, 'e', b, 'e');
    // y: ids 1 and 3 (6 is not in b); x: ids 2 and 5; null: id 4
    expect(g).toEqual([{ group: 'x', count: 2, a: 3.5, b: 50 }, { group: 'y', count: 2, a: 2, b: 20 }, { group: 'null', count: 1, a: 4, b: 40 }]);
    const nanOnly = groupedCompare(matrix([1], 1, 1), 0, matrix([NaN], 1, 1), 0, matrix([2], 1, 1), 0);
    expect(nanOnly).toEqual([{ group: 1, count: 1, a: NaN, b: 2 }]);
  });

  it('COL_DIST: the quantiles of the sorted finite values, their standard deviation and an equal-width histogram', () => {
    const d = colDist(matrix([4, 1, NaN, 3, 2, Infinity], 6, 1, { names: ['v'] }), 'v', 2);
    expect(d.column).toBe('p.m.layer.v');
    expect(d).toMatchObject({ count: 6, nan: 1, posInf: 1, negInf: 0, min: 1, max: 4, mean: 2.5 });
    expect(d.std).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(d.quantiles).toEqual({ p0: 1, p1: 1, p5: 1, p25: 2, p50: 3, p75: 3, p95: 4, p99: 4, p100: 4 });
    expect([...d.edges]).toEqual([1, 2.5, 4]);
    expect([...d.counts]).toEqual([2, 2]);
    // one distinct value: a histogram of width 1 holding everything in its first bin
    const flat = colDist(matrix([5, 5, 5], 3, 1), 0, 3);
    expect([...flat.edges]).toEqual([5, 6, 7, 8]);
    expect([...flat.counts]).toEqual([3, 0, 0]);
    expect(flat.std).toBe(0);
    const none = colDist(matrix([NaN, -Infinity], 2, 1), 0, 1);
    expect(none).toMatchObject({ count: 2, nan: 1, negInf: 1, min: NaN, max: NaN, mean: NaN, std: NaN });
    expect(none.quantiles.p50).toBeNaN();
    for (const bins of [0, 2.5]) expect(thrownError(() => colDist(m, 0, bins))).toBe(`BAD_OPTION: bins must be a positive integer, got ${bins}`);
    expect(thrownCode(() => colDist(strings(), 0))).toBe('BAD_INPUT');
  });

  it('ROW_DIFF: a NaN on one side ranks first, on both sides last; `top` keeps the largest', () => {
    const r = matrix([1, NaN, NaN, 5, 0, /* row 2 */ 1, 2, NaN, 7, Infinity], 2, 5, { ids: [1, 2] });
    const d = rowDiff(r, 1, 2);
    expect(d.rows).toEqual([1, 2]);
    expect(d.columns.map((c) => c.split('.').pop())).toEqual(['1', '4', '3', '0', '2']);
    expect([...d.a]).toEqual([NaN, 0, 5, 1, NaN]);
    expect([...d.b]).toEqual([2, Infinity, 7, 1, NaN]);
    expect([...d.diff]).toEqual([NaN, Infinity, 2, 0, NaN]);
    const top2 = rowDiff(r, 1, 2, 2);
    expect(top2.columns).toHaveLength(2);
    expect([...top2.diff]).toEqual([NaN, Infinity]);
    expect(thrownCode(() => rowDiff(r, 1, 3))).toBe('NOT_FOUND');
  });

  it('lookup gives the column keys and null for an unknown row', () => {
    const l = lookup(matrix([1, 2, 3, 4], 2, 2, { ids: [5, 6] }), [6, 0]);
    expect(l).toEqual({ columns: ['p.m.layer.0', 'p.m.layer.1'], rows: [[3, 4], [null, null]] });
  });
});

describe('alignRows', () => {
  it('pairs the rows two results share, in the first one\'s order, and counts those holding NaN or ±Infinity', () => {
    const a = matrix([1, 2, 3, 4, 5, 6, 7, 8], 4, 2, { ids: [10, 11, 12, 13] });
    const b = matrix([30, NaN, 10, 11], 4, 1, { ids: [12, 13, 10, 99] });
    const r = alignRows(a, b);
    expect([...r.rowIds]).toEqual([10, 12]);
    expect(r.dropped).toBe(1);
    expect(r.a).toEqual({ rows: 2, cols: 2, values: Float64Array.from([1, 2, 5, 6]) });
    expect(r.b).toEqual({ rows: 2, cols: 1, values: Float64Array.from([10, 30]) });
    // rows already aligned: the values themselves, not a copy
    const same = alignRows(a, a);
    expect(same.a.values).toBe(a.values);
    expect(same.dropped).toBe(0);
    expect(thrownError(() => alignRows(a, matrix([1], 1, 1, { ids: [1] })))).toBe('BAD_INPUT: the two results share no row ids (4 and 1 rows): query the same examples in both');
  });
});
