// What a read of an intermediate touches, for the planner's estimate (Eq. 5.4's terms): the RowBlocks
// that can hold the asked rows, the segments to decode and their bytes (those the bufferpool holds
// decoded cost none), the bytes of the result, the threads that decode them.
import type { ReadFeatures } from '../costmodel/index.js';
import type { IntermediateRow, MetadataDB } from '../metadata/metadatadb.js';
import type { DataStore } from '../store/datastore.js';
import { workerCount } from '../workers/pool.js';
import { isScan } from './chunkreader.js';
import { missingRows } from './rowspec.js';
import { workersDecode } from './scatter.js';

/**
 * Asked rows the intermediate cannot hold are an error before anything is estimated or run (an
 * estimate for them would be of nothing): ids outside a dense id range, or outside every RowBlock's
 * id range. A sparse id inside a RowBlock's range is checked when the rows are read or re-run.
 */
export function checkRowsHeld(db: MetadataDB, r: IntermediateRow, ids: Int32Array): void {
  const missing: number[] = [];
  if (r.row_id_start !== null) {
    for (const id of ids) if ((id < r.row_id_start || id >= r.row_id_start + r.n_rows) && missing.push(id) >= 5) break;
  } else {
    const rb = db.rowblocks(r.id);
    if (rb.length === 0) return;
    for (const id of ids) if (!rb.some((b) => id >= b.min_row_id && id <= b.max_row_id) && missing.push(id) >= 5) break;
  }
  if (missing.length > 0) throw missingRows(r, missing);
}

/** The RowBlocks that can hold the asked rows (all when none asked). */
export function blocksFor(db: MetadataDB, r: IntermediateRow, ids: Int32Array | undefined): number[] | null {
  if (!ids) return null;
  const B = r.row_block_size;
  const blocks = new Set<number>();
  if (r.row_id_start !== null) {
    for (const id of ids) {
      const p = id - r.row_id_start;
      if (p >= 0 && p < r.n_rows) blocks.add(Math.floor(p / B));
    }
  } else {
    const rb = db.rowblocks(r.id);
    for (const id of ids) for (const b of rb) if (id >= b.min_row_id && id <= b.max_row_id) blocks.add(b.block);
  }
  return [...blocks].sort((a, b) => a - b);
}

/** What a read of these rows and columns touches, given what the bufferpool holds now (a scan uses none of it). */
export function readFeatures(db: MetadataDB, ds: DataStore, r: IntermediateRow, ids: Int32Array | undefined, c0 = 0, c1 = Number.MAX_SAFE_INTEGER): ReadFeatures & { cachedBytes: number } {
  const blocks = blocksFor(db, r, ids);
  const nBlocks = blocks ? blocks.length : Math.ceil(r.n_rows / Math.max(1, r.row_block_size));
  const scan = isScan(nBlocks);
  let segments = 0, rawBytes = 0, storedBytes = 0, cachedBytes = 0;
  for (const s of db.readSegments(r.id, blocks, c0, c1)) {
    if (!scan && ds.isDecoded(s.partition_id, s.seg)) cachedBytes += s.raw_length;
    else { segments++; rawBytes += s.raw_length; storedBytes += s.length; }
  }
  const inBlocks = Math.min(r.n_rows, nBlocks * r.row_block_size);
  const n = ids ? Math.min(ids.length, inBlocks) : r.n_rows;
  const outBytes = inBlocks > 0 ? ((rawBytes + cachedBytes) * n) / inBlocks : 0;
  return { blocks: nBlocks, segments, rawBytes, storedBytes, outBytes, cachedBytes, lanes: lanes(ds, nBlocks, r) };
}

/** Threads that decode a read of this many RowBlocks of `r`: a scan's segments decode on the worker threads where workersDecode says. */
export function lanes(ds: DataStore, blocks: number, r: Pick<IntermediateRow, 'chunk_order'>): number {
  return isScan(blocks) && workersDecode(ds.codec.inflate, r.chunk_order === 'row') ? Math.max(1, workerCount()) : 1;
}
