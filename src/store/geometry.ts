// Chunk geometry of tensor intermediates: how many rows a RowBlock holds and how many value positions a
// chunk holds (pure). Tensor chunks are row-major (chunk_order 'row'): an example's values of the chunk's
// column range lie one after another, so a dense read copies one run per row (none when a chunk spans
// the row) instead of transposing, and a one-row read decodes one RowBlock, never a whole 1 024-row one.
//
// - A RowBlock holds about its codec's BLOCK_BYTES of raw values (at least one row, at most the store's
//   RowBlock size): a one-row read decodes ≤ that (plus the block's row ids) whatever the layer's width,
//   about half a millisecond of each codec's decoding here — 512 KB of LZ4 (~1.9 GB/s) or of Arrow IPC
//   (no decoding), 128 KB of gzip (~250 MB/s) or Parquet (~200 MB/s). At 512 KB a gzip store's one-row
//   reads took 2.7–4.1 ms (bench:io, above #16's 3 ms); at 128 KB 1.3–1.9 ms, its 10% reads half as
//   long, its full reads and bytes the same within the noise (bench/README.md, "RowBlock bytes by codec").
// - Its values are cut into chunks of about CHUNK_BYTES: a read of a few value positions (one unit for
//   TOPK, one channel for Netdissect) decodes a fraction of a block, the segments of one block decode in
//   parallel, and a very wide example (a 265 000-value text-recognizer output is 1 MB) is cut instead of
//   making one giant chunk. When the example is [C, …] and a chunk spans more than one channel, chunks
//   hold whole channels.
// Tables (named columns of mixed types) keep the store's RowBlock size and a column per chunk, column-major.
import type { ColumnType } from '../model/types.js';
import { BYTES_PER_VALUE } from '../model/types.js';
import type { CodecId } from './codecs/codec.js';

/** Raw bytes a tensor's RowBlock holds, by codec: what a one-row read decodes in about half a millisecond. */
export const BLOCK_BYTES: Readonly<Record<CodecId, number>> = { lz4: 512 * 1024, arrow: 512 * 1024, gzip: 128 * 1024, parquet: 128 * 1024 };
export const CHUNK_BYTES = 128 * 1024;

export interface TensorGeometry {
  /** Rows per RowBlock. */
  blockRows: number;
  /** Value positions per chunk (the last chunk of a row may hold fewer). */
  chunkCols: number;
}

/** The geometry of a tensor of `shape` per example stored as `type`, given the store's RowBlock size and a RowBlock's bytes (its codec's). */
export function tensorGeometry(shape: readonly number[], type: ColumnType, maxBlockRows: number, blockBytes: number): TensorGeometry {
  const C = shape.reduce((a, b) => a * b, 1);
  const rowBytes = Math.max(1, C * BYTES_PER_VALUE[type]);
  const blockRows = Math.max(1, Math.min(maxBlockRows, Math.floor(blockBytes / rowBytes)));
  const nChunks = Math.max(1, Math.round((blockRows * rowBytes) / CHUNK_BYTES));
  let chunkCols = Math.ceil(C / nChunks);
  const plane = shape.length > 1 ? C / shape[0]! : 1;
  if (plane > 1 && chunkCols > plane) chunkCols = Math.min(C, Math.ceil(chunkCols / plane) * plane);
  return { blockRows, chunkCols };
}
