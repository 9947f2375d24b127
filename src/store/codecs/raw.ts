// The raw segment layout shared by the byte codecs (gzip, lz4): the chunks' raw bytes, each 8-byte
// aligned, concatenated; decoded, a chunk is a typed-array view into the segment's bytes.
import { MistiqueError } from '../../errors.js';
import type { ChunkData } from '../../model/dataframe.js';
import { align8, chunkParts, decodeChunkRaw } from '../chunk.js';
import type { DecodedSegment, Slot } from './codec.js';

/** The chunks' raw bytes, 8-byte aligned, as one buffer: a segment of one plain chunk is its own bytes, no copy. */
export function concatAligned(chunks: readonly ChunkData[], rawLength: number): Uint8Array {
  const parts = chunks.map(chunkParts);
  // Stryker disable next-line ConditionalExpression,LogicalOperator: with several chunks (or parts) the first one's bytes make the whole segment only when the rest are empty, and then they are the segment
  if (parts.length === 1 && parts[0]!.length === 1 && parts[0]![0]!.byteLength === rawLength) return parts[0]![0]!;
  let total = 0;
  for (const ps of parts) total = align8(ps.reduce((a, p) => a + p.length, total));
  if (total !== rawLength) throw new MistiqueError('CORRUPT', `segment layout says ${rawLength} raw bytes but its chunks hold ${total}`);
  const out = new Uint8Array(rawLength);
  let pos = 0;
  for (const ps of parts) {
    for (const p of ps) {
      out.set(p, pos);
      pos += p.length;
    }
    pos = align8(pos);
  }
  return out;
}

export class RawSegment implements DecodedSegment {
  constructor(private readonly raw: Uint8Array) {}
  get byteLength(): number { return this.raw.byteLength; }
  chunk(slot: Slot): ChunkData {
    return decodeChunkRaw(this.raw.subarray(slot.byteOffset, slot.byteOffset + slot.byteLength), slot.type, slot.nrows, slot.ncols);
  }
}

/** Typed-array views need 8-byte alignment; small Buffers may sit at any offset of a shared pool. */
export function alignedRaw(raw: Uint8Array): Uint8Array {
  return raw.byteOffset % 8 === 0 ? raw : new Uint8Array(raw);
}
