// The options a Store is opened with, all checked before anything is opened or created: a bad one is a
// BAD_OPTION naming it, and the directory is left as it was.
import { MistiqueError } from './errors.js';
import type { CodecId } from './store/codecs/index.js';
import type { DataStoreOptions } from './store/datastore.js';
import { DEFAULT_SEGMENT_BYTES, fraction, positive } from './store/manifest.js';
import { checkParquetCompression } from './store/codecs/parquet.js';
import type { StoreOptions, StorePolicy } from './storetypes.js';

const MB = 1024 * 1024;

export interface OpenSettings {
  /** The policy given, if any (otherwise the one the store was last opened with). */
  policy: StorePolicy | undefined;
  gammaMin: number | undefined;
  lockTimeoutMs: number;
  flushMs: number;
  durable: boolean;
  /** The DataStore's options for a store of `codec` under `policy`. */
  dataStore(codec: CodecId, policy: StorePolicy): DataStoreOptions;
}

/** Whether `x` names a storage policy (an option given, or the one a store kept in its metadata). */
export function isStorePolicy(x: unknown): x is StorePolicy {
  return x === 'dedup' || x === 'store_all' || x === 'adaptive';
}

export function checkStoreOptions(opts: StoreOptions): OpenSettings {
  const policy = opts.policy;
  if (policy !== undefined && !isStorePolicy(policy)) throw new MistiqueError('BAD_OPTION', `policy ${JSON.stringify(policy)} is unknown: use store_all, dedup or adaptive`);
  if (opts.gammaMin !== undefined && (typeof opts.gammaMin !== 'number' || !(opts.gammaMin >= 0))) throw new MistiqueError('BAD_OPTION', `gammaMin must be a number ≥ 0 (seconds saved per GB stored), got ${opts.gammaMin}`);
  const budget = positive('bufferpoolBytes', opts.bufferpoolBytes ?? 256 * MB);
  const lockTimeoutMs = opts.lockTimeoutMs ?? 0;
  if (typeof lockTimeoutMs !== 'number' || !(lockTimeoutMs >= 0)) throw new MistiqueError('BAD_OPTION', `lockTimeoutMs must be a number ≥ 0, got ${opts.lockTimeoutMs}`);
  const flushMs = positive('flushMs', opts.flushMs ?? 30_000);
  // a partition is written at half the budget at most: the other half holds what is being filled and read.
  // 16 MB by default: a partition's write (encode, write, fsync) starts once it is full, and while the
  // writes under way hold flushBytes the writer waits — with 64 MB partitions it waited for the whole
  // first one (bench:io's 96 MB tensor logged at 282 MB/s with LZ4, against 330 at 16 MB and 8 MB)
  const partitionBytes = Math.min(positive('partitionBytes', opts.partitionBytes ?? 16 * MB), Math.max(1, Math.floor(budget / 2)));
  const segmentBytes = opts.segmentBytes === undefined ? undefined : positive('segmentBytes', opts.segmentBytes);
  const similarityThreshold = fraction('similarityThreshold', opts.similarityThreshold ?? 0.5);
  const flushBytes = positive('flushBytes', opts.flushBytes ?? 64 * MB);
  if (opts.gzipLevel !== undefined && !(Number.isInteger(opts.gzipLevel) && opts.gzipLevel >= 0 && opts.gzipLevel <= 9)) throw new MistiqueError('BAD_OPTION', `gzipLevel must be an integer from 0 to 9, got ${opts.gzipLevel}`);
  if (opts.parquetCompression !== undefined) checkParquetCompression(opts.parquetCompression);
  return {
    policy, gammaMin: opts.gammaMin, lockTimeoutMs, flushMs, durable: opts.durable === true,
    dataStore: (codec, p) => ({
      policy: p === 'adaptive' ? 'dedup' : p,
      bufferpoolBytes: budget, partitionBytes, similarityThreshold, flushBytes,
      segmentBytes: segmentBytes ?? DEFAULT_SEGMENT_BYTES[codec],
    }),
  };
}
