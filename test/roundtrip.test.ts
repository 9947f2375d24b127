import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { Float16, LargeUtf8, Table, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { DataFrame, openStore } from '../src/index.js';
import { CODEC_IDS } from '../src/store/codecs/index.js';
import { bytesOf, rng, tempDir, tempStore } from './helpers.js';

const N = 2500; // spans three RowBlocks of 1024 and a short one

function specialFloats(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const v = new Float64Array(n).map(() => (r() - 0.5) * 1e6);
  v[0] = NaN; v[1] = Infinity; v[2] = -Infinity; v[3] = -0; v[4] = 5e-324; v[5] = Number.MAX_VALUE;
  // A NaN with a payload: bits must survive, not just NaN-ness.
  new DataView(v.buffer).setBigUint64(6 * 8, 0x7ff8_dead_beef_0001n, true);
  return v;
}

function frame(seed: number) {
  const r = rng(seed);
  const f32 = Float32Array.from(specialFloats(N, seed + 1));
  f32[7] = 1e-45; // float32 subnormal
  return {
    f64: specialFloats(N, seed),
    f32,
    i32: new Int32Array(N).map(() => Math.floor((r() - 0.5) * 2 ** 32)),
    flag: Uint8Array.from({ length: N }, () => (r() < 0.3 ? 1 : 0)),
    city: Array.from({ length: N }, (_, i) => (i % 11 === 0 ? null : ['Los Angeles', 'Ventura', 'Orange', 'Ünïcødé ☃', ''][Math.floor(r() * 5)]!)),
  };
}

describe('round trip', () => {
  for (const codec of CODEC_IDS) {
    it(`is bit-exact for every type with codec ${codec}, across close and reopen`, async () => {
      const dir = tempDir();
      const f = frame(7);
      let store = await openStore(dir, { codec });
      await store.log('proj.model.inter', f);
      const before = await store.getIntermediates('proj.model.inter.*');
      await store.close();
      store = await openStore(dir);
      expect(store.codec).toBe(codec);
      store.dropCaches();
      const m = await store.getIntermediates('proj.model.inter.*');
      await store.close();
      for (const res of [before, m]) {
        expect(res.columns.map((c) => c.name)).toEqual(['f64', 'f32', 'i32', 'flag', 'city']);
        expect(res.values).toBeInstanceOf(Float64Array);
        expect(bytesOf(res.column('f64'))).toEqual(bytesOf(f.f64));
        expect(bytesOf(Float32Array.from(res.column('f32')))).toEqual(bytesOf(f.f32));
        expect(Int32Array.from(res.column('i32'))).toEqual(f.i32);
        expect(Uint8Array.from(res.column('flag'))).toEqual(f.flag);
        const city = res.columnIndex('city');
        expect(Array.from({ length: N }, (_, i) => res.get(i, city))).toEqual(f.city);
        expect(Array.from(res.rowIds)).toEqual(Array.from({ length: N }, (_, i) => i));
      }
    });
  }

  for (const codec of ['gzip', 'lz4'] as const) {
    it(`${codec} partitions hold each chunk's raw little-endian bytes, readable by the codec's own tool`, async () => {
      const store = await tempStore({ codec, policy: 'store_all', rowBlockSize: 512 });
      const v = Float64Array.from({ length: 2000 }, (_, i) => i * 0.25 - 7);
      await store.log('p.m.raw', { v });
      await store.flush();
      const db = store.metadata;
      const id = db.intermediateId('p', 'm', 'raw')!;
      const placed = db.chunkPlacement(id);
      expect(placed).toHaveLength(4);
      const blobs = db.blobs(placed.map((c) => c.blob_id));
      const lz4 = createRequire(import.meta.url)('lz4-napi') as { uncompressSync(b: Buffer): Buffer };
      for (const c of placed) {
        const b = blobs.get(c.blob_id)!;
        const seg = db.segment(b.partition_id, b.segment)!;
        const file = fs.readFileSync(path.join(store.dir, 'partitions', db.partition(b.partition_id)!.file));
        const enc = file.subarray(seg.offset, seg.offset + seg.length);
        const raw = codec === 'gzip' ? zlib.gunzipSync(enc) : lz4.uncompressSync(enc);
        expect(raw.length).toBe(seg.raw_length);
        const want = v.subarray(c.block * 512, Math.min(2000, (c.block + 1) * 512));
        expect(raw.subarray(b.byte_offset, b.byte_offset + b.byte_length)).toEqual(Buffer.from(want.buffer, want.byteOffset, want.byteLength));
      }
    });
  }

  it('reads RowBlocks larger than a Parquet reader batch (1 024 rows) with every codec', async () => {
    for (const codec of CODEC_IDS) {
      const dir = tempDir();
      const s = await openStore(dir, { codec, rowBlockSize: 4096 });
      await s.log('p.m.t', { a: Float64Array.from({ length: 5000 }, (_, i) => i * 0.5), s: Array.from({ length: 5000 }, (_, i) => `s${i % 7}`) });
      await s.close();
      const r = await openStore(dir);
      const m = await r.getIntermediates('p.m.t.a');
      expect(m.nrows, codec).toBe(5000);
      expect(m.values[4999], codec).toBe(2499.5);
      expect(m.values[1500], codec).toBe(750);
      await r.close();
    }
  });

  it('keeps the narrow type when all selected columns share it', async () => {
    const store = await tempStore();
    const f = frame(3);
    await store.log('p.m.i', f);
    expect((await store.getIntermediates('p.m.i.f32')).values).toBeInstanceOf(Float32Array);
    expect((await store.getIntermediates('p.m.i.i32')).values).toBeInstanceOf(Int32Array);
    const f32 = await store.getIntermediates('p.m.i.f32');
    expect(bytesOf(f32.values)).toEqual(bytesOf(f.f32));
  });

  it('stores tensor frames with their per-example shape, tiled when wide', async () => {
    const store = await tempStore({ codec: 'arrow' });
    const n = 300;
    const shape = [3, 24, 24]; // 1728 columns > 1024: tiles of 2 columns
    const t = new Float32Array(n * 1728).map((_, i) => Math.sin(i));
    await store.log('dnn.cnn_e01.conv1', DataFrame.fromTensor(t, shape));
    const all = await store.getIntermediates('dnn.cnn_e01.conv1.*');
    expect(all.shape).toEqual(shape);
    expect(bytesOf(all.values).equals(bytesOf(t))).toBe(true);
    const ch = await store.getIntermediates('dnn.cnn_e01.conv1.2_*', { rows: [5, 299] });
    expect(ch.ncols).toBe(576);
    expect(ch.columns[1]!.name).toBe('2_0_1');
    expect(ch.get(1, 1)).toBe(t[299 * 1728 + 2 * 576 + 1]);
    const one = await store.getIntermediates('dnn.cnn_e01.conv1.1_10_12', { rows: [7] });
    expect(one.values[0]).toBe(t[7 * 1728 + 576 + 10 * 24 + 12]);
  });

  it('copies tiles into the result whatever the column order, tile cut and row order', async () => {
    const store = await tempStore({ rowBlockSize: 100 });
    const n = 250;
    const shape = [3, 25, 41]; // 3 075 columns > 1024: tiles of 4, the last tile of each channel cut
    const C = 3075;
    const t = new Float32Array(n * C).map((_, i) => Math.cos(i) * (i % 7 === 0 ? -1 : 1));
    await store.log('dnn.wide.l', DataFrame.fromTensor(t, shape));
    // channel 2 before channel 0: result column j comes from a tile that starts elsewhere
    const rows = [249, 3, 100, 101, 99, 0, 3];
    const m = await store.getIntermediates(['dnn.wide.l.2_*', 'dnn.wide.l.0_*'], { rows });
    expect(m.ncols).toBe(2 * 1025);
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < m.ncols; j++) {
        const src = j < 1025 ? 2 * 1025 + j : j - 1025;
        expect(m.get(i, j)).toBe(t[rows[i]! * C + src]);
      }
    }
    const all = await store.getIntermediates('dnn.wide.l.*', { rows: { start: 50, end: 250 } });
    expect(bytesOf(all.values).equals(bytesOf(t.subarray(50 * C)))).toBe(true);
  });

  it('takes Arrow tables, uses a row_id column, and gives Arrow back', async () => {
    const store = await tempStore({ codec: 'parquet' });
    const table = tableFromArrays({ row_id: new Int32Array([10, 20, 30]), x: new Float64Array([1.5, NaN, -2]), n: new Int32Array([1, 2, 3]) });
    await store.log('p.m.t', table);
    const m = await store.getIntermediates('p.m.t.*', { rows: [30, 10] });
    expect(Array.from(m.rowIds)).toEqual([30, 10]);
    const back = m.toArrow();
    expect(back.getChild('row_id')!.toArray()).toEqual(new Int32Array([30, 10]));
    expect(back.getChild('p.m.t.x')!.toArray()).toEqual(new Float64Array([-2, 1.5]));
    expect(back.getChild('p.m.t.n')!.toArray()).toEqual(new Int32Array([3, 1]));
  });

  it('takes half floats and large strings from Arrow tables, exactly', async () => {
    const store = await tempStore();
    const half = vectorFromArray([1, -2, 65504, null], new Float16());
    const big = vectorFromArray(['a', null, 'ccc', 'd'], new LargeUtf8());
    await store.log('p.m.h', new Table({ h: half, s: big }));
    const m = await store.getIntermediates('p.m.h.*');
    expect(m.columns.map((c) => c.type)).toEqual(['float32', 'utf8']);
    expect([0, 1, 2, 3].map((i) => m.get(i, 0))).toEqual([1, -2, 65504, NaN]);
    expect([0, 1, 2, 3].map((i) => m.get(i, 1))).toEqual(['a', null, 'ccc', 'd']);
  });

  it('streams batches through a writer into RowBlocks that straddle batches', async () => {
    const store = await tempStore({ rowBlockSize: 100 });
    const w = store.writer('p.m.stream');
    const all: string[] = [];
    for (let b = 0; b < 7; b++) {
      const n = 37 + b * 13;
      const s = Array.from({ length: n }, (_, i) => `r${all.length + i}`);
      const ids = Int32Array.from({ length: n }, (_, i) => (all.length + i) * 3);
      await w.append(DataFrame.from({ s, v: Float64Array.from(ids, (x) => x / 3) }, { rowIds: ids }));
      all.push(...s);
    }
    const info = await w.close();
    expect(info.rows).toBe(all.length);
    const m = await store.getIntermediates('p.m.stream.*');
    expect(Array.from({ length: m.nrows }, (_, i) => m.get(i, 0))).toEqual(all);
    expect(Array.from(m.column('v'))).toEqual(all.map((_, i) => i));
  });
});

describe('getTable', () => {
  for (const codec of CODEC_IDS) {
    it(`gives the same values as getIntermediates, zero-copy or not (${codec})`, async () => {
      const store = await tempStore({ codec, rowBlockSize: 256 });
      const n = 1000;
      const cols = { a: Float64Array.from({ length: n }, (_, i) => i / 3), b: new Float32Array(n).fill(2.5), c: new Int32Array(n).fill(-7), d: Uint8Array.from({ length: n }, (_, i) => i % 2) };
      await store.log('p.m.whole', cols);
      await store.flush();
      const t = await store.getTable('p.m.whole.*'); // whole intermediate: zero-copy batches
      expect(t.batches.length).toBe(4);
      expect(Array.from(t.getChild('row_id')!.toArray() as Int32Array)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(t.getChild('p.m.whole.a')!.toArray()).toEqual(cols.a);
      expect(t.getChild('p.m.whole.c')!.toArray()).toEqual(cols.c);
      expect(Array.from(t.getChild('p.m.whole.d')!.toArray() as boolean[], Number)).toEqual(Array.from(cols.d));
      // Mutating the result must not reach the store.
      (t.getChild('p.m.whole.a')!.data[0]!.values as Float64Array).fill(99);
      expect((await store.getIntermediates('p.m.whole.a', { rows: [1] })).values[0]).toBe(1 / 3);
      const part = await store.getTable('p.m.whole.b', { rows: [999, 3] });
      expect(Array.from(part.getChild('p.m.whole.b')!.toArray() as Float32Array)).toEqual([2.5, 2.5]);
    });
  }
});
