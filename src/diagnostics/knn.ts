// KNN (paper Table 5.1, MCFR): the k examples nearest to a given one in an intermediate's space,
// exact (brute force over every row), Euclidean or cosine. Rows holding NaN or ±Infinity have no
// distance and are skipped (counted in `skipped`).
import { checkK } from './queries.js';
import { MistiqueError } from '../errors.js';
import type { Matrix } from '../model/matrix.js';
import { numeric } from './dense.js';
import { matmul } from './linalg.js';
import { transpose } from './svcca.js';

export type Metric = 'euclidean' | 'cosine';

export interface KnnOptions {
  k?: number;
  metric?: Metric;
  /** Keep the query row itself in the answer (default false). */
  includeSelf?: boolean;
}

export interface KnnResult {
  query: number;
  /** Row ids of the neighbours, nearest first. */
  rowIds: Int32Array;
  distances: Float64Array;
  metric: Metric;
  skipped: number;
}

/** The k rows of `m` nearest to row id `row` (which must be one of m's rows). */
export function knn(m: Matrix, row: number, opts: KnnOptions = {}): KnnResult {
  numeric(m);
  const { k, metric } = options(m, opts);
  const q = m.rowIndex().get(row);
  if (q === undefined) throw new MistiqueError('NOT_FOUND', `row ${row} is not in this result (${m.nrows} rows, ids ${m.rowIds[0]}…${m.rowIds[m.nrows - 1]}): query it with the rows you search`);
  const d = m.ncols, v = m.values;
  const dist = new Float64Array(m.nrows);
  let qn = 0;
  for (let j = 0; j < d; j++) qn += v[q * d + j]! * v[q * d + j]!;
  for (let i = 0; i < m.nrows; i++) {
    let s = 0, dot = 0, xn = 0;
    for (let j = 0, p = i * d, r = q * d; j < d; j++, p++, r++) {
      const x = v[p]!, y = v[r]!;
      if (metric === 'euclidean') { const t = x - y; s += t * t; } else { dot += x * y; xn += x * x; }
    }
    dist[i] = metric === 'euclidean' ? Math.sqrt(s) : cosineDistance(dot, xn, qn);
  }
  return select(m, q, dist, k, metric, opts.includeSelf ?? false);
}

/**
 * KNN for many query rows at once: distances through one matrix product (|x|² − 2x·q + |q|², on
 * onnxruntime), so KNN@k overlap over hundreds of queries costs one pass over the data.
 */
export async function knnMany(m: Matrix, rows: readonly number[], opts: KnnOptions = {}): Promise<KnnResult[]> {
  numeric(m);
  const { k, metric } = options(m, opts);
  const idx = m.rowIndex();
  const qs = rows.map((r) => {
    const i = idx.get(r);
    if (i === undefined) throw new MistiqueError('NOT_FOUND', `row ${r} is not in this result: query it with the rows you search`);
    return i;
  });
  const n = m.nrows, d = m.ncols;
  const x = Float64Array.from(m.values as ArrayLike<number>);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0, p = i * d; j < d; j++, p++) s += x[p]! * x[p]!;
    norms[i] = s;
  }
  const qt = new Float64Array(d * qs.length);
  qs.forEach((qi, c) => { for (let j = 0; j < d; j++) qt[j * qs.length + c] = x[qi * d + j]!; });
  const dots = await matmul(x, qt, n, d, qs.length); // n×q
  const dt = transpose(dots, n, qs.length);
  return qs.map((qi, c) => {
    const dist = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const dot = dt[c * n + i]!;
      dist[i] = metric === 'euclidean' ? Math.sqrt(Math.max(0, norms[i]! - 2 * dot + norms[qi]!)) : cosineDistance(dot, norms[i]!, norms[qi]!);
    }
    if (metric === 'euclidean') dist[qi] = 0;
    return select(m, qi, dist, k, metric, opts.includeSelf ?? false);
  });
}

/** |A ∩ B| / k for two neighbour lists (the paper's KNN@k overlap). */
export function overlap(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const s = new Set(Array.from(a));
  let hit = 0;
  for (let i = 0; i < b.length; i++) if (s.has(b[i]!)) hit++;
  return Math.max(a.length, b.length) === 0 ? 1 : hit / Math.max(a.length, b.length);
}

function options(m: Matrix, opts: KnnOptions): { k: number; metric: Metric } {
  const k = opts.k ?? 10, metric = opts.metric ?? 'euclidean';
  checkK(k);
  if (metric !== 'euclidean' && metric !== 'cosine') throw new MistiqueError('BAD_OPTION', `metric must be euclidean or cosine, got ${JSON.stringify(metric)}`);
  if (m.ncols === 0) throw new MistiqueError('BAD_INPUT', 'knn needs at least one column');
  return { k, metric };
}

function cosineDistance(dot: number, xn: number, qn: number): number {
  // a row holding NaN or ±Infinity has no distance (skipped), also from a zero query row
  if (!Number.isFinite(xn)) return NaN;
  if (xn === 0 || qn === 0) return xn === qn ? 0 : 1;
  return 1 - dot / Math.sqrt(xn * qn);
}

function select(m: Matrix, q: number, dist: Float64Array, k: number, metric: Metric, includeSelf: boolean): KnnResult {
  for (let p = q * m.ncols, e = p + m.ncols; p < e; p++) {
    if (!Number.isFinite(m.values[p]!)) throw new MistiqueError('BAD_INPUT', `row ${m.rowIds[q]} holds NaN or ±Infinity: it has no distance to any row; pick another query row`);
  }
  const order: number[] = [];
  let skipped = 0;
  for (let i = 0; i < dist.length; i++) {
    if (!Number.isFinite(dist[i]!)) { skipped++; continue; }
    if (i === q && !includeSelf) continue;
    order.push(i);
  }
  order.sort((x, y) => dist[x]! - dist[y]! || m.rowIds[x]! - m.rowIds[y]!);
  const top = order.slice(0, k);
  return { query: m.rowIds[q]!, rowIds: Int32Array.from(top, (i) => m.rowIds[i]!), distances: Float64Array.from(top, (i) => dist[i]!), metric, skipped };
}
