// lz4 codec: the raw segment layout of gzip (raw.ts), compressed with LZ4 (LZ4 block format, the raw
// length prepended) — by liblz4 where native/lz4 was built (lz4native.ts), else by lz4-napi. Here LZ4
// compresses ReLU activations ~4× and inflates them ~4× faster than gzip level 6, at ~20% more bytes
// (bench:io). A partition's segments are compressed on libuv's threadpool, one batch of consecutive
// segments per core (liblz4's compressBatch; with lz4-napi, each large segment on its own).
import { createRequire } from 'node:module';
import os from 'node:os';
import { MistiqueError } from '../../errors.js';
import type { SegmentCodec } from './codec.js';
import { alignedRaw, concatAligned, RawSegment } from './raw.js';
import { nativeLz4, type NativeLz4 } from './lz4native.js';

interface Lz4 {
  compress(b: Buffer): Promise<Buffer>;
  compressSync(b: Buffer): Buffer;
  uncompress(b: Buffer): Promise<Buffer>;
  uncompressSync(b: Buffer): Buffer;
}

/** Inputs below this many bytes are (de)compressed on the calling thread: a threadpool hop costs more. */
// Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: which thread (de)compresses, not what comes out
const SYNC_BELOW = 64 * 1024;

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function lz4Codec(): SegmentCodec {
  let lz4: Lz4;
  try {
    lz4 = createRequire(import.meta.url)('lz4-napi') as Lz4;
  } catch (err) {
    throw new MistiqueError('UNSUPPORTED', `the lz4 codec needs the lz4-napi package, which did not load here (${(err as Error).message}); use codec gzip`, { cause: err });
  }
  return {
    id: 'lz4',
    ext: 'lz4',
    inflate: 'lz4',
    async encode(chunks, rawLength) {
      const raw = asBuffer(concatAligned(chunks, rawLength));
      // one segment on the calling thread (a threadpool hop costs more than 64 KB of LZ4); a partition's
      // segments go through encodeMany
      if (nativeLz4) return nativeLz4.compress(raw);
      // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: which thread (de)compresses, not what comes out
      return raw.length < SYNC_BELOW ? lz4.compressSync(raw) : lz4.compress(raw);
    },
    ...(nativeLz4 ? { encodeMany: (segments) => compressOnThreadpool(nativeLz4!, segments.map((s) => concatAligned(s.chunks, s.rawLength))) } : {}),
    async decode(bytes, rawLength) {
      const b = asBuffer(bytes);
      if (nativeLz4) {
        const raw = new Uint8Array(rawLength);
        // a mismatch falls through to lz4-napi, whose error or length says what is wrong
        if (nativeLz4.decompress(b, raw) === rawLength) return new RawSegment(raw);
      }
      // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: which thread (de)compresses, not what comes out
      const raw = rawLength < SYNC_BELOW ? lz4.uncompressSync(b) : await lz4.uncompress(b);
      if (raw.byteLength !== rawLength) {
        throw new MistiqueError('CORRUPT', `lz4 segment decompressed to ${raw.byteLength} bytes but ${rawLength} were written`);
      }
      return new RawSegment(alignedRaw(raw));
    },
    decodedFrom(chunks, rawLength) {
      return new RawSegment(concatAligned(chunks, rawLength));
    },
  };
}

/**
 * liblz4 on the threadpool: the raw segments cut into one run of consecutive segments per core, of about
 * equal bytes, each run one batch on a threadpool thread — the calling thread goes on (the next batch of
 * a log) while the cores compress. Results in the order of `raws`.
 */
export async function compressOnThreadpool(lib: NativeLz4, raws: Uint8Array[]): Promise<Uint8Array[]> {
  const runs = cutRuns(raws.map((r) => r.byteLength), os.availableParallelism());
  const out = await Promise.all(runs.map(([a, b]) => lib.compressBatch(raws.slice(a, b))));
  return out.flat();
}

/** [start, end) runs of consecutive items, at most `k`, none empty, of about equal total size. Pure. */
export function cutRuns(sizes: readonly number[], k: number): [number, number][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const runs: [number, number][] = [];
  let start = 0, acc = 0;
  for (let i = 0; i < sizes.length; i++) {
    acc += sizes[i]!;
    // close the run once it holds its share of the bytes (the last run takes the rest)
    if (runs.length < k - 1 && acc >= (total * (runs.length + 1)) / k) {
      runs.push([start, i + 1]);
      start = i + 1;
    }
  }
  if (start < sizes.length) runs.push([start, sizes.length]);
  return runs;
}
