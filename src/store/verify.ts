// verify: checks a whole store — every segment's checksum and decode, every intermediate's blobs, the
// partition files against the MetadataDB — and with `repair` drops what cannot be read and removes
// files no one references. The caller holds the write lock, so no writer is half-way through anything.
import fs from 'node:fs';
import path from 'node:path';
import { segmentMismatch } from './checksum.js';
import type { MetadataDB } from '../metadata/metadatadb.js';
import type { DamagedRow } from '../metadata/integrity.js';
import type { IntermediateRow } from '../metadata/rows.js';
import { lostCheckpoint, type DnnSpec } from '../executor/onnx/dnnspec.js';
import { lostSources } from '../executor/sources.js';
import type { SegmentCodec } from './codecs/index.js';

export interface VerifyReport {
  /** SQLite's quick_check of metadata.db: ['ok'] or what it found. */
  metadata: string[];
  /** Metadata rows whose checksum does not match (what they describe cannot be trusted), with the intermediates they affect. */
  damagedRows: DamagedRow[];
  partitions: number;
  segments: number;
  /** Encoded bytes checked. */
  bytes: number;
  /** Segments that failed: a wrong checksum, a short read, a decode error. */
  badSegments: { file: string; segment: number; error: string; intermediates: string[] }[];
  /** Registered partition files that are gone. */
  missingFiles: string[];
  /** Durable intermediates that cannot be read whole (a bad segment, a missing file, a blob never registered). */
  unreadable: string[];
  /**
   * Networks whose checkpoint file is gone from checkpoints/ (a re-run loads it): their layers cannot be
   * re-run, and those not stored (policy adaptive) not read — those are in `unreadable` too.
   */
  missingCheckpoints: { model: string; file: string; notStored: string[] }[];
  /**
   * Source files of pipelines (outside the store: their data directory) gone or changed in size since
   * logging: the stages that read them cannot be re-run, and those not stored (policy adaptive) not read
   * — those are in `unreadable` too. Only a problem when something is lost that way.
   */
  lostSources: { model: string; file: string; problem: 'gone' | 'changed'; notStored: string[] }[];
  /** Files in partitions/ that no partition row names (left by a crash between write and registration), and temp files. */
  orphanFiles: string[];
  /** Files in indexes/ that no registered vector index names and no build under way will put in place (a build killed half-way), relative to the store. */
  orphanIndexFiles: string[];
  /** Stored blobs no intermediate references (kept in their partitions until they are rewritten) and their raw bytes. */
  orphanBlobs: { count: number; rawBytes: number };
  /** With repair: what was removed. */
  repaired: { intermediates: string[]; files: string[] } | null;
  /** No problem found (orphan blobs are not a problem: space, not data). */
  ok: boolean;
}

/** What `read` returns, or undefined where a metadata row it needs is damaged (damagedRows reports those). */
function trusted<T>(read: () => T): T | undefined {
  try { return read(); } catch { return undefined; }
}

/**
 * What re-runs need and the store no longer finds, per workflow: a network's checkpoint gone from
 * checkpoints/, a pipeline's source file gone or changed in size — each with the intermediates it leaves
 * unreadable (those not stored). Models a damaged metadata row hides are skipped: damagedRows reports it.
 */
export function lostWorkflowFiles(dir: string, db: MetadataDB): Pick<VerifyReport, 'missingCheckpoints' | 'lostSources'> {
  const out: Pick<VerifyReport, 'missingCheckpoints' | 'lostSources'> = { missingCheckpoints: [], lostSources: [] };
  const byModel = new Map<string, IntermediateRow[]>();
  for (const r of trusted(() => db.intermediates()) ?? []) byModel.set(`${r.project}\u0000${r.model}`, [...(byModel.get(`${r.project}\u0000${r.model}`) ?? []), r]);
  for (const rows of byModel.values()) {
    const { project, model } = rows[0]!;
    const key = `${project}.${model}`;
    const wf = trusted(() => db.workflows.get(project, model));
    const notStored = (needs: (r: IntermediateRow) => boolean): string[] => rows.filter((r) => r.materialized === 0 && needs(r)).map((r) => `${key}.${r.name}`).sort();
    if (wf?.kind === 'dnn') {
      const spec = JSON.parse(wf.spec) as DnnSpec;
      if (lostCheckpoint(dir, key, spec)) out.missingCheckpoints.push({ model: key, file: path.join('checkpoints', spec.checkpoint), notStored: notStored(() => true) });
    } else if (wf?.kind === 'trad') {
      for (const l of lostSources(wf, trusted(() => db.workflows.stages(wf.model_id)) ?? [])) {
        out.lostSources.push({ model: key, file: l.file, problem: l.problem, notStored: notStored((r) => l.stages.has(r.name)) });
      }
    }
  }
  return out;
}

export async function verifyStore(dir: string, db: MetadataDB, codec: SegmentCodec, opts: { repair?: boolean; onPartition?: (done: number, total: number) => void; orphanIndexFiles?: string[] } = {}): Promise<VerifyReport> {
  const partDir = path.join(dir, 'partitions');
  const parts = db.integrity.partitionRows();
  const r: VerifyReport = {
    metadata: db.integrity.quickCheck(), damagedRows: db.integrity.damagedRows(), partitions: parts.length, segments: 0, bytes: 0, badSegments: [], missingFiles: [], unreadable: [], ...lostWorkflowFiles(dir, db),
    orphanFiles: [], orphanIndexFiles: opts.orphanIndexFiles ?? [], orphanBlobs: db.integrity.orphanBlobs(), repaired: null, ok: true,
  };
  for (const [k, p] of parts.entries()) {
    const file = path.join(partDir, p.file);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      r.missingFiles.push(p.file);
      continue;
    }
    try {
      for (const s of db.segments(p.id)) {
        r.segments++;
        r.bytes += s.length;
        const buf = Buffer.allocUnsafeSlow(s.length);
        let error: string | null = null;
        try {
          const n = fs.readSync(fd, buf, 0, s.length, s.offset);
          if (n !== s.length) error = `read ${n} of ${s.length} bytes: the file is truncated`;
          else error = segmentMismatch(buf, s.crc32);
          if (!error) await codec.decode(buf, s.raw_length);
        } catch (err) {
          error = (err as Error).message;
        }
        if (error) {
          r.badSegments.push({ file: p.file, segment: s.seg, error, intermediates: db.intermediatesOfSegment(p.id, s.seg, -1) });
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    opts.onPartition?.(k + 1, parts.length);
  }
  const bad = new Set<string>(db.integrity.intermediatesWithMissingBlobs());
  for (const b of r.badSegments) for (const k of b.intermediates) bad.add(k);
  for (const d of r.damagedRows) for (const k of d.intermediates) bad.add(k);
  for (const m of r.missingFiles) for (const k of db.intermediatesOfPartition(parts.find((p) => p.file === m)!.id)) bad.add(k);
  for (const c of [...r.missingCheckpoints, ...r.lostSources]) for (const k of c.notStored) bad.add(k);
  r.unreadable = [...bad].sort();
  const known = new Set(parts.map((p) => p.file));
  r.orphanFiles = fs.readdirSync(partDir).filter((f) => !known.has(f)).sort();
  // a bad segment that serves no intermediate any more loses nothing: it waits to be rewritten, like an orphan blob
  r.ok = r.metadata.join() === 'ok' && r.damagedRows.length === 0 && r.badSegments.every((b) => b.intermediates.length === 0) && r.missingFiles.length === 0 && r.missingCheckpoints.length === 0 && r.lostSources.every((l) => l.notStored.length === 0) && r.unreadable.length === 0 && r.orphanFiles.length === 0 && r.orphanIndexFiles.length === 0;
  if (opts.repair) {
    const dropped = db.deleteIntermediatesByKey(r.unreadable);
    db.integrity.deleteDamagedRows(r.damagedRows);
    for (const f of r.orphanFiles) fs.rmSync(path.join(partDir, f), { force: true });
    for (const f of r.orphanIndexFiles) fs.rmSync(path.join(dir, f), { force: true });
    r.repaired = { intermediates: dropped, files: [...r.orphanFiles, ...r.orphanIndexFiles] };
  }
  return r;
}
