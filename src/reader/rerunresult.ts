// What a re-run gives back, made into what a read gives back: a layer's output pooled as its scheme
// pools it and a table's columns, as the dense row-major Matrix of the selected columns; and the join on
// row_id of per-intermediate results when a query's intermediates took different paths.
import { MistiqueError } from '../errors.js';
import type { StageTable } from '../executor/table.js';
import { schemaColumnName } from '../model/dataframe.js';
import { Matrix, type MatrixColumn, type MatrixValues } from '../model/matrix.js';
import type { ColumnType } from '../model/types.js';
import { pool } from '../quantize/index.js';
import type { Selection } from './resolve.js';

/** The scheme's pooling applied to a re-run's layer output, as logging applied it. */
export function applyPool(values: Float32Array, shape: number[], scheme: string): { values: Float32Array; shape: number[] } {
  const m = /pool\((\d+|S)(,max)?\)/.exec(scheme);
  if (!m || shape.length !== 3) return { values, shape };
  const sigma = m[1] === 'S' ? Math.max(shape[1]!, shape[2]!) : Number(m[1]);
  return pool(values, shape, sigma, m[2] ? 'max' : 'avg');
}

/** A re-run layer's output as the Matrix a read of the selected columns gives. */
export function tensorToMatrix(values: Float32Array, shape: number[], rowIds: Int32Array, sel: Selection): Matrix {
  const r = sel.intermediate;
  const per = shape.reduce((a, b) => a * b, 1);
  if (per !== r.n_cols) throw new MistiqueError('CORRUPT', `re-running ${r.project}.${r.model}.${r.name} gave ${per} values per example, the logged intermediate has ${r.n_cols}`);
  const prefix = `${r.project}.${r.model}.${r.name}.`;
  const cols: MatrixColumn[] = sel.cols.map((j) => { const name = schemaColumnName(sel.schema, j); return { key: prefix + name, name, type: 'float32' as ColumnType }; });
  const whole = sel.cols.length === per && sel.cols.every((j, k) => j === k);
  if (whole) return new Matrix(rowIds, cols, values, sel.schema.shape);
  const n = rowIds.length, C = sel.cols.length;
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++) for (let k = 0; k < C; k++) out[i * C + k] = values[i * per + sel.cols[k]!]!;
  return new Matrix(rowIds, cols, out, null);
}

/** A re-run table's selected columns as the Matrix a read gives (utf8 as dictionary codes). */
export function tableToMatrix(t: StageTable, sel: Selection): Matrix {
  const r = sel.intermediate;
  const prefix = `${r.project}.${r.model}.${r.name}.`;
  const src = sel.cols.map((j) => {
    const name = schemaColumnName(sel.schema, j);
    const k = t.names.indexOf(name);
    if (k < 0) throw new MistiqueError('CORRUPT', `re-running ${prefix.slice(0, -1)} gave no column ${name}`);
    return { name, col: t.columns[k]!, type: sel.schema.types[j]! as ColumnType };
  });
  const cols: MatrixColumn[] = src.map((s) => ({ key: prefix + s.name, name: s.name, type: s.type }));
  const n = t.nrows, C = cols.length;
  const allFloat = src.every((s) => s.type === 'float64');
  const allText = src.every((s) => s.type === 'utf8');
  const values: MatrixValues = allFloat ? new Float64Array(n * C) : allText ? new Int32Array(n * C) : new Float64Array(n * C);
  src.forEach((s, k) => {
    if (s.col instanceof Float64Array) {
      for (let i = 0; i < n; i++) values[i * C + k] = s.col[i]!;
    } else {
      const dict: string[] = [];
      const index = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const v = s.col[i];
        if (v === null || v === undefined) { values[i * C + k] = -1; continue; }
        let c = index.get(v);
        if (c === undefined) { c = dict.length; dict.push(v); index.set(v, c); }
        values[i * C + k] = c;
      }
      cols[k]!.dictionary = dict;
    }
  });
  return new Matrix(t.rowIds, cols, values, null);
}

/** Joins per-intermediate results on row_id: the first result's row order; rows all of them hold. */
export function joinOnRowId(parts: Matrix[], rowsGiven: boolean): Matrix {
  const first = parts[0]!;
  const indexes = parts.map((p) => p.rowIndex());
  let ids = first.rowIds;
  if (!rowsGiven) ids = ids.filter((id) => indexes.every((ix) => ix.has(id)));
  const columns = parts.flatMap((p) => p.columns);
  const C = columns.length;
  const sameType = parts.every((p) => p.values.constructor === first.values.constructor);
  const values: MatrixValues = sameType ? new (first.values.constructor as { new (n: number): MatrixValues })(ids.length * C) : new Float64Array(ids.length * C);
  let base = 0;
  for (let s = 0; s < parts.length; s++) {
    const p = parts[s]!, ix = indexes[s]!, pc = p.ncols;
    for (let i = 0; i < ids.length; i++) {
      const r = ix.get(ids[i]!)!;
      for (let k = 0; k < pc; k++) values[i * C + base + k] = p.values[r * pc + k]!;
    }
    base += pc;
  }
  const m = new Matrix(Int32Array.from(ids), columns, values, null);
  m.sources = parts.flatMap((p) => p.sources);
  return m;
}
