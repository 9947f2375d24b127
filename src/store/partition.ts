// Partition: ColumnChunks stored together. Open (in memory, uncompressed) while it fills; then
// encoded segment by segment and written atomically (temp file, fsync, rename).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checksumParts, checksumsOn } from './checksum.js';
import { MistiqueError } from '../errors.js';
import type { ChunkData } from '../model/dataframe.js';
import type { PartitionRow, SegmentRow } from '../metadata/metadatadb.js';
import { align8, rawByteLength } from './chunk.js';
import type { SegmentCodec, Slot } from './codecs/index.js';

export interface OpenSegment {
  nrows: number;
  chunks: ChunkData[];
  slots: Slot[];
  rawLength: number;
  ncols: number;
}

interface Entry { blobId: number; chunk: ChunkData; group: number; raw: number }

/**
 * An open partition keeps its chunks uncompressed, in arrival order, each with a group (the cluster of
 * similar chunks it belongs to, or its own blob id). Segments are cut only when it is written: chunks
 * of one group are laid out next to each other, so that near-duplicates share a compressed segment.
 */
export class OpenPartition {
  private readonly entries: Entry[] = [];
  private readonly byBlob = new Map<number, Entry>();
  rawBytes = 0;
  lastUse = 0;

  constructor(readonly id: number, private readonly segmentBytes: number) {}

  /** Adds a chunk (the partition keeps it; callers must not mutate it after). */
  add(blobId: number, chunk: ChunkData, group = blobId): void {
    const e: Entry = { blobId, chunk, group, raw: align8(rawByteLength(chunk)) };
    this.entries.push(e);
    this.byBlob.set(blobId, e);
    this.rawBytes += e.raw;
  }

  chunk(blobId: number): ChunkData {
    const e = this.byBlob.get(blobId);
    if (!e) throw new MistiqueError('CORRUPT', `open partition ${this.id} has no blob ${blobId}`);
    return e.chunk;
  }

  /** Segments (groups together, groups in order of first arrival) and where each blob landed. */
  layout(): { segments: OpenSegment[]; where: Map<number, { segment: number; slot: Slot }> } {
    const first = new Map<number, number>();
    this.entries.forEach((e, i) => { if (!first.has(e.group)) first.set(e.group, i); });
    const order = this.entries.map((e, i) => ({ e, i })).sort((a, b) => first.get(a.e.group)! - first.get(b.e.group)! || a.i - b.i);
    const segments: OpenSegment[] = [];
    const where = new Map<number, { segment: number; slot: Slot }>();
    let seg: OpenSegment | undefined;
    for (const { e } of order) {
      const chunk = e.chunk;
      if (!seg || seg.nrows !== chunk.nrows || (seg.rawLength > 0 && seg.rawLength + e.raw > this.segmentBytes)) {
        seg = { nrows: chunk.nrows, chunks: [], slots: [], rawLength: 0, ncols: 0 };
        segments.push(seg);
      }
      const slot: Slot = {
        type: chunk.type, nrows: chunk.nrows, ncols: chunk.ncols,
        colStart: seg.ncols, byteOffset: seg.rawLength, byteLength: rawByteLength(chunk),
      };
      seg.chunks.push(chunk);
      seg.slots.push(slot);
      seg.rawLength += e.raw;
      seg.ncols += chunk.order === 'row' ? 1 : chunk.ncols; // a row-major chunk is one (list) column of a table segment
      where.set(e.blobId, { segment: segments.length - 1, slot });
    }
    return { segments, where };
  }
}

export function partitionFileName(id: number, codec: SegmentCodec): string {
  return `p${String(id).padStart(8, '0')}.${codec.ext}`;
}

/**
 * Encodes all segments (in parallel, on the threadpool where the codec can) and writes the file atomically.
 * The writes and the fsync run on the threadpool too: the caller's thread goes on (the next forward pass,
 * the next RowBlock) while the disk works.
 */
export async function writePartition(
  dir: string, p: OpenPartition, layout: OpenSegment[], codec: SegmentCodec,
): Promise<{ partition: PartitionRow; segments: SegmentRow[] }> {
  const encoded = await encodeSegments(layout, codec);
  const file = partitionFileName(p.id, codec);
  const tmp = path.join(dir, `.${file}.tmp`);
  const segments: SegmentRow[] = [];
  let offset = 0;
  try {
    const fh = await fs.promises.open(tmp, 'w');
    try {
      for (const [i, parts] of encoded.entries()) {
        const length = parts.reduce((a, b) => a + b.byteLength, 0);
        segments.push({ partition_id: p.id, seg: i, offset, length, raw_length: layout[i]!.rawLength, crc32: checksumsOn ? checksumParts(parts) : null });
        offset += length;
      }
      // all segments in one writev: one trip through the threadpool, not one per segment queued behind
      // the compression batches of other partitions
      await writeAll(fh, encoded.flat());
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, path.join(dir, file));
    await syncDir(dir); // the rename itself survives a power cut only once the directory is synced
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return {
    partition: { id: p.id, codec: codec.id, file, bytes: offset, raw_bytes: p.rawBytes, n_segments: segments.length },
    segments,
  };
}

/** Each segment's encoded bytes, as pieces (one, but for codecs with encodeParts). */
async function encodeSegments(layout: OpenSegment[], codec: SegmentCodec): Promise<Uint8Array[][]> {
  if (codec.encodeParts) return layout.map((s) => codec.encodeParts!(s.chunks, s.rawLength));
  const whole = codec.encodeMany ? await codec.encodeMany(layout) : await mapLimit(layout, os.availableParallelism(), (s) => codec.encode(s.chunks, s.rawLength));
  return whole.map((b) => [b]);
}

/** A write may write less than asked (a full disk, a signal): write until all is out or it throws. */
export async function writeAll(fh: Pick<fs.promises.FileHandle, 'writev'>, parts: readonly Uint8Array[]): Promise<void> {
  let rest = parts.filter((b) => b.byteLength > 0);
  while (rest.length > 0) {
    let n = (await fh.writev(rest)).bytesWritten;
    // Stryker disable next-line EqualityOperator: an empty part is never left in rest (filtered above, dropped below)
    while (rest.length > 0 && n >= rest[0]!.byteLength) n -= rest.shift()!.byteLength;
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}

/** fsyncs a directory: a rename or unlink in it survives a power cut only then. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

/**
 * Buffers for encoded bytes that live only until they are decoded, taken and given back instead of
 * allocated per read: a one-row read of a wide layer reads four ~80 KB segments, and allocating them
 * afresh each time made V8 collect its heap every ~15 reads. Only for codecs whose decoded output is a
 * buffer of its own (gzip, LZ4), never a view of the bytes read — Arrow IPC's is.
 */
export class ScratchBuffers {
  private readonly free: Buffer[] = [];

  constructor(private readonly keep = 8, private readonly maxBytes = 1 << 20) {}

  /** A buffer of `length` bytes (its own 8-byte aligned ArrayBuffer, contents undefined). */
  take(length: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= length);
    const whole = i >= 0 ? this.free.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(Math.max(length, Math.ceil(length / SCRATCH_STEP) * SCRATCH_STEP));
    return whole.subarray(0, length);
  }

  /** Gives back a buffer `take` returned: the caller keeps no view of it. */
  give(b: Uint8Array): void {
    const whole = Buffer.from(b.buffer, 0, b.buffer.byteLength);
    if (whole.length <= this.maxBytes && this.free.length < this.keep) this.free.push(whole);
  }
}
/** Scratch buffers are sized in steps of this many bytes, so that segments of similar size share them. */
const SCRATCH_STEP = 64 * 1024;

/** Open file descriptors of partition files, least recently used closed first (never one a read is using). */
export class PartitionFiles {
  private readonly fds = new Map<string, { fd: number; users: number }>();

  constructor(private readonly dir: string, private readonly maxOpen = 64) {}

  /**
   * Reads one segment's encoded bytes into a fresh, 8-byte aligned buffer (its own ArrayBuffer, not
   * zero-filled). Asynchronous (the threadpool): a full read overlaps the disk with decoding and copying.
   */
  async read(file: string, seg: SegmentRow, scratch?: ScratchBuffers): Promise<Uint8Array> {
    return this.readRange(file, seg.offset, seg.length, `segment ${seg.seg}`, scratch);
  }

  /** `length` bytes at `offset` (`what` names them in errors), as `read` does — into a buffer of `scratch` if given. */
  async readRange(file: string, offset: number, length: number, what: string, scratch?: ScratchBuffers): Promise<Uint8Array> {
    const out = scratch ? scratch.take(length) : Buffer.allocUnsafeSlow(length);
    const e = this.open(file);
    e.users++;
    let n: number;
    try {
      n = await new Promise<number>((resolve, reject) => {
        fs.read(e.fd, out, 0, length, offset, (err, bytes) => (err ? reject(err) : resolve(bytes)));
      });
    } finally {
      e.users--;
      this.evict();
    }
    if (n !== length) {
      scratch?.give(out);
      throw new MistiqueError('CORRUPT', `partition ${file} ${what}: read ${n} of ${length} bytes at offset ${offset}; the file is truncated`);
    }
    return out;
  }

  private open(file: string): { fd: number; users: number } {
    let e = this.fds.get(file);
    if (e) {
      this.fds.delete(file);
      this.fds.set(file, e);
      return e;
    }
    try {
      e = { fd: fs.openSync(path.join(this.dir, file), 'r'), users: 0 };
    } catch (err) {
      throw new MistiqueError('CORRUPT', `partition file ${file} is missing from ${this.dir}: the store was modified outside mistique`, { cause: err });
    }
    this.fds.set(file, e);
    this.evict();
    return e;
  }

  private evict(): void {
    for (const [file, e] of this.fds) {
      if (this.fds.size <= this.maxOpen) break;
      if (e.users > 0) continue;
      this.fds.delete(file);
      fs.closeSync(e.fd);
    }
  }

  close(): void {
    for (const e of this.fds.values()) fs.closeSync(e.fd);
    this.fds.clear();
  }
}

/**
 * Runs fn over items, at most `limit` at a time. After a failure nothing new starts, and it rejects only
 * once the calls under way have ended: no work of a failed call goes on behind the caller's back.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const runs = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const bad = runs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
  return out;
}
