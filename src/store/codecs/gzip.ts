// gzip codec: the chunks' raw bytes, 8-byte aligned and concatenated, as one gzip member per segment.
// A partition file is then a multi-member gzip file: `gunzip -c` shows its raw chunks.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { MistiqueError } from '../../errors.js';
import type { SegmentCodec } from './codec.js';
import { alignedRaw, concatAligned, RawSegment } from './raw.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** Inputs below this many bytes are (de)compressed on the calling thread: a threadpool hop costs more. */
// Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: which thread (de)compresses, not what comes out
const SYNC_BELOW = 16 * 1024;

export function gzipCodec(level = 6): SegmentCodec {
  const opts = { level };
  return {
    id: 'gzip',
    ext: 'gz',
    inflate: 'gzip',
    async encode(chunks, rawLength) {
      const raw = concatAligned(chunks, rawLength);
      // Stryker disable next-line MethodExpression,ArithmeticOperator: the chunk size is zlib's output piece: its size changes speed, not bytes
      const o = { ...opts, chunkSize: Math.max(1024, rawLength + 1024) };
      // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: which thread (de)compresses, not what comes out
      return raw.length < SYNC_BELOW ? zlib.gzipSync(raw, o) : gzip(raw, o);
    },
    async decode(bytes, rawLength) {
      // One output buffer of the known size: Node's default 16 KB pieces cost a threadpool round trip and a concat each.
      // Stryker disable next-line MethodExpression,ArithmeticOperator: the chunk size is zlib's output piece: its size changes speed, not bytes
      // Stryker disable next-line ObjectLiteral: zlib's defaults inflate the same bytes, in pieces (speed, not bytes)
      const o = { chunkSize: Math.max(1024, rawLength + 64), maxOutputLength: rawLength + 64 };
      // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: which thread (de)compresses, not what comes out
      const raw: Uint8Array = bytes.length < SYNC_BELOW / 4 ? zlib.gunzipSync(bytes, o) : await gunzip(bytes, o);
      if (raw.byteLength !== rawLength) {
        throw new MistiqueError('CORRUPT', `gzip segment inflated to ${raw.byteLength} bytes but ${rawLength} were written`);
      }
      return new RawSegment(alignedRaw(raw));
    },
    decodedFrom(chunks, rawLength) {
      return new RawSegment(concatAligned(chunks, rawLength));
    },
  };
}
