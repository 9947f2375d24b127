// Row checksums of the MetadataDB. SQLite pages carry no checksum, and a flipped byte in a row that
// says where a chunk lies (a blob's offset, a chunk's column, an intermediate's shape) would return
// wrong values from intact partition files. Every row whose fields decide what a read or a re-run
// returns carries a hash of those fields in its `crc` column, checked whenever the row is read.
// Fields that change in place (query statistics, a writer token, stage timings) are not hashed.
import { MistiqueError } from '../errors.js';

/**
 * Whether checksums are checked: always, except that `MISTIQUE_CHECKSUMS=off` turns them off (segment
 * checksums are then neither written nor checked, row checksums written but not checked) for measuring
 * what they cost (npm run bench:checksum).
 */
export const checksumsOn = process.env.MISTIQUE_CHECKSUMS !== 'off';

/** The hashed fields of each table, in order. */
export const ROW_FIELDS = {
  intermediates: ['id', 'model_id', 'name', 'n_rows', 'n_cols', 'shape', 'scheme', 'row_block_size', 'tile_cols', 'row_id_start', 'materialized', 'n_chunks', 'chunk_order'],
  columns: ['intermediate_id', 'idx', 'name', 'type', 'count'],
  rowblocks: ['intermediate_id', 'block', 'n_rows', 'min_row_id', 'max_row_id', 'sorted', 'rowid_blob'],
  chunks: ['intermediate_id', 'block', 'col_start', 'n_cols', 'blob_id'],
  blobs: ['id', 'partition_id', 'segment', 'type', 'n_rows', 'n_cols', 'col_start', 'byte_offset', 'byte_length'],
  segments: ['partition_id', 'seg', 'offset', 'length', 'raw_length', 'crc32'],
  partitions: ['id', 'codec', 'file'],
  codebooks: ['intermediate_id', 'codes'],
  workflows: ['model_id', 'kind', 'spec', 'data_dir'],
  stages: ['model_id', 'name', 'ord', 'op', 'params', 'inputs', 'output'],
  operators: ['model_id', 'stage', 'op', 'bytes'],
} as const;
export type CheckedTable = keyof typeof ROW_FIELDS;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mix(h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193) >>> 0;
}

/**
 * A 32-bit hash of a row's values (numbers, strings, bytes, null), each tagged with its kind. Each step
 * is a bijection of the running hash, so a change in any one value always changes the result.
 */
export function rowCrc(values: readonly unknown[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    if (v === null || v === undefined) {
      h = mix(h, 0x6e756c6c);
    } else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
      f64[0] = Number(v);
      h = mix(mix(mix(h, 0x6e756d00), u32[0]!), u32[1]!);
    } else if (typeof v === 'string') {
      h = mix(mix(h, 0x73747200), v.length);
      for (let i = 0; i < v.length; i++) h = mix(h, v.charCodeAt(i));
    } else if (v instanceof Uint8Array) {
      h = mix(mix(h, 0x62797400), v.length);
      for (let i = 0; i < v.length; i++) h = mix(h, v[i]!);
    } else {
      throw new MistiqueError('INTERNAL', `rowCrc: cannot hash a ${typeof v}`);
    }
  }
  return h;
}

/** The hash of a row object's fields of `table`. */
export function crcOf(table: CheckedTable, row: Record<string, unknown>): number {
  return rowCrc(ROW_FIELDS[table].map((f) => row[f]));
}

/** Recomputes the crc of rows after an insert or update of their hashed fields (in the caller's transaction). */
export function rehashRows(db: { prepare(sql: string): { run(...a: unknown[]): unknown } }, table: CheckedTable, where: string, ...args: unknown[]): void {
  db.prepare(`UPDATE ${table} SET crc = mistique_rowcrc(${ROW_FIELDS[table].join(', ')}) WHERE ${where}`).run(...args);
}

/** Rows of a checked table, each verified against its crc (CORRUPT naming `what` otherwise). */
export function checkedRows<T>(table: CheckedTable, rows: T[], what: string): T[] {
  for (const r of rows) checkRow(table, r as unknown as Record<string, unknown>, what);
  return rows;
}

/** Throws CORRUPT unless the row's stored crc matches its fields. */
export function checkRow(table: CheckedTable, row: Record<string, unknown> & { crc?: unknown }, what: string): void {
  if (checksumsOn && row.crc !== crcOf(table, row)) throw damaged(table, what);
}

export function damaged(table: string, what: string): MistiqueError {
  return new MistiqueError('CORRUPT', `the metadata database is damaged: a row of ${table} (${what}) does not match its checksum, so what it describes cannot be trusted. Run \`mistique verify\` (--repair drops what it damages) or restore metadata.db from a backup`);
}

/** The hashed fields of a table as schema v5 had them (v6 added intermediates.chunk_order). */
export function v5Fields(table: CheckedTable): readonly string[] {
  return table === 'intermediates' ? ROW_FIELDS.intermediates.filter((f) => f !== 'chunk_order') : ROW_FIELDS[table];
}

/** SQL for a v5 migration step: the crc column of a table, filled from its rows. */
export function addCrcSql(table: CheckedTable): string {
  return `ALTER TABLE ${table} ADD COLUMN crc INTEGER;
    UPDATE ${table} SET crc = mistique_rowcrc(${v5Fields(table).join(', ')});`;
}

/**
 * SQL for the v6 migration: rows whose v5 checksum holds get the v6 one (a damaged row keeps its old
 * checksum, so it still reads as damaged rather than being blessed by the migration).
 */
export function rehashIntermediatesV6Sql(): string {
  return `UPDATE intermediates SET crc = mistique_rowcrc(${ROW_FIELDS.intermediates.join(', ')})
    WHERE crc = mistique_rowcrc(${v5Fields('intermediates').join(', ')});`;
}
