// The Store API's options and summaries (what openStore, log and stats take and give), apart from the
// Store's wiring in mistique.ts, which re-exports them.
import type { FrameOptions } from './model/dataframe.js';
import type { CodecId } from './store/codecs/index.js';
import type { ParquetCompression } from './store/codecs/parquet.js';
import type { StoragePolicy } from './store/datastore.js';

export interface StoreOptions {
  /**
   * How partitions are compressed: lz4 (default: of the four, the fastest to log and to read on bench:io,
   * for ~25% more bytes than gzip), gzip (the paper's), parquet, or arrow (uncompressed IPC). Fixed at creation.
   */
  codec?: CodecId;
  /**
   * store_all: every chunk is written (the baseline); dedup (default): identical chunks are stored once
   * and similar ones compressed together; adaptive: dedup for what is stored, but an intermediate a
   * workflow can re-create is stored only once its γ (Eq. 5.5) reaches `gammaMin`.
   */
  policy?: StorePolicy;
  /** Policy adaptive: γ_min in seconds of query time saved per GB stored (default 100 000 s/GB = 0.1 s/KB). */
  gammaMin?: number;
  /** Rows per RowBlock (default 1024). Fixed at creation. */
  rowBlockSize?: number;
  /**
   * τ for approximate de-duplication under policy dedup (default 0.5): a column chunk whose estimated
   * Jaccard similarity to a stored chunk is at least τ is placed in that chunk's group and partition.
   */
  similarityThreshold?: number;
  /** Bufferpool budget in bytes (default 256 MB). */
  bufferpoolBytes?: number;
  /** A partition is written once it holds this many uncompressed bytes (default 16 MB, at most half the budget). */
  partitionBytes?: number;
  /**
   * Chunks are encoded together in segments of about this many bytes. Default by codec: gzip 64 KB (its
   * window is 32 KB, so larger segments compress no better but make a one-row read inflate more),
   * arrow 1 MB (uncompressed: fewer, larger segments cost nothing in size), parquet 256 KB.
   */
  segmentBytes?: number;
  /** gzip level 1–9 (default 6). */
  gzipLevel?: number;
  /** Compression inside Parquet partitions (default snappy; zstd is smaller and decodes ~3× slower in parquet-wasm). */
  parquetCompression?: ParquetCompression;
  /** Open only: fail if the directory is not a store yet (default: create it). */
  create?: boolean;
  /**
   * One writer at a time: the first write takes the store's write lock (readers need none). A second
   * writer waits this long for it, then fails with LOCKED (default 0: fails at once).
   */
  lockTimeoutMs?: number;
  /** Every log call returns only once what it logged is durable (default false: see flushBytes, flushMs). */
  durable?: boolean;
  /**
   * Logged data is written out once this many uncompressed bytes wait in memory (default 64 MB), and
   * once any has waited flushMs (default 30 000 ms): a killed process loses at most that window.
   */
  flushBytes?: number;
  flushMs?: number;
}

export type StorePolicy = StoragePolicy | 'adaptive';

export interface LogOptions extends FrameOptions {
  /**
   * A workflow mistique runs can re-create this intermediate (set by the executors): under policy
   * adaptive it is then registered without being stored until queries make it worth its bytes.
   */
  rerunnable?: boolean;
  /** The storage scheme applied before storing (recorded in metadata). */
  scheme?: string;
  /** The name the intermediate has in its own framework (e.g. an ONNX node output). */
  originalName?: string;
  /** Approximate (MinHash) de-duplication of its chunks under policy dedup; default yes for named columns, no for tensors. */
  approximate?: boolean;
  /** Put the new data in the place of an intermediate already stored under this key (default: EXISTS error). */
  replace?: boolean;
  /** Return only once it is durable: its partitions written and synced, its registration committed (default: the store's `durable`). */
  durable?: boolean;
}

export interface IntermediateSummary {
  key: string;
  rows: number;
  columns: number;
  shape: number[] | null;
  scheme: string;
  bytesRaw: number;
  bytesStored: number;
  queries: number;
  /** false: registered but not stored (policy adaptive); queries re-run it. */
  materialized: boolean;
}

export interface StoreStats {
  dir: string;
  codec: CodecId;
  policy: StorePolicy;
  intermediates: number;
  /** Uncompressed bytes of everything logged. */
  bytesLogged: number;
  /** Uncompressed bytes actually kept after de-duplication. */
  bytesUnique: number;
  /** Compressed bytes of the partition files. */
  bytesOnDisk: number;
  dedupRatio: number;
  compressionRatio: number;
  partitions: number;
  chunks: number;
  /** Approximate de-duplication since the store was opened: chunks signed, chunks that found a similar stored chunk, and of those, how many joined its still-open partition. */
  approximate: { signed: number; matched: number; colocated: number };
  items: IntermediateSummary[];
}
