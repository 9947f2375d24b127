// Row ids by position, for paging through an intermediate: rows are numbered in the order they were
// logged. An intermediate whose ids are start, start+1, … (row_id_start) needs no read; one whose
// RowBlocks each hold a run of consecutive ids is numbered from its RowBlock index; any other has its
// row ids read once (its first column) and kept, per intermediate, until it changes.
import { LRUCache } from 'lru-cache';
import type { IntermediateRow } from '../metadata/rows.js';
import type { Store } from '../mistique.js';

const cache = new LRUCache<string, Int32Array>({ maxSize: 64 * 1024 * 1024, sizeCalculation: (v) => Math.max(1, v.byteLength) });

export async function rowPositions(store: Store, r: IntermediateRow): Promise<Int32Array> {
  if (r.row_id_start !== null) return Int32Array.from({ length: r.n_rows }, (_, i) => r.row_id_start! + i);
  // the intermediate's id changes when it is replaced; its row count when it grows
  const key = `${store.dir}\u0000${r.id}\u0000${r.n_rows}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const blocks = store.metadata.rowblocks(r.id);
  let ids: Int32Array;
  if (blocks.every((b) => b.sorted && b.max_row_id - b.min_row_id + 1 === b.n_rows)) {
    ids = new Int32Array(blocks.reduce((a, b) => a + b.n_rows, 0));
    let o = 0;
    for (const b of blocks) for (let i = 0; i < b.n_rows; i++) ids[o++] = b.min_row_id + i;
  } else {
    const col = store.metadata.columns(r.id)[0];
    const m = await store.getIntermediates(`${r.project}.${r.model}.${r.name}.${col?.name ?? '*'}`);
    ids = m.rowIds.slice();
  }
  cache.set(key, ids);
  return ids;
}
