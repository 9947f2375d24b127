// Each segment codec on its own (src/store/codecs): a segment of chunks of every type and layout —
// column-major table columns, row-major tensor tiles, k-bit codes with their codebook — encoded and
// decoded back bit-exactly, below and above the size where a codec moves to the threadpool; a decoded
// segment built from the chunks themselves (write-through) equal to a decode; and damage or a wrong
// layout one CORRUPT error, never wrong values.
import { Bool, Field, FixedSizeList, Float32, Float64, List, makeData, RecordBatch, Schema, Struct, Table, tableFromIPC, tableToIPC, Uint8, type Data } from 'apache-arrow';
import { describe, expect, it, vi } from 'vitest';
import type { ChunkData } from '../src/model/dataframe.js';
import { align8, rawByteLength } from '../src/store/chunk.js';
import { CODEC_IDS, loadCodec, type SegmentCodec, type Slot } from '../src/store/codecs/index.js';
import { chunksToTable, TableSegment } from '../src/store/codecs/arrowbatch.js';
import { alignedRaw, concatAligned } from '../src/store/codecs/raw.js';
import { PARQUET_COMPRESSIONS, ROW_GROUP_BYTES, rowGroupRows, rowGroupsOver } from '../src/store/codecs/parquet.js';
import { checksum, segmentMismatch } from '../src/store/checksum.js';
import { bytesOf, expectCorrupt, rng, thrownCodeAsync, thrownError } from './helpers.js';

/** A segment's chunks, all of `nrows` rows: every column type column-major, and tensor tiles row-major. */
function segmentChunks(nrows: number, seed: number): ChunkData[] {
  const r = rng(seed);
  const n3 = nrows * 3;
  const f64 = Float64Array.from({ length: n3 }, () => r() * 2e6 - 1e6);
  const f32 = Float32Array.from({ length: n3 }, () => Math.max(0, r() * 2 - 1));
  const specials = [NaN, Infinity, -Infinity, -0];
  specials.forEach((v, i) => { if (i < n3) { f64[i * 2 % n3] = v; f32[(i * 3 + 1) % n3] = v; } });
  const kbitCodes = Uint8Array.from({ length: nrows * 5 }, () => Math.floor(r() * 4));
  return [
    { type: 'float64', nrows, ncols: 3, values: f64 },
    { type: 'float32', nrows, ncols: 3, values: f32 },
    { type: 'int32', nrows, ncols: 2, values: Int32Array.from({ length: nrows * 2 }, () => Math.floor(r() * 2 ** 32) - 2 ** 31) },
    { type: 'bool', nrows, ncols: 2, values: Uint8Array.from({ length: nrows * 2 }, () => (r() < 0.3 ? 1 : 0)) },
    { type: 'utf8', nrows, ncols: 2, values: Int32Array.from({ length: nrows * 2 }, (_, i) => (i % 5 === 4 ? -1 : i % 3)), dictionary: ['a', 'héllo', ''] },
    // its columns' strings first seen in other orders (Parquet gives each column a dictionary of its own)
    { type: 'utf8', nrows, ncols: 2, values: Int32Array.from({ length: nrows * 2 }, (_, i) => (i < nrows ? i % 3 : 2 - (i % 3))), dictionary: ['x', 'y', 'z'] },
    { type: 'utf8', nrows, ncols: 1, values: Int32Array.from({ length: nrows }, (_, i) => (i % 2 ? 0 : -1)), dictionary: ['only'] },
    { type: 'bool', nrows, ncols: 1, values: Uint8Array.from({ length: nrows }, (_, i) => (i % 3 === 0 ? 1 : 0)) },
    { type: 'float16', nrows, ncols: 1, values: Uint16Array.from({ length: nrows }, () => Math.floor(r() * 0x7c00)) },
    { type: 'uint8', nrows, ncols: 1, values: Uint8Array.from({ length: nrows }, () => Math.floor(r() * 256)) },
    // tensor tiles: a RowBlock × a range of values, row-major
    { type: 'float32', nrows, ncols: 7, values: Float32Array.from({ length: nrows * 7 }, () => r()), order: 'row' },
    { type: 'float16', nrows, ncols: 3, values: Uint16Array.from({ length: nrows * 3 }, () => Math.floor(r() * 0x7c00)), order: 'row' },
    { type: 'bool', nrows, ncols: 9, values: Uint8Array.from({ length: nrows * 9 }, () => (r() < 0.5 ? 1 : 0)), order: 'row' },
    { type: 'kbit', nrows, ncols: 5, values: kbitCodes, order: 'row', codebook: Float32Array.from([-1.5, 0, 2.25, NaN]) },
  ];
}

/** Where each chunk sits: byte ranges in the raw layout (gzip, lz4) and column slots (arrow, parquet). */
function slotsOf(chunks: readonly ChunkData[]): { slots: Slot[]; rawLength: number } {
  const slots: Slot[] = [];
  let byteOffset = 0, colStart = 0;
  for (const c of chunks) {
    const byteLength = rawByteLength(c);
    slots.push({ type: c.type, nrows: c.nrows, ncols: c.ncols, colStart, byteOffset, byteLength });
    byteOffset = align8(byteOffset + byteLength);
    colStart += c.order === 'row' ? 1 : c.ncols;
  }
  return { slots, rawLength: byteOffset };
}

/** One record batch of these fields and column data, n rows, as another writer may hand it over. */
function oneBatch(fields: Field[], children: Data[], n: number): Table {
  return new Table([new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children }))]);
}

/** What a decoded chunk must hold: its values bit for bit, and the dictionary or codebook it came with. */
function expectSame(got: ChunkData, want: ChunkData, what: string): void {
  expect(got.type, what).toBe(want.type);
  expect(got.nrows, what).toBe(want.nrows);
  expect(got.ncols, what).toBe(want.ncols);
  expect(got.values.constructor, what).toBe(want.values.constructor);
  if (want.type !== 'utf8') expect(got.dictionary, `${what}: no dictionary`).toBeUndefined();
  if (want.type !== 'kbit') expect(got.codebook, `${what}: no codebook`).toBeUndefined();
  if (want.type === 'utf8') {
    // the strings, not their codes: Parquet builds a dictionary of its own
    const strings = (c: ChunkData): (string | null)[] => Array.from(c.values, (k) => (k < 0 ? null : c.dictionary![k]!));
    expect(strings(got), what).toEqual(strings(want));
    return;
  }
  expect(bytesOf(got.values).equals(bytesOf(want.values)), `${what}: values`).toBe(true);
  if (want.type === 'kbit') expect(bytesOf(got.codebook!).equals(bytesOf(want.codebook!)), `${what}: codebook`).toBe(true);
}

const codecs = new Map<string, SegmentCodec>();
async function codec(id: string): Promise<SegmentCodec> {
  let c = codecs.get(id);
  if (!c) codecs.set(id, (c = await loadCodec(id)));
  return c;
}

describe('segment codecs', () => {
  for (const id of CODEC_IDS) {
    // 3 rows: segments of a few hundred bytes (the calling thread); 4 000 rows: hundreds of KB (the threadpool)
    for (const nrows of [1, 3, 4000]) {
      it(`${id}: every type and layout round-trips bit-exactly (${nrows} rows)`, async () => {
        const c = await codec(id);
        const chunks = segmentChunks(nrows, nrows);
        const { slots, rawLength } = slotsOf(chunks);
        const bytes = await c.encode(chunks, rawLength);
        expect(bytes.byteLength).toBeGreaterThan(0);
        const seg = await c.decode(bytes, rawLength);
        expect(seg.byteLength).toBe(id === 'arrow' ? bytes.byteLength : rawLength);
        chunks.forEach((want, i) => expectSame(seg.chunk(slots[i]!), want, `${id} chunk ${i} (${want.type}${want.order === 'row' ? ', row-major' : ''})`));
        // the table codecs know a tensor tile by its list column; the raw layout leaves that to the metadata
        if (id === 'arrow' || id === 'parquet') chunks.forEach((want, i) => expect(seg.chunk(slots[i]!).order, `chunk ${i}`).toBe(want.order));
        if (c.decodedFrom) {
          const direct = c.decodedFrom(chunks, rawLength);
          expect(direct.byteLength).toBe(rawLength);
          chunks.forEach((want, i) => expectSame(direct.chunk(slots[i]!), want, `${id} write-through chunk ${i}`));
        }
      });
    }
  }

  it('arrow: encodeParts are a segment in pieces; its large pieces are the chunks\' own values, not copies', async () => {
    const c = await codec('arrow');
    for (const nrows of [1, 3, 4000]) {
      const chunks = segmentChunks(nrows, nrows);
      const { slots, rawLength } = slotsOf(chunks);
      const parts = c.encodeParts!(chunks, rawLength);
      // (not byte-equal to encode's: Arrow numbers each dictionary afresh)
      const seg = await c.decode(Buffer.concat(parts), rawLength);
      chunks.forEach((want, i) => expectSame(seg.chunk(slots[i]!), want, `${nrows} rows, chunk ${i}`));
      // no two small pieces next to each other: they are joined (a writev of hundreds of 8-byte pieces is slow)
      parts.forEach((p, i) => { if (i > 0 && p.byteLength < 16384) expect(parts[i - 1]!.byteLength, `${nrows} rows, piece ${i}`).toBeGreaterThanOrEqual(16384); });
      // every large column of numbers (a tensor tile is one) is written from where it lies (bits and strings are packed first)
      const large = chunks.filter((ch) => ch.values.byteLength / (ch.order === 'row' ? 1 : ch.ncols) >= 16384 && ch.type !== 'bool' && ch.type !== 'utf8');
      for (const ch of large) expect(parts.some((p) => p.buffer === ch.values.buffer), `${nrows} rows: ${ch.type} chunk`).toBe(true);
      if (nrows === 4000) expect(large.length).toBeGreaterThan(0);
    }
  });

  it('a segment of one chunk of any type round-trips (the raw layout has a no-copy path for it)', async () => {
    for (const id of CODEC_IDS) {
      const c = await codec(id);
      for (const chunk of segmentChunks(5, 9)) {
        const { slots, rawLength } = slotsOf([chunk]);
        const seg = await c.decode(await c.encode([chunk], rawLength), rawLength);
        expectSame(seg.chunk(slots[0]!), chunk, `${id} ${chunk.type}${chunk.order === 'row' ? ', row-major' : ''} alone`);
      }
    }
  });

  it('a segment of no chunks encodes and decodes with every codec; asking it for a chunk is CORRUPT, whole or by rows', async () => {
    const slot: Slot = { type: 'float32', nrows: 1, ncols: 1, colStart: 0, byteOffset: 0, byteLength: 4 };
    for (const id of CODEC_IDS) {
      const c = await codec(id);
      const bytes = await c.encode([], 0);
      expect(bytes.byteLength, id).toBeGreaterThan(0);
      const seg = await c.decode(bytes, 0);
      const t = thrownError(() => seg.chunk(slot));
      expect(t, id).toMatch(/^CORRUPT: (segment has 0 columns, chunk wants 0\.\.1|chunk of 1×1 float32 needs 4 bytes but only 0 are stored)/);
      if (c.decodeRows) {
        // a span over a segment without columns: no first column to count its rows by
        const rows = await c.decodeRows(bytes, 0, { first: 0, count: 1 });
        expectCorrupt(() => rows.chunk(slot), 'segment has 0 columns, chunk wants 0..1');
      }
    }
  });

  it('a segment of one plain chunk is its own bytes (no copy); misaligned bytes are copied to alignment', () => {
    const c: ChunkData = { type: 'float64', nrows: 4, ncols: 1, values: Float64Array.from([1, 2, 3, 4]) };
    const raw = concatAligned([c], 32);
    expect(raw.buffer).toBe(c.values.buffer);
    const big = new Uint8Array(40);
    const odd = big.subarray(3, 35);
    const fixed = alignedRaw(odd);
    expect(fixed.byteOffset % 8).toBe(0);
    expect(fixed).toEqual(odd);
    const even = big.subarray(8, 40);
    expect(alignedRaw(even)).toBe(even);
  });

  it('a layout that disagrees with its chunks is CORRUPT', async () => {
    const chunks = segmentChunks(3, 1);
    const { rawLength } = slotsOf(chunks);
    expect(await thrownCodeAsync(() => concatAligned(chunks, rawLength + 8))).toBe('CORRUPT');
    expect(() => concatAligned(chunks, rawLength - 8)).toThrow(`segment layout says ${rawLength - 8} raw bytes but its chunks hold ${rawLength}`);
    for (const id of ['gzip', 'lz4'] as const) {
      const c = await codec(id);
      for (const n of [3, 4000]) {
        const cs = segmentChunks(n, 2);
        const { rawLength: len } = slotsOf(cs);
        const bytes = await c.encode(cs, len);
        await expect(c.decode(bytes, len + 8)).rejects.toThrow(new RegExp(`^${id} segment (decompressed|inflated) to ${len} bytes but ${len + 8} were written$`));
        expect(await thrownCodeAsync(c.decode(bytes, len + 8))).toBe('CORRUPT');
      }
    }
  });

  it('a table segment checks what it is asked for against what it holds', () => {
    const chunks = segmentChunks(3, 3);
    const { slots } = slotsOf(chunks);
    const seg = new TableSegment(chunksToTable(chunks), 100);
    const f64 = slots[0]!;
    expectCorrupt(() => seg.chunk({ ...f64, nrows: 4 }), 'stored column has 3 rows, metadata says 4');
    expectCorrupt(() => seg.chunk({ ...f64, colStart: 1000 }), /^segment has \d+ columns, chunk wants 1000\.\.1003$/);
    const tile = slots[10]!;
    expectCorrupt(() => seg.chunk({ ...tile, ncols: 8 }), 'stored list column holds 7 values per row, metadata says 8');
    expectCorrupt(() => seg.chunk({ ...tile, nrows: 2 }), 'stored list column has 3 rows (0 null), metadata says 2');
    expectCorrupt(() => new TableSegment(chunksToTable(chunks).concat(chunksToTable(chunks)), 1), 'a segment holds one record batch, found 2');
    // a k-bit tile whose codebook was lost on the way
    const kbit = chunks[13]!;
    const noBook = chunksToTable([{ ...kbit, codebook: new Float32Array(0) }]);
    const stripped = new TableSegment(noBook, 1).chunk({ ...slots[13]!, colStart: 0 });
    expect(stripped.codebook).toHaveLength(0);
  });

  it('an unknown codec or Parquet compression is BAD_OPTION naming the choices; every Parquet compression round-trips', async () => {
    await expect(loadCodec('zip')).rejects.toThrow('unknown codec "zip": choose one of gzip, lz4, arrow, parquet');
    expect(await thrownCodeAsync(loadCodec('zip'))).toBe('BAD_OPTION');
    await expect(loadCodec('parquet', { parquetCompression: 'brotli' as never })).rejects.toThrow('parquetCompression "brotli" is unknown: use snappy, zstd, lz4, gzip, none');
    expect(await thrownCodeAsync(loadCodec('parquet', { parquetCompression: 'brotli' as never }))).toBe('BAD_OPTION');
    const chunks = segmentChunks(50, 4);
    const { slots, rawLength } = slotsOf(chunks);
    const sizes: number[] = [];
    for (const compression of PARQUET_COMPRESSIONS) {
      const c = await loadCodec('parquet', { parquetCompression: compression });
      const bytes = await c.encode(chunks, rawLength);
      sizes.push(bytes.byteLength);
      const seg = await c.decode(bytes, rawLength);
      chunks.forEach((want, i) => expectSame(seg.chunk(slots[i]!), want, `parquet ${compression} chunk ${i}`));
    }
    // 'none' stores the most bytes, each compression fewer
    const none = sizes[PARQUET_COMPRESSIONS.indexOf('none')]!;
    sizes.forEach((n, i) => { if (PARQUET_COMPRESSIONS[i] !== 'none') expect(n, PARQUET_COMPRESSIONS[i]).toBeLessThan(none); });
    const gz = await loadCodec('gzip', { gzipLevel: 1 });
    const bytes = await gz.encode(chunks, rawLength);
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect((await loadCodec('gzip')).ext).toBe('gz');
  });

  it('parquet: a few rows of a segment decode alone, from row groups of about ROW_GROUP_BYTES, as the whole decode\'s rows', async () => {
    const c = await codec('parquet');
    const nrows = 4000;
    const chunks = segmentChunks(nrows, 6);
    const { slots, rawLength } = slotsOf(chunks);
    const bytes = await c.encode(chunks, rawLength);
    // the row groups are there: the second holds rows rowGroupRows… (all of a 16 KB-per-row segment's would be 1 row)
    const per = rowGroupRows(nrows, rawLength);
    expect(per).toBe(Math.floor(ROW_GROUP_BYTES / (rawLength / nrows)));
    expect(per).toBeLessThan(nrows / 4);
    const pq = await import('parquet-wasm');
    expect(tableFromIPC(pq.readParquet(bytes, { rowGroups: [1] }).intoIPCStream()).numRows).toBe(per);
    expect(rowGroupRows(10, 10 * 50_000)).toBe(1);
    expect(rowGroupRows(0, 0)).toBe(ROW_GROUP_BYTES);
    const rowsOf = (want: ChunkData, first: number, count: number): ChunkData => {
      if (want.order === 'row') return { ...want, nrows: count, values: want.values.subarray(first * want.ncols, (first + count) * want.ncols) };
      const values = new (want.values.constructor as new (n: number) => ChunkData['values'])(count * want.ncols);
      for (let k = 0; k < want.ncols; k++) values.set(want.values.subarray(k * nrows + first, k * nrows + first + count) as never, k * count);
      return { ...want, nrows: count, values };
    };
    // the row groups over the asked rows, and the first row of the first of them
    const groupsOf = (first: number, count: number) => rowGroupsOver(bytes, { first, count });
    expect(groupsOf(0, 1)).toEqual({ indices: [0], first: 0 });
    expect(groupsOf(per - 1, 2)).toEqual({ indices: [0, 1], first: 0 });
    expect(groupsOf(per, per)).toEqual({ indices: [1], first: per });
    expect(groupsOf(nrows - 1, 1)!.indices).toEqual([Math.ceil(nrows / per) - 1]);
    expect(groupsOf(0, nrows)!.indices).toHaveLength(Math.ceil(nrows / per));
    expectCorrupt(() => groupsOf(nrows, 1), `rows ${nrows}…${nrows} of a Parquet segment were asked for, but it holds ${nrows}`);
    expectCorrupt(() => rowGroupsOver(bytes.subarray(0, bytes.length - 1), { first: 0, count: 1 }), 'footer does not parse');
    // …and carries hyparquet's own error as its cause, for whoever debugs the file
    let footerError: unknown;
    try { rowGroupsOver(bytes.subarray(0, bytes.length - 1), { first: 0, count: 1 }); } catch (e) { footerError = e; }
    expect((footerError as Error).cause).toBeInstanceOf(Error);
    expect((footerError as Error).message).toContain(((footerError as Error).cause as Error).message);
    // a segment written as one row group (before they were cut) has none to choose: offset and limit
    const pqs = await import('parquet-wasm');
    const single = pqs.writeParquet(pqs.Table.fromIPCStream(tableToIPC(chunksToTable(chunks), 'stream')), new pqs.WriterPropertiesBuilder().setMaxRowGroupSize(nrows).build());
    expect(rowGroupsOver(single, { first: 5, count: 1 })).toBeNull();
    for (const [file, first, count] of [[bytes, 0, 1], [bytes, per - 1, 2], [bytes, 1234, 7], [bytes, nrows - 1, 1], [bytes, 0, nrows], [single, 1234, 7], [single, nrows - 1, 1]] as const) {
      const seg = await c.decodeRows!(file, rawLength, { first, count });
      const from = file === single ? first : rowGroupsOver(file, { first, count })!.first;
      chunks.forEach((want, i) => {
        const got = seg.chunk(slots[i]!);
        expect(got.firstRow, `chunk ${i} for ${first}`).toBe(from);
        expect(from + got.nrows, `chunk ${i} holds rows ${first}+${count}`).toBeGreaterThanOrEqual(first + count);
        const { firstRow: _, ...plain } = got;
        expectSame(plain, rowsOf(want, from, got.nrows), `parquet rows ${first}+${count}, chunk ${i} (${want.type})`);
      });
    }
    // a span past the segment's rows is a damaged segment or metadata, said so
    const past = await c.decodeRows!(single, rawLength, { first: 10, count: 5 });
    expectCorrupt(() => past.chunk({ ...slots[0]!, nrows: 12 }), 'segment rows 10…14 were read but its chunk has 12 rows');
  });
});

describe('codec identity and the Arrow layout other tools read', () => {
  it('each codec names itself, its partition files and its worker decompressor', async () => {
    const want: Record<string, { ext: string; inflate?: string }> = { gzip: { ext: 'gz', inflate: 'gzip' }, lz4: { ext: 'lz4', inflate: 'lz4' }, arrow: { ext: 'arrows', inflate: 'arrow' }, parquet: { ext: 'parquet', inflate: 'parquet' } };
    for (const id of CODEC_IDS) {
      const c = await loadCodec(id); // a fresh one: what a store opening it gets
      expect({ id: c.id, ext: c.ext, inflate: c.inflate }, id).toEqual({ id, ext: want[id]!.ext, inflate: want[id]!.inflate });
    }
  });

  it('gzip compresses at level 6 unless told otherwise', async () => {
    const chunks = segmentChunks(2000, 5);
    const { rawLength } = slotsOf(chunks);
    const size = async (c: SegmentCodec): Promise<number> => (await c.encode(chunks, rawLength)).byteLength;
    const def = await size(await loadCodec('gzip')), six = await size(await loadCodec('gzip', { gzipLevel: 6 }));
    const one = await size(await loadCodec('gzip', { gzipLevel: 1 })), nine = await size(await loadCodec('gzip', { gzipLevel: 9 }));
    expect(def).toBe(six);
    expect(one).toBeGreaterThan(nine);
    expect(new Set([one, six, nine]).size).toBeGreaterThan(1);
  });

  it('a segment is a record batch of named, typed fields: a tile is a non-nullable fixed-size list, a k-bit tile carries its codebook', () => {
    const chunks = segmentChunks(4, 6);
    const t = chunksToTable(chunks);
    const fields = t.schema.fields;
    expect(fields.map((f) => f.name)).toEqual(fields.map((_, i) => String(i)));
    expect(t.numRows).toBe(4);
    // column-major chunks: a field per column, nullable only where a value is missing (utf8 null codes)
    const columns = chunks.filter((c) => c.order !== 'row').reduce((a, c) => a + c.ncols, 0);
    // (fields 11 and 14, string columns, hold null codes in these 4 rows)
    expect(fields.slice(0, columns).flatMap((f, i) => (f.nullable ? [i] : []))).toEqual([11, 14]);
    const tiles = fields.slice(columns);
    expect(tiles.map((f) => String(f.type))).toEqual(['FixedSizeList[7]<Float32>', 'FixedSizeList[3]<Uint16>', 'FixedSizeList[9]<Bool>', 'FixedSizeList[5]<Uint8>']);
    for (const f of tiles) {
      expect(f.nullable).toBe(false);
      const item = (f.type as unknown as { children: { name: string; nullable: boolean }[] }).children[0]!;
      expect(item).toMatchObject({ name: 'item', nullable: false });
    }
    const book = Buffer.from(tiles[3]!.metadata.get('mistique.codebook')!, 'base64');
    expect(new Float32Array(book.buffer, book.byteOffset, book.length / 4)).toEqual(chunks[13]!.codebook);
    expect(tiles[0]!.metadata.size).toBe(0);
    expect(chunksToTable([]).numRows).toBe(0);
    expect(thrownError(() => chunksToTable([{ type: 'utf8', nrows: 1, ncols: 1, values: Int32Array.from([0]), order: 'row', dictionary: ['a'] }]))).toBe('INTERNAL: a row-major chunk holds numbers, not strings');
  });

  it('Arrow reads are zero-copy views into the segment bytes', async () => {
    const c = await codec('arrow');
    const chunk: ChunkData = { type: 'float64', nrows: 5, ncols: 1, values: Float64Array.from([1, 2, 3, 4, 5]) };
    const bytes = await c.encode([chunk], 40);
    const seg = await c.decode(bytes, 40);
    const got = seg.chunk({ type: 'float64', nrows: 5, ncols: 1, colStart: 0, byteOffset: 0, byteLength: 40 });
    expect(got.values.buffer).toBe(bytes.buffer);
    expect(got.values).toEqual(chunk.values);
  });

  it('a tile stored as a List (as another writer may give it) is read when every row holds its values, else CORRUPT', () => {
    const item = makeData({ type: new Float32(), length: 6, data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    const listTable = (offsets: number[]): Table => {
      const type = new List(new Field('item', new Float32(), false));
      const data = makeData({ type, length: 2, nullCount: 0, valueOffsets: Int32Array.from(offsets), child: item });
      const fields = [new Field('0', type, false)];
      return oneBatch(fields, [data], 2);
    };
    const list = (offsets: number[]): TableSegment => new TableSegment(listTable(offsets), 1);
    const slot: Slot = { type: 'float32', nrows: 2, ncols: 3, colStart: 0, byteOffset: 0, byteLength: 24 };
    const ok = list([0, 3, 6]).chunk(slot);
    expect(ok).toMatchObject({ type: 'float32', nrows: 2, ncols: 3, order: 'row' });
    expect([...ok.values]).toEqual([1, 2, 3, 4, 5, 6]);
    // sliced (as another tool may hand a batch over): its offsets are sliced, its child is not
    const sliced = new TableSegment(listTable([0, 3, 6]).slice(1), 1);
    expect([...sliced.chunk({ ...slot, nrows: 1 }).values]).toEqual([4, 5, 6]);
    expectCorrupt(() => list([0, 2, 6]).chunk(slot), 'stored list column of 2 rows has a row that is not 3 values long');
    expectCorrupt(() => list([0, 3, 5]).chunk(slot), 'stored list column of 2 rows has a row that is not 3 values long');
    // offsets past the end of the child (a damaged file): regular, but the values are not there
    const short = makeData({ type: new Float32(), length: 7, data: new Float32Array(7) });
    const past = new List(new Field('item', new Float32(), false));
    const pastData = makeData({ type: past, length: 2, nullCount: 0, valueOffsets: Int32Array.from([3, 6, 9]), child: short });
    const pastFields = [new Field('0', past, false)];
    const pastTable = oneBatch(pastFields, [pastData], 2);
    expectCorrupt(() => new TableSegment(pastTable, 1).chunk(slot), 'stored list column holds fewer than the 6 values of its chunk');
  });

  it('a bool tile stored as a sliced List reads from where its offsets start', () => {
    // 0b… bits, least significant first: 1 0 0 1 1 0 | 1 1 1 0 0 0 | 0 1 0 1 0 1
    const bits = [1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1];
    const packed = new Uint8Array(3);
    bits.forEach((b, i) => { if (b) packed[i >> 3]! |= 1 << (i & 7); });
    const item = makeData({ type: new Bool(), length: 18, data: packed });
    const type = new List(new Field('item', new Bool(), false));
    const data = makeData({ type, length: 3, nullCount: 0, valueOffsets: Int32Array.from([0, 6, 12, 18]), child: item });
    const fields = [new Field('0', type, false)];
    const t = oneBatch(fields, [data], 3);
    const slot: Slot = { type: 'bool', nrows: 2, ncols: 6, colStart: 0, byteOffset: 0, byteLength: 12 };
    expect([...new TableSegment(t.slice(1), 1).chunk(slot).values]).toEqual(bits.slice(6));
    expect([...new TableSegment(t.slice(2), 1).chunk({ ...slot, nrows: 1 }).values]).toEqual(bits.slice(12));
  });

  it('a tile with a null row, or null values, is CORRUPT', () => {
    const tileTable = (rowNulls: number, childNulls: number): Table => {
      const child = makeData({ type: new Float32(), length: 6, nullCount: childNulls, nullBitmap: childNulls ? Uint8Array.from([0b111110]) : undefined, data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
      const type = new FixedSizeList(3, new Field('item', new Float32(), childNulls > 0));
      const data = makeData({ type, length: 2, nullCount: rowNulls, nullBitmap: rowNulls ? Uint8Array.from([0b10]) : undefined, child });
      const fields = [new Field('0', type, rowNulls > 0)];
      return oneBatch(fields, [data], 2);
    };
    const slot: Slot = { type: 'float32', nrows: 2, ncols: 3, colStart: 0, byteOffset: 0, byteLength: 24 };
    expect([...new TableSegment(tileTable(0, 0), 1).chunk(slot).values]).toEqual([1, 2, 3, 4, 5, 6]);
    expectCorrupt(() => new TableSegment(tileTable(1, 0), 1).chunk(slot), 'stored list column has 2 rows (1 null), metadata says 2');
    expectCorrupt(() => new TableSegment(tileTable(0, 1), 1).chunk(slot), 'stored list column holds fewer than the 6 values of its chunk');
  });

  it('damaged table segments are CORRUPT: a short or null tile, a lost or bad codebook, nulls in a number column', () => {
    const seg = (fields: Field[], children: Data[], n: number): TableSegment => new TableSegment(oneBatch(fields, children, n), 1);
    const tile = (values: Float32Array | Uint8Array, size: number, n: number, meta?: Map<string, string>): TableSegment => {
      const child = values instanceof Float32Array ? makeData({ type: new Float32(), length: values.length, data: values }) : makeData({ type: new Uint8(), length: values.length, data: values });
      const type = new FixedSizeList(size, new Field('item', child.type, false));
      return seg([new Field('0', type, false, meta)], [makeData({ type, length: n, nullCount: 0, child })], n);
    };
    const slot = (type: Slot['type'], nrows: number, ncols: number): Slot => ({ type, nrows, ncols, colStart: 0, byteOffset: 0, byteLength: 0 });
    expectCorrupt(() => tile(new Float32Array(5), 3, 2).chunk(slot('float32', 2, 3)), 'stored list column holds fewer than the 6 values of its chunk');
    expectCorrupt(() => tile(new Uint8Array(6), 3, 2).chunk(slot('kbit', 2, 3)), 'a stored kbit chunk has lost its codebook');
    const b64 = (n: number): Map<string, string> => new Map([['mistique.codebook', Buffer.alloc(n).toString('base64')]]);
    expectCorrupt(() => tile(new Uint8Array(6), 3, 2, b64(6)).chunk(slot('kbit', 2, 3)), "a stored kbit chunk's codebook is 6 bytes");
    expectCorrupt(() => tile(new Uint8Array(6), 3, 2, b64(1028)).chunk(slot('kbit', 2, 3)), "a stored kbit chunk's codebook is 1028 bytes");
    expect(tile(new Uint8Array(6), 3, 2, b64(1024)).chunk(slot('kbit', 2, 3)).codebook).toHaveLength(256);
    const withNull = makeData({ type: new Float64(), length: 2, nullCount: 1, nullBitmap: Uint8Array.from([1]), data: Float64Array.from([1, 2]) });
    expectCorrupt(() => seg([new Field('0', new Float64(), true)], [withNull], 2).chunk(slot('float64', 2, 1)), 'stored float64 column has 1 nulls');
    const two = makeData({ type: new Float64(), length: 2, data: Float64Array.from([1, 2]) });
    expect(() => seg([new Field('0', new Float64(), false), new Field('1', new Float64(), false)], [two, two], 2).chunk(slot('float64', 2, 2))).not.toThrow();
    expectCorrupt(() => seg([new Field('0', new Float64(), false)], [two], 2).chunk({ ...slot('float64', 2, 2), colStart: 0 }), 'segment has 1 columns, chunk wants 0..2');
  });
});

describe('record batches from other writers', () => {
  const slot = (type: Slot['type'], nrows: number, ncols: number, colStart = 0): Slot => ({ type, nrows, ncols, colStart, byteOffset: 0, byteLength: 0 });

  it('a sliced batch reads the rows it holds, for every type and layout (Arrow JS slices values, not bitmaps)', () => {
    const t = chunksToTable([
      { type: 'float32', nrows: 4, ncols: 3, values: Float32Array.from({ length: 12 }, (_, i) => i), order: 'row' },
      { type: 'float64', nrows: 4, ncols: 2, values: Float64Array.from([10, 11, 12, 13, 20, 21, 22, 23]) },
      { type: 'bool', nrows: 4, ncols: 1, values: Uint8Array.from([1, 0, 0, 1]) },
      { type: 'bool', nrows: 4, ncols: 5, values: Uint8Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? 1 : 0)), order: 'row' },
      { type: 'utf8', nrows: 4, ncols: 1, values: Int32Array.from([0, -1, 1, 0]), dictionary: ['a', 'b'] },
      { type: 'int32', nrows: 4, ncols: 1, values: Int32Array.from([5, 6, 7, 8]) },
    ]);
    const seg = new TableSegment(t.slice(1), 1);
    const read = (s: Slot): number[] => [...seg.chunk(s).values];
    expect(read(slot('float32', 3, 3, 0))).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(read(slot('float64', 3, 2, 1))).toEqual([11, 12, 13, 21, 22, 23]);
    expect(read(slot('float64', 3, 1, 2))).toEqual([21, 22, 23]);
    expect(read(slot('bool', 3, 1, 3))).toEqual([0, 0, 1]);
    expect(read(slot('bool', 3, 5, 4))).toEqual([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]);
    expect(seg.chunk(slot('utf8', 3, 1, 5))).toMatchObject({ values: Int32Array.from([-1, 1, 0]), dictionary: ['a', 'b'] });
    expect(read(slot('int32', 3, 1, 6))).toEqual([6, 7, 8]);
  });

  it('string columns with dictionaries of their own (as Parquet gives them) read as one chunk with one dictionary', () => {
    const t = chunksToTable([
      { type: 'utf8', nrows: 3, ncols: 1, values: Int32Array.from([0, 1, -1]), dictionary: ['a', 'b'] },
      { type: 'utf8', nrows: 3, ncols: 1, values: Int32Array.from([1, 0, 2]), dictionary: ['c', 'a', 'd'] },
      { type: 'utf8', nrows: 3, ncols: 1, values: Int32Array.from([0, 1, 1]), dictionary: ['b', 'a'] }, // as long as the first, another order
      { type: 'utf8', nrows: 3, ncols: 1, values: Int32Array.from([1, -1, 0]), dictionary: ['a', 'b'] }, // the same: codes kept
    ]);
    const c = new TableSegment(t, 1).chunk(slot('utf8', 3, 4));
    expect(c.dictionary).toEqual(['a', 'b', 'c', 'd']);
    //                                   a  b  null | a  c  d | b  a  a | b  null a
    expect(c.values).toEqual(Int32Array.from([0, 1, -1, 0, 2, 3, 1, 0, 0, 1, -1, 0]));
    // a string column of nulls only, written without a dictionary
    const nulls = chunksToTable([{ type: 'utf8', nrows: 2, ncols: 1, values: Int32Array.from([-1, -1]) }]);
    expect(new TableSegment(nulls, 1).chunk(slot('utf8', 2, 1))).toEqual({ type: 'utf8', nrows: 2, ncols: 1, values: Int32Array.from([-1, -1]), dictionary: [] });
  });

  it('a tile of another length than its metadata says is CORRUPT', () => {
    const t = chunksToTable([{ type: 'float32', nrows: 2, ncols: 3, values: new Float32Array(6), order: 'row' }]);
    expectCorrupt(() => new TableSegment(t, 1).chunk(slot('float32', 3, 3)), 'stored list column has 2 rows (0 null), metadata says 3');
    expectCorrupt(() => new TableSegment(t, 1).chunk(slot('float32', 2, 2)), 'stored list column holds 3 values per row, metadata says 2');
  });
});

describe('segment checksums', () => {
  it('CRC-32 (IEEE) of a Buffer or any byte view, and the mismatch message that names both values', () => {
    const bytes = new TextEncoder().encode('123456789');
    expect(checksum(bytes)).toBe(0xcbf43926); // the standard check value
    expect(checksum(Buffer.from(bytes))).toBe(0xcbf43926);
    expect(checksum(new Uint8Array([0, ...bytes]).subarray(1))).toBe(0xcbf43926);
    expect(segmentMismatch(bytes, 0xcbf43926)).toBeNull();
    expect(segmentMismatch(bytes, null)).toBeNull(); // written before checksums: nothing to compare
    expect(segmentMismatch(bytes, 0x1234)).toBe('checksum mismatch: the bytes on disk (crc32 cbf43926) are not those written (1234)');
  });
});

describe('the lz4 codec without its package', () => {
  it('is UNSUPPORTED, with the loader\'s reason as its cause and gzip named as the way out', async () => {
    const missing = new Error("Cannot find module 'lz4-napi'");
    vi.resetModules();
    vi.doMock('node:module', async (original) => ({ ...(await original<typeof import('node:module')>()), createRequire: () => () => { throw missing; } }));
    try {
      const { lz4Codec } = await import('../src/store/codecs/lz4.js');
      let err: unknown;
      try { lz4Codec(); } catch (e) { err = e; }
      // (a fresh module graph: its MistiqueError is another class than this file's, so compare fields)
      expect((err as { code?: string }).code).toBe('UNSUPPORTED');
      expect((err as Error).message).toBe("the lz4 codec needs the lz4-napi package, which did not load here (Cannot find module 'lz4-napi'); use codec gzip");
      expect((err as Error).cause).toBe(missing);
    } finally {
      vi.doUnmock('node:module');
      vi.resetModules();
    }
  });
});
