// Inflating a run of stored segments of a raw-layout codec (gzip, lz4) in one step: each segment's
// CRC-32 checked, then decompressed into one buffer at 8-byte aligned offsets. Arrow IPC segments are
// checked and passed on as they are (their bytes are the decoded form). A pure function of its task, so
// that a scan runs it on a worker thread (src/workers) while the main thread plans.
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { align8 } from './chunk.js';
import { checksum } from './checksum.js';
import type { ScatterTask } from '../reader/scatter.js';
import { keptEncoded, type InflateCodec } from './codecs/codec.js';
import { nativeLz4 } from './codecs/lz4native.js';

/** Segments read with one file read: their encoded bytes one after another (gaps allowed). */
export interface InflateTask {
  op: 'inflate';
  codec: InflateCodec;
  bytes: Uint8Array;
  /** Per segment, 4 numbers: offset in `bytes`, encoded length, raw length, recorded CRC-32 (−1: none to check). */
  segs: Float64Array;
  /**
   * Chunks to decode straight into a shared result (reader/scatter.ts) instead of handing the raw bytes
   * back; `raw` then comes back empty. Run by workers/tasks.ts, which hands inflateSegments the copying.
   */
  scatter?: ScatterTask;
}

export interface InflateResult {
  /** Every segment's raw bytes (Arrow: its IPC bytes), each at its offset (8-byte aligned). */
  raw: Uint8Array;
  offsets: Float64Array;
  /** The first segment that failed (its index in the task) and why; −1 and '' when all inflated. */
  badIndex: number;
  bad: string;
  /** The task's bytes, handed back once nothing refers to them (all decoded into `each`): a scan reads its next range into them. */
  spent?: Uint8Array;
}

interface Lz4 { uncompressSync(b: Buffer): Buffer }

let lz4: Lz4 | undefined;
let scratch = new Uint8Array(0);
/** n bytes (8-byte aligned) reused by every segment this thread inflates with liblz4 for `each`: it holds
 * the largest segment's raw size seen (a segment is at most a partition's bytes). */
function scratchOf(n: number): Uint8Array {
  if (scratch.byteLength < n) scratch = new Uint8Array(n);
  return scratch.subarray(0, n);
}

function inflateOne(codec: InflateTask['codec'], b: Buffer, rawLength: number): Uint8Array {
  if (codec === 'gzip') return zlib.gunzipSync(b, { chunkSize: Math.max(1024, rawLength + 64), maxOutputLength: rawLength + 64 });
  lz4 ??= createRequire(import.meta.url)('lz4-napi') as Lz4;
  return lz4.uncompressSync(b);
}

/**
 * Checks and inflates every segment of the task. With `each`, every segment's raw bytes go to it (8-byte
 * aligned, valid only during the call) and `raw` comes back empty; else they are gathered into `raw`.
 */
export function inflateSegments(t: InflateTask, each?: (i: number, raw: Uint8Array) => void): InflateResult {
  const n = t.segs.length / 4;
  const offsets = new Float64Array(n);
  let total = 0;
  // an Arrow or Parquet segment is passed on as it is: its encoded length, not its raw length
  const asIs = keptEncoded(t.codec);
  const size = asIs ? 1 : 2;
  for (let i = 0; i < n; i++) {
    offsets[i] = total;
    total = align8(total + t.segs[4 * i + size]!);
  }
  // Arrow and Parquet segments that already sit 8-byte aligned in the bytes read are handed back in place, uncopied
  let inPlace = asIs && !each;
  for (let i = 0; i < n && inPlace; i++) inPlace = (t.bytes.byteOffset + t.segs[4 * i]!) % 8 === 0;
  if (inPlace) for (let i = 0; i < n; i++) offsets[i] = t.segs[4 * i]!;
  const raw = inPlace ? t.bytes : new Uint8Array(each ? 0 : total);
  const buf = Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const off = t.segs[4 * i]!, len = t.segs[4 * i + 1]!, rawLength = t.segs[4 * i + 2]!, crc = t.segs[4 * i + 3]!;
    const enc = buf.subarray(off, off + len);
    if (crc >= 0) {
      const got = checksum(enc);
      if (got !== crc) return { raw, offsets, badIndex: i, bad: `checksum mismatch: the bytes on disk (crc32 ${got.toString(16)}) are not those written (${crc.toString(16)})` };
    }
    if (asIs) {
      // IPC views need 8-byte alignment (segments written by the Arrow codec are multiples of 8 bytes);
      // parquet-wasm copies a file into its own memory, aligned or not
      if (each) each(i, enc.byteOffset % 8 === 0 || t.codec === 'parquet' ? enc : new Uint8Array(enc)); // a copy (Buffer.slice would be a view)
      else if (!inPlace) raw.set(enc, offsets[i]!);
      continue;
    }
    let out: Uint8Array;
    // liblz4 decompresses straight into the gathered result, or into a scratch buffer reused segment after
    // segment (each's bytes are valid only during the call); on a mismatch lz4-napi below says what it found
    if (nativeLz4 && t.codec === 'lz4') {
      const dst = each ? scratchOf(rawLength) : raw.subarray(offsets[i]!, offsets[i]! + rawLength);
      if (nativeLz4.decompress(enc, dst) === rawLength) {
        if (each) each(i, dst);
        continue;
      }
    }
    try {
      out = inflateOne(t.codec, enc, rawLength);
    } catch (err) {
      return { raw, offsets, badIndex: i, bad: `${t.codec} could not decompress it (${(err as Error).message})` };
    }
    if (out.byteLength !== rawLength) return { raw, offsets, badIndex: i, bad: `${t.codec} segment decompressed to ${out.byteLength} bytes but ${rawLength} were written` };
    if (each) each(i, out.byteOffset % 8 === 0 ? out : new Uint8Array(out)); // a copy (Buffer.slice would be a view)
    else raw.set(out, offsets[i]!);
  }
  return { raw, offsets, badIndex: -1, bad: '', ...(each ? { spent: t.bytes } : {}) };
}
