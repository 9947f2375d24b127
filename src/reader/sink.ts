// Where the ChunkReader copies chunk columns to: a dense row-major Matrix, or one array per column
// (for Arrow output, where a full RowBlock is a plain memcpy).
import type { ChunkData } from '../model/dataframe.js';
import type { MatrixValues } from '../model/matrix.js';

/** The rows of one RowBlock a query wants: chunk offsets, and where each goes in the result. */
export interface BlockRows {
  offsets: Int32Array;
  outRows: Int32Array;
  /** When offsets are 0..n−1 going to outRows first..first+n−1 (a whole block, in order). */
  contiguous: { first: number } | null;
}

export interface Sink {
  /** Column k of a column-major chunk to result column oc. */
  copy(chunk: ChunkData, k: number, rows: BlockRows, oc: number, remap: Int32Array | null): void;
  /** Columns ks of a row-major chunk to result columns ocs (ascending, both). */
  copyRows(chunk: ChunkData, rows: BlockRows, ks: Int32Array, ocs: Int32Array): void;
}

// The fast paths below (a run of columns, a whole contiguous block) give what the general loops give:
// a mutant that only turns one off changes speed, not values, and is marked. One that takes a fast path
// where it does not apply changes values; rows.test's property tests catch those.
/** Whether ks → ocs is one run: adjacent chunk columns to adjacent result columns. */
// Stryker disable next-line BlockStatement: no answer is not a run: the general loop
export function isRun(ks: Int32Array, ocs: Int32Array): boolean {
  const m = ks.length;
  // Stryker disable next-line all: with m = 0 the differences below are NaN and equal nothing
  if (m === 0) return false;
  return ks[m - 1]! - ks[0]! === m - 1 && ocs[m - 1]! - ocs[0]! === m - 1;
}

export class RowMajorSink implements Sink {
  constructor(readonly out: MatrixValues, readonly ncols: number) {}

  copy(chunk: ChunkData, k: number, rows: BlockRows, oc: number, remap: Int32Array | null): void {
    const src = chunk.values;
    const base = k * chunk.nrows;
    const out = this.out;
    const C = this.ncols;
    if (remap) {
      const { offsets, outRows } = rows;
      // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
      for (let i = 0; i < offsets.length; i++) {
        const v = src[base + offsets[i]!]!;
        out[outRows[i]! * C + oc] = v < 0 ? -1 : remap[v]!;
      }
      return;
    }
    // (the directive needs a statement of its own: Stryker does not read a comment before `else`)
    // Stryker disable next-line ConditionalExpression: the general loop below does the same
    if (rows.contiguous) {
      const n = rows.offsets.length;
      for (let i = 0, o = rows.contiguous.first * C + oc; i < n; i++, o += C) out[o] = src[base + i]!;
    } else {
      const { offsets, outRows } = rows;
      // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
      for (let i = 0; i < offsets.length; i++) out[outRows[i]! * C + oc] = src[base + offsets[i]!]!;
    }
  }

  copyRows(chunk: ChunkData, rows: BlockRows, ks: Int32Array, ocs: Int32Array): void {
    const src = chunk.values, w = chunk.ncols, out = this.out, C = this.ncols;
    const { offsets, outRows } = rows;
    // Stryker disable next-line ConditionalExpression,BlockStatement: the general loop below does the same
    if (isRun(ks, ocs)) {
      const k0 = ks[0]!, m = ks.length, oc0 = ocs[0]!;
      // Stryker disable next-line ConditionalExpression,BlockStatement: the row loop below does the same
      if (rows.contiguous && m === w && m === C) {
        // the chunk spans the result's rows: one copy for the whole block
        out.set(src.subarray(0, offsets.length * w), rows.contiguous.first * C);
        return;
      }
      // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
      for (let i = 0; i < offsets.length; i++) {
        const s0 = offsets[i]! * w + k0;
        out.set(src.subarray(s0, s0 + m), outRows[i]! * C + oc0);
      }
      return;
    }
    // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
    for (let i = 0; i < offsets.length; i++) {
      const s0 = offsets[i]! * w, o0 = outRows[i]! * C;
      // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
      for (let j = 0; j < ks.length; j++) out[o0 + ocs[j]!] = src[s0 + ks[j]!]!;
    }
  }
}

export class ColumnSink implements Sink {
  constructor(readonly columns: MatrixValues[]) {}

  copy(chunk: ChunkData, k: number, rows: BlockRows, oc: number, remap: Int32Array | null): void {
    const src = chunk.values;
    const base = k * chunk.nrows;
    const out = this.columns[oc]!;
    const { offsets, outRows } = rows;
    if (remap) {
      // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
      for (let i = 0; i < offsets.length; i++) {
        const v = src[base + offsets[i]!]!;
        out[outRows[i]!] = v < 0 ? -1 : remap[v]!;
      }
      return;
    }
    // Stryker disable next-line ConditionalExpression: the general loop below does the same
    if (rows.contiguous) {
      out.set(src.subarray(base, base + offsets.length), rows.contiguous.first);
    } else {
      // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
      for (let i = 0; i < offsets.length; i++) out[outRows[i]!] = src[base + offsets[i]!]!;
    }
  }

  copyRows(chunk: ChunkData, rows: BlockRows, ks: Int32Array, ocs: Int32Array): void {
    const src = chunk.values, w = chunk.ncols;
    const { offsets, outRows } = rows;
    // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
    for (let j = 0; j < ks.length; j++) {
      const out = this.columns[ocs[j]!]!, k = ks[j]!;
      // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes to index NaN, which a typed array ignores
      for (let i = 0; i < offsets.length; i++) out[outRows[i]!] = src[offsets[i]! * w + k]!;
    }
  }
}
