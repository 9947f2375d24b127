// Chunk geometry of tensor intermediates: how many rows a RowBlock holds and how many value positions a
// chunk holds (pure). Tensor chunks are row-major (chunk_order 'row'): an example's values of the chunk's
// column range lie one after another, so a dense read copies one run per row (none when a chunk spans
// the row) instead of transposing, and a one-row read decodes one RowBlock, never a whole 1 024-row one.
//
// - A RowBlock holds about BLOCK_BYTES of raw values (at least one row, at most the store's RowBlock
//   size): a one-row read decodes ≤ BLOCK_BYTES (plus the block's row ids), 0.3 ms of LZ4 or ~2 ms of
//   gunzip here, whatever the layer's width.
// - Its values are cut into chunks of about CHUNK_BYTES: a read of a few value positions (one unit for
//   TOPK, one channel for Netdissect) decodes a fraction of a block, the segments of one block decode in
//   parallel, and a very wide example (a 265 000-value text-recognizer output is 1 MB) is cut instead of
//   making one giant chunk. When the example is [C, …] and a chunk spans more than one channel, chunks
//   hold whole channels.
// Tables (named columns of mixed types) keep the store's RowBlock size and a column per chunk, column-major.
import type { ColumnType } from '../model/types.js';
import { BYTES_PER_VALUE } from '../model/types.js';

export const BLOCK_BYTES = 512 * 1024;
export const CHUNK_BYTES = 128 * 1024;

export interface TensorGeometry {
  /** Rows per RowBlock. */
  blockRows: number;
  /** Value positions per chunk (the last chunk of a row may hold fewer). */
  chunkCols: number;
}

/** The geometry of a tensor of `shape` per example stored as `type`, given the store's RowBlock size. */
export function tensorGeometry(shape: readonly number[], type: ColumnType, maxBlockRows: number): TensorGeometry {
  const C = shape.reduce((a, b) => a * b, 1);
  const rowBytes = Math.max(1, C * BYTES_PER_VALUE[type]);
  const blockRows = Math.max(1, Math.min(maxBlockRows, Math.floor(BLOCK_BYTES / rowBytes)));
  const nChunks = Math.max(1, Math.round((blockRows * rowBytes) / CHUNK_BYTES));
  let chunkCols = Math.ceil(C / nChunks);
  const plane = shape.length > 1 ? C / shape[0]! : 1;
  if (plane > 1 && chunkCols > plane) chunkCols = Math.min(C, Math.ceil(chunkCols / plane) * plane);
  return { blockRows, chunkCols };
}
