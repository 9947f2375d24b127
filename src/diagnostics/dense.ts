// The numeric view of query results the diagnostics compute on: row-aligned dense arrays.
import { MistiqueError } from '../errors.js';
import type { Matrix, MatrixValues } from '../model/matrix.js';

/** n×d row-major values (any numeric typed array). */
export interface Dense { rows: number; cols: number; values: ArrayLike<number> }

/** Throws when a result has string columns: the numeric diagnostics cannot use dictionary codes. */
export function numeric(m: Matrix): void {
  const s = m.columns.find((c) => c.type === 'utf8');
  if (s) throw new MistiqueError('BAD_INPUT', `column ${s.key} holds strings; this diagnostic needs numeric columns (query the numeric ones, e.g. ${s.key.split('.').slice(0, 3).join('.')}.<column>)`);
}

/**
 * The rows two results share (by row id, in a's order), with any row that holds NaN or ±Infinity in
 * either left out: linear algebra over a non-finite value has no meaning, so those rows are counted.
 */
export function alignRows(a: Matrix, b: Matrix): { a: Dense; b: Dense; rowIds: Int32Array; dropped: number } {
  numeric(a); numeric(b);
  const bi = b.rowIndex();
  const keepA: number[] = [], keepB: number[] = [];
  let dropped = 0, shared = 0;
  for (let i = 0; i < a.nrows; i++) {
    const j = bi.get(a.rowIds[i]!);
    if (j === undefined) continue;
    shared++;
    if (!finiteRow(a.values, i, a.ncols) || !finiteRow(b.values, j, b.ncols)) { dropped++; continue; }
    keepA.push(i); keepB.push(j);
  }
  if (shared === 0) throw new MistiqueError('BAD_INPUT', `the two results share no row ids (${a.nrows} and ${b.nrows} rows): query the same examples in both`);
  return { a: pick(a, keepA), b: pick(b, keepB), rowIds: Int32Array.from(keepA, (i) => a.rowIds[i]!), dropped };
}

function finiteRow(v: MatrixValues, r: number, d: number): boolean {
  for (let p = r * d, e = p + d; p < e; p++) if (!Number.isFinite(v[p]!)) return false;
  return true;
}

function pick(m: Matrix, rows: number[]): Dense {
  const d = m.ncols;
  if (rows.length === m.nrows && rows.every((r, i) => r === i)) return { rows: m.nrows, cols: d, values: m.values };
  const out = new Float64Array(rows.length * d);
  rows.forEach((r, i) => { for (let j = 0; j < d; j++) out[i * d + j] = m.values[r * d + j]!; });
  return { rows: rows.length, cols: d, values: out };
}
