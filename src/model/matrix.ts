// Matrix: what a query returns. Row ids, column keys, and one dense row-major typed array
// (utf8 columns hold dictionary codes, with the strings in the column's dictionary). A result of 8 MB or
// more lives in a SharedArrayBuffer (the workers of a scan write into it): `unshared` for consumers that
// refuse shared memory.
import { Bool, Dictionary, Int32, makeData, makeVector, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { MistiqueError } from '../errors.js';
import type { ColumnType } from './types.js';

export type MatrixValues = Float64Array | Float32Array | Int32Array | Uint8Array;

/**
 * The values themselves, or a copy when they are a view of a SharedArrayBuffer (large results are, so
 * that a scan's workers decode into them) — for consumers that refuse shared memory, as onnxruntime-node does.
 */
export function unshared<T extends Float64Array | Float32Array | Int32Array | Uint8Array>(v: T): T {
  return v.buffer instanceof SharedArrayBuffer ? (v.slice() as T) : v;
}

export interface MatrixColumn {
  /** The full key: project.model.intermediate.column */
  key: string;
  name: string;
  type: ColumnType;
  dictionary?: string[];
}

/** Where a result's columns came from (set by the store's query planner): read or re-run, and the loss. */
export interface MatrixSource { key: string; path: 'read' | 'rerun'; scheme: string; loss: string; ms: number }

/**
 * A result's columns built when first asked for: a whole tensor's are one object per value position
 * (100 000s for a wide layer), which a consumer of its values alone never needs.
 */
export class LazyColumns {
  constructor(readonly length: number, readonly build: () => readonly MatrixColumn[]) {}
}

export class Matrix {
  /** Per intermediate: the path that answered it and what its values gave up to the storage scheme. */
  sources: MatrixSource[] = [];
  readonly ncols: number;
  private cols: readonly MatrixColumn[] | LazyColumns;

  constructor(
    readonly rowIds: Int32Array,
    columns: readonly MatrixColumn[] | LazyColumns,
    readonly values: MatrixValues,
    /** Per-example shape when all columns are one whole tensor intermediate, else null. */
    readonly shape: number[] | null = null,
  ) {
    if (values.length !== rowIds.length * columns.length) {
      throw new MistiqueError('CORRUPT', `matrix of ${rowIds.length}×${columns.length} needs ${rowIds.length * columns.length} values, got ${values.length}`);
    }
    this.cols = columns;
    this.ncols = columns.length;
  }

  /** Each column's key, name and type, in order. */
  get columns(): readonly MatrixColumn[] {
    if (this.cols instanceof LazyColumns) {
      const built = this.cols.build();
      if (built.length !== this.ncols) throw new MistiqueError('INTERNAL', `a result of ${this.ncols} columns built ${built.length} column names`);
      this.cols = built;
    }
    return this.cols;
  }

  get nrows(): number { return this.rowIds.length; }

  /** The value at (row r, column c): a number, or a string / null for utf8 columns. */
  get(r: number, c: number): number | string | null {
    const v = this.values[r * this.ncols + c]!;
    const col = this.columns[c]!;
    if (col.type !== 'utf8') return v;
    return v < 0 ? null : col.dictionary![v]!;
  }

  row(r: number): MatrixValues {
    return this.values.subarray(r * this.ncols, (r + 1) * this.ncols);
  }

  /** A copy of column c (found by index, key or name). */
  column(c: number | string): MatrixValues {
    const j = typeof c === 'number' ? c : this.columnIndex(c);
    const out = new (this.values.constructor as { new (n: number): MatrixValues })(this.nrows);
    for (let i = 0, p = j; i < this.nrows; i++, p += this.ncols) out[i] = this.values[p]!;
    return out;
  }

  columnIndex(keyOrName: string): number {
    let j = this.columns.findIndex((c) => c.key === keyOrName);
    if (j < 0) j = this.columns.findIndex((c) => c.name === keyOrName);
    if (j < 0) throw new MistiqueError('NOT_FOUND', `no column ${JSON.stringify(keyOrName)} in this result; it has ${this.columns.slice(0, 5).map((c) => c.key).join(', ')}${this.ncols > 5 ? ', …' : ''}`);
    return j;
  }

  /** Position of each row id, for joining results. */
  rowIndex(): Map<number, number> {
    const m = new Map<number, number>();
    this.rowIds.forEach((id, i) => m.set(id, i));
    return m;
  }

  /** An Arrow Table with `row_id` and one column per key, in each column's own type. */
  toArrow(): Table {
    const cols: Record<string, Vector> = { row_id: makeVector(this.rowIds) };
    this.columns.forEach((c, j) => {
      cols[c.key] = columnVector(c, this.column(j));
    });
    return new Table(cols);
  }
}

/** One result column as an Arrow vector of its own type (utf8: dictionary-encoded, code −1 = null). */
export function columnVector(c: MatrixColumn, v: MatrixValues): Vector {
  const n = v.length;
  switch (c.type) {
    case 'float64': return makeVector(v instanceof Float64Array ? v : Float64Array.from(v));
    case 'float32': return makeVector(v instanceof Float32Array ? v : Float32Array.from(v));
    case 'int32': return makeVector(v instanceof Int32Array ? v : Int32Array.from(v));
    case 'bool': {
      const bits = new Uint8Array(Math.ceil(n / 8));
      for (let i = 0; i < n; i++) if (v[i]) bits[i >> 3]! |= 1 << (i & 7);
      return makeVector(makeData({ type: new Bool(), length: n, data: bits }));
    }
    case 'float16': case 'uint8': case 'kbit':
      throw new MistiqueError('INTERNAL', `column ${c.key} has physical type ${c.type}: quantized values are reconstructed to float32 before they reach a result`);
    case 'utf8': {
      const codes = new Int32Array(n);
      const valid = new Uint8Array(Math.ceil(n / 8));
      let nulls = 0;
      for (let i = 0; i < n; i++) {
        if (v[i]! < 0) nulls++;
        else { codes[i] = v[i]!; valid[i >> 3]! |= 1 << (i & 7); }
      }
      return makeVector(makeData({
        type: new Dictionary(new Utf8(), new Int32()), length: n, nullCount: nulls, nullBitmap: nulls ? valid : null,
        data: codes, dictionary: vectorFromArray(c.dictionary ?? [], new Utf8()),
      }));
    }
  }
}
