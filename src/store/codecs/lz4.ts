// lz4 codec: the raw segment layout of gzip (raw.ts), compressed with LZ4 (LZ4 block format, the raw
// length prepended) — by liblz4 where native/lz4 was built (lz4native.ts), else by lz4-napi. Here LZ4
// compresses ReLU activations ~4× and inflates them ~4× faster than gzip level 6, at ~20% more bytes
// (bench:io). With lz4-napi, large segments are (de)compressed on the threadpool.
import { createRequire } from 'node:module';
import { MistiqueError } from '../../errors.js';
import type { SegmentCodec } from './codec.js';
import { alignedRaw, concatAligned, RawSegment } from './raw.js';
import { nativeLz4 } from './lz4native.js';

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
      // liblz4 compresses on the calling thread (the addon has no async entry); bench:io's A/B logs as fast or faster
      if (nativeLz4) return nativeLz4.compress(raw);
      // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: which thread (de)compresses, not what comes out
      return raw.length < SYNC_BELOW ? lz4.compressSync(raw) : lz4.compress(raw);
    },
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
