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
  copy(chunk: ChunkData, k: number, rows: BlockRows, oc: number, remap: Int32Array | null): void;
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
      for (let i = 0; i < offsets.length; i++) {
        const v = src[base + offsets[i]!]!;
        out[outRows[i]! * C + oc] = v < 0 ? -1 : remap[v]!;
      }
    } else if (rows.contiguous) {
      const n = rows.offsets.length;
      for (let i = 0, o = rows.contiguous.first * C + oc; i < n; i++, o += C) out[o] = src[base + i]!;
    } else {
      const { offsets, outRows } = rows;
      for (let i = 0; i < offsets.length; i++) out[outRows[i]! * C + oc] = src[base + offsets[i]!]!;
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
      for (let i = 0; i < offsets.length; i++) {
        const v = src[base + offsets[i]!]!;
        out[outRows[i]!] = v < 0 ? -1 : remap[v]!;
      }
    } else if (rows.contiguous) {
      out.set(src.subarray(base, base + offsets.length), rows.contiguous.first);
    } else {
      for (let i = 0; i < offsets.length; i++) out[outRows[i]!] = src[base + offsets[i]!]!;
    }
  }
}
