// A ColumnChunk's canonical bytes: what the gzip codec stores and what exact de-duplication hashes.
import { createHash } from 'node:crypto';
import { MistiqueError } from '../errors.js';
import type { ChunkData } from '../model/dataframe.js';
import { BYTES_PER_VALUE, type ColumnType } from '../model/types.js';

const TYPE_TAG: Record<ColumnType, number> = { float64: 1, float32: 2, int32: 3, bool: 4, utf8: 5, float16: 6, uint8: 7, kbit: 8 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function valueBytes(c: ChunkData): Uint8Array {
  const v = c.values;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Dictionary of a utf8 chunk: u32 count, u32 end offsets, UTF-8 bytes, zero padding to 8. */
export function encodeDictionary(dict: readonly string[]): Uint8Array {
  const parts = dict.map((s) => encoder.encode(s));
  const textLen = parts.reduce((a, p) => a + p.length, 0);
  const head = 4 + 4 * dict.length;
  const total = align8(head + textLen);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, dict.length, true);
  let pos = head;
  parts.forEach((p, i) => {
    out.set(p, pos);
    pos += p.length;
    dv.setUint32(4 + 4 * i, pos - head, true);
  });
  return out;
}

export function decodeDictionary(bytes: Uint8Array): { dictionary: string[]; byteLength: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(0, true);
  const head = 4 + 4 * n;
  // Stryker disable next-line ArrayDeclaration: an array grows as it is filled; the length only spares reallocations
  const dictionary = new Array<string>(n);
  let start = head;
  for (let i = 0; i < n; i++) {
    const end = head + dv.getUint32(4 + 4 * i, true);
    dictionary[i] = decoder.decode(bytes.subarray(start, end));
    start = end;
  }
  return { dictionary, byteLength: align8(start) };
}

/** Codebook of a kbit chunk: u32 count, count float32 values, zero padding to 8. */
export function encodeCodebook(book: Float32Array): Uint8Array {
  const out = new Uint8Array(align8(4 + 4 * book.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, book.length, true);
  for (let i = 0; i < book.length; i++) dv.setFloat32(4 + 4 * i, book[i]!, true);
  return out;
}

export function decodeCodebook(bytes: Uint8Array): { codebook: Float32Array; byteLength: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new MistiqueError('CORRUPT', 'a kbit chunk is too short to hold its codebook');
  const n = dv.getUint32(0, true);
  if (n > 256 || 4 + 4 * n > bytes.byteLength) throw new MistiqueError('CORRUPT', `a kbit chunk says its codebook has ${n} values; it holds at most 256`);
  const codebook = new Float32Array(n);
  for (let i = 0; i < n; i++) codebook[i] = dv.getFloat32(4 + 4 * i, true);
  return { codebook, byteLength: align8(4 + 4 * n) };
}

/** The raw (uncompressed) byte parts of a chunk: [dictionary or codebook,] values. Length is a multiple of 8 when concatenated with padding. */
export function chunkParts(c: ChunkData): Uint8Array[] {
  if (c.type === 'utf8') return [encodeDictionary(c.dictionary ?? []), valueBytes(c)];
  if (c.type === 'kbit') return [encodeCodebook(c.codebook ?? new Float32Array(0)), valueBytes(c)];
  return [valueBytes(c)];
}

export function rawByteLength(c: ChunkData): number {
  return chunkParts(c).reduce((a, p) => a + p.length, 0);
}

/** Rebuilds a chunk from its raw bytes (in the order it was written; readers know which); the bytes must start 8-byte aligned in their buffer. */
export function decodeChunkRaw(bytes: Uint8Array, type: ColumnType, nrows: number, ncols: number): ChunkData {
  const n = nrows * ncols;
  let off = 0;
  let dictionary: string[] | undefined;
  let codebook: Float32Array | undefined;
  if (type === 'utf8') {
    const d = decodeDictionary(bytes);
    dictionary = d.dictionary;
    off = d.byteLength;
  } else if (type === 'kbit') {
    const d = decodeCodebook(bytes);
    codebook = d.codebook;
    off = d.byteLength;
  }
  const at = bytes.byteOffset + off;
  const need = n * BYTES_PER_VALUE[type];
  if (off + need > bytes.byteLength) {
    throw new MistiqueError('CORRUPT', `chunk of ${nrows}×${ncols} ${type} needs ${off + need} bytes but only ${bytes.byteLength} are stored`);
  }
  const buf = bytes.buffer;
  switch (type) {
    case 'float64': return { type, nrows, ncols, values: new Float64Array(buf, at, n) };
    case 'float32': return { type, nrows, ncols, values: new Float32Array(buf, at, n) };
    case 'int32': return { type, nrows, ncols, values: new Int32Array(buf, at, n) };
    case 'bool': return { type, nrows, ncols, values: new Uint8Array(buf, at, n) };
    case 'utf8': return { type, nrows, ncols, values: new Int32Array(buf, at, n), dictionary: dictionary! };
    case 'float16': return { type, nrows, ncols, values: new Uint16Array(buf, at, n) };
    case 'uint8': return { type, nrows, ncols, values: new Uint8Array(buf, at, n) };
    case 'kbit': return { type, nrows, ncols, values: new Uint8Array(buf, at, n), codebook: codebook! };
  }
}

/** Content hash of a chunk: equal hashes mean bit-identical values of the same type and geometry. */
export function hashChunk(c: ChunkData): Buffer {
  const h = createHash('sha1');
  const head = Buffer.alloc(12);
  // the order is part of the content: the same values column-major and row-major are different chunks
  head.writeUInt32LE(TYPE_TAG[c.type] | (c.order === 'row' ? 0x100 : 0), 0);
  head.writeUInt32LE(c.nrows, 4);
  head.writeUInt32LE(c.ncols, 8);
  h.update(head);
  for (const p of chunkParts(c)) h.update(p);
  return h.digest();
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}
