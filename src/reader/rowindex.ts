// The primary index on row_id: maps row ids to (RowBlock, offset) reading only the row-id chunks
// of the RowBlocks that can hold them.
import { MistiqueError } from '../errors.js';
import type { IntermediateRow, MetadataDB, RowBlockRow } from '../metadata/metadatadb.js';
import type { DataStore } from '../store/datastore.js';
import { idRange } from './rowspec.js';

/** For each asked row: its RowBlock and offset, or block −1 when the intermediate lacks it. */
export interface RowPlan {
  block: Int32Array;
  offset: Int32Array;
}

export class RowIndex {
  private blocks: RowBlockRow[] | null = null;
  private readonly ids = new Map<number, Int32Array>();

  constructor(private readonly db: MetadataDB, private readonly ds: DataStore, readonly row: IntermediateRow) {}

  private rowblocks(): RowBlockRow[] {
    if (this.blocks) return this.blocks;
    const blocks = this.db.rowblocks(this.row.id);
    // every RowBlock is there, numbered from 0, holding all rows: a row lost to damage is an error, not fewer rows
    const n = blocks.reduce((a, b) => a + b.n_rows, 0);
    if (n !== this.row.n_rows || blocks.some((b, i) => b.block !== i)) {
      throw new MistiqueError('CORRUPT', `the metadata database is damaged: the RowBlocks of ${this.row.project}.${this.row.model}.${this.row.name} hold ${n} rows in ${blocks.length} blocks, not its ${this.row.n_rows}; run \`mistique verify\``);
    }
    return (this.blocks = blocks);
  }

  /** All row ids in stored order. */
  async allRowIds(): Promise<Int32Array> {
    const { row_id_start: start, n_rows: n } = this.row;
    if (start !== null) return idRange(start, n);
    const blocks = this.rowblocks();
    await this.loadIds(blocks);
    const out = new Int32Array(n);
    let pos = 0;
    for (const b of blocks) {
      out.set(this.ids.get(b.block)!, pos);
      pos += b.n_rows;
    }
    return out;
  }

  async locate(rowIds: Int32Array): Promise<RowPlan> {
    const n = rowIds.length;
    const plan: RowPlan = { block: new Int32Array(n).fill(-1), offset: new Int32Array(n) };
    const { row_id_start: start, n_rows: total, row_block_size: B } = this.row;
    if (start !== null) {
      for (let i = 0; i < n; i++) {
        const p = rowIds[i]! - start;
        if (p >= 0 && p < total) { plan.block[i] = Math.floor(p / B); plan.offset[i] = p % B; }
      }
      return plan;
    }
    const blocks = this.rowblocks();
    const candidates = rowIds.map((id) => candidateBlock(blocks, id));
    await this.loadIds(blocks.filter((b) => candidates.includes(b.block)));
    let overlapping = false;
    for (let i = 0; i < n; i++) {
      const b = candidates[i]!;
      if (b >= 0) {
        const off = search(this.ids.get(b)!, blocks[b]!.sorted === 1, rowIds[i]!);
        if (off >= 0) { plan.block[i] = b; plan.offset[i] = off; continue; }
      }
      if (b === -2) overlapping = true;
    }
    if (overlapping) await this.locateByScan(rowIds, plan);
    return plan;
  }

  /** Fallback when RowBlocks' id ranges overlap: one map over all row ids. */
  private async locateByScan(rowIds: Int32Array, plan: RowPlan): Promise<void> {
    const blocks = this.rowblocks();
    await this.loadIds(blocks);
    const pos = new Map<number, number>();
    for (const b of blocks) this.ids.get(b.block)!.forEach((id, off) => pos.set(id, b.block * this.row.row_block_size + off));
    for (let i = 0; i < rowIds.length; i++) {
      const p = pos.get(rowIds[i]!);
      if (p !== undefined) { plan.block[i] = Math.floor(p / this.row.row_block_size); plan.offset[i] = p % this.row.row_block_size; }
    }
  }

  private async loadIds(blocks: RowBlockRow[]): Promise<void> {
    const need = blocks.filter((b) => !this.ids.has(b.block));
    if (need.length === 0) return;
    const chunks = await this.ds.readChunks(need.map((b) => b.rowid_blob));
    for (const b of need) {
      const c = chunks.get(b.rowid_blob);
      if (!c || c.type !== 'int32' || c.nrows !== b.n_rows) throw new MistiqueError('CORRUPT', `row ids of ${this.row.project}.${this.row.model}.${this.row.name} block ${b.block} are missing or malformed`);
      this.ids.set(b.block, c.values as Int32Array);
    }
  }
}

/** The one block whose [min, max] holds id when blocks are disjoint (−1: none), or −2 when ranges overlap. */
function candidateBlock(blocks: RowBlockRow[], id: number): number {
  let hit = -1;
  for (const b of blocks) {
    if (id >= b.min_row_id && id <= b.max_row_id) {
      if (hit >= 0) return -2;
      hit = b.block;
    }
  }
  return hit;
}

function search(ids: Int32Array, sorted: boolean, id: number): number {
  // Stryker disable next-line ConditionalExpression: always searching linearly finds the same offsets, only slower (never searching linearly the disjoint-unsorted test of rows.test catches)
  if (!sorted) return ids.indexOf(id);
  // Stryker disable next-line ArithmeticOperator: probes past the end read undefined, which equals and precedes nothing, so the search moves left
  let lo = 0, hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = ids[mid]!;
    if (v === id) return mid;
    // Stryker disable next-line EqualityOperator: v === id has returned already
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
