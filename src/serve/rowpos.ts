// Row ids by position, for paging through an intermediate: rows are numbered in the order they were
// logged. An intermediate whose ids are start, start+1, … (row_id_start) is numbered arithmetically (a
// page of a 10-million-row intermediate costs nothing to find); one whose RowBlocks each hold a run of
// consecutive ids is numbered from its RowBlock index; any other has its row ids read once (the index's
// row-id chunks, Store.rowIds) and kept, per intermediate, until it changes.
import { LRUCache } from 'lru-cache';
import type { IntermediateRow } from '../metadata/rows.js';
import type { Store } from '../mistique.js';
import { idRange } from '../reader/rowspec.js';

/** The row ids of an intermediate in position order: how many, and those of positions [a, b). */
export interface RowPositions { length: number; slice(a: number, b: number): Int32Array }

const cache = new LRUCache<string, Int32Array>({ maxSize: 64 * 1024 * 1024, sizeCalculation: (v) => Math.max(1, v.byteLength) });

function clamp(n: number, a: number, b: number): [number, number] {
  const lo = Math.max(0, Math.min(n, a));
  return [lo, Math.max(lo, Math.min(n, b))];
}

export async function rowPositions(store: Store, r: IntermediateRow): Promise<RowPositions> {
  const n = r.n_rows;
  if (r.row_id_start !== null) {
    const start = r.row_id_start;
    return { length: n, slice: (a, b) => { const [lo, hi] = clamp(n, a, b); return idRange(start + lo, hi - lo); } };
  }
  // the intermediate's id changes when it is replaced; its row count when it grows
  const key = `${store.dir}\u0000${r.id}\u0000${n}`;
  let ids = cache.get(key);
  if (!ids) {
    const blocks = store.metadata.rowblocks(r.id);
    if (blocks.every((b) => b.sorted && b.max_row_id - b.min_row_id + 1 === b.n_rows)) {
      ids = new Int32Array(blocks.reduce((a, b) => a + b.n_rows, 0));
      let o = 0;
      for (const b of blocks) for (let i = 0; i < b.n_rows; i++) ids[o++] = b.min_row_id + i;
    } else {
      const key = `${r.project}.${r.model}.${r.name}`;
      // from the RowBlock index (no value read); one policy adaptive has not stored: re-run, its first column
      ids = await store.rowIds(`${key}.*`).catch(async (err: unknown) => {
        if ((err as { code?: string }).code !== 'NOT_STORED') throw err;
        const col = store.metadata.columns(r.id)[0];
        return (await store.getIntermediates(`${key}.${col?.name ?? '*'}`)).rowIds.slice();
      });
    }
    cache.set(key, ids);
  }
  const all = ids;
  return { length: all.length, slice: (a, b) => all.slice(...clamp(all.length, a, b)) };
}
