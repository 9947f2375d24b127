// Zone maps (#21): per stored chunk, the least and greatest of its numbers and how many are NaN, recorded
// when the chunk is written (MetadataDB blobs.zmin / zmax / nnan). A query that wants the largest values of
// a column, or the rows above a threshold, skips the chunks whose range cannot hold them. Pure.
import type { ChunkData } from '../model/dataframe.js';

export interface Zone {
  /** Least and greatest non-NaN value (±Infinity count); null when every value is NaN. */
  zmin: number | null;
  zmax: number | null;
  nnan: number;
}

/**
 * The zone of a chunk of plain numbers (float64, float32, int32, column-major: a table's column); null for
 * the others — text (dictionary codes), bools, quantized codes, and row-major tensor tiles, whose one
 * range over many value positions would bound no single column usefully (and would cost a pass over every
 * logged activation).
 */
export function zoneOf(chunk: Pick<ChunkData, 'type' | 'values' | 'order'>): Zone | null {
  if (chunk.order === 'row' || (chunk.type !== 'float64' && chunk.type !== 'float32' && chunk.type !== 'int32')) return null;
  const v = chunk.values as Float64Array | Float32Array | Int32Array;
  let lo = Infinity, hi = -Infinity, nan = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x !== x) { nan++; continue; }
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (nan === v.length) return { zmin: null, zmax: null, nnan: nan };
  return { zmin: lo, zmax: hi, nnan: nan };
}

/** What TOPK needs of one RowBlock's chunk of the ranked column. */
export interface BlockZone extends Zone { block: number; rows: number }

/**
 * The RowBlocks to read for the k largest (desc) or smallest (asc) values, best first: those with a value
 * at all, by their greatest (least) value. Pure.
 */
export function zoneOrder(zones: readonly BlockZone[], order: 'desc' | 'asc'): BlockZone[] {
  const live = zones.filter((z) => z.zmax !== null && z.zmin !== null);
  return order === 'desc' ? live.sort((a, b) => b.zmax! - a.zmax! || a.block - b.block) : live.sort((a, b) => a.zmin! - b.zmin! || a.block - b.block);
}

/**
 * Whether a block can still change the top k: its best value beats the k-th found so far, or ties it
 * (a tie may hold a smaller row id, which ranks first). `kth` is undefined until k values are found.
 */
export function mayHold(z: Zone, kth: number | undefined, order: 'desc' | 'asc'): boolean {
  if (kth === undefined) return true;
  return order === 'desc' ? z.zmax! >= kth : z.zmin! <= kth;
}
