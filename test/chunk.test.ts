// A ColumnChunk's canonical bytes and content hash (src/store/chunk.ts): what gzip-family codecs store
// and what exact de-duplication compares. Every type round-trips; the hash tells apart everything that
// makes two chunks different (type, geometry, order, dictionary, codebook) and nothing else; damaged
// bytes are CORRUPT with a message, never a wrong chunk.
import { describe, expect, it } from 'vitest';
import type { ChunkData } from '../src/model/dataframe.js';
import { align8, chunkParts, decodeChunkRaw, decodeCodebook, decodeDictionary, encodeCodebook, encodeDictionary, hashChunk, rawByteLength } from '../src/store/chunk.js';
import { concatChunks, planTiles } from '../src/store/writer.js';
import { DataFrame } from '../src/index.js';
import { thrownError } from './helpers.js';

/** The parts laid end to end, as a codec stores them, in a buffer that starts 8-byte aligned. */
function raw(c: ChunkData): Uint8Array {
  const parts = chunkParts(c);
  const out = new Uint8Array(rawByteLength(c));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const CHUNKS: ChunkData[] = [
  { type: 'float64', nrows: 2, ncols: 2, values: Float64Array.from([1.5, NaN, -Infinity, -0]) },
  { type: 'float32', nrows: 3, ncols: 1, values: Float32Array.from([0.1, 2, 3]) },
  { type: 'int32', nrows: 1, ncols: 3, values: Int32Array.from([-1, 0, 2 ** 31 - 1]) },
  { type: 'bool', nrows: 5, ncols: 1, values: Uint8Array.from([1, 0, 1, 1, 0]) },
  { type: 'utf8', nrows: 4, ncols: 1, values: Int32Array.from([0, -1, 1, 0]), dictionary: ['héllo', ''] },
  { type: 'float16', nrows: 3, ncols: 1, values: Uint16Array.from([0x3c00, 0x7e00, 0x8000]) },
  { type: 'uint8', nrows: 2, ncols: 3, values: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
  { type: 'kbit', nrows: 3, ncols: 1, values: Uint8Array.from([0, 2, 1]), codebook: Float32Array.from([-1, 0.5, NaN]) },
];

describe('chunk bytes', () => {
  it('every type round-trips through its raw bytes, with nothing added', () => {
    for (const c of CHUNKS) {
      const back = decodeChunkRaw(raw(c), c.type, c.nrows, c.ncols);
      expect(back, c.type).toStrictEqual(c.type === 'utf8' || c.type === 'kbit' ? c : { type: c.type, nrows: c.nrows, ncols: c.ncols, values: c.values });
    }
  });

  it('decodes in place from a buffer it shares with other bytes', () => {
    const c = CHUNKS[1]!;
    const bytes = raw(c);
    const big = new Uint8Array(64 + bytes.length);
    big.set(bytes, 64);
    const back = decodeChunkRaw(big.subarray(64), 'float32', 3, 1);
    expect(back.values).toEqual(c.values);
    expect(back.values.buffer).toBe(big.buffer);
  });

  it('a dictionary: count, end offsets, UTF-8, zero padding to 8 bytes', () => {
    const d = encodeDictionary(['ab', 'é']);
    expect([...d]).toEqual([2, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0x61, 0x62, 0xc3, 0xa9]);
    expect(decodeDictionary(d)).toEqual({ dictionary: ['ab', 'é'], byteLength: 16 });
    const e = encodeDictionary(['abc']);
    expect(e.length).toBe(16);
    expect([...e.subarray(11)]).toEqual([0, 0, 0, 0, 0]);
    expect(decodeDictionary(e)).toEqual({ dictionary: ['abc'], byteLength: 16 });
    expect(decodeDictionary(encodeDictionary([]))).toEqual({ dictionary: [], byteLength: 8 });
    // a utf8 chunk without a dictionary (all null) is stored with an empty one
    const nulls: ChunkData = { type: 'utf8', nrows: 2, ncols: 1, values: Int32Array.from([-1, -1]) };
    expect(chunkParts(nulls)[0]).toEqual(encodeDictionary([]));
  });

  it('a codebook: count, float32 values, zero padding to 8 bytes; read from exactly its bytes', () => {
    const two = encodeCodebook(Float32Array.from([1, 2]));
    expect(two.length).toBe(16);
    expect([...two.subarray(12)]).toEqual([0, 0, 0, 0]);
    const one = encodeCodebook(Float32Array.from([3]));
    expect(one.length).toBe(8);
    expect(decodeCodebook(one)).toEqual({ codebook: Float32Array.from([3]), byteLength: 8 });
    expect(decodeCodebook(two.subarray(0, 12)).codebook).toEqual(Float32Array.from([1, 2]));
    const full = encodeCodebook(new Float32Array(256).fill(7));
    expect(decodeCodebook(full).codebook).toHaveLength(256);
    // a kbit chunk without a codebook is stored with an empty one
    expect(chunkParts({ type: 'kbit', nrows: 1, ncols: 1, values: Uint8Array.from([0]) })[0]).toEqual(encodeCodebook(new Float32Array(0)));
  });

  it('damaged bytes are CORRUPT, with what was expected', () => {
    expect(thrownError(() => decodeCodebook(new Uint8Array(3)))).toBe('CORRUPT: a kbit chunk is too short to hold its codebook');
    expect(decodeCodebook(new Uint8Array(4)).codebook).toHaveLength(0);
    const big = new Uint8Array(8 + 4 * 257);
    new DataView(big.buffer).setUint32(0, 257, true);
    expect(thrownError(() => decodeCodebook(big))).toBe('CORRUPT: a kbit chunk says its codebook has 257 values; it holds at most 256');
    const short = encodeCodebook(Float32Array.from([1, 2, 3]));
    expect(thrownError(() => decodeCodebook(short.subarray(0, 15)))).toMatch(/^CORRUPT: a kbit chunk says its codebook has 3 values/);
    expect(decodeCodebook(short.subarray(0, 16)).codebook).toEqual(Float32Array.from([1, 2, 3]));
    const f = raw(CHUNKS[0]!);
    expect(thrownError(() => decodeChunkRaw(f.subarray(0, 31), 'float64', 2, 2))).toBe('CORRUPT: chunk of 2×2 float64 needs 32 bytes but only 31 are stored');
    expect(decodeChunkRaw(f, 'float64', 2, 2).values).toEqual(CHUNKS[0]!.values);
    const k = raw(CHUNKS[7]!);
    expect(thrownError(() => decodeChunkRaw(k.subarray(0, 18), 'kbit', 3, 1))).toBe('CORRUPT: chunk of 3×1 kbit needs 19 bytes but only 18 are stored');
  });

  it('align8 rounds up to a multiple of 8', () => {
    expect([0, 1, 7, 8, 9, 16].map(align8)).toEqual([0, 8, 8, 8, 16, 16]);
  });
});

describe('chunk hash', () => {
  const hex = (c: ChunkData): string => hashChunk(c).toString('hex');

  it('equal content, equal hash — wherever the bytes live', () => {
    for (const c of CHUNKS) {
      const copy = { ...c, values: c.values.slice() } as ChunkData;
      expect(hex(copy), c.type).toBe(hex(c));
    }
    const big = new Float32Array(10);
    big.set([0.1, 2, 3], 4);
    expect(hex({ type: 'float32', nrows: 3, ncols: 1, values: big.subarray(4, 7) })).toBe(hex(CHUNKS[1]!));
  });

  it('is stable: SHA-1 of (type tag | 0x100 if row-major, nrows, ncols) as u32 LE, then the raw bytes — stores de-duplicate against hashes written by earlier versions', () => {
    // values computed independently (Python: hashlib.sha1(struct.pack('<III', tag, nrows, ncols) + bytes))
    const base: ChunkData = { type: 'float32', nrows: 2, ncols: 3, values: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(hex(base)).toBe('3d672a5299266c5d528403fdfe5c3ed12df24ed6');
    expect(hex({ ...base, order: 'row' })).toBe('a926067d822438a6fec8d8d16b71d26f1eb79b3b');
    expect(hex({ type: 'utf8', nrows: 2, ncols: 1, values: Int32Array.from([0, -1]), dictionary: ['a'] })).toBe('f81e2854abb9a1a18690c031abe2d792368f40d4');
  });

  it('different type, geometry, order, dictionary or codebook: a different hash', () => {
    const bytes = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const asType: ChunkData[] = [
      { type: 'float64', nrows: 1, ncols: 1, values: new Float64Array(bytes.buffer.slice(0)) },
      { type: 'float32', nrows: 2, ncols: 1, values: new Float32Array(bytes.buffer.slice(0)) },
      { type: 'int32', nrows: 2, ncols: 1, values: new Int32Array(bytes.buffer.slice(0)) },
      { type: 'float16', nrows: 4, ncols: 1, values: new Uint16Array(bytes.buffer.slice(0)) },
    ];
    const byteTyped: ChunkData[] = (['bool', 'uint8'] as const).map((type) => ({ type, nrows: 8, ncols: 1, values: bytes.slice() }));
    const hashes = [...asType, ...byteTyped].map(hex);
    expect(new Set(hashes).size).toBe(hashes.length);
    // int32 and utf8 codes with the same bytes; kbit and uint8
    expect(hex({ type: 'utf8', nrows: 2, ncols: 1, values: new Int32Array(bytes.buffer.slice(0)), dictionary: [] })).not.toBe(hex(asType[2]!));
    expect(hex({ type: 'kbit', nrows: 8, ncols: 1, values: bytes.slice(), codebook: new Float32Array(0) })).not.toBe(hex(byteTyped[1]!));
    const base: ChunkData = { type: 'float32', nrows: 2, ncols: 3, values: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(hex({ ...base, nrows: 3, ncols: 2 })).not.toBe(hex(base));
    expect(hex({ ...base, nrows: 6, ncols: 1 })).not.toBe(hex(base));
    expect(hex({ ...base, order: 'row' })).not.toBe(hex(base));
    expect(hex({ ...base, order: 'row' })).toBe(hex({ ...base, order: 'row', values: base.values.slice() }));
    const u = CHUNKS[4]!;
    expect(hex({ ...u, dictionary: ['héllo', 'x'] })).not.toBe(hex(u));
    const k = CHUNKS[7]!;
    expect(hex({ ...k, codebook: Float32Array.from([-1, 0.5, 7]) })).not.toBe(hex(k));
  });
});

describe('a RowBlock\'s chunks from a writer\'s batches', () => {
  it('concatChunks stacks row ranges column by column, merging utf8 dictionaries and keeping nulls', () => {
    const one: ChunkData = { type: 'float64', nrows: 1, ncols: 1, values: Float64Array.from([7]) };
    expect(concatChunks([one])).toBe(one);
    // column-major: column 0 of every part, then column 1
    const f = concatChunks([
      { type: 'float64', nrows: 2, ncols: 2, values: Float64Array.from([1, 2, 3, 4]) },
      { type: 'float64', nrows: 1, ncols: 2, values: Float64Array.from([5, 6]) },
    ]);
    expect(f).toEqual({ type: 'float64', nrows: 3, ncols: 2, values: Float64Array.from([1, 2, 5, 3, 4, 6]) });
    // row-major (a tensor tile): rows follow rows
    const t = concatChunks([
      { type: 'float32', nrows: 1, ncols: 3, values: Float32Array.from([1, 2, 3]), order: 'row' },
      { type: 'float32', nrows: 2, ncols: 3, values: Float32Array.from([4, 5, 6, 7, 8, 9]), order: 'row' },
    ]);
    expect(t).toEqual({ type: 'float32', nrows: 3, ncols: 3, values: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), order: 'row' });
    // utf8: the second part's dictionary in another order, with a string the first lacks
    const u = concatChunks([
      { type: 'utf8', nrows: 2, ncols: 2, values: Int32Array.from([0, 1, 1, -1]), dictionary: ['a', 'b'] }, // a b | b null
      { type: 'utf8', nrows: 3, ncols: 2, values: Int32Array.from([0, 2, 1, -1, 0, 0]), dictionary: ['c', 'b', 'a'] }, // c a b | null c c
    ]);
    expect(u).toEqual({ type: 'utf8', nrows: 5, ncols: 2, values: Int32Array.from([0, 1, 2, 0, 1, 1, -1, -1, 2, 2]), dictionary: ['a', 'b', 'c'] });
  });

  it('planTiles groups adjacent columns of one type, at most ceil(C / maxChunks) to a tile', () => {
    const frame = DataFrame.from({ a: new Float64Array(2), b: new Float64Array(2), s: ['x', 'y'], c: new Float64Array(2), d: new Float64Array(2), e: new Float64Array(2) });
    const tiles = (max: number) => planTiles(frame, max).map((t) => [t.c0, t.w, t.type]);
    expect(tiles(2)).toEqual([[0, 2, 'float64'], [2, 1, 'utf8'], [3, 3, 'float64']]);
    expect(tiles(4)).toEqual([[0, 2, 'float64'], [2, 1, 'utf8'], [3, 2, 'float64'], [5, 1, 'float64']]);
    for (const max of [6, 100]) expect(tiles(max), String(max)).toEqual([[0, 1, 'float64'], [1, 1, 'float64'], [2, 1, 'utf8'], [3, 1, 'float64'], [4, 1, 'float64'], [5, 1, 'float64']]);
  });
});
