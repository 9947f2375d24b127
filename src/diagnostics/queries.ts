// The paper's query catalogue (Table 5.1) over query results: POINTQ and TOPK (few columns, few rows),
// COL_DIFF and COL_DIST (few columns, many rows), ROW_DIFF (many columns, few rows), and the lookup
// that joins labels or predictions onto any answer. Pure functions; NaN and ±Infinity are data: TOPK
// ranks ±Infinity like any value and leaves NaN out, COL_DIST counts them apart.
import { MistiqueError } from '../errors.js';
import type { Matrix } from '../model/matrix.js';
import { numeric } from './dense.js';

function rowOf(m: Matrix, row: number): number {
  const i = m.rowIndex().get(row);
  if (i === undefined) throw new MistiqueError('NOT_FOUND', `row ${row} is not in this result (${m.nrows} rows): query it, e.g. --rows ${row}`);
  return i;
}

/** POINTQ: one example's values (with the per-example shape when the result is one tensor intermediate). */
export function pointq(m: Matrix, row: number): { row: number; values: Float64Array; columns: string[]; shape: number[] | null } {
  numeric(m);
  const i = rowOf(m, row);
  return { row, values: Float64Array.from(m.row(i)), columns: m.columns.map((c) => c.key), shape: m.shape };
}

/** The k of TOPK and KNN: a positive integer, else BAD_OPTION (one check for every k the store takes). */
export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new MistiqueError('BAD_OPTION', `k must be a positive integer, got ${k}`);
}

export interface TopK { column: string; rowIds: Int32Array; values: Float64Array; nanSkipped: number }

/** TOPK: the k rows with the largest (or smallest) value of a column — a feature, a prediction, a neuron. */
export function topk(m: Matrix, column: number | string, k: number, order: 'desc' | 'asc' = 'desc'): TopK {
  numeric(m);
  checkK(k);
  const j = typeof column === 'number' ? column : m.columnIndex(column);
  if (j < 0 || j >= m.ncols) throw new MistiqueError('BAD_OPTION', `column ${column} is out of range: the result has ${m.ncols} columns`);
  const v = m.column(j);
  const idx: number[] = [];
  let nan = 0;
  for (let i = 0; i < v.length; i++) if (Number.isNaN(v[i]!)) nan++; else idx.push(i);
  const sign = order === 'desc' ? -1 : 1;
  idx.sort((a, b) => sign * (v[a]! < v[b]! ? -1 : v[a]! > v[b]! ? 1 : 0) || m.rowIds[a]! - m.rowIds[b]!);
  const top = idx.slice(0, k);
  return { column: m.columns[j]!.key, rowIds: Int32Array.from(top, (i) => m.rowIds[i]!), values: Float64Array.from(top, (i) => v[i]!), nanSkipped: nan };
}

export interface ColDiff { rowIds: Int32Array; a: Float64Array; b: Float64Array; compared: number }

/**
 * COL_DIFF: the rows (shared by both results) where column a and column b differ by more than `tolerance`
 * (e.g. two models' predicted classes, or predictions and labels). NaN equals NaN here (the same missing
 * value); NaN against a number is a difference.
 */
export function colDiff(ma: Matrix, a: number | string, mb: Matrix, b: number | string, tolerance = 0): ColDiff {
  if (!(tolerance >= 0)) throw new MistiqueError('BAD_OPTION', `tolerance must be a number ≥ 0 (how far two values may be apart and still be the same), got ${tolerance}`);
  numeric(ma); numeric(mb);
  const va = ma.column(typeof a === 'number' ? a : ma.columnIndex(a));
  const vb = mb.column(typeof b === 'number' ? b : mb.columnIndex(b));
  const bi = mb.rowIndex();
  const ids: number[] = [], xa: number[] = [], xb: number[] = [];
  let compared = 0;
  for (let i = 0; i < ma.nrows; i++) {
    const j = bi.get(ma.rowIds[i]!);
    if (j === undefined) continue;
    compared++;
    const x = va[i]!, y = vb[j]!;
    const same = (Number.isNaN(x) && Number.isNaN(y)) || x === y || Math.abs(x - y) <= tolerance;
    if (!same) { ids.push(ma.rowIds[i]!); xa.push(x); xb.push(y); }
  }
  return { rowIds: Int32Array.from(ids), a: Float64Array.from(xa), b: Float64Array.from(xb), compared };
}

export interface GroupStat { group: number | string; count: number; a: number; b: number }

/**
 * COL_DIFF grouped: per group (e.g. house type, true class), the mean of two columns side by side —
 * e.g. two pipelines' absolute errors. Rows whose value is NaN are left out of that column's mean.
 */
export function groupedCompare(groups: Matrix, group: number | string, ma: Matrix, a: number | string, mb: Matrix, b: number | string): GroupStat[] {
  const gj = typeof group === 'number' ? group : groups.columnIndex(group);
  const ai = ma.rowIndex(), bi = mb.rowIndex();
  const va = ma.column(typeof a === 'number' ? a : ma.columnIndex(a));
  const vb = mb.column(typeof b === 'number' ? b : mb.columnIndex(b));
  const acc = new Map<number | string, { count: number; sa: number; na: number; sb: number; nb: number }>();
  for (let r = 0; r < groups.nrows; r++) {
    const i = ai.get(groups.rowIds[r]!), j = bi.get(groups.rowIds[r]!);
    if (i === undefined || j === undefined) continue;
    const g = groups.get(r, gj) ?? 'null';
    const s = acc.get(g) ?? { count: 0, sa: 0, na: 0, sb: 0, nb: 0 };
    s.count++;
    if (!Number.isNaN(va[i]!)) { s.sa += va[i]!; s.na++; }
    if (!Number.isNaN(vb[j]!)) { s.sb += vb[j]!; s.nb++; }
    acc.set(g, s);
  }
  return [...acc.entries()].map(([g, s]) => ({ group: g, count: s.count, a: s.na ? s.sa / s.na : NaN, b: s.nb ? s.sb / s.nb : NaN }))
    .sort((x, y) => y.count - x.count || String(x.group).localeCompare(String(y.group)));
}

export interface ColDist {
  column: string;
  count: number; nan: number; posInf: number; negInf: number;
  min: number; max: number; mean: number; std: number;
  /** Quantiles at 0, 1, 5, 25, 50, 75, 95, 99, 100 % of the finite values. */
  quantiles: Record<string, number>;
  /** Equal-width histogram of the finite values: bins+1 edges, bins counts. */
  edges: Float64Array; counts: Int32Array;
}

/** COL_DIST: the distribution of one column over all its rows. */
export function colDist(m: Matrix, column: number | string, bins = 20): ColDist {
  numeric(m);
  if (!Number.isInteger(bins) || bins < 1) throw new MistiqueError('BAD_OPTION', `bins must be a positive integer, got ${bins}`);
  const j = typeof column === 'number' ? column : m.columnIndex(column);
  const v = m.column(j);
  let nan = 0, pinf = 0, ninf = 0;
  const fin: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (Number.isNaN(x)) nan++; else if (x === Infinity) pinf++; else if (x === -Infinity) ninf++; else fin.push(x);
  }
  const f = Float64Array.from(fin).sort();
  const n = f.length;
  let sum = 0;
  for (const x of f) sum += x;
  const mean = n ? sum / n : NaN;
  let ss = 0;
  for (const x of f) ss += (x - mean) * (x - mean);
  const q = (p: number) => (n ? f[Math.min(n - 1, Math.max(0, Math.round(p * (n - 1))))]! : NaN);
  const quantiles: Record<string, number> = {};
  for (const p of [0, 1, 5, 25, 50, 75, 95, 99, 100]) quantiles[`p${p}`] = q(p / 100);
  const lo = n ? f[0]! : 0, hi = n ? f[n - 1]! : 0;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges = Float64Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Int32Array(bins);
  for (const x of f) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]!++;
  return { column: m.columns[j]!.key, count: v.length, nan, posInf: pinf, negInf: ninf, min: n ? lo : NaN, max: n ? hi : NaN, mean, std: n ? Math.sqrt(ss / n) : NaN, quantiles, edges, counts };
}

export interface RowDiff { rows: [number, number]; columns: string[]; a: Float64Array; b: Float64Array; diff: Float64Array }

/** ROW_DIFF: two rows side by side over every column, the largest absolute differences first. */
export function rowDiff(m: Matrix, rowA: number, rowB: number, top = m.ncols): RowDiff {
  numeric(m);
  const ia = rowOf(m, rowA), ib = rowOf(m, rowB);
  const a = m.row(ia), b = m.row(ib);
  const order = Array.from({ length: m.ncols }, (_, j) => j);
  const mag = (j: number) => { const d = Math.abs(a[j]! - b[j]!); return Number.isNaN(d) ? (Number.isNaN(a[j]!) && Number.isNaN(b[j]!) ? -1 : Infinity) : d; };
  order.sort((x, y) => mag(y) - mag(x) || x - y);
  const pick = order.slice(0, top);
  return {
    rows: [rowA, rowB], columns: pick.map((j) => m.columns[j]!.key),
    a: Float64Array.from(pick, (j) => a[j]!), b: Float64Array.from(pick, (j) => b[j]!), diff: Float64Array.from(pick, (j) => b[j]! - a[j]!),
  };
}

/** The values of `from`'s columns for the given row ids (null where a row id is not in `from`). */
export function lookup(from: Matrix, rowIds: ArrayLike<number>): { columns: string[]; rows: (number | string | null)[][] } {
  const idx = from.rowIndex();
  const rows = Array.from(rowIds, (id) => {
    const i = idx.get(id);
    return from.columns.map((_, j) => (i === undefined ? null : from.get(i, j)));
  });
  return { columns: from.columns.map((c) => c.key), rows };
}
