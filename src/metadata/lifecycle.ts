// A store's life cycle in the MetadataDB: deleting intermediates and models (their rows only: blobs
// become unreferenced) and reclaiming the space of unreferenced blobs, partition by partition (the
// DataStore rewrites a partition's live blobs into a new one; this module swaps the rows in one
// transaction). The caller holds the store's write lock.
import type Database from 'better-sqlite3';
import { MistiqueError } from '../errors.js';
import { crcOf } from './rowcrc.js';
import { globToRegExp } from '../model/key.js';
import type { BlobRow, IntermediateRow, PartitionRow, SegmentRow } from './rows.js';

/** One partition as garbage collection sees it: its live blobs and its dead ones. */
export interface PartitionUse {
  id: number;
  file: string;
  bytes: number;
  rawBytes: number;
  live: { blob: BlobRow }[];
  liveRawBytes: number;
  dead: number[];
  deadRawBytes: number;
}

/** The rows of one intermediate in every table that holds them (inside a caller's transaction). */
export function deleteIntermediateRows(db: Database.Database, id: number): void {
  for (const t of ['chunks', 'rowblocks', 'columns', 'codebooks']) db.prepare(`DELETE FROM ${t} WHERE intermediate_id = ?`).run(id);
  db.prepare(`DELETE FROM intermediates WHERE id = ?`).run(id);
}

export class MetadataLifecycle {
  constructor(private readonly db: Database.Database) {}

  /**
   * What a delete pattern names — `project`, `project.model` (whole models) or `project.model.intermediate`,
   * `*` for any part — among the `visible` intermediates and the models not being written: the keys to
   * report (sorted), the intermediates to delete (a whole model's all of them) and the models. NOT_FOUND
   * when it names nothing; BAD_KEY for another form (a column cannot be deleted alone).
   */
  resolve(pattern: string, visible: readonly IntermediateRow[]): { keys: string[]; intermediateIds: number[]; models: { id: number; project: string; model: string }[] } {
    const parts = typeof pattern === 'string' ? pattern.split('.') : [];
    if (parts.length < 1 || parts.length > 3 || parts.some((p) => p === '')) {
      throw new MistiqueError('BAD_KEY', `delete takes project, project.model or project.model.intermediate (with * for any part), got ${JSON.stringify(pattern)}; a column cannot be deleted alone`);
    }
    const [rp, rm, ri] = [globToRegExp(parts[0]!), globToRegExp(parts[1] ?? '*'), globToRegExp(parts[2] ?? '*')];
    const hits = visible.filter((r) => rp.test(r.project) && rm.test(r.model) && ri.test(r.name));
    const models = parts.length < 3
      ? (this.db.prepare(`SELECT m.id, p.name AS project, m.name AS model FROM models m JOIN projects p ON p.id = m.project_id
          WHERE NOT EXISTS (SELECT 1 FROM workflows w WHERE w.model_id = m.id AND w.writer IS NOT NULL) ORDER BY 2, 3`).all() as { id: number; project: string; model: string }[])
        .filter((m) => rp.test(m.project) && rm.test(m.model))
      : [];
    const keys = [...hits.map((r) => `${r.project}.${r.model}.${r.name}`), ...models.filter((m) => !hits.some((r) => r.project === m.project && r.model === m.model)).map((m) => `${m.project}.${m.model}`)];
    if (keys.length === 0) throw new MistiqueError('NOT_FOUND', `${JSON.stringify(pattern)} matches nothing stored; run \`mistique ls\``);
    const ids = new Set(hits.map((r) => r.id));
    const ofModel = this.db.prepare(`SELECT id FROM intermediates WHERE model_id = ?`).pluck();
    for (const m of models) for (const id of ofModel.all(m.id) as number[]) ids.add(id);
    return { keys: keys.sort(), intermediateIds: [...ids], models };
  }

  /**
   * Deletes intermediates, and whole models (their workflow, stages and trained operators too), in one
   * transaction; a model left without intermediates and without a workflow goes, and so does a project
   * left without models. Blobs stay until `gc`.
   */
  delete(intermediateIds: readonly number[], modelIds: readonly number[]): void {
    this.db.transaction(() => {
      const touched = new Set<number>(modelIds);
      // ids are never handed out again: a reader's caches (in this or another process) key on them
      const high = intermediateIds.reduce((m, x) => Math.max(m, x), 0);
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('intermediate_id_high', ?)
        ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))`).run(String(high));
      for (const id of intermediateIds) {
        const m = this.db.prepare(`SELECT model_id FROM intermediates WHERE id = ?`).pluck().get(id) as number | undefined;
        if (m !== undefined) touched.add(m);
        deleteIntermediateRows(this.db, id);
      }
      for (const m of modelIds) {
        const rest = this.db.prepare(`SELECT id FROM intermediates WHERE model_id = ?`).pluck().all(m) as number[];
        if (rest.length > 0) throw new MistiqueError('INTERNAL', `model ${m} still has ${rest.length} intermediates`);
        for (const t of ['stages', 'operators', 'workflows']) this.db.prepare(`DELETE FROM ${t} WHERE model_id = ?`).run(m);
      }
      for (const m of touched) {
        const left = this.db.prepare(`SELECT (SELECT count(*) FROM intermediates WHERE model_id = ?) + (SELECT count(*) FROM workflows WHERE model_id = ?)`).pluck().get(m, m) as number;
        if (left > 0) continue;
        const project = this.db.prepare(`SELECT project_id FROM models WHERE id = ?`).pluck().get(m) as number | undefined;
        this.db.prepare(`DELETE FROM models WHERE id = ?`).run(m);
        if (project !== undefined && (this.db.prepare(`SELECT count(*) FROM models WHERE project_id = ?`).pluck().get(project) as number) === 0) {
          this.db.prepare(`DELETE FROM projects WHERE id = ?`).run(project);
        }
      }
    }).immediate();
  }

  /** Every written partition with unreferenced blobs, with what in it is live and what is not. */
  partitionsWithGarbage(): PartitionUse[] {
    const parts = this.db.prepare(`SELECT DISTINCT b.partition_id AS id FROM blobs b
      WHERE b.id NOT IN (SELECT blob_id FROM chunks) AND b.id NOT IN (SELECT rowid_blob FROM rowblocks)`).pluck().all() as number[];
    return parts.map((id) => {
      const p = this.db.prepare(`SELECT * FROM partitions WHERE id = ?`).get(id) as PartitionRow | undefined;
      if (!p) throw new MistiqueError('CORRUPT', `blobs point at partition ${id}, which is not registered; run \`mistique verify\``);
      const blobs = this.db.prepare(`SELECT b.*,
          EXISTS (SELECT 1 FROM chunks c WHERE c.blob_id = b.id) AS in_chunks,
          EXISTS (SELECT 1 FROM rowblocks r WHERE r.rowid_blob = b.id) AS in_rowblocks
        FROM blobs b WHERE b.partition_id = ? ORDER BY b.segment, b.byte_offset, b.col_start`).all(id) as (BlobRow & { in_chunks: number; in_rowblocks: number; crc: number })[];
      const live: PartitionUse['live'] = [];
      const dead: number[] = [];
      let liveRaw = 0, deadRaw = 0;
      for (const b of blobs) {
        const { in_chunks, in_rowblocks, crc: _crc, ...blob } = b;
        if (in_chunks || in_rowblocks) { live.push({ blob }); liveRaw += b.byte_length; } else { dead.push(b.id); deadRaw += b.byte_length; }
      }
      return { id, file: p.file, bytes: p.bytes, rawBytes: p.raw_bytes, live, liveRawBytes: liveRaw, dead, deadRawBytes: deadRaw };
    });
  }

  /**
   * Puts a rewritten partition in the place of an old one in one transaction: the new partition and its
   * segments, the live blobs moved to it (same ids: chunks keep pointing at them), the dead blobs and
   * their signatures gone, the old partition's rows gone. `next` null: nothing was live, the old one just goes.
   */
  replacePartition(oldId: number, next: { partition: PartitionRow; segments: SegmentRow[]; moved: BlobRow[] } | null, dead: readonly number[]): void {
    this.db.transaction(() => {
      const delBlob = this.db.prepare(`DELETE FROM blobs WHERE id = ?`);
      const delSig = this.db.prepare(`DELETE FROM minhashes WHERE blob_id = ?`);
      for (const id of dead) { delBlob.run(id); delSig.run(id); }
      if (next) {
        const { partition: p, segments, moved } = next;
        this.db.prepare(`INSERT INTO partitions (id, codec, file, bytes, raw_bytes, n_segments, written_at, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(p.id, p.codec, p.file, p.bytes, p.raw_bytes, p.n_segments, new Date().toISOString(), crcOf('partitions', p as unknown as Record<string, unknown>));
        const seg = this.db.prepare(`INSERT INTO segments (partition_id, seg, offset, length, raw_length, crc32, crc) VALUES (?, ?, ?, ?, ?, ?, ?)`);
        for (const s of segments) seg.run(s.partition_id, s.seg, s.offset, s.length, s.raw_length, s.crc32, crcOf('segments', s as unknown as Record<string, unknown>));
        const upd = this.db.prepare(`UPDATE blobs SET partition_id = @partition_id, segment = @segment, col_start = @col_start,
          byte_offset = @byte_offset, byte_length = @byte_length, crc = @crc WHERE id = @id`);
        for (const b of moved) {
          const r = upd.run({ ...b, crc: crcOf('blobs', b as unknown as Record<string, unknown>) });
          if (r.changes !== 1) throw new MistiqueError('INTERNAL', `blob ${b.id} vanished while its partition was rewritten`);
        }
      }
      const left = this.db.prepare(`SELECT count(*) FROM blobs WHERE partition_id = ?`).pluck().get(oldId) as number;
      if (left > 0) throw new MistiqueError('INTERNAL', `partition ${oldId} still holds ${left} blobs after its rewrite`);
      this.db.prepare(`DELETE FROM segments WHERE partition_id = ?`).run(oldId);
      this.db.prepare(`DELETE FROM partitions WHERE id = ?`).run(oldId);
    }).immediate();
  }
}
