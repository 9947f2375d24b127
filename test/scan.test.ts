// Scans decoded on the worker threads (#16 item 3, read side): a large read of a gzip or lz4 store (or of a
// quantized tensor in an Arrow store) reads
// runs of segments with one file read, checks and inflates them on the workers, which reconstruct each
// chunk and copy its rows straight into a result in a SharedArrayBuffer. The bytes must be those of the
// main-thread path, for every scheme, for rows out of order and for channels out of the middle of chunks;
// a damaged segment is still one clear CORRUPT error.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MistiqueError } from '../src/errors.js';
import { openStore, type Store } from '../src/index.js';
import { quantizeBatch } from '../src/executor/onnx/dnn.js';
import type { ChunkData } from '../src/model/dataframe.js';
import { toFloat16 } from '../src/quantize/lowprecision.js';
import { identity, reconstructor, rowMajor } from '../src/reader/reconstruct.js';
import { rangeTask, scatterPlan, scatterSegment, storedAsIs, tileMapOf, workersDecode, type ChunkPlacement, type ScatterTask } from '../src/reader/scatter.js';
import { bytesOf, rng, tempStore, thrownError } from './helpers.js';

const SHAPE = [8, 16, 16]; // 2 048 values, 8 KB a row: RowBlocks of 64 rows, chunks of two channels
const C = 2048, N = 2100; // 33 RowBlocks (a scan) and a 17 MB result (a shared one)

function activations(seed: number): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(N * C).map(() => Math.max(0, (r() - 0.3) * 8));
  v[3] = NaN; v[10] = Infinity; v[17] = -Infinity; v[20] = -0;
  return v;
}

/** Logs x as p.m.fp32, p.m.lp, p.m.kbit and p.m.thr, or those of `only`. */
async function logAll(store: Store, x: Float32Array, only?: string[]): Promise<void> {
  const ids = Int32Array.from({ length: N }, (_, i) => 5 + 2 * i);
  for (const [name, q] of [['fp32', undefined], ['lp', 'lp'], ['kbit', { kbit: 8 }], ['thr', { threshold: 0.9 }]] as const) {
    if (only && !only.includes(name)) continue;
    const st = {};
    let w: ReturnType<Store['writer']> | null = null;
    for (let a = 0; a < N; a += 700) {
      const b = Math.min(N, a + 700);
      const e = quantizeBatch(x.subarray(a * C, b * C), SHAPE, ids.subarray(a, b), q, st);
      w ??= store.writer(`p.m.${name}`, { scheme: name, logicalType: q ? 'float32' : undefined, kbit: e.kbit });
      await w.append(e.frame);
    }
    await w!.close();
  }
  await store.flush();
}

/** Flips the bits of the byte in the middle of a file. */
function flipMiddleByte(file: string): void {
  const bytes = fs.readFileSync(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  fs.writeFileSync(file, bytes);
}

/** A whole read of p.m.<name> by a fresh Store is one CORRUPT error naming it and what to run. */
async function expectScanCorrupt(dir: string, name: string): Promise<void> {
  const s = await openStore(dir);
  const err = await s.getIntermediates(`p.m.${name}.*`).catch((e: unknown) => e);
  await s.close();
  expect(err).toBeInstanceOf(MistiqueError);
  expect((err as MistiqueError).code).toBe('CORRUPT');
  expect((err as MistiqueError).message).toMatch(new RegExp(`checksum mismatch.*p\\.m\\.${name}.*mistique verify`, 's'));
}

const saved = process.env.MISTIQUE_WORKERS;
afterEach(() => {
  if (saved === undefined) delete process.env.MISTIQUE_WORKERS;
  else process.env.MISTIQUE_WORKERS = saved;
});

describe('scans decoded on the worker threads', () => {
  for (const codec of ['lz4', 'gzip', 'arrow', 'parquet'] as const) {
    it(`give the main thread's bytes for every scheme, rows out of order and channels out of chunks (${codec})`, async () => {
      const x = activations({ lz4: 1, gzip: 2, arrow: 4, parquet: 6 }[codec]);
      const store = await tempStore({ codec, rowBlockSize: 64 });
      await logAll(store, x);
      const reversed = Array.from({ length: N }, (_, i) => 5 + 2 * (N - 1 - i));
      for (const name of ['fp32', 'lp', 'kbit', 'thr']) {
        const queries: [string[], { rows?: number[] }][] = [
          [[`p.m.${name}.*`], {}],
          [[`p.m.${name}.*`], { rows: reversed }],
          [[`p.m.${name}.5_*`, `p.m.${name}.0_*`, `p.m.${name}.3_*`, `p.m.${name}.6_*`, `p.m.${name}.2_*`], { rows: reversed }],
        ];
        for (const [keys, opts] of queries) {
          const s = await openStore(store.dir);
          delete process.env.MISTIQUE_WORKERS;
          const onWorkers = await s.getIntermediates(keys, opts);
          process.env.MISTIQUE_WORKERS = '0';
          s.dropCaches();
          const onMain = await s.getIntermediates(keys, opts);
          await s.close();
          expect(onWorkers.values.buffer).toBeInstanceOf(SharedArrayBuffer);
          expect(onMain.values.buffer).toBeInstanceOf(ArrayBuffer);
          expect(Array.from(onWorkers.rowIds)).toEqual(Array.from(onMain.rowIds));
          expect(bytesOf(onWorkers.values).equals(bytesOf(onMain.values))).toBe(true);
          if (name === 'fp32' && keys.length === 1) {
            // and they are the values logged, bit for bit (the reversed read row by row)
            const want = opts.rows ? new Float32Array(N * C) : x;
            if (opts.rows) for (let i = 0; i < N; i++) want.set(x.subarray((N - 1 - i) * C, (N - i) * C), i * C);
            expect(bytesOf(onWorkers.values).equals(bytesOf(want))).toBe(true);
          }
        }
      }
    }, 120_000);
  }

  it('scans of one Store at the same time, reading into buffers the workers hand back, give the main thread\'s bytes', async () => {
    const x = activations(5);
    const store = await tempStore({ codec: 'lz4', rowBlockSize: 64 });
    await logAll(store, x);
    const names = ['fp32', 'lp', 'kbit', 'thr'];
    process.env.MISTIQUE_WORKERS = '0';
    const ref = await openStore(store.dir);
    const want = await Promise.all(names.map((n) => ref.getIntermediates(`p.m.${n}.*`)));
    await ref.close();
    delete process.env.MISTIQUE_WORKERS;
    const s = await openStore(store.dir);
    // twice over: the second round reads into the buffers the first handed back
    for (let round = 0; round < 2; round++) {
      s.dropCaches();
      const got = await Promise.all([...names, 'fp32'].map((n) => s.getIntermediates(`p.m.${n}.*`)));
      got.forEach((m, i) => expect(bytesOf(m.values).equals(bytesOf(want[i % names.length]!.values)), `round ${round}, ${names[i % names.length]}`).toBe(true));
    }
    await s.close();
  }, 120_000);

  it('a damaged segment met by a scan is one CORRUPT error naming the intermediate', async () => {
    const store = await tempStore({ codec: 'lz4', rowBlockSize: 64 });
    const x = activations(3);
    await store.log('p.m.fp32', (await import('../src/index.js')).DataFrame.fromTensor(x, SHAPE));
    await store.flush();
    await store.close();
    const dir = path.join(store.dir, 'partitions');
    const file = path.join(dir, fs.readdirSync(dir).sort()[0]!);
    flipMiddleByte(file);
    await expectScanCorrupt(store.dir, 'fp32');
  });
});

describe('which scans decode on the workers (workersDecode)', () => {
  it('gzip and LZ4 always; Arrow and Parquet a tensor (row-major chunks), not a table; never a codec without it', () => {
    for (const codec of ['gzip', 'lz4'] as const) for (const row of [true, false]) expect(workersDecode(codec, row)).toBe(true);
    for (const codec of ['arrow', 'parquet'] as const) {
      expect(workersDecode(codec, true)).toBe(true);
      expect(workersDecode(codec, false)).toBe(false);
    }
    expect(workersDecode(undefined, true)).toBe(false);
  });

  for (const codec of ['arrow', 'parquet'] as const) {
    it(`a damaged segment of ${codec === 'arrow' ? 'an Arrow' : 'a Parquet'} store met by a scan on the workers is one CORRUPT error naming the intermediate`, async () => {
      const store = await tempStore({ codec, rowBlockSize: 64 });
      // kbit alone, so that the middle of every partition is one of its segments
      await logAll(store, activations(5), ['kbit']);
      await store.close();
      const dir = path.join(store.dir, 'partitions');
      for (const f of fs.readdirSync(dir)) flipMiddleByte(path.join(dir, f));
      await expectScanCorrupt(store.dir, 'kbit');
    });
  }
});

describe('reconstructing stored values (reconstruct.ts, scatter.ts)', () => {
  const chunk = (type: ChunkData['type'], values: ChunkData['values'], extra: Partial<ChunkData> = {}): ChunkData => ({ type, nrows: 1, ncols: values.length, values, order: 'row', ...extra });

  it('each physical type decodes to float32 by its scheme; float32 and float64 pass as they are', () => {
    const book = Float32Array.from([0.5, -1, 7]);
    const dec = reconstructor('p.m.x', 'kbit(2)', book);
    expect(dec(chunk('float16', toFloat16(Float32Array.from([1.5, -2, 0.25]))))).toEqual(chunk('float32', Float32Array.from([1.5, -2, 0.25])));
    expect(dec(chunk('uint8', Uint8Array.from([2, 0, 1, 2])))).toEqual(chunk('float32', Float32Array.from([7, 0.5, -1, 7])));
    const own = Float32Array.from([3, 4]);
    expect(dec(chunk('kbit', Uint8Array.from([1, 0, 1]), { codebook: own }))).toEqual(chunk('float32', Float32Array.from([4, 3, 4]), { codebook: own }));
    expect(dec(chunk('bool', Uint8Array.from([1, 0, 1])))).toEqual(chunk('float32', Float32Array.from([1, 0, 1])));
    const f = chunk('float32', Float32Array.from([9]));
    expect(dec(f)).toBe(f);
    const d = chunk('float64', Float64Array.from([9]));
    expect(dec(d)).toBe(d);
  });

  it('codes without their codebook are CORRUPT naming the intermediate and its scheme', () => {
    expect(thrownError(() => reconstructor('p.m.x', 'kbit(8)', null)(chunk('uint8', Uint8Array.from([1]))))).toBe('CORRUPT: p.m.x is stored as kbit(8) codes but its codebook is missing from the MetadataDB');
    expect(thrownError(() => reconstructor('p.m.x', 'kbit(8)', null)(chunk('kbit', Uint8Array.from([1]))))).toBe('CORRUPT: a chunk of p.m.x holds kbit(8) codes without their codebook');
  });

  it('rowMajor marks a chunk row-major before decoding it; identity changes nothing', () => {
    const seen: ChunkData[] = [];
    const col: ChunkData = { type: 'float32', nrows: 1, ncols: 1, values: Float32Array.from([1]) };
    rowMajor((c) => { seen.push(c); return c; })(col);
    expect(seen[0]).toEqual({ ...col, order: 'row' });
    expect(col.order).toBeUndefined(); // the chunk it was given is left as it was
    const row = chunk('float32', Float32Array.from([1]));
    rowMajor((c) => { seen.push(c); return c; })(row);
    expect(seen[1]).toBe(row);
    expect(identity(row)).toBe(row);
  });

  it('rangeTask: a run of segments gets the tiles and RowBlocks its chunks use, re-indexed, and a tile of adjacent columns as a run; scattering it fills what the whole task does', () => {
    const ncols = 10, nrows = 6;
    const rowsOf = (first: number, n: number) => ({ offsets: Int32Array.from({ length: n }, (_, i) => i), outRows: Int32Array.from({ length: n }, (_, i) => first + i), contiguous: { first } });
    const whole: Omit<ScatterTask, 'chunks'> = {
      out: new Float32Array(nrows * ncols), ncols, key: 'p.m.t', scheme: null, codebook: null,
      tiles: [
        { ks: Int32Array.from([0, 1, 2, 3]), ocs: Int32Array.from([0, 1, 2, 3]) }, // a run
        { ks: Int32Array.from([0, 2]), ocs: Int32Array.from([5, 9]) }, // not a run: kept as it is
        { ks: Int32Array.from([0, 1, 2]), ocs: Int32Array.from([6, 7, 8]) }, // a run
      ],
      blocks: [rowsOf(0, 2), rowsOf(2, 2), rowsOf(4, 2)],
    };
    const slot = (ncol: number, at: number) => ({ type: 'float32' as const, nrows: 2, ncols: ncol, colStart: 0, byteOffset: at, byteLength: 2 * ncol * 4 });
    // one segment: block 2's chunks of tiles 2 and 1, then block 1's of tile 2
    const placed: ChunkPlacement[] = [
      { seg: 0, slot: slot(3, 0), tile: 2, block: 2 },
      { seg: 0, slot: slot(3, 24), tile: 1, block: 2 },
      { seg: 0, slot: slot(3, 48), tile: 2, block: 1 },
    ];
    const t = rangeTask(whole, placed);
    expect(t.tiles).toEqual([{ run: [0, 6, 3] }, whole.tiles[1]]);
    expect(t.blocks).toEqual([whole.blocks[2], whole.blocks[1]]);
    expect(t.chunks.map((c) => [c.tile, c.block])).toEqual([[0, 0], [1, 0], [0, 1]]);
    expect(tileMapOf(t.tiles[0]!)).toEqual(whole.tiles[2]);
    expect(tileMapOf(t.tiles[0]!)).toBe(tileMapOf({ run: [0, 6, 3] })); // expanded once per thread
    // the segment's bytes scattered by the range's task and by the whole one fill the same places
    const seg = Float32Array.from({ length: 18 }, (_, i) => i + 1);
    const raw = new Uint8Array(seg.buffer);
    const a = { ...t, out: new Float32Array(nrows * ncols) }, b = { ...whole, chunks: placed, out: new Float32Array(nrows * ncols) };
    for (const task of [a, b]) scatterSegment(0, raw, task, scatterPlan(task), 'lz4');
    expect(Array.from(a.out)).toEqual(Array.from(b.out));
    // block 2 (rows 4, 5): tile 2's chunk to columns 6…8, tile 1's columns 0 and 2 to 5 and 9; block 1 (rows 2, 3): tile 2's
    expect(Array.from(a.out.subarray(40, 50))).toEqual([0, 0, 0, 0, 0, 7, 1, 2, 3, 9]);
    expect(Array.from(a.out.subarray(20, 30))).toEqual([0, 0, 0, 0, 0, 0, 13, 14, 15, 0]);
  });

  it('storedAsIs: no scheme, none and pooling read as stored; the quantized schemes reconstruct', () => {
    for (const s of [null, '', 'none', 'pool(2)', 'pool(2,max)']) expect(storedAsIs(s), String(s)).toBe(true);
    for (const s of ['lp', 'kbit(8)', 'threshold(0.995)', 'pool(2)x', 'xpool(2)', 'pool']) expect(storedAsIs(s), s).toBe(false);
  });
});
