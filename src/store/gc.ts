// Garbage collection: the space of blobs no intermediate references any more (after `delete`, a
// replaced intermediate, a dead writer's leftovers). A partition whose blobs are all unreferenced is
// dropped; one with enough unreferenced bytes is rewritten — its live blobs decoded and written into a
// new partition under the same blob ids (temp file, fsync, rename), the rows swapped in one transaction,
// then the old file removed. A crash at any point leaves either the old partition or the new one
// registered, and at most an unregistered file, which the next gc (or `verify --repair`) removes.
import fs from 'node:fs';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import type { BlobRow } from '../metadata/rows.js';
import type { MetadataLifecycle } from '../metadata/lifecycle.js';
import type { DataStore } from './datastore.js';
import { OpenPartition, syncDir, writePartition } from './partition.js';

export interface GcReport {
  /** Partitions dropped whole (nothing in them was referenced). */
  dropped: number;
  /** Partitions rewritten with their live blobs only. */
  rewritten: number;
  /** Partitions holding unreferenced blobs that were left as they are (below `minDeadFraction`). */
  kept: number;
  /** Bytes on disk before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Files in partitions/ that no partition names (a crash between write and registration), removed. */
  strayFiles: string[];
}

export interface GcOptions {
  /** Rewrite a partition once at least this share of its raw bytes is unreferenced (default 0.25; 0: any). */
  minDeadFraction?: number;
  onPartition?: (done: number, total: number) => void;
}

export async function collectGarbage(ds: DataStore, lifecycle: MetadataLifecycle, registeredFiles: () => Set<string>, opts: GcOptions = {}): Promise<GcReport> {
  if (ds.openWriters > 0) {
    throw new MistiqueError('BUSY', `${ds.openWriters} writer(s) are open on this store: close them before gc (a writer may hold a reference to a blob it has not registered yet)`);
  }
  await ds.flushAll();
  const min = opts.minDeadFraction ?? 0.25;
  if (!(min >= 0 && min <= 1)) throw new MistiqueError('BAD_OPTION', `minDeadFraction must be in 0…1, got ${min}`);
  const dir = path.join(ds.dir, 'partitions');
  const uses = lifecycle.partitionsWithGarbage();
  const r: GcReport = { dropped: 0, rewritten: 0, kept: 0, bytesBefore: 0, bytesAfter: 0, strayFiles: [] };
  for (const [k, u] of uses.entries()) {
    r.bytesBefore += u.bytes;
    if (u.live.length === 0) {
      lifecycle.replacePartition(u.id, null, u.dead);
      fs.rmSync(path.join(dir, u.file), { force: true });
      r.dropped++;
    } else if (u.deadRawBytes / Math.max(1, u.liveRawBytes + u.deadRawBytes) >= min) {
      const known = new Map(u.live.map((l) => [l.blob.id, l.blob]));
      const chunks = await ds.readChunks(u.live.map((l) => l.blob.id), known, true);
      const p = new OpenPartition(ds.allocPartitionId(), ds.opts.segmentBytes);
      // a decoded chunk carries what its codec's layout needs: the table codecs mark a list column's
      // chunk row-major, a kbit chunk its codebook; the byte codecs' layout is the raw bytes either way
      for (const l of u.live) p.add(l.blob.id, chunks.get(l.blob.id)!);
      const layout = p.layout();
      const written = await writePartition(dir, p, layout.segments, ds.codec);
      const moved: BlobRow[] = u.live.map(({ blob }) => {
        const w = layout.where.get(blob.id)!;
        return { ...blob, partition_id: p.id, segment: w.segment, col_start: w.slot.colStart, byte_offset: w.slot.byteOffset, byte_length: w.slot.byteLength };
      });
      try {
        lifecycle.replacePartition(u.id, { partition: written.partition, segments: written.segments, moved }, u.dead);
      } catch (err) {
        fs.rmSync(path.join(dir, written.partition.file), { force: true });
        throw err;
      }
      fs.rmSync(path.join(dir, u.file), { force: true });
      r.bytesAfter += written.partition.bytes;
      r.rewritten++;
    } else {
      r.bytesAfter += u.bytes;
      r.kept++;
    }
    opts.onPartition?.(k + 1, uses.length);
  }
  await syncDir(dir);
  const known = registeredFiles();
  r.strayFiles = fs.readdirSync(dir).filter((f) => !known.has(f)).sort();
  for (const f of r.strayFiles) fs.rmSync(path.join(dir, f), { force: true });
  ds.dropCaches();
  return r;
}
