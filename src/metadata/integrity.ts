// What `mistique verify` asks of the MetadataDB: rows whose checksums do not match and the intermediates
// they affect, intermediates pointing at blobs never registered, orphan blobs, SQLite's own check.
import type Database from 'better-sqlite3';
import type { MetadataDB } from './metadatadb.js';
import type { IntermediateRow, PartitionRow } from './rows.js';
import { INTERMEDIATE_SELECT } from './schema.js';
import { crcOf, ROW_FIELDS, type CheckedTable } from './rowcrc.js';

/** A metadata row whose checksum does not match: its table, a description, the intermediates it affects, its primary key. */
export interface DamagedRow { table: CheckedTable; row: string; intermediates: string[]; key: unknown[] }

const PRIMARY_KEYS: Record<CheckedTable, readonly string[]> = {
  intermediates: ['id'], columns: ['intermediate_id', 'idx'], rowblocks: ['intermediate_id', 'block'],
  chunks: ['intermediate_id', 'block', 'col_start'], blobs: ['id'], segments: ['partition_id', 'seg'], partitions: ['id'],
  codebooks: ['intermediate_id'], workflows: ['model_id'], stages: ['model_id', 'name'], operators: ['model_id', 'stage'],
};

export class MetadataIntegrity {
  constructor(private readonly db: Database.Database, private readonly meta: MetadataDB) {}

  /** Durable intermediates with a chunk or row ids whose blob was never registered (the store was changed outside mistique). */
  intermediatesWithMissingBlobs(): string[] {
    return this.db.prepare(`
      WITH ids AS (SELECT c.intermediate_id FROM chunks c LEFT JOIN blobs b ON b.id = c.blob_id WHERE b.id IS NULL
        UNION SELECT r.intermediate_id FROM rowblocks r LEFT JOIN blobs b ON b.id = r.rowid_blob WHERE b.id IS NULL)
      SELECT p.name || '.' || m.name || '.' || i.name FROM ids JOIN intermediates i ON i.id = ids.intermediate_id
      JOIN models m ON m.id = i.model_id JOIN projects p ON p.id = m.project_id WHERE i.writer IS NULL ORDER BY 1`).pluck().all() as string[];
  }

  /** Stored blobs that no intermediate references, and their raw bytes. */
  orphanBlobs(): { count: number; rawBytes: number } {
    const r = this.db.prepare(`SELECT count(*) AS n, coalesce(sum(byte_length), 0) AS b FROM blobs
      WHERE id NOT IN (SELECT blob_id FROM chunks) AND id NOT IN (SELECT rowid_blob FROM rowblocks)`).get() as { n: number; b: number };
    return { count: r.n, rawBytes: r.b };
  }

  /**
   * Every row of the checked tables whose crc does not match its fields, with the keys of the
   * intermediates it affects (verify: what the row checksums say about the whole database).
   */
  damagedRows(): DamagedRow[] {
    const out: DamagedRow[] = [];
    const keyOf = (id: unknown): string[] => {
      const r = this.db.prepare(`${INTERMEDIATE_SELECT} WHERE i.id = ?`).get(id) as IntermediateRow | undefined;
      return r ? [`${r.project}.${r.model}.${r.name}`] : [];
    };
    const ofModel = (id: unknown): string[] => this.db.prepare(`SELECT p.name || '.' || m.name || '.' || i.name FROM intermediates i
      JOIN models m ON m.id = i.model_id JOIN projects p ON p.id = m.project_id WHERE i.model_id = ?`).pluck().all(id) as string[];
    for (const table of Object.keys(ROW_FIELDS) as CheckedTable[]) {
      for (const r of this.db.prepare(`SELECT * FROM ${table}`).iterate() as Iterable<Record<string, unknown>>) {
        if (r.crc === crcOf(table, r)) continue;
        const row = ROW_FIELDS[table].slice(0, 3).map((f) => `${f} ${String(r[f]).slice(0, 40)}`).join(', ');
        const affected = 'intermediate_id' in r ? keyOf(r.intermediate_id)
          : table === 'intermediates' ? keyOf(r.id)
            : table === 'blobs' ? this.meta.keysUsingBlobs(`SELECT ? AS id`, -1, r.id)
              : table === 'segments' ? this.meta.intermediatesOfSegment(r.partition_id as number, r.seg as number, -1)
                : table === 'partitions' ? this.meta.intermediatesOfPartition(r.id as number)
                  : ofModel(r.model_id);
        out.push({ table, row, intermediates: affected, key: PRIMARY_KEYS[table].map((f) => r[f]) });
      }
    }
    return out;
  }

  /** Deletes damaged rows of the tables a read goes through (repair, after the intermediates they affect were dropped). */
  deleteDamagedRows(rows: readonly DamagedRow[]): number {
    let n = 0;
    this.db.transaction(() => {
      for (const d of rows) {
        if (d.table === 'workflows' || d.table === 'stages' || d.table === 'operators') continue; // re-run recipes: reported, not guessed at
        n += this.db.prepare(`DELETE FROM ${d.table} WHERE ${PRIMARY_KEYS[d.table].map((f) => `${f} IS ?`).join(' AND ')}`).run(...d.key).changes;
      }
    }).immediate();
    return n;
  }

  /** SQLite's own consistency check of the database file ('ok', or what it found). */
  quickCheck(): string[] {
    return (this.db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check);
  }

  partitionRows(): PartitionRow[] {
    return this.db.prepare(`SELECT id, codec, file, bytes, raw_bytes, n_segments FROM partitions ORDER BY id`).all() as PartitionRow[];
  }
}
