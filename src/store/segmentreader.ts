// SegmentReader: stored chunks back from the partition files — a segment at a time through the
// bufferpool's decoded segments, or a scan's runs of segments read with one file read each and inflated
// on the worker threads, straight into the reader's result where it asks.
import { LRUCache } from 'lru-cache';
import os from 'node:os';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import type { ChunkData } from '../model/dataframe.js';
import type { BlobRow, MetadataDB, PartitionRow, SegmentRow } from '../metadata/metadatadb.js';
import type { ChunkPlacement, ScatterTask } from '../reader/scatter.js';
import { inflate } from '../workers/pool.js';
import type { BufferPool } from './bufferpool.js';
import { checksumsOn, segmentMismatch } from './checksum.js';
import { keptEncoded, type DecodedSegment, type InflateCodec, type RowSpan, type SegmentCodec, type Slot } from './codecs/index.js';
import { rangeTask, segmentView, workersDecode } from '../reader/scatter.js';
import type { InflateResult } from './inflate.js';
import { ioError } from './ioerror.js';
import { mapLimit, PartitionFiles, ScratchBuffers } from './partition.js';

export class SegmentReader {
  private readonly files: PartitionFiles;
  /** Buffers for segment bytes read only to be decoded (gzip, LZ4), reused from read to read. */
  private readonly scratch = new ScratchBuffers();
  /**
   * Buffers a scan reads its ranges into, handed back by the workers once decoded into the result: each
   * fresh one was first-touched page by page (a full read of bench:io's tensor reads 50–96 MB; with them,
   * 5 interleaved pairs of bench:io: LZ4 fp32 reads 610 → 716 MB/s median, Arrow 569 → 645). As many as
   * a scan has reads under way (twice the cores), of at most a range's bytes.
   */
  private readonly scanScratch = new ScratchBuffers(os.availableParallelism() * 2, RANGE_BYTES + RANGE_GAP_BYTES + (64 << 10));
  private readonly partitions = new Map<number, PartitionRow>();
  private readonly segmentCache = new LRUCache<number, SegmentRow[]>({ max: 256 });
  /** Per partition whose rows are not loaded, how many of its segment rows were looked up alone. */
  private readonly segmentLookups = new Map<number, number>();

  constructor(dir: string, private readonly db: MetadataDB, private readonly codec: SegmentCodec, private readonly pool: BufferPool) {
    this.files = new PartitionFiles(path.join(dir, 'partitions'));
  }

  /** A partition just written: its row, sparing a lookup when it is read. */
  written(p: PartitionRow): void {
    this.partitions.set(p.id, p);
  }

  /**
   * The chunks of stored blobs, grouped by segment, into `out` by blob id: each segment decoded once
   * (through the bufferpool unless `scan`); a scan of a raw-layout codec runs of segments at a time, on
   * the worker threads, decoding what `into` places straight into the reader's result. `spans`: the rows
   * each blob is read for; a segment whose wanted rows are few, and whose codec can skip the others
   * (`decodeRows`), decodes those rows alone, past the bufferpool — its chunks then carry `firstRow`.
   */
  async read(bySegment: BlobRow[][], scan: boolean, out: Map<number, ChunkData>, into?: ScatterInto, spans?: ReadonlyMap<number, RowSpan>): Promise<void> {
    if (scan && this.codec.inflate && workersDecode(this.codec.inflate, into !== undefined)) return this.scanSegments(bySegment, this.codec.inflate, out, into);
    await mapLimit(bySegment, os.availableParallelism() * 2, async (blobs) => {
      const seg = await this.segment(blobs[0]!.partition_id, blobs[0]!.segment, scan, spans && this.fewRows(blobs, spans));
      for (const b of blobs) out.set(b.id, seg.chunk(slotOf(b)));
    });
  }

  /** The rows of a segment its blobs are read for, when a decode of those alone pays (few of them, not decoded already). */
  private fewRows(blobs: readonly BlobRow[], spans: ReadonlyMap<number, RowSpan>): PartRead | undefined {
    if (!this.codec.decodeRows || this.isDecoded(blobs[0]!.partition_id, blobs[0]!.segment)) return undefined;
    let lo = Infinity, hi = -Infinity;
    for (const b of blobs) {
      const r = spans.get(b.id);
      if (!r) return undefined;
      lo = Math.min(lo, r.first);
      hi = Math.max(hi, r.first + r.count);
    }
    // the chunks of a segment have the same row count
    const of = blobs[0]!.n_rows;
    return (hi - lo) * FEW_ROWS <= of ? { first: lo, count: hi - lo, of } : undefined;
  }

  /**
   * A scan's segments of a raw-layout codec: the wanted segments of a partition that lie (nearly) next to
   * each other are read with one file read of up to RANGE_BYTES, then checked and inflated on a worker
   * thread into one buffer (store/inflate.ts), whose views are the chunks — a full read makes a few
   * dozen reads and thread hops instead of one per segment, and the main thread is left to copy rows.
   */
  private async scanSegments(groups: BlobRow[][], codec: InflateCodec, out: Map<number, ChunkData>, into?: ScatterInto): Promise<void> {
    const wanted = groups.map((blobs) => {
      const part = this.partitionRow(blobs[0]!.partition_id);
      const row = this.segmentRows(part.id)[blobs[0]!.segment];
      if (!row) throw new MistiqueError('CORRUPT', `partition ${part.id} has no segment ${blobs[0]!.segment} in the MetadataDB`);
      return { part, row, blobs };
    });
    wanted.sort((a, b) => a.part.id - b.part.id || a.row.offset - b.row.offset);
    const ranges: (typeof wanted)[] = [];
    for (const w of wanted) {
      const cur = ranges[ranges.length - 1];
      const first = cur?.[0], last = cur?.[cur.length - 1];
      const joins = first && last && first.part.id === w.part.id
        && w.row.offset - (last.row.offset + last.row.length) <= RANGE_GAP_BYTES
        && w.row.offset + w.row.length - first.row.offset <= RANGE_BYTES;
      if (joins) cur.push(w);
      else ranges.push([w]);
    }
    await mapLimit(ranges, os.availableParallelism() * 2, async (range) => {
      const part = range[0]!.part, start = range[0]!.row.offset;
      const last = range[range.length - 1]!.row;
      const what = range.length === 1 ? `segment ${range[0]!.row.seg}` : `segments ${range[0]!.row.seg}…${last.seg}`;
      let res: InflateResult;
      // decoded into the reader's result only when every chunk of the range has a place there
      const scattered = into !== undefined && range.every(({ blobs }) => blobs.every((b) => into.place(b.id).length > 0));
      try {
        const bytes = await this.files.readRange(part.file, start, last.offset + last.length - start, what, scattered ? this.scanScratch : undefined);
        const segs = new Float64Array(4 * range.length);
        range.forEach(({ row }, i) => segs.set([row.offset - start, row.length, row.raw_length, row.crc32 !== null && checksumsOn ? row.crc32 : -1], 4 * i));
        const placed: ChunkPlacement[] = [];
        if (scattered) {
          range.forEach(({ blobs }, i) => {
            for (const b of blobs) for (const p of into!.place(b.id)) placed.push({ seg: i, slot: slotOf(b), tile: p.tile, block: p.block });
          });
        }
        res = await inflate({ op: 'inflate', codec, bytes, segs, scatter: scattered ? rangeTask(into!.task, placed) : undefined }, scattered);
        if (res.spent) this.scanScratch.give(res.spent);
      } catch (err) {
        throw ioError(`reading ${part.file} ${what} (${part.codec})`, err);
      }
      if (res.badIndex >= 0) {
        const row = range[res.badIndex]!.row;
        const corrupt = new MistiqueError('CORRUPT', `${res.bad}; it serves ${this.db.intermediatesOfSegment(part.id, row.seg).join(', ') || 'no intermediate'}. Run \`mistique verify\``);
        throw ioError(`reading ${part.file} segment ${row.seg} (${part.codec})`, corrupt);
      }
      range.forEach(({ row, blobs }, i) => {
        this.decodedRawBytes += row.raw_length;
        this.decodedSegments++;
        if (scattered) return;
        const off = res.offsets[i]!;
        const seg = segmentView(codec, res.raw.subarray(off, off + (keptEncoded(codec) ? row.length : row.raw_length)));
        for (const b of blobs) out.set(b.id, seg.chunk(slotOf(b)));
      });
    });
  }

  /** A segment decoded (through the bufferpool unless `scan`), or its rows `span` alone (never kept). */
  private async segment(partitionId: number, seg: number, scan: boolean, span?: PartRead): Promise<DecodedSegment> {
    const key = `${partitionId}:${seg}`;
    const cached = scan || span ? undefined : this.pool.getDecoded(key);
    if (cached) return cached;
    const part = this.partitionRow(partitionId);
    const row = this.segmentRow(partitionId, seg);
    if (!row) throw new MistiqueError('CORRUPT', `partition ${partitionId} has no segment ${seg} in the MetadataDB`);
    // gzip and LZ4 decode into a buffer of their own: the bytes read are scratch, given back once decoded
    // (never Arrow's: its decoded segment is a view of the bytes read)
    const scratch = this.codec.inflate === 'gzip' || this.codec.inflate === 'lz4' ? this.scratch : undefined;
    try {
      const bytes = await this.files.read(part.file, row, scratch);
      let decoded: DecodedSegment;
      try {
        const mismatch = segmentMismatch(bytes, row.crc32);
        if (mismatch) throw new MistiqueError('CORRUPT', `${mismatch}; it serves ${this.db.intermediatesOfSegment(partitionId, seg).join(', ') || 'no intermediate'}. Run \`mistique verify\``);
        decoded = span ? await this.codec.decodeRows!(bytes, row.raw_length, span) : await this.codec.decode(bytes, row.raw_length);
      } finally {
        scratch?.give(bytes);
      }
      // a decode in part counts its share of the raw bytes (the read model learns the work done)
      this.decodedRawBytes += span ? Math.round((row.raw_length * span.count) / span.of) : row.raw_length;
      this.decodedSegments++;
      if (!scan && !span) this.pool.putDecoded(key, decoded);
      return decoded;
    } catch (err) {
      throw ioError(`reading ${part.file} segment ${seg} (${part.codec})`, err);
    }
  }

  /**
   * One segment's row: from the partition's rows once they are loaded, else looked up alone — until the
   * partition's lookups pass WHOLE_PARTITION_AFTER, when all its rows are loaded. A store's first one-row
   * read needs a few segments of a partition of hundreds; loading and checking all their rows cost it
   * ~0.25 ms (a third of what it paid more than a later query).
   */
  private segmentRow(partitionId: number, seg: number): SegmentRow | undefined {
    const all = this.segmentCache.get(partitionId);
    if (all) return all[seg];
    const n = (this.segmentLookups.get(partitionId) ?? 0) + 1;
    if (n > WHOLE_PARTITION_AFTER) {
      this.segmentLookups.delete(partitionId);
      return this.segmentRows(partitionId)[seg];
    }
    this.segmentLookups.set(partitionId, n);
    return this.db.segment(partitionId, seg);
  }

  private segmentRows(partitionId: number): SegmentRow[] {
    let rows = this.segmentCache.get(partitionId);
    if (!rows) {
      rows = this.db.segments(partitionId);
      this.segmentCache.set(partitionId, rows);
    }
    return rows;
  }

  private partitionRow(id: number): PartitionRow {
    let p = this.partitions.get(id);
    if (!p) {
      p = this.db.partition(id);
      if (!p) throw new MistiqueError('CORRUPT', `partition ${id} is not registered`);
      if (p.codec !== this.codec.id) throw new MistiqueError('CORRUPT', `partition ${id} is ${p.codec} but this store writes ${this.codec.id}`);
      this.partitions.set(id, p);
    }
    return p;
  }

  /** Raw bytes of the segments decoded from disk since the store was opened (the cost model's ρ_d is measured with it). */
  decodedRawBytes = 0;
  /** Segments decoded from disk since the store was opened. */
  decodedSegments = 0;

  /** Whether a segment is decoded in the bufferpool (a read of it costs no inflating). */
  isDecoded(partitionId: number, seg: number): boolean {
    return this.pool.hasDecoded(`${partitionId}:${seg}`);
  }

  /** Closes the partition files' descriptors (a later read opens its file again, by name). */
  close(): void {
    this.files.close();
  }
}

/** A reader's wish that a scan decode chunks straight into its shared result (reader/scatter.ts). */
export interface ScatterInto {
  /** The task's parts common to every chunk: the result, its width, the decoder, tiles and RowBlock rows. */
  task: Omit<ScatterTask, 'chunks'>;
  /** Where a blob's chunk goes (a blob shared by several chunks goes to several places); none: return it. */
  place(blobId: number): readonly { tile: number; block: number }[];
}

/** Where a blob's chunk lies in its decoded segment. */
function slotOf(b: BlobRow): Slot {
  return { type: b.type, nrows: b.n_rows, ncols: b.n_cols, colStart: b.col_start, byteOffset: b.byte_offset, byteLength: b.byte_length };
}

/** Rows of a segment decoded alone, and how many rows the segment holds. */
interface PartRead extends RowSpan { of: number }

/** A partition's segment rows are loaded all at once after this many were looked up one by one. */
const WHOLE_PARTITION_AFTER = 32;

/** A segment is decoded in part when its wanted rows are at most 1/FEW_ROWS of its rows. */
const FEW_ROWS = 4;

/** A scan reads the wanted segments of a partition with one file read of at most this many bytes… */
const RANGE_BYTES = 1024 * 1024;
/** …skipping gaps (other intermediates' segments) of at most this many bytes between them. */
const RANGE_GAP_BYTES = 64 * 1024;
