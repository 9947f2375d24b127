// DataStore: decides where each ColumnChunk goes (exact de-duplication, partition placement) and keeps
// the BufferPool within budget by writing partitions out; chunks are read back by its SegmentReader.
import { zoneOf } from './zonemap.js';
import fs from 'node:fs';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import type { ChunkData } from '../model/dataframe.js';
import type { BlobRow, MetadataDB } from '../metadata/metadatadb.js';
import { BufferPool } from './bufferpool.js';
import type { RowSpan, SegmentCodec } from './codecs/index.js';
import { ioError } from './ioerror.js';
import { LSHIndex, sigFromBytes, signature, sigToBytes } from './minhash.js';
import { mapLimit, OpenPartition, writePartition } from './partition.js';
import { align8, rawByteLength } from './chunk.js';
import { SegmentReader, type ScatterInto } from './segmentreader.js';

export type StoragePolicy = 'store_all' | 'dedup';

export interface DataStoreOptions {
  policy: StoragePolicy;
  bufferpoolBytes: number;
  partitionBytes: number;
  segmentBytes: number;
  /** τ: a new chunk whose estimated Jaccard similarity to a stored one is at least this joins its group. */
  similarityThreshold: number;
  /** Every open partition is written once this many uncompressed bytes wait in memory (the bound on what a crash loses). */
  flushBytes: number;
}

/** Where a writer's chunks go: one open partition per writer at a time, reused by later writers until full. */
export interface Placement { partition: OpenPartition | null }

/**
 * Invariants (tests: bufferpool, trust, io, dedup):
 * - A blob id is handed out when its chunk enters an open partition (`add`), before anything is on
 *   disk; the blob row is registered only when that partition is written, in the same SQLite
 *   transaction as the partition and its segments. Until then the chunk is `pendingBlobs`, readable from
 *   memory (`pool.open`, or `flushing` while its write is under way), and findable for dedup by hash.
 * - A partition is in exactly one of: open in the pool (filling; also in `idle` when no writer holds it),
 *   `flushing`, or written. A failed write puts it back open and is retried at the next settle or flush.
 * - Only the holder of the store's write lock (the Store) calls add / settle / flushAll: ids continue
 *   from the MetadataDB's maxima at the time the lock was taken (`resumeIds`).
 * - An intermediate registered while any blob it references is pending is not durable (`track`): it
 *   becomes durable in the transaction that registers its last pending blob (`completedBy`), and
 *   recovery, run only under the write lock, removes what a dead writer left not durable.
 * - `flushAll` runs one at a time and returns only after every partition write under way has ended;
 *   the partitions open at its call start their writes at once, beside those of a flushAll before it.
 *   `settle` starts writes without waiting for them (at most one flushAll, and partition writes of at
 *   most min(flushBytes, half the pool's budget), in the background): a write's failure is kept and
 *   thrown by the next settle or flushAll, after one retry.
 */
export class DataStore {
  readonly pool: BufferPool;
  /** Reads stored chunks back from the partition files. */
  readonly reads: SegmentReader;
  private readonly pendingBlobs = new Map<number, BlobRow>();
  private readonly pendingByHash = new Map<string, number>();
  private readonly flushing = new Map<number, OpenPartition>();
  private readonly idle: OpenPartition[] = [];
  private nextBlobId: number;
  private nextPartitionId: number;
  private writeError: unknown = null;
  /** Intermediates logged but not durable, with the blobs they still wait for (and the reverse). */
  private readonly waiting = new Map<number, Set<number>>();
  private readonly waitedBy = new Map<number, number[]>();
  /** Partition writes under way, and the flushAll calls queued one after another. */
  private readonly inflight = new Set<Promise<void>>();
  private flushQueue: Promise<void> = Promise.resolve();
  /** Uncompressed bytes of the partition writes under way; the flush of everything running in the background. */
  private inflightBytes = 0;
  private background: Promise<void> | null = null;
  /** Uncompressed bytes added since everything was last written, and since when they wait. */
  unflushedBytes = 0;
  unflushedSince = 0;
  // approximate de-duplication: signatures of stored chunks, the group each belongs to, and the
  // partition a group's latest member went to (loaded from the MetadataDB on first use)
  private lsh: LSHIndex | null = null;
  private readonly groupOf = new Map<number, number>();
  private readonly groupPartition = new Map<number, number>();
  private readonly pendingSigs = new Map<number, { cluster: number; sig: Uint8Array }>();
  /** Chunks that found a similar stored chunk, and of those, how many joined its (open) partition. */
  readonly approx = { signed: 0, matched: 0, colocated: 0 };

  constructor(readonly dir: string, readonly db: MetadataDB, readonly codec: SegmentCodec, readonly opts: DataStoreOptions) {
    this.pool = new BufferPool(opts.bufferpoolBytes);
    this.reads = new SegmentReader(dir, db, codec, this.pool);
    this.nextBlobId = db.maxBlobId() + 1;
    this.nextPartitionId = db.maxPartitionId() + 1;
  }

  /** Writers open on this store (gc waits for none: a writer may hold a dedup reference not yet registered). */
  openWriters = 0;

  /** A fresh partition id (for a partition gc rewrites). */
  allocPartitionId(): number {
    return this.nextPartitionId++;
  }

  /** After taking the write lock: ids continue from what other writers registered meanwhile. */
  resumeIds(): void {
    this.nextBlobId = Math.max(this.nextBlobId, this.db.maxBlobId() + 1);
    this.nextPartitionId = Math.max(this.nextPartitionId, this.db.maxPartitionId() + 1);
  }

  /** Of these blob ids, those still waiting in memory for their partition to be written. */
  unwritten(blobIds: Iterable<number>): number[] {
    const out = new Set<number>();
    for (const id of blobIds) if (this.pendingBlobs.has(id)) out.add(id);
    return [...out];
  }

  /** An intermediate registered as not durable: it becomes durable when the last of `blobIds` is written. */
  track(intermediateId: number, blobIds: readonly number[]): void {
    this.waiting.set(intermediateId, new Set(blobIds));
    for (const b of blobIds) {
      const l = this.waitedBy.get(b);
      if (l) l.push(intermediateId);
      else this.waitedBy.set(b, [intermediateId]);
    }
  }

  /** The intermediates that writing these blobs completes (nothing is changed). */
  private completedBy(blobIds: readonly number[]): number[] {
    const left = new Map<number, number>();
    for (const b of blobIds) {
      for (const i of this.waitedBy.get(b) ?? []) left.set(i, (left.get(i) ?? this.waiting.get(i)!.size) - 1);
    }
    return [...left].filter(([, n]) => n === 0).map(([i]) => i);
  }

  private written(blobIds: readonly number[]): void {
    for (const b of blobIds) {
      for (const i of this.waitedBy.get(b) ?? []) {
        const w = this.waiting.get(i);
        w?.delete(b);
        if (w?.size === 0) this.waiting.delete(i);
      }
      this.waitedBy.delete(b);
    }
  }
  /** The blob already holding identical content, under the `dedup` policy. */
  findDuplicate(hash: Buffer): number | undefined {
    if (this.opts.policy !== 'dedup') return undefined;
    return this.pendingByHash.get(hash.toString('hex')) ?? this.db.blobIdByHash(hash);
  }

  /**
   * Puts a new chunk in a partition and returns its blob id. With `approximate` (policy dedup), a chunk
   * similar to a stored one (MinHash, Jaccard ≥ τ) joins that chunk's group, and its partition while it
   * is still open; otherwise it goes to the writer's open partition.
   */
  add(place: Placement, chunk: ChunkData, hash: Buffer, approximate: boolean): number {
    const id = this.nextBlobId++;
    let p: OpenPartition | undefined;
    let group = id;
    if (approximate && this.opts.policy === 'dedup') {
      const lsh = this.lshIndex();
      const sig = signature(chunk);
      this.approx.signed++;
      const m = lsh.best(sig, this.opts.similarityThreshold);
      if (m) {
        group = this.groupOf.get(m.id) ?? m.id;
        this.approx.matched++;
        const pid = this.groupPartition.get(group);
        // Stryker disable next-line ConditionalExpression: Map.get(undefined) is undefined too; the test only spares a lookup
        p = pid === undefined ? undefined : this.pool.open.get(pid);
        if (p) this.approx.colocated++;
      }
      p ??= this.partitionFor(place);
      lsh.insert(id, sig);
      this.groupOf.set(id, group);
      this.groupPartition.set(group, p.id);
      this.pendingSigs.set(id, { cluster: group, sig: sigToBytes(sig) });
    }
    p ??= this.partitionFor(place);
    p.add(id, chunk, group);
    const blob: BlobRow = {
      // Stryker disable next-line UnaryOperator: segment −1 is a placeholder nothing reads — write() sets it with the layout
      id, hash, partition_id: p.id, segment: -1, type: chunk.type, n_rows: chunk.nrows, n_cols: chunk.ncols,
      col_start: 0, byte_offset: 0, byte_length: 0, // set when the partition is laid out and written
      ...zoneOf(chunk),
    };
    this.pendingBlobs.set(id, blob);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a hash is empty only under store_all, whose findDuplicate never looks
    if (hash.length > 0) this.pendingByHash.set(hash.toString('hex'), id);
    this.pool.touch(p);
    if (this.unflushedBytes === 0) this.unflushedSince = Date.now();
    this.unflushedBytes += align8(rawByteLength(chunk));
    return id;
  }

  private lshIndex(): LSHIndex {
    if (!this.lsh) {
      this.lsh = new LSHIndex();
      for (const r of this.db.minhashes()) {
        this.lsh.insert(r.blob_id, sigFromBytes(r.sig));
        this.groupOf.set(r.blob_id, r.cluster);
        this.groupPartition.set(r.cluster, r.partition_id);
      }
    }
    return this.lsh;
  }

  private partitionFor(place: Placement): OpenPartition {
    if (place.partition && this.pool.open.has(place.partition.id)) return place.partition;
    place.partition = this.idle.pop() ?? new OpenPartition(this.nextPartitionId++, this.opts.segmentBytes);
    if (!this.pool.open.has(place.partition.id)) this.pool.open.set(place.partition.id, place.partition);
    return place.partition;
  }

  /** A writer is done with its partition: later writers may fill it further. */
  release(place: Placement): void {
    const p = place.partition;
    place.partition = null;
    if (p && this.pool.open.has(p.id) && !this.idle.includes(p)) this.idle.push(p);
  }

  /**
   * Writes full partitions, then the least recently used ones while the pool is over budget, and every
   * open partition once flushBytes wait unwritten. The writes go on in the background (the caller logs
   * the next batch meanwhile); it waits only for the previous flush of everything before it starts the
   * next, and while the writes under way hold more than min(flushBytes, half the pool's budget).
   */
  async settle(place?: Placement): Promise<void> {
    // a failed write is retried at the next settle: once space is back, the same Store goes on
    if (this.writeError) return this.flushAll();
    if (this.unflushedBytes >= this.opts.flushBytes) {
      if (this.background) await this.background;
      if (this.unflushedBytes >= this.opts.flushBytes) {
        const run: Promise<void> = this.flushAll().catch(() => undefined).finally(() => { if (this.background === run) this.background = null; });
        this.background = run;
      }
    } else {
      const cur = place?.partition;
      if (cur && cur.rawBytes >= this.opts.partitionBytes) this.flushPartition(cur).catch(() => undefined);
      for (const p of this.pool.victims(0)) this.flushPartition(p).catch(() => undefined);
    }
    // what is being written is memory too: at most half the pool's budget (or flushBytes) of it
    const limit = Math.min(this.opts.flushBytes, this.pool.budget / 2);
    while (this.inflightBytes > limit && this.inflight.size > 0) await Promise.race(this.inflight);
    // An Arrow partition's write is I/O alone (its segments are the chunks' own bytes), and each of its
    // steps (open, writev, fsync, rename…) waits for the event loop to turn: a caller appending batch
    // after batch from memory held them back until the bound above stopped it (bench:io's Arrow fp32 log:
    // 471 → 574 MB/s with this turn, 4 of 4 pairs). Under the compressing codecs the turn measured no gain
    // (LZ4) or a loss (gzip −4–6%): bench/README.md, "a turn of the event loop".
    if (this.codec.encodeParts && this.inflight.size > 0) await eventLoopTurn();
    this.throwWriteError();
  }

  /** Resolves once the partition writes under way have ended (whether they succeeded or not). */
  async writesUnderWay(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  /**
   * Writes every open partition. `keepDecoded`: their segments stay in the bufferpool as decoded (where
   * the codec can build that without decoding), for data about to be read — an intermediate
   * materialized because queries ask for it.
   */
  async flushAll(opts: { keepDecoded?: boolean } = {}): Promise<void> {
    // what is open now starts its write at once, beside the writes under way (a partition is written by
    // whichever call takes it out of the pool first); a failure is kept and retried by the run below
    if (!this.writeError) for (const p of [...this.pool.open.values()]) if (p.rawBytes > 0) this.flushPartition(p, opts.keepDecoded === true).catch(() => undefined);
    // one at a time, and each waits for partition writes already under way: on return all is durable
    const run = this.flushQueue.then(async () => {
      this.unflushedBytes = 0;
      this.writeError = null;
      // two partitions at a time: one encodes while the other waits for its fsync
      await mapLimit([...this.pool.open.values()], 2, (p) => this.flushPartition(p, opts.keepDecoded === true));
      await this.writesUnderWay();
    });
    this.flushQueue = run.catch(() => undefined);
    await run;
    this.throwWriteError();
  }

  private flushPartition(p: OpenPartition, keepDecoded = false): Promise<void> {
    if (!this.pool.open.has(p.id)) return Promise.resolve();
    const bytes = p.rawBytes;
    this.inflightBytes += bytes;
    const w = this.writeOut(p, keepDecoded);
    const done = w.catch(() => undefined).then(() => { this.inflight.delete(done); this.inflightBytes -= bytes; });
    this.inflight.add(done);
    return w;
  }

  private async writeOut(p: OpenPartition, keepDecoded: boolean): Promise<void> {
    this.pool.open.delete(p.id);
    const i = this.idle.indexOf(p);
    if (i >= 0) this.idle.splice(i, 1);
    if (p.rawBytes === 0) return;
    this.flushing.set(p.id, p);
    try {
      const dir = path.join(this.dir, 'partitions');
      const layout = p.layout();
      const { partition, segments } = await writePartition(dir, p, layout.segments, this.codec);
      const blobs = [...this.pendingBlobs.values()].filter((b) => b.partition_id === p.id).map((b) => {
        const w = layout.where.get(b.id)!;
        return { ...b, segment: w.segment, col_start: w.slot.colStart, byte_offset: w.slot.byteOffset, byte_length: w.slot.byteLength };
      });
      const sigs = blobs.flatMap((b) => { const x = this.pendingSigs.get(b.id); return x ? [{ blob_id: b.id, ...x }] : []; });
      const ids = blobs.map((b) => b.id);
      this.db.insertPartition(partition, segments, blobs, sigs, this.completedBy(ids));
      this.written(ids);
      this.reads.written(partition);
      const from = this.codec.decodedFrom;
      // Stryker disable next-line ConditionalExpression,LogicalOperator,ArrowFunction,StringLiteral: a write-through cache — which reads come from memory, not what they return
      if (keepDecoded && from) layout.segments.forEach((s, i) => this.pool.putDecoded(`${p.id}:${i}`, from(s.chunks, s.rawLength)));
      for (const b of blobs) {
        this.pendingBlobs.delete(b.id);
        this.pendingSigs.delete(b.id);
        // Stryker disable next-line ConditionalExpression,EqualityOperator: deleting the empty hash's entry, which store_all never looks up, changes nothing
        if (b.hash.length > 0) this.pendingByHash.delete(b.hash.toString('hex'));
      }
    } catch (err) {
      // Keep the data readable from memory and report on the next write: nothing is silently lost.
      this.pool.open.set(p.id, p);
      this.unflushedBytes += p.rawBytes;
      this.writeError = err;
      throw ioError(`writing partition ${p.id}`, err);
    } finally {
      this.flushing.delete(p.id);
    }
  }

  private throwWriteError(): void {
    if (this.writeError) throw ioError('a partition write failed', this.writeError);
  }

  /**
   * Reads chunks by blob id, decoding each needed segment once (in parallel where the codec can).
   * `known` holds blob rows the caller already fetched (e.g. joined with the chunks), sparing a lookup.
   * `scan: true` neither reads nor fills the bufferpool's decoded segments: a large scan does not flush
   * them, and the chunks returned share memory with nothing the store keeps (except chunks still pending).
   * With `into`, a scan of a raw-layout codec decodes the chunks `into` places straight into its shared
   * result on the worker threads (a run of segments at a time, when it places all of the run's chunks);
   * those are then absent from the map returned. `spans`: the rows of its chunk each blob is read for;
   * a few rows of a segment whose codec can skip the others are decoded alone (the chunk's `firstRow`).
   */
  async readChunks(blobIds: Iterable<number>, known?: ReadonlyMap<number, BlobRow>, scan = false, into?: ScatterInto, spans?: ReadonlyMap<number, RowSpan>): Promise<Map<number, ChunkData>> {
    const out = new Map<number, ChunkData>();
    const stored: number[] = [];
    for (const id of new Set(blobIds)) {
      const pending = this.pendingBlobs.get(id);
      if (pending) out.set(id, this.memoryPartition(pending).chunk(id));
      else stored.push(id);
    }
    if (stored.length === 0) return out;
    const missing = known ? stored.filter((id) => !known.has(id)) : stored;
    const rows = missing.length > 0 ? this.db.blobs(missing) : new Map<number, BlobRow>();
    const bySegment = new Map<string, BlobRow[]>();
    for (const id of stored) {
      const b = known?.get(id) ?? rows.get(id);
      if (!b) throw new MistiqueError('CORRUPT', `blob ${id} is referenced but not registered: its partition was never written (a crash before flush?)`);
      const key = `${b.partition_id}:${b.segment}`;
      const list = bySegment.get(key);
      if (list) list.push(b);
      else bySegment.set(key, [b]);
    }
    await this.reads.read([...bySegment.values()], scan, out, into, spans);
    return out;
  }

  private memoryPartition(b: BlobRow): OpenPartition {
    const p = this.pool.open.get(b.partition_id) ?? this.flushing.get(b.partition_id);
    if (!p) throw new MistiqueError('CORRUPT', `blob ${b.id} is pending but partition ${b.partition_id} is not in memory`);
    return p;
  }

  /** Raw bytes of the segments decoded from disk since the store was opened (the cost model's ρ_d is measured with it). */
  get decodedRawBytes(): number { return this.reads.decodedRawBytes; }
  /** Segments decoded from disk since the store was opened. */
  get decodedSegments(): number { return this.reads.decodedSegments; }

  /** Whether a segment is decoded in the bufferpool (a read of it costs no inflating). */
  isDecoded(partitionId: number, seg: number): boolean {
    return this.reads.isDecoded(partitionId, seg);
  }

  /** Drops decoded segments (so the next read decodes from disk, as a cold read would). */
  dropCaches(): void {
    this.pool.dropDecoded();
  }

  close(): void {
    this.reads.close();
  }
}

export function ensureDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
}

/** Resolves after the event loop has run its pending I/O callbacks once. */
function eventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
