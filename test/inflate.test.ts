// inflateSegments on the main thread (a scan runs it on the worker threads, where mutation testing cannot
// see it): a run of gzip or LZ4 segments read with one file read, each checked and inflated to an
// 8-byte aligned offset, and the first bad one named; Arrow IPC and Parquet segments checked and passed on as they are.
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChunkData } from '../src/model/dataframe.js';
import { loadCodec, segmentView } from '../src/reader/scatter.js';
import { checksum } from '../src/store/checksum.js';
import { arrowCodec } from '../src/store/codecs/arrow.js';
import { parquetCodec } from '../src/store/codecs/parquet.js';
import type { Slot } from '../src/store/codecs/codec.js';
import { inflateSegments, type InflateTask } from '../src/store/inflate.js';

const lz4 = createRequire(import.meta.url)('lz4-napi') as { compressSync(b: Buffer): Buffer };
const compress = (codec: 'gzip' | 'lz4', raw: Uint8Array): Buffer => (codec === 'gzip' ? zlib.gzipSync(raw) : lz4.compressSync(Buffer.from(raw)));

/** Segments of these raw lengths, encoded one after another with `gap` bytes between them. */
function task(codec: 'gzip' | 'lz4', lengths: number[], gap = 3, crcs = true): { t: InflateTask; raws: Uint8Array[] } {
  const raws = lengths.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k * 31) & 0xff));
  const encs = raws.map((r) => compress(codec, r));
  const bytes = new Uint8Array(encs.reduce((a, e) => a + e.length + gap, gap));
  const segs = new Float64Array(4 * encs.length);
  let off = gap;
  encs.forEach((e, i) => {
    bytes.set(e, off);
    segs.set([off, e.length, raws[i]!.length, crcs ? checksum(e) : -1], 4 * i);
    off += e.length + gap;
  });
  return { t: { op: 'inflate', codec, bytes, segs }, raws };
}

/** Encoded segments one after another in one buffer read from disk, `gap` bytes before and between them, and their [offset, length, raw length, crc32] rows. */
function laidOut(encs: readonly Uint8Array[], chunks: readonly ChunkData[], gap: number): { bytes: Uint8Array; segs: Float64Array } {
  const bytes = new Uint8Array(encs.reduce((a, e) => a + e.length + gap, gap));
  const segs = new Float64Array(4 * encs.length);
  let off = gap;
  encs.forEach((e, i) => {
    bytes.set(e, off);
    segs.set([off, e.length, chunks[i]!.values.byteLength, checksum(e)], 4 * i);
    off += e.length + gap;
  });
  return { bytes, segs };
}

describe('inflateSegments', () => {
  for (const codec of ['gzip', 'lz4'] as const) {
    it(`${codec}: every segment at an 8-byte aligned offset of one buffer, or handed over one by one`, () => {
      const lengths = [13, 8, 0, 100, 1];
      const { t, raws } = task(codec, lengths);
      const r = inflateSegments(t);
      expect(r.badIndex).toBe(-1);
      expect(r.bad).toBe('');
      expect([...r.offsets]).toEqual([0, 16, 24, 24, 128]);
      expect(r.raw.byteLength).toBe(136);
      raws.forEach((raw, i) => expect(r.raw.subarray(r.offsets[i]!, r.offsets[i]! + raw.length)).toEqual(raw));
      const got: [number, Uint8Array][] = [];
      const e = inflateSegments(t, (i, b) => { expect(b.byteOffset % 8).toBe(0); got.push([i, Uint8Array.from(b)]); });
      expect(e.raw.byteLength).toBe(0);
      expect([...e.offsets]).toEqual([0, 16, 24, 24, 128]);
      expect(got.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
      got.forEach(([i, b]) => expect(b).toEqual(raws[i]));
      // no checksums recorded (−1): nothing checked, all the same
      expect(inflateSegments(task(codec, lengths, 0, false).t).badIndex).toBe(-1);
    });

    it(`${codec}: the first bad segment — a wrong checksum, bytes that do not decompress, another length — is named`, () => {
      const { t } = task(codec, [40, 40, 40]);
      const crc = t.segs[4 * 1 + 3]!;
      t.segs[4 * 1 + 3] = (crc ^ 1) >>> 0;
      expect(inflateSegments(t)).toMatchObject({ badIndex: 1, bad: `checksum mismatch: the bytes on disk (crc32 ${crc.toString(16)}) are not those written (${((crc ^ 1) >>> 0).toString(16)})` });
      const damaged = task(codec, [40, 40, 40], 3, false).t;
      damaged.bytes.fill(0xff, damaged.segs[8]!, damaged.segs[8]! + damaged.segs[9]!);
      expect(inflateSegments(damaged)).toMatchObject({ badIndex: 2, bad: expect.stringMatching(new RegExp(`^${codec} could not decompress it \\(.+\\)$`)) });
      const longer = task(codec, [40, 48]).t;
      longer.segs[4 + 2] = 40; // says 40, holds 48
      expect(inflateSegments(longer)).toMatchObject({ badIndex: 1, bad: `${codec} segment decompressed to 48 bytes but 40 were written` });
    });
  }
});

describe('inflateSegments of Arrow IPC segments (a scan checks them on the workers and passes them on as they are)', () => {
  beforeAll(() => loadCodec('arrow'));

  it('are viewed only once their decoder is loaded on the thread (a worker loads apache-arrow for Arrow tasks alone)', async () => {
    vi.resetModules(); // a module instance of its own, as a fresh worker thread has
    const fresh = await import('../src/reader/scatter.js');
    expect(() => fresh.segmentView('arrow', new Uint8Array(8))).toThrow(/not loaded on this thread/);
    expect(() => fresh.segmentView('parquet', new Uint8Array(8))).toThrow(/the parquet decoder is not loaded on this thread: await loadCodec\('parquet'\) first/);
    expect(fresh.segmentView('lz4', new Uint8Array(8)).byteLength).toBe(8);
  });

  const chunkOf = (k: number): ChunkData => ({ type: 'float32', nrows: 3, ncols: 5 + k, values: Float32Array.from({ length: 3 * (5 + k) }, (_, i) => i * 0.5 - k), order: 'row' });
  const slotOf = (c: ChunkData): Slot => ({ type: c.type, nrows: c.nrows, ncols: c.ncols, colStart: 0, byteOffset: 0, byteLength: c.values.byteLength });

  async function arrowTask(gap: number): Promise<{ t: InflateTask; chunks: ChunkData[]; encs: Uint8Array[] }> {
    const codec = arrowCodec();
    const chunks = [0, 1, 2].map(chunkOf);
    const encs = await Promise.all(chunks.map((c) => codec.encode([c], c.values.byteLength)));
    return { t: { op: 'inflate', codec: 'arrow', ...laidOut(encs, chunks, gap) }, chunks, encs };
  }

  for (const gap of [0, 3]) {
    it(`the IPC bytes of each segment at an 8-byte aligned offset, or handed over one by one, and viewed as the chunks written (gap ${gap})`, async () => {
      const { t, chunks, encs } = await arrowTask(gap);
      expect(encs.every((e) => e.length % 8 === 0)).toBe(true);
      const r = inflateSegments(t);
      expect(r.badIndex).toBe(-1);
      // aligned where they were read (no gap): handed back in place, else copied to aligned offsets
      expect(r.raw === t.bytes).toBe(gap === 0);
      encs.forEach((e, i) => {
        const off = r.offsets[i]!;
        expect(off % 8).toBe(0);
        const bytes = r.raw.subarray(off, off + e.length);
        expect(Buffer.from(bytes).equals(Buffer.from(e))).toBe(true);
        expect(segmentView('arrow', bytes).chunk(slotOf(chunks[i]!)).values).toEqual(chunks[i]!.values);
      });
      const seen: number[] = [];
      const e = inflateSegments(t, (i, b) => {
        expect(b.byteOffset % 8).toBe(0);
        expect(segmentView('arrow', b).chunk(slotOf(chunks[i]!)).values).toEqual(chunks[i]!.values);
        seen.push(i);
      });
      expect(e.raw.byteLength).toBe(0);
      expect(seen).toEqual([0, 1, 2]);
    });
  }

  it('a wrong checksum names the segment, as for the compressing codecs', async () => {
    const { t } = await arrowTask(0);
    const crc = t.segs[4 * 2 + 3]!;
    t.bytes[t.segs[8]! + 20] ^= 0x10;
    expect(inflateSegments(t)).toMatchObject({ badIndex: 2, bad: expect.stringMatching(new RegExp(`^checksum mismatch: the bytes on disk \\(crc32 [0-9a-f]+\\) are not those written \\(${crc.toString(16)}\\)$`)) });
  });
});

describe('inflateSegments of Parquet segments (a scan decodes them with parquet-wasm on the workers)', () => {
  beforeAll(() => loadCodec('parquet'));

  it('are handed over where they lie, aligned or not, and decoded to the chunks written', async () => {
    const codec = await parquetCodec();
    const chunks: ChunkData[] = [0, 1].map((k) => ({ type: 'float32', nrows: 4, ncols: 3 + k, values: Float32Array.from({ length: 4 * (3 + k) }, (_, i) => i - 2.5 * k), order: 'row' }));
    const encs = await Promise.all(chunks.map((c) => codec.encode([c], c.values.byteLength)));
    const { bytes, segs } = laidOut(encs, chunks, 3);
    const seen: number[] = [];
    const r = inflateSegments({ op: 'inflate', codec: 'parquet', bytes, segs }, (i, b) => {
      expect(b.buffer).toBe(bytes.buffer); // not copied
      const c = chunks[i]!;
      expect(segmentView('parquet', b).chunk({ type: c.type, nrows: c.nrows, ncols: c.ncols, colStart: 0, byteOffset: 0, byteLength: c.values.byteLength }).values).toEqual(c.values);
      seen.push(i);
    });
    expect(r.badIndex).toBe(-1);
    expect(seen).toEqual([0, 1]);
    // gathered: each file's bytes at an aligned offset, its encoded length
    const g = inflateSegments({ op: 'inflate', codec: 'parquet', bytes, segs });
    encs.forEach((e, i) => expect(Buffer.from(g.raw.subarray(g.offsets[i]!, g.offsets[i]! + e.length)).equals(Buffer.from(e))).toBe(true));
  });
});
