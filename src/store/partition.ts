// Partition: ColumnChunks stored together. Open (in memory, uncompressed) while it fills; then
// encoded segment by segment and written atomically (temp file, fsync, rename).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import type { ChunkData } from '../model/dataframe.js';
import type { PartitionRow, SegmentRow } from '../metadata/metadatadb.js';
import { align8, rawByteLength } from './chunk.js';
import type { SegmentCodec, Slot } from './codecs/index.js';

interface OpenSegment {
  nrows: number;
  chunks: ChunkData[];
  slots: Slot[];
  rawLength: number;
  ncols: number;
}

export class OpenPartition {
  readonly segments: OpenSegment[] = [];
  rawBytes = 0;
  lastUse = 0;

  constructor(readonly id: number, private readonly segmentBytes: number) {}

  /** Appends a chunk (the partition keeps it; callers must not mutate it after). */
  add(chunk: ChunkData): { segment: number; slot: Slot } {
    const raw = align8(rawByteLength(chunk));
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.nrows !== chunk.nrows || (seg.rawLength > 0 && seg.rawLength + raw > this.segmentBytes)) {
      seg = { nrows: chunk.nrows, chunks: [], slots: [], rawLength: 0, ncols: 0 };
      this.segments.push(seg);
    }
    const slot: Slot = {
      type: chunk.type, nrows: chunk.nrows, ncols: chunk.ncols,
      colStart: seg.ncols, byteOffset: seg.rawLength, byteLength: rawByteLength(chunk),
    };
    seg.chunks.push(chunk);
    seg.slots.push(slot);
    seg.rawLength += raw;
    seg.ncols += chunk.ncols;
    this.rawBytes += raw;
    return { segment: this.segments.length - 1, slot };
  }

  chunk(segment: number, colStart: number): ChunkData {
    const seg = this.segments[segment];
    const i = seg ? seg.slots.findIndex((s) => s.colStart === colStart) : -1;
    if (!seg || i < 0) throw new MistiqueError('CORRUPT', `open partition ${this.id} has no chunk at segment ${segment}, column ${colStart}`);
    return seg.chunks[i]!;
  }
}

export function partitionFileName(id: number, codec: SegmentCodec): string {
  return `p${String(id).padStart(8, '0')}.${codec.ext}`;
}

/** Encodes all segments (in parallel, on the threadpool where the codec can) and writes the file atomically. */
export async function writePartition(
  dir: string, p: OpenPartition, codec: SegmentCodec,
): Promise<{ partition: PartitionRow; segments: SegmentRow[] }> {
  const encoded = await mapLimit(p.segments, os.availableParallelism(), (s) => codec.encode(s.chunks, s.rawLength));
  const file = partitionFileName(p.id, codec);
  const tmp = path.join(dir, `.${file}.tmp`);
  const segments: SegmentRow[] = [];
  const fd = fs.openSync(tmp, 'w');
  let offset = 0;
  try {
    encoded.forEach((bytes, i) => {
      fs.writeSync(fd, bytes);
      segments.push({ partition_id: p.id, seg: i, offset, length: bytes.length, raw_length: p.segments[i]!.rawLength });
      offset += bytes.length;
    });
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, file));
  return {
    partition: { id: p.id, codec: codec.id, file, bytes: offset, raw_bytes: p.rawBytes, n_segments: segments.length },
    segments,
  };
}

/** Open file descriptors of partition files, least recently used closed first. */
export class PartitionFiles {
  private readonly fds = new Map<string, number>();

  constructor(private readonly dir: string, private readonly maxOpen = 64) {}

  /** Reads one segment's encoded bytes into a fresh, 8-byte aligned buffer (its own ArrayBuffer, not zero-filled). */
  read(file: string, seg: SegmentRow): Uint8Array {
    const out = Buffer.allocUnsafeSlow(seg.length);
    const n = fs.readSync(this.fd(file), out, 0, seg.length, seg.offset);
    if (n !== seg.length) {
      throw new MistiqueError('CORRUPT', `partition ${file} segment ${seg.seg}: read ${n} of ${seg.length} bytes at offset ${seg.offset}; the file is truncated`);
    }
    return out;
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd !== undefined) {
      this.fds.delete(file);
      this.fds.set(file, fd);
      return fd;
    }
    try {
      fd = fs.openSync(path.join(this.dir, file), 'r');
    } catch (err) {
      throw new MistiqueError('CORRUPT', `partition file ${file} is missing from ${this.dir}: the store was modified outside mistique`, { cause: err });
    }
    this.fds.set(file, fd);
    if (this.fds.size > this.maxOpen) {
      const [oldest, ofd] = this.fds.entries().next().value as [string, number];
      this.fds.delete(oldest);
      fs.closeSync(ofd);
    }
    return fd;
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
