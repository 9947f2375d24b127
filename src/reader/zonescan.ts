// TOPK by zone maps (#21): the k rows with the largest (smallest) value of one column, reading only the
// RowBlocks whose chunk range can still hold one of them — best range first, until the k-th value found
// beats every range not yet read. The same answer as a full scan (ties by row id), NaN counted from the
// zone maps without reading.
import { MistiqueError } from '../errors.js';
import type { MetadataDB } from '../metadata/metadatadb.js';
import { checkK, type TopK } from '../diagnostics/queries.js';
import { mayHold, zoneOrder, type BlockZone } from '../store/zonemap.js';
import type { ChunkReader } from './chunkreader.js';

/** RowBlocks read at a time at most (each a step of the read). */
const BLOCKS_PER_READ = 4;

export interface ZoneTopK extends TopK {
  /** Chunks of the column read, and in all. */
  chunks: { read: number; total: number };
}

/** TOPK of one column by its zone maps; null when some chunk has none (then a full read answers). */
export async function topkByZones(db: MetadataDB, reader: ChunkReader, columnKey: string, k: number, order: 'desc' | 'asc'): Promise<ZoneTopK | null> {
  checkK(k);
  const w = await reader.wholeBlocks([columnKey]);
  if (w.sel.cols.length !== 1) throw new MistiqueError('BAD_KEY', `topk ranks by one column; ${columnKey} gives ${w.sel.cols.length}: name the column (or neuron index) as the last part of the key`);
  const zones = db.zones(w.sel.intermediate.id, w.sel.cols[0]!);
  if (zones.length !== w.blocks.length || zones.some((z) => z.nnan === null)) return null;
  const t0 = performance.now();
  const known: BlockZone[] = zones.map((z) => ({ block: z.block, rows: z.n_rows ?? 0, zmin: z.zmin, zmax: z.zmax, nnan: z.nnan! }));
  const todo = zoneOrder(known, order);
  const sign = order === 'desc' ? -1 : 1;
  let best: { v: number; id: number }[] = [];
  let read = 0;
  let column = columnKey;
  for (let i = 0; i < todo.length;) {
    const kth = best.length >= k ? best[k - 1]!.v : undefined;
    if (!mayHold(todo[i]!, kth, order)) break; // every later range is worse still
    // until k values are found, just the blocks that can give them; then a few blocks a step
    const step: number[] = [];
    let rows = 0;
    for (; i < todo.length && step.length < BLOCKS_PER_READ && mayHold(todo[i]!, kth, order); i++) {
      if (kth === undefined && step.length > 0 && rows >= k - best.length) break;
      step.push(todo[i]!.block);
      rows += todo[i]!.rows - todo[i]!.nnan;
    }
    const m = await w.read(step);
    read += step.length;
    column = m.columns[0]!.key;
    const v = m.values;
    for (let r = 0; r < m.nrows; r++) { const x = v[r]!; if (x === x) best.push({ v: x, id: m.rowIds[r]! }); }
    best.sort((a, b) => sign * (a.v < b.v ? -1 : a.v > b.v ? 1 : 0) || a.id - b.id);
    // Stryker disable next-line EqualityOperator: slicing k of k changes nothing
    if (best.length > k) best = best.slice(0, k);
  }
  db.recordQuery(w.sel.intermediate.id, performance.now() - t0);
  return {
    column, rowIds: Int32Array.from(best, (b) => b.id), values: Float64Array.from(best, (b) => b.v),
    nanSkipped: known.reduce((a, z) => a + z.nnan, 0), chunks: { read, total: zones.length },
  };
}
