// Tensor chunk layout (schema v6): row-major chunks of the geometry store/geometry.ts chooses, read
// back exactly through every codec and scheme; stores written before v6 (column-major tensors) open,
// migrate and read exactly what they read before.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../src/metadata/schema.js';
import { describe, expect, it } from 'vitest';
import { DataFrame, openStore } from '../src/index.js';
import { quantizeBatch } from '../src/executor/onnx/dnn.js';
import { CODEC_IDS } from '../src/store/codecs/index.js';
import { BLOCK_BYTES, CHUNK_BYTES, tensorGeometry } from '../src/store/geometry.js';
import { bytesOf, rng, slow, tempDir, tempStore } from './helpers.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'store-v5');

describe('tensor geometry', () => {
  it('bounds a RowBlock by its codec\'s BLOCK_BYTES and a chunk by about CHUNK_BYTES, in whole channels', () => {
    const lz4 = BLOCK_BYTES.lz4;
    // cnn conv1 fp32: 50 176 bytes a row → 10 rows, 4 chunks of 4 channels
    expect(tensorGeometry([16, 28, 28], 'float32', 1024, lz4)).toEqual({ blockRows: 10, chunkCols: 3136 });
    // the same layer as 8-bit codes: 4× the rows
    expect(tensorGeometry([16, 28, 28], 'uint8', 1024, lz4)).toEqual({ blockRows: 41, chunkCols: 3136 });
    // gzip and Parquet decode ~8× slower than LZ4: a quarter of the bytes a block, here one chunk of whole rows
    expect(BLOCK_BYTES.gzip).toBe(lz4 / 4);
    expect(BLOCK_BYTES.parquet).toBe(lz4 / 4);
    expect(tensorGeometry([16, 28, 28], 'float32', 1024, BLOCK_BYTES.gzip)).toEqual({ blockRows: 2, chunkCols: 12544 });
    expect(tensorGeometry([16, 28, 28], 'uint8', 1024, BLOCK_BYTES.gzip)).toEqual({ blockRows: 10, chunkCols: 12544 });
    // a dense layer: capped by the store's RowBlock size
    expect(tensorGeometry([128], 'float32', 1024, lz4)).toEqual({ blockRows: 1024, chunkCols: 32 });
    expect(tensorGeometry([10], 'float32', 1024, lz4)).toEqual({ blockRows: 1024, chunkCols: 10 });
    // wider than a block: one row, cut into chunks
    const wide = tensorGeometry([40, 6625], 'float32', 1024, lz4);
    expect(wide.blockRows).toBe(1);
    expect(wide.chunkCols % 6625).toBe(0);
    expect(wide.chunkCols * 4).toBeLessThanOrEqual(2 * CHUNK_BYTES);
    for (const codec of CODEC_IDS) {
      for (const shape of [[1], [7, 3], [3, 5, 7], [512, 7, 7], [1, 1_000_000]]) {
        for (const type of ['float32', 'float16', 'uint8', 'bool'] as const) {
          const g = tensorGeometry(shape, type, 1024, BLOCK_BYTES[codec]);
          const C = shape.reduce((a, b) => a * b, 1);
          const bytes = { float32: 4, float16: 2, uint8: 1, bool: 1 }[type];
          expect(g.blockRows).toBeGreaterThanOrEqual(1);
          expect(g.blockRows === 1 || g.blockRows * C * bytes <= BLOCK_BYTES[codec]).toBe(true);
          expect(g.chunkCols).toBeGreaterThanOrEqual(1);
          expect(g.chunkCols).toBeLessThanOrEqual(C);
        }
      }
    }
  });

  /** cnn conv1 over 95 examples (fp32, 50 176 bytes a row), logged and flushed into a store of `codec`. */
  async function conv1(codec: 'lz4' | 'gzip') {
    const store = await tempStore({ codec });
    const N = 95, C = 16 * 28 * 28;
    const x = new Float32Array(N * C).map((_, i) => Math.sin(i));
    await store.log('p.m.conv1', DataFrame.fromTensor(x, [16, 28, 28]));
    await store.flush();
    return { store, N, C, x, row: store.metadata.intermediates().find((r) => r.name === 'conv1')! };
  }

  it('stores a tensor row-major in that geometry; a one-row read decodes one RowBlock', async () => {
    const { store, C, x, row } = await conv1('lz4');
    expect([row.chunk_order, row.row_block_size, row.tile_cols]).toEqual(['row', 10, 3136]);
    const id = row.id;
    const chunks = store.metadata.chunkPlacement(id);
    expect(chunks).toHaveLength(10 * 4);
    const one = store.metadata.readFootprint(id, [4]);
    expect(one.raw).toBeLessThanOrEqual(BLOCK_BYTES.lz4 + 4096);
    const m = await store.getIntermediates('p.m.conv1.*', { rows: [47] });
    expect(bytesOf(m.values).equals(bytesOf(x.subarray(47 * C, 48 * C)))).toBe(true);
  });

  it('a gzip store holds a quarter of the bytes a RowBlock: a one-row read inflates ≤ 128 KB, and every read is exact', async () => {
    const { store, N, C, x, row } = await conv1('gzip');
    expect([row.chunk_order, row.row_block_size, row.tile_cols]).toEqual(['row', 2, C]);
    expect(store.metadata.chunkPlacement(row.id)).toHaveLength(Math.ceil(N / 2));
    expect(store.metadata.readFootprint(row.id, [4]).raw).toBeLessThanOrEqual(BLOCK_BYTES.gzip + 4096);
    const one = await store.getIntermediates('p.m.conv1.*', { rows: [47] });
    expect(bytesOf(one.values).equals(bytesOf(x.subarray(47 * C, 48 * C)))).toBe(true);
    const all = await store.getIntermediates('p.m.conv1.*');
    expect(bytesOf(all.values).equals(bytesOf(x))).toBe(true);
    const some = await store.getIntermediates('p.m.conv1.*', { rows: [94, 3, 50, 51] });
    const want = new Float32Array(4 * C);
    [94, 3, 50, 51].forEach((r, i) => want.set(x.subarray(r * C, (r + 1) * C), i * C));
    expect(bytesOf(some.values).equals(bytesOf(want))).toBe(true);
  });
});

describe('very wide tensors', () => {
  it('a 300 000-value example logs, reads whole and in part, and is estimated (#19: 130 000 columns overflowed the stack)', async () => {
    const store = await tempStore();
    const shape = [40, 7500], C = 300_000, N = 4;
    const x = new Float32Array(N * C).map((_, i) => (i % 977) / 977);
    await store.log('p.m.logits', DataFrame.fromTensor(x, shape));
    const row = store.metadata.intermediates().find((r) => r.name === 'logits')!;
    expect(row.row_block_size).toBe(1); // 1.2 MB a row: one row a RowBlock, cut into chunks of whole channels
    expect(row.tile_cols % 7500).toBe(0);
    const all = await store.getIntermediates('p.m.logits.*');
    expect(bytesOf(all.values).equals(bytesOf(x))).toBe(true);
    const part = await store.getIntermediates('p.m.logits.39_*', { rows: [2] });
    expect(bytesOf(part.values).equals(bytesOf(x.subarray(2 * C + 39 * 7500, 3 * C)))).toBe(true);
    const [e] = await store.explain('p.m.logits.*', { rows: [1, 3] });
    expect(e!.choice).toBe('read');
    expect(e!.read!.blocks).toBe(2);
  });
});

describe('a million values per example (#19 target)', () => {
  it('logs, reads whole, in part and estimated, through the scan path too', async () => {
    const store = await tempStore();
    const shape = [1, 1000, 1000], C = 1_000_000, N = 20;
    const x = new Float32Array(N * C).map((_, i) => (i % 1013) / 1013);
    await store.log('p.m.map', DataFrame.fromTensor(x, shape));
    const all = await store.getIntermediates('p.m.map.*'); // 20 RowBlocks of one row: a scan, 80 MB shared
    expect(all.ncols).toBe(C);
    expect(bytesOf(all.values).equals(bytesOf(x))).toBe(true);
    const one = await store.getIntermediates('p.m.map.0_999_*', { rows: [17] });
    expect(bytesOf(one.values).equals(bytesOf(x.subarray(17 * C + 999_000, 18 * C)))).toBe(true);
    const [e] = await store.explain('p.m.map.*', { rows: [3] });
    expect(e!.read!.blocks).toBe(1);
  }, 60_000);
});

/** Values with every kind of float and sizes that cut RowBlocks and chunks unevenly. */
function activations(n: number, per: number, seed: number): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(n * per).map(() => Math.max(0, (r() - 0.3) * 8));
  v[3] = NaN; v[10] = Infinity; v[17] = -Infinity; v[20] = -0;
  return v;
}

describe('row-major tensor chunks through every codec and scheme', () => {
  for (const codec of CODEC_IDS) {
    slow(`reads back fp32 bit-exactly and lp/kbit/threshold as their codes decode (${codec})`, async () => {
      const shape = [5, 9, 11]; // 495 values a row
      const C = 495, N = 1300;
      const x = activations(N, C, 3);
      const store = await tempStore({ codec, rowBlockSize: 256 });
      const ids = Int32Array.from({ length: N }, (_, i) => 7 + 3 * i);
      for (const [name, q] of [['fp32', undefined], ['lp', 'lp'], ['kbit', { kbit: 8 }], ['thr', { threshold: 0.9 }]] as const) {
        // two batches, cut inside a RowBlock; the scheme's state (the threshold) from the first
        const st = {};
        const encs = ([[0, 611], [611, N]] as const).map(([a, b]) => quantizeBatch(x.subarray(a * C, b * C), shape, ids.subarray(a, b), q, st));
        const w = store.writer(`p.m.${name}`, { scheme: name, logicalType: q ? 'float32' : undefined, kbit: encs[0]!.kbit });
        for (const e of encs) await w.append(e.frame);
        await w.close();
        await store.flush(); // durable: the second handle below sees it
        // what the scheme's decoder gives, computed on the side; KBIT_QT quantizes chunk by chunk in the
        // writer, so its reads are checked against its bound (one bin width of the range) and then taken as `want`
        let want: Float32Array = new Float32Array(N * C);
        if (name === 'fp32') want.set(x);
        else if (name === 'kbit') {
          want = (await store.getIntermediates('p.m.kbit.*')).values as Float32Array;
          let lo = Infinity, hi = -Infinity;
          for (const v of x) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
          for (let i = 0; i < x.length; i++) {
            if (Number.isFinite(x[i]!)) expect(Math.abs(want[i]! - x[i]!)).toBeLessThanOrEqual(((hi - lo) / 255) * (1 + 1e-6));
            else expect(Object.is(want[i], x[i])).toBe(true); // NaN, ±Infinity read back exactly
          }
          expect(store.metadata.blobs([store.metadata.chunkPlacement(store.metadata.intermediateId('p', 'm', 'kbit')!)[0]!.blob_id]).values().next().value!.type).toBe('kbit');
        } else want.set(decodeFrame(encs[0]!.frame)), want.set(decodeFrame(encs[1]!.frame), 611 * C);
        for (const reopen of [false, true]) {
          const s = reopen ? await openStore(store.dir) : store;
          if (reopen) s.dropCaches();
          const all = await s.getIntermediates(`p.m.${name}.*`);
          expect(all.shape).toEqual(shape);
          expect(Array.from(all.rowIds)).toEqual(Array.from(ids));
          expect(bytesOf(all.values).equals(bytesOf(want))).toBe(true);
          // rows out of order, across RowBlocks, and a channel out of the middle of chunks
          const rows = [ids[N - 1]!, ids[0]!, ids[700]!, ids[256]!, ids[255]!];
          const ch = await s.getIntermediates([`p.m.${name}.3_*`, `p.m.${name}.1_2_*`], { rows });
          expect(ch.ncols).toBe(99 + 11);
          rows.forEach((id, i) => {
            const r = (id - 7) / 3;
            for (let j = 0; j < ch.ncols; j++) {
              const src = j < 99 ? 3 * 99 + j : 99 + 2 * 11 + (j - 99);
              expect(Object.is(ch.get(i, j), want[r * C + src])).toBe(true);
            }
          });
          const table = await s.getTable([`p.m.${name}.*`]);
          expect(table.numRows).toBe(N);
          expect(Object.is(table.getChild(`p.m.${name}.4_8_10`)!.get(1299), want[1299 * C + 494])).toBe(true);
          if (reopen) await s.close();
        }
      }
    });
  }

  it('de-duplicates identical row-major chunks, and never matches a column-major chunk of the same bytes', async () => {
    const store = await tempStore({ policy: 'dedup' });
    const x = activations(300, 64, 5);
    const a = await store.log('p.a.l', DataFrame.fromTensor(x, [64]));
    const b = await store.log('p.b.l', DataFrame.fromTensor(x, [64]));
    expect(b.chunksDeduplicated).toBe(b.chunks);
    expect(a.chunksDeduplicated).toBe(0);
    // a one-column table of the same bytes as a one-column tensor: same values, different layout meaning
    const t = await store.log('p.c.l', DataFrame.fromTensor(x.subarray(0, 300), [1]));
    expect(t.chunksDeduplicated).toBe(0);
  });
});

function decodeFrame(frame: DataFrame): Float32Array {
  const v = (frame as unknown as { values: Uint16Array | Uint8Array }).values;
  if (v instanceof Uint16Array) {
    const out = new Float32Array(v.length);
    const dv = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < v.length; i++) out[i] = half(v[i]!, dv);
    return out;
  }
  return Float32Array.from(v);
}

function half(h: number, dv: DataView): number {
  const s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
  if (e === 31) return f ? NaN : s ? -Infinity : Infinity;
  const v = e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15);
  dv.setFloat32(0, s ? -v : v, true);
  return dv.getFloat32(0, true);
}

describe('stores written before schema v6', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, { rowIds: number[]; shape: number[] | null; columns: string[]; values: string; type: string }>;
  const keys = Object.keys(expected);

  for (const codec of CODEC_IDS) {
    it(`open, migrate and read exactly what they read before (${codec})`, async () => {
      const dir = path.join(tempDir(), 'store');
      fs.cpSync(path.join(FIXTURES, codec), dir, { recursive: true });
      const version = (): number => { const d = new Database(path.join(dir, 'metadata.db')); try { return d.pragma('user_version', { simple: true }) as number; } finally { d.close(); } };
      expect(version()).toBe(5);
      const store = await openStore(dir);
      expect(version()).toBe(SCHEMA_VERSION); // migrated through every version since (v6 row order, v7 zone maps)
      for (const key of keys) {
        const m = await store.getIntermediates(key);
        const e = expected[key]!;
        expect(Array.from(m.rowIds)).toEqual(e.rowIds);
        expect(m.shape).toEqual(e.shape);
        expect(m.columns.map((c) => c.name)).toEqual(e.columns);
        expect(m.values.constructor.name).toBe(e.type);
        expect(bytesOf(m.values).toString('base64')).toBe(e.values);
      }
      expect(store.metadata.intermediates().every((r) => r.chunk_order === 'col')).toBe(true);
      // checksums hold after the migration, and a tensor logged now is row-major beside the old ones
      expect((await store.verify()).ok).toBe(true);
      const x = activations(40, 105, 9);
      await store.log('fix.m2.fp32', DataFrame.fromTensor(x, [3, 5, 7], Int32Array.from({ length: 40 }, (_, i) => 100 + 2 * i)));
      const both = await store.getIntermediates(['fix.m.fp32.0_0_*', 'fix.m2.fp32.0_0_*'], { rows: [100, 120, 172] });
      expect(both.ncols).toBe(14);
      expect(both.get(1, 7 + 3)).toBe(x[10 * 105 + 3]);
      expect(store.metadata.intermediates().find((r) => r.model === 'm2')!.chunk_order).toBe('row');
      expect((await store.verify()).ok).toBe(true);
      await store.close();
    });
  }

  it('a v5 row damaged before the migration still reads as damaged after it', async () => {
    const dir = path.join(tempDir(), 'store');
    fs.cpSync(path.join(FIXTURES, 'gzip'), dir, { recursive: true });
    const d = new Database(path.join(dir, 'metadata.db'));
    d.prepare(`UPDATE intermediates SET n_cols = n_cols + 1 WHERE name = 'fp32'`).run();
    d.close();
    const store = await openStore(dir);
    await expect(store.getIntermediates('fix.m.fp32.*')).rejects.toMatchObject({ code: 'CORRUPT' });
    const report = await store.verify();
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).toContain('fix.m.fp32');
    await store.close();
  });
});
