// MetadataDB: projects, models, intermediates, columns, RowBlocks, chunks, blobs, partitions and statistics in SQLite
// (better-sqlite3). Workflows (specs, stages, operators) are workflows.ts; verify's questions integrity.ts; deletes and gc lifecycle.ts.
import Database from 'better-sqlite3';
import { MistiqueError } from '../errors.js';
import type { ColumnType } from '../model/types.js';
import { INTERMEDIATE_SELECT, MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { checkedRows, checkRow, checksumsOn, crcOf, damaged, rehashRows, rowCrc } from './rowcrc.js';
import { deleteIntermediateRows, MetadataLifecycle } from './lifecycle.js';
import { MetadataWorkflows } from './workflows.js';
import { MetadataIntegrity } from './integrity.js';
import { guardSqlite, sqliteBestEffort, sqliteError, sqliteWrite } from './sqliteerror.js';
import type { IntermediateRow, ColumnRow, RowBlockRow, BlobRow, BlockChunkRow, SegmentRow, PartitionRow, NewIntermediate } from './rows.js';
export type { ChunkOrder, IntermediateRow, ColumnRow, RowBlockRow, ChunkRow, BlobRow, BlockChunkRow, SegmentRow, PartitionRow, NewIntermediate, StageRow, OperatorRow, WorkflowRow } from './rows.js';
export { sqliteError } from './sqliteerror.js';

const NO_HASH = Buffer.alloc(0);


export interface MetadataDBOptions {
  create: boolean;
  /** This handle's writer token: rows it logged and has not made durable are visible to it alone. */
  writer?: string;
}

export class MetadataDB {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<MetadataDB['prepare']>;
  /** The token rows not yet durable carry (hex: it is written into SQL text). */
  readonly writer: string;
  /** What `mistique verify` asks of the database: damaged rows, orphans, SQLite's own check. */
  readonly integrity: MetadataIntegrity;
  readonly lifecycle: MetadataLifecycle;
  /** Pipelines and networks: specs, stages and their timings, trained operators. */
  readonly workflows: MetadataWorkflows;
  /** SQL: the intermediate `i` is durable, or this handle's own. */
  private readonly visible: string;

  constructor(file: string, opts: MetadataDBOptions) {
    this.writer = opts.writer ?? 'none';
    if (!/^[0-9a-z-]+$/.test(this.writer)) throw new MistiqueError('INTERNAL', `writer token ${JSON.stringify(this.writer)} is not hex`);
    this.visible = `(i.writer IS NULL OR i.writer = '${this.writer}')`;
    try {
      this.db = new Database(file, { fileMustExist: !opts.create });
      // WAL is kept in the file: set once, by whichever process creates the store. Two processes creating it
      // at once can find SQLite refusing the switch without waiting (SQLITE_BUSY): retried for a few seconds
      if (this.db.pragma('journal_mode', { simple: true }) !== 'wal') whileBusy(() => this.db.pragma('journal_mode = WAL'));
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.function('mistique_rowcrc', { varargs: true, deterministic: true }, (...v: unknown[]) => rowCrc(v));
      this.migrate(file);
      this.stmt = this.prepare();
    } catch (err) {
      if (err instanceof MistiqueError) throw err;
      throw sqliteError(`opening metadata database ${file}`, err);
    }
    // every call: SQLite's errors (a damaged page, a full disk) become MistiqueErrors with a code
    this.integrity = guardSqlite(new MetadataIntegrity(this.db, this), file);
    this.lifecycle = guardSqlite(new MetadataLifecycle(this.db), file);
    this.workflows = guardSqlite(new MetadataWorkflows(this.db, this, this.writer), file);
    return guardSqlite(this, file);
  }

  private migrate(file: string): void {
    const newer = (version: number): MistiqueError => new MistiqueError('NOT_A_STORE', `${file} has schema version ${version}, newer than this mistique (${SCHEMA_VERSION}): upgrade mistique`);
    const seen = this.db.pragma('user_version', { simple: true }) as number;
    if (seen > SCHEMA_VERSION) throw newer(seen);
    if (seen === SCHEMA_VERSION) return;
    // the version read again under the write lock (BEGIN IMMEDIATE): a process creating or migrating the
    // same store at the same moment has done it by then, and this one does nothing twice
    this.db.transaction(() => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw newer(version);
      for (let v = version; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }

  private prepare() {
    const db = this.db;
    return {
      project: db.prepare(`SELECT id FROM projects WHERE name = ?`).pluck(),
      insertProject: db.prepare(`INSERT INTO projects (name) VALUES (?)`),
      model: db.prepare(`SELECT id FROM models WHERE project_id = ? AND name = ?`).pluck(),
      insertModel: db.prepare(`INSERT INTO models (project_id, name, kind, source, created_at) VALUES (?, ?, ?, ?, ?)`),
      intermediateId: db.prepare(`SELECT i.id FROM intermediates i JOIN models m ON m.id = i.model_id JOIN projects p ON p.id = m.project_id WHERE p.name = ? AND m.name = ? AND i.name = ? AND ${this.visible}`).pluck(),
      // any row of that name, durable or not (a name is unique whoever logs it)
      anyIntermediateId: db.prepare(`SELECT i.id FROM intermediates i JOIN models m ON m.id = i.model_id JOIN projects p ON p.id = m.project_id WHERE p.name = ? AND m.name = ? AND i.name = ?`).pluck(),
      // ids continue past any deleted one (metadata/lifecycle.ts): a reader's caches key on them
      insertIntermediate: db.prepare(`INSERT INTO intermediates
        (id, model_id, name, original_name, n_rows, n_cols, shape, scheme, row_block_size, tile_cols, row_id_start, policy,
         bytes_raw, bytes_new, n_chunks, n_chunks_dedup, t_log_ms, created_at, materialized, bytes_est, writer, chunk_order)
        VALUES (max(coalesce((SELECT max(id) FROM intermediates), 0), coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'intermediate_id_high'), 0)) + 1, @modelId, @name, @originalName, @nRows, @nCols, @shape, @scheme, @rowBlockSize, @tileCols, @rowIdStart, @policy,
         @bytesRaw, @bytesNew, @nChunks, @nChunksDedup, @tLogMs, @createdAt, @materialized, @bytesEst, @writer, @chunkOrder)`),
      insertColumn: db.prepare(`INSERT INTO columns (intermediate_id, idx, name, type, count, crc) VALUES (?, ?, ?, ?, ?, ?)`),
      insertRowBlock: db.prepare(`INSERT INTO rowblocks (intermediate_id, block, n_rows, min_row_id, max_row_id, sorted, rowid_blob, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      insertChunk: db.prepare(`INSERT INTO chunks (intermediate_id, block, col_start, n_cols, blob_id, crc) VALUES (?, ?, ?, ?, ?, ?)`),
      insertBlob: db.prepare(`INSERT INTO blobs (id, hash, partition_id, segment, type, n_rows, n_cols, col_start, byte_offset, byte_length, crc, zmin, zmax, nnan)
        VALUES (@id, @hash, @partition_id, @segment, @type, @n_rows, @n_cols, @col_start, @byte_offset, @byte_length, @crc, @zmin, @zmax, @nnan)`),
      zones: db.prepare(`SELECT c.block, b.n_rows, b.zmin, b.zmax, b.nnan FROM chunks c LEFT JOIN blobs b ON b.id = c.blob_id
        WHERE c.intermediate_id = ? AND c.col_start <= ? AND c.col_start + c.n_cols > ? ORDER BY c.block`),
      blobByHash: db.prepare(`SELECT id FROM blobs WHERE hash = ? LIMIT 1`).pluck(),
      blob: db.prepare(`SELECT * FROM blobs WHERE id = ?`),
      insertPartition: db.prepare(`INSERT INTO partitions (id, codec, file, bytes, raw_bytes, n_segments, written_at, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      insertSegment: db.prepare(`INSERT INTO segments (partition_id, seg, offset, length, raw_length, crc32, crc) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      // a flushed partition completes these intermediates, unless their workflow has not finished yet
      markDurable: db.prepare(`UPDATE intermediates SET writer = NULL WHERE id = ? AND writer = ?
        AND model_id NOT IN (SELECT model_id FROM workflows WHERE writer IS NOT NULL)`),
      partition: db.prepare(`SELECT * FROM partitions WHERE id = ?`),
      segment: db.prepare(`SELECT * FROM segments WHERE partition_id = ? AND seg = ?`),
      columns: db.prepare(`SELECT intermediate_id, idx, name, type, count, crc FROM columns WHERE intermediate_id = ? ORDER BY idx`),
      rowblocks: db.prepare(`SELECT intermediate_id, block, n_rows, min_row_id, max_row_id, sorted, rowid_blob, crc FROM rowblocks WHERE intermediate_id = ? ORDER BY block`),
      // Raw rows, no hash: this runs for every RowBlock a query reads, and objects / Buffers per row dominate it.
      blockChunks: db.prepare(`SELECT c.block, c.col_start, c.n_cols, c.blob_id, b.id, b.partition_id, b.segment, b.type,
        b.n_rows, b.n_cols, b.col_start, b.byte_offset, b.byte_length, c.crc, b.crc
        FROM chunks c LEFT JOIN blobs b ON b.id = c.blob_id WHERE c.intermediate_id = ? AND c.block BETWEEN ? AND ? ORDER BY c.block, c.col_start`).raw(true),
      segments: db.prepare(`SELECT * FROM segments WHERE partition_id = ? ORDER BY seg`),
      recordQuery: db.prepare(`UPDATE intermediates SET n_query = n_query + 1, t_query_ms = t_query_ms + ? WHERE id = ?`),
      maxBlob: db.prepare(`SELECT coalesce(max(id), 0) FROM blobs`).pluck(),
      maxPartition: db.prepare(`SELECT coalesce(max(id), 0) FROM partitions`).pluck(),
      // the read path's, prepared once: a query resolves its keys and intermediates with these
      intermediates: db.prepare(`${INTERMEDIATE_SELECT} WHERE ${this.visible} ORDER BY p.name, m.name, i.id`),
      intermediate: db.prepare(`${INTERMEDIATE_SELECT} WHERE i.id = ?`),
      meta: db.prepare(`SELECT value FROM meta WHERE key = ?`),
      // the planner records every query's estimate against its run here
      setMeta: db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`),
      codebook: db.prepare(`SELECT intermediate_id, codes, crc FROM codebooks WHERE intermediate_id = ?`),
      // what a read decodes, for the planner's estimate of every query: all RowBlocks, or those in @blocks (a JSON array)
      readSegmentsAll: db.prepare(readSegmentsSql('')),
      readSegments: db.prepare(readSegmentsSql('AND block IN (SELECT value FROM json_each(@blocks))')),
    };
  }

  getMeta(key: string): string | undefined {
    const row = this.stmt.meta.get(key) as { value: string } | undefined;
    return row?.value;
  }

  /** Settings and the cost model's statistics: best effort (a full disk or a read-only store keeps none, and reads go on). */
  setMeta(key: string, value: string): void {
    sqliteBestEffort(() => this.stmt.setMeta.run(key, value));
  }

  /** A meta entry that must be recorded (a vector index's registration): an error if it cannot be. */
  putMeta(key: string, value: string): void {
    this.stmt.setMeta.run(key, value);
  }

  deleteMeta(key: string): void {
    this.db.prepare(`DELETE FROM meta WHERE key = ?`).run(key);
  }

  /** A project's id, the project registered if new (inside a caller's transaction). */
  projectId(project: string): number {
    return (this.stmt.project.get(project) as number | undefined) ?? Number(this.stmt.insertProject.run(project).lastInsertRowid);
  }

  modelId(projectId: number, model: string): number | undefined {
    return this.stmt.model.get(projectId, model) as number | undefined;
  }

  /** Registers a model of a project (kind 'external': logged by the caller; 'trad', 'dnn': a workflow mistique runs). */
  newModel(projectId: number, model: string, kind: string): number {
    return Number(this.stmt.insertModel.run(projectId, model, kind, null, new Date().toISOString()).lastInsertRowid);
  }

  intermediateId(project: string, model: string, name: string): number | undefined {
    return this.stmt.intermediateId.get(project, model, name) as number | undefined;
  }

  /** Registers an intermediate with all its columns, RowBlocks, chunks and new blobs in one transaction. */
  insertIntermediate(x: NewIntermediate): number {
    const tx = this.db.transaction(() => {
      const s = this.stmt;
      const projectId = this.projectId(x.project);
      const modelId = this.modelId(projectId, x.model) ?? this.newModel(projectId, x.model, 'external');
      if (s.anyIntermediateId.get(x.project, x.model, x.name) !== undefined) {
        throw new MistiqueError('EXISTS', `intermediate ${x.project}.${x.model}.${x.name} is already stored: log under a new model name (e.g. a new checkpoint) or delete it first`);
      }
      const id = Number(s.insertIntermediate.run({
        modelId, name: x.name, originalName: x.originalName, nRows: x.nRows, nCols: x.nCols,
        shape: x.shape ? JSON.stringify(x.shape) : null, scheme: x.scheme, rowBlockSize: x.rowBlockSize,
        tileCols: x.tileCols, rowIdStart: x.rowIdStart, policy: x.policy, bytesRaw: x.bytesRaw, bytesNew: x.bytesNew,
        nChunks: x.chunks.length, nChunksDedup: x.nChunksDedup, tLogMs: x.tLogMs, createdAt: new Date().toISOString(),
        materialized: x.materialized === false ? 0 : 1, bytesEst: x.bytesEst ?? null, chunkOrder: x.chunkOrder,
        writer: x.writer ?? (this.inUnfinishedWorkflow(modelId) ? this.writer : null),
      }).lastInsertRowid);
      rehashRows(this.db, 'intermediates', 'id = ?', id);
      for (const c of x.columns) s.insertColumn.run(id, c.idx, c.name, c.type, c.count, crcOf('columns', { ...c, intermediate_id: id }));
      // RowBlocks and chunks (a million rows for a large network) are hashed in place, in ROW_FIELDS order:
      // a row object per chunk made registration 25% slower
      for (const r of x.rowblocks) s.insertRowBlock.run(id, r.block, r.n_rows, r.min_row_id, r.max_row_id, r.sorted, r.rowid_blob, rowCrc([id, r.block, r.n_rows, r.min_row_id, r.max_row_id, r.sorted, r.rowid_blob]));
      for (const c of x.chunks) s.insertChunk.run(id, c.block, c.col_start, c.n_cols, c.blob_id, rowCrc([id, c.block, c.col_start, c.n_cols, c.blob_id]));
      if (x.codebook) {
        const codes = Buffer.from(x.codebook.buffer, x.codebook.byteOffset, x.codebook.byteLength);
        this.db.prepare(`INSERT INTO codebooks (intermediate_id, codes, crc) VALUES (?, ?, ?)`).run(id, codes, crcOf('codebooks', { intermediate_id: id, codes }));
      }
      return id;
    });
    return sqliteWrite(`registering ${x.project}.${x.model}.${x.name}`, () => tx.immediate());
  }

  blobIdByHash(hash: Buffer): number | undefined {
    return this.stmt.blobByHash.get(hash) as number | undefined;
  }

  blob(id: number): BlobRow | undefined {
    const b = this.stmt.blob.get(id) as BlobRow | undefined;
    if (b) checkRow('blobs', b as unknown as Record<string, unknown>, `blob ${id}`);
    return b;
  }

  blobs(ids: readonly number[]): Map<number, BlobRow> {
    const out = new Map<number, BlobRow>();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT * FROM blobs WHERE id IN (${part.map(() => '?').join(',')})`).all(...part) as BlobRow[];
      for (const r of rows) {
        checkRow('blobs', r as unknown as Record<string, unknown>, `blob ${r.id}`);
        out.set(r.id, r);
      }
    }
    return out;
  }

  maxBlobId(): number { return this.stmt.maxBlob.get() as number; }
  maxPartitionId(): number { return this.stmt.maxPartition.get() as number; }

  /**
   * Registers a written partition with its segments and the blobs it holds, in one transaction, and
   * makes `durable` (intermediates whose last unwritten blobs these are) durable with it.
   */
  insertPartition(p: PartitionRow, segments: readonly SegmentRow[], blobs: readonly BlobRow[], sigs: readonly { blob_id: number; cluster: number; sig: Uint8Array }[] = [], durable: readonly number[] = []): void {
    sqliteWrite(`registering partition ${p.file}`, () => this.db.transaction(() => {
      for (const id of durable) this.stmt.markDurable.run(id, this.writer);
      for (const b of blobs) this.stmt.insertBlob.run({ ...b, zmin: b.zmin ?? null, zmax: b.zmax ?? null, nnan: b.nnan ?? null, crc: crcOf('blobs', b as unknown as Record<string, unknown>) });
      if (sigs.length > 0) {
        const ins = this.db.prepare(`INSERT OR REPLACE INTO minhashes (blob_id, cluster, sig) VALUES (?, ?, ?)`);
        for (const r of sigs) ins.run(r.blob_id, r.cluster, r.sig);
      }
      this.stmt.insertPartition.run(p.id, p.codec, p.file, p.bytes, p.raw_bytes, p.n_segments, new Date().toISOString(), crcOf('partitions', p as unknown as Record<string, unknown>));
      for (const s of segments) this.stmt.insertSegment.run(s.partition_id, s.seg, s.offset, s.length, s.raw_length, s.crc32, crcOf('segments', s as unknown as Record<string, unknown>));
    }).immediate());
  }

  partition(id: number): PartitionRow | undefined {
    const p = this.stmt.partition.get(id) as PartitionRow | undefined;
    if (p) checkRow('partitions', p as unknown as Record<string, unknown>, `partition ${id}`);
    return p;
  }

  segment(partitionId: number, seg: number): SegmentRow | undefined {
    const r = this.stmt.segment.get(partitionId, seg) as SegmentRow | undefined;
    if (r) checkRow('segments', r as unknown as Record<string, unknown>, `partition ${partitionId} segment ${seg}`);
    return r;
  }

  intermediates(): IntermediateRow[] {
    const rows = this.stmt.intermediates.all() as IntermediateRow[];
    for (const r of rows) checkRow('intermediates', r as unknown as Record<string, unknown>, `${r.project}.${r.model}.${r.name}`);
    return rows;
  }

  intermediate(id: number): IntermediateRow | undefined {
    const r = this.stmt.intermediate.get(id) as IntermediateRow | undefined;
    if (r) checkRow('intermediates', r as unknown as Record<string, unknown>, `${r.project}.${r.model}.${r.name}`);
    return r;
  }

  columns(intermediateId: number): ColumnRow[] {
    return checkedRows('columns', this.stmt.columns.all(intermediateId) as ColumnRow[], `intermediate ${intermediateId}`);
  }

  rowblocks(intermediateId: number): RowBlockRow[] {
    return checkedRows('rowblocks', this.stmt.rowblocks.all(intermediateId) as RowBlockRow[], `intermediate ${intermediateId}`);
  }


  /** The chunks of RowBlocks first..last joined with where their blobs are stored: one query instead of two per chunk. */
  blockChunks(intermediateId: number, first: number, last: number): BlockChunkRow[] {
    const rows = this.stmt.blockChunks.all(intermediateId, first, last) as (number | string | null)[][];
    // the hot path checks the raw columns in place, in ROW_FIELDS order: chunks [id, block, col_start, n_cols, blob_id], blobs r[4…12]
    for (const r of checksumsOn ? rows : []) {
      if (r[13] !== rowCrc([intermediateId, r[0], r[1], r[2], r[3]])) throw damaged('chunks', `intermediate ${intermediateId} block ${r[0]} column ${r[1]}`);
      if (r[4] !== null && r[14] !== rowCrc(r.slice(4, 13))) throw damaged('blobs', `blob ${r[4]}`);
    }
    return rows.map((r) => ({
      block: r[0] as number, col_start: r[1] as number, n_cols: r[2] as number, blob_id: r[3] as number,
      blob: r[4] === null ? null : {
        id: r[4] as number, hash: NO_HASH, partition_id: r[5] as number, segment: r[6] as number, type: r[7] as ColumnType,
        n_rows: r[8] as number, n_cols: r[9] as number, col_start: r[10] as number, byte_offset: r[11] as number, byte_length: r[12] as number,
      },
    }));
  }

  /**
   * The zone map of column `col`'s chunk in every RowBlock of an intermediate, in block order (`nnan` null:
   * unknown — a blob before v7, a chunk kind without zone maps, or a blob not yet written).
   */
  zones(intermediateId: number, col: number): { block: number; n_rows: number | null; zmin: number | null; zmax: number | null; nnan: number | null }[] {
    return this.stmt.zones.all(intermediateId, col, col) as { block: number; n_rows: number | null; zmin: number | null; zmax: number | null; nnan: number | null }[];
  }

  segments(partitionId: number): SegmentRow[] {
    return checkedRows('segments', this.stmt.segments.all(partitionId) as SegmentRow[], `partition ${partitionId}`);
  }

  recordQuery(intermediateId: number, ms: number): void {
    sqliteBestEffort(() => this.stmt.recordQuery.run(ms, intermediateId));
  }

  /**
   * Removes what writers that are gone left not durable — intermediates and unfinished workflows with
   * a writer token other than this handle's — and returns their keys. Only the holder of the store's
   * write lock may call this: then no other writer is alive. Their blobs stay, unreferenced.
   */
  recoverDeadWriters(): string[] {
    const lost: string[] = [];
    const wfs = this.db.prepare(`SELECT w.model_id, p.name AS project, m.name AS model FROM workflows w JOIN models m ON m.id = w.model_id
      JOIN projects p ON p.id = m.project_id WHERE w.writer IS NOT NULL AND w.writer != ?`).all(this.writer) as { model_id: number; project: string; model: string }[];
    for (const w of wfs) {
      const names = this.db.prepare(`SELECT name FROM intermediates WHERE model_id = ?`).pluck().all(w.model_id) as string[];
      lost.push(...(names.length > 0 ? names.map((n) => `${w.project}.${w.model}.${n}`) : [`${w.project}.${w.model}`]));
      this.workflows.delete(w.model_id);
    }
    const rows = this.db.prepare(`${INTERMEDIATE_SELECT} WHERE i.writer IS NOT NULL AND i.writer != ?`).all(this.writer) as IntermediateRow[];
    for (const r of rows) {
      lost.push(`${r.project}.${r.model}.${r.name}`);
      this.deleteIntermediate(r.id);
    }
    return lost;
  }

  private inUnfinishedWorkflow(modelId: number): boolean {
    return this.db.prepare(`SELECT 1 FROM workflows WHERE model_id = ? AND writer IS NOT NULL`).get(modelId) !== undefined;
  }

  totals(): { partitions: number; bytesOnDisk: number; rawBytesOnDisk: number; blobs: number } {
    const p = this.db.prepare(`SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b, coalesce(sum(raw_bytes), 0) AS r FROM partitions`).get() as { n: number; b: number; r: number };
    const blobs = this.db.prepare(`SELECT count(*) FROM blobs`).pluck().get() as number;
    return { partitions: p.n, bytesOnDisk: p.b, rawBytesOnDisk: p.r, blobs };
  }

  /** Compressed bytes attributable to each intermediate: the stored share of the blobs it added (row ids included). */
  storedBytesByIntermediate(): Map<number, number> {
    // a scan of every chunk's registration (half a second at 2 million chunks): kept in the meta table and
    // used again while nothing that enters it changed — intermediates (an id SQLite reuses comes with a
    // later created_at), blobs, partitions (written, rewritten by gc, removed) — as their counts, greatest
    // ids, latest registration and bytes on disk say
    const stamp = JSON.stringify(this.db.prepare(`SELECT (SELECT count(*) FROM intermediates) a, (SELECT coalesce(max(id), 0) FROM intermediates) b, (SELECT max(created_at) FROM intermediates) g,
      (SELECT count(*) FROM blobs) c, (SELECT coalesce(max(id), 0) FROM blobs) d, (SELECT count(*) FROM partitions) e, (SELECT coalesce(sum(bytes), 0) FROM partitions) f`).raw(true).get());
    try {
      const cached = JSON.parse(this.getMeta('stored_bytes') ?? 'null') as { stamp: string; rows: [number, number][] } | null;
      if (cached && cached.stamp === stamp) return new Map(cached.rows);
    } catch { /* recomputed below */ }
    const map = this.computeStoredBytes();
    this.setMeta('stored_bytes', JSON.stringify({ stamp, rows: [...map] }));
    return map;
  }

  private computeStoredBytes(): Map<number, number> {
    // A blob belongs to the first intermediate that references it (the one whose logging stored it).
    const rows = this.db.prepare(`
      WITH refs AS (
        SELECT intermediate_id, blob_id FROM chunks
        UNION ALL SELECT intermediate_id, rowid_blob FROM rowblocks),
      owners AS (SELECT blob_id, min(intermediate_id) AS owner FROM refs GROUP BY blob_id)
      SELECT o.owner AS id, sum(CAST(b.byte_length AS REAL) * s.length / s.raw_length) AS stored
      FROM owners o JOIN blobs b ON b.id = o.blob_id
      JOIN segments s ON s.partition_id = b.partition_id AND s.seg = b.segment
      GROUP BY o.owner`).all() as { id: number; stored: number }[];
    return new Map(rows.map((r) => [r.id, Math.round(r.stored)]));
  }

  /**
   * What reading RowBlocks `blocks` (all when null) of an intermediate decodes: the distinct segments
   * holding the chunks of columns [c0, c1) and the blocks' row ids, their stored (compressed) and raw bytes.
   */
  readFootprint(intermediateId: number, blocks: readonly number[] | null, c0 = 0, c1 = Number.MAX_SAFE_INTEGER): { stored: number; raw: number; segments: number } {
    const segs = this.readSegments(intermediateId, blocks, c0, c1);
    return { stored: segs.reduce((a, s) => a + s.length, 0), raw: segs.reduce((a, s) => a + s.raw_length, 0), segments: segs.length };
  }

  /** The segments on disk a read of these RowBlocks (all when null) and columns [c0, c1) decodes. */
  readSegments(intermediateId: number, blocks: readonly number[] | null, c0 = 0, c1 = Number.MAX_SAFE_INTEGER): { partition_id: number; seg: number; length: number; raw_length: number }[] {
    const stmt = blocks === null ? this.stmt.readSegmentsAll : this.stmt.readSegments;
    const params = { id: intermediateId, c0, c1, ...(blocks === null ? {} : { blocks: JSON.stringify(blocks.map((b) => Number(b))) }) };
    return stmt.all(params) as { partition_id: number; seg: number; length: number; raw_length: number }[];
  }

  /**
   * Puts intermediate `newId` in the place of `oldId` under `name`, in one transaction (adaptive
   * materialization keeps the query statistics; a caller's replacement starts afresh).
   */
  replaceIntermediate(oldId: number, newId: number, name: string, keepStats = true): void {
    this.db.transaction(() => {
      // the query statistics as they are now: queries may have been counted while the new one was written
      const old = this.db.prepare(`SELECT n_query, t_query_ms FROM intermediates WHERE id = ?`).get(oldId) as { n_query: number; t_query_ms: number } | undefined;
      deleteIntermediateRows(this.db, oldId);
      this.db.prepare(`UPDATE intermediates SET name = ? WHERE id = ?`).run(name, newId);
      rehashRows(this.db, 'intermediates', 'id = ?', newId);
      if (old && keepStats) this.db.prepare(`UPDATE intermediates SET n_query = ?, t_query_ms = ? WHERE id = ?`).run(old.n_query, old.t_query_ms, newId);
    }).immediate();
  }

  /** Removes an intermediate's metadata (its blobs stay: others may share them). */
  deleteIntermediate(id: number): void {
    this.db.transaction(() => deleteIntermediateRows(this.db, id)).immediate();
  }

  codebook(intermediateId: number): Float32Array | undefined {
    const r = this.stmt.codebook.get(intermediateId) as { codes: Buffer } | undefined;
    if (!r) return undefined;
    checkRow('codebooks', r, `the codebook of intermediate ${intermediateId}`);
    return new Float32Array(new Uint8Array(r.codes).buffer);
  }

  /** The keys of the intermediates whose chunks or row ids lie in one segment (up to `limit`; −1: all). */
  intermediatesOfSegment(partitionId: number, seg: number, limit = 20): string[] {
    return this.keysUsingBlobs(`SELECT id FROM blobs WHERE partition_id = ? AND segment = ?`, limit, partitionId, seg);
  }

  /** The keys of the intermediates with a chunk or row ids in a partition. */
  intermediatesOfPartition(partitionId: number): string[] {
    return this.keysUsingBlobs(`SELECT id FROM blobs WHERE partition_id = ?`, -1, partitionId);
  }

  keysUsingBlobs(blobs: string, limit: number, ...args: unknown[]): string[] {
    return this.db.prepare(`
      WITH b AS (${blobs}),
      ids AS (SELECT intermediate_id FROM chunks WHERE blob_id IN (SELECT id FROM b)
        UNION SELECT intermediate_id FROM rowblocks WHERE rowid_blob IN (SELECT id FROM b))
      SELECT p.name || '.' || m.name || '.' || i.name FROM ids JOIN intermediates i ON i.id = ids.intermediate_id
      JOIN models m ON m.id = i.model_id JOIN projects p ON p.id = m.project_id ORDER BY 1 LIMIT ${Math.trunc(limit)}`).pluck().all(...args) as string[];
  }

  /** Removes intermediates by key (their blobs stay); returns the keys removed. */
  deleteIntermediatesByKey(keys: readonly string[]): string[] {
    const done: string[] = [];
    for (const k of keys) {
      const [project, model, ...name] = k.split('.');
      const id = this.stmt.anyIntermediateId.get(project, model, name.join('.')) as number | undefined;
      if (id === undefined) continue;
      this.deleteIntermediate(id);
      done.push(k);
    }
    return done;
  }

  /** Where each data chunk of an intermediate is stored (after its partitions are written). */
  chunkPlacement(intermediateId: number): { block: number; col_start: number; blob_id: number; partition_id: number; segment: number }[] {
    return this.db.prepare(`SELECT c.block, c.col_start, c.blob_id, b.partition_id, b.segment FROM chunks c JOIN blobs b ON b.id = c.blob_id
      WHERE c.intermediate_id = ? ORDER BY c.block, c.col_start`).all(intermediateId) as { block: number; col_start: number; blob_id: number; partition_id: number; segment: number }[];
  }

  /** Every stored signature with its blob's partition, for rebuilding the LSH index on open. */
  minhashes(): { blob_id: number; cluster: number; partition_id: number; sig: Buffer }[] {
    return this.db.prepare(`SELECT m.blob_id, m.cluster, b.partition_id, m.sig FROM minhashes m JOIN blobs b ON b.id = m.blob_id`).all() as { blob_id: number; cluster: number; partition_id: number; sig: Buffer }[];
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }
}

/** The distinct segments holding an intermediate's chunks of columns [@c0, @c1) and its RowBlocks' row ids, restricted by `where`. */
function readSegmentsSql(where: string): string {
  return `
      WITH used AS (
        SELECT blob_id FROM chunks WHERE intermediate_id = @id ${where} AND col_start < @c1 AND col_start + n_cols > @c0
        UNION SELECT rowid_blob FROM rowblocks WHERE intermediate_id = @id ${where}),
      segs AS (SELECT DISTINCT b.partition_id, b.segment FROM used u JOIN blobs b ON b.id = u.blob_id)
      SELECT s.partition_id, s.seg, s.length, s.raw_length
      FROM segs JOIN segments s ON s.partition_id = segs.partition_id AND s.seg = segs.segment`;
}

/** Runs `fn`, again while SQLite answers SQLITE_BUSY without waiting itself, for up to `ms`. */
function whileBusy<T>(fn: () => T, ms = 5000): T {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= until) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
