import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataFrame, openStore } from '../src/index.js';
import { BufferPool } from '../src/store/bufferpool.js';
import type { DecodedSegment } from '../src/store/codecs/index.js';
import type { OpenPartition } from '../src/store/partition.js';
import { rng, tempDir } from './helpers.js';

describe('bufferpool', () => {
  it('writes partitions out under a 1 MB budget and reads everything back, also after reopening', async () => {
    const dir = tempDir();
    const budget = 1024 * 1024;
    const store = await openStore(dir, { bufferpoolBytes: budget, policy: 'store_all' });
    const frames: Float64Array[][] = [];
    for (let k = 0; k < 6; k++) {
      const r = rng(k);
      const cols = Array.from({ length: 8 }, () => new Float64Array(10_000).map(() => Math.round(r() * 1000) / 10));
      frames.push(cols);
      await store.log(`p.m.f${k}`, Object.fromEntries(cols.map((c, j) => [`c${j}`, c])));
      // Logged 640 KB per frame: the pool never holds more than its budget.
      const open = (store as unknown as { ds: { pool: { usedBytes: number } } }).ds.pool.usedBytes;
      expect(open).toBeLessThanOrEqual(budget);
    }
    await (store as unknown as { ds: { writesUnderWay(): Promise<void> } }).ds.writesUnderWay(); // writes run in the background
    const files = fs.readdirSync(path.join(dir, 'partitions'));
    expect(files.length).toBeGreaterThan(1);
    expect(files.every((f) => /^p\d{8}\.lz4$/.test(f))).toBe(true);
    for (let k = 0; k < 6; k++) {
      const m = await store.getIntermediates(`p.m.f${k}.*`);
      frames[k]!.forEach((c, j) => expect(m.column(j)).toEqual(c));
    }
    await store.close();
    const again = await openStore(dir, { bufferpoolBytes: budget });
    expect(again.list().map((s) => s.key)).toEqual(['p.m.f0', 'p.m.f1', 'p.m.f2', 'p.m.f3', 'p.m.f4', 'p.m.f5']);
    for (let k = 0; k < 6; k++) {
      const m = await again.getIntermediates(`p.m.f${k}.c3`, { rows: { start: 9990, end: 10_000 } });
      expect(Array.from(m.values)).toEqual(Array.from(frames[k]![3]!.subarray(9990)));
    }
    await again.close();
  });

  it('a flush starts writing what is open at once, beside a flush whose writes are still under way', async () => {
    const dir = tempDir();
    const store = await openStore(dir, { policy: 'store_all', codec: 'lz4' });
    type Seg = { chunks: readonly import('../src/model/dataframe.js').ChunkData[]; rawLength: number };
    const codec = (store as unknown as { ds: { codec: { encode(c: Seg['chunks'], n: number): Promise<Uint8Array>; encodeMany?(s: readonly Seg[]): Promise<Uint8Array[]> } } }).ds.codec;
    const plain = codec.encodeMany?.bind(codec) ?? ((segs: readonly Seg[]) => Promise.all(segs.map((x) => codec.encode(x.chunks, x.rawLength))));
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let encodes = 0;
    // the first partition's encoding waits at the gate: its flush stays under way
    codec.encodeMany = async (segs) => { if (encodes++ === 0) await gate; return plain(segs); };
    const a = Float64Array.from({ length: 1000 }, (_, i) => i), b = Float64Array.from({ length: 1000 }, (_, i) => -i);
    await store.log('p.m.a', { a });
    const first = store.flush();
    await store.log('p.m.b', { b });
    const second = store.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(encodes).toBe(2);
    release();
    await Promise.all([first, second]);
    await store.close();
    const again = await openStore(dir);
    expect((await again.getIntermediates('p.m.a.a')).column(0)).toEqual(a);
    expect((await again.getIntermediates('p.m.b.b')).column(0)).toEqual(b);
    await again.close();
  });

  it('evicts least recently used open partitions when writers together exceed the budget', async () => {
    // four writers at once, each far below a partition's size (budget/2): only eviction keeps the pool in budget
    const dir = tempDir();
    const budget = 1024 * 1024;
    const store = await openStore(dir, { bufferpoolBytes: budget, policy: 'store_all' });
    const pool = (store as unknown as { ds: { pool: { usedBytes: number } } }).ds.pool;
    const writers = [0, 1, 2, 3].map((k) => store.writer(`p.m.w${k}`));
    const sent: Float64Array[][] = [[], [], [], []];
    let maxUsed = 0;
    for (let b = 0; b < 10; b++) {
      for (const [k, w] of writers.entries()) {
        const r = rng(100 * k + b);
        const v = Float64Array.from({ length: 4096 }, () => r());
        sent[k]!.push(v);
        await w.append(DataFrame.from({ v }, { rowIds: Int32Array.from({ length: 4096 }, (_, i) => b * 4096 + i) }));
        maxUsed = Math.max(maxUsed, pool.usedBytes);
      }
    }
    // 4 × 10 × 32 KB = 1.3 MB logged; no writer reached 512 KB, so every partition on disk was evicted
    expect(maxUsed).toBeLessThanOrEqual(budget);
    await (store as unknown as { ds: { writesUnderWay(): Promise<void> } }).ds.writesUnderWay(); // writes run in the background
    expect(fs.readdirSync(path.join(dir, 'partitions')).length).toBeGreaterThanOrEqual(2);
    for (const w of writers) await w.close();
    for (let k = 0; k < 4; k++) {
      const m = await store.getIntermediates(`p.m.w${k}.v`);
      const want = new Float64Array(sent[k]!.reduce((a, v) => a + v.length, 0));
      let o = 0;
      for (const v of sent[k]!) { want.set(v, o); o += v.length; }
      expect(m.column(0)).toEqual(want);
    }
    await store.close();
  });

  it('an Arrow append that left a partition write under way lets the event loop turn, so the write goes on while a caller appends from memory', async () => {
    // small partitions, no flush and no bound reached: only the writes of full partitions are under way
    const store = await openStore(tempDir(), { codec: 'arrow', partitionBytes: 64 << 10, flushBytes: 1 << 30, bufferpoolBytes: 256 << 20, policy: 'store_all' });
    const ds = (store as unknown as { ds: { inflight: Set<Promise<void>> } }).ds;
    const w = store.writer('p.m.t');
    let turnedWhileWriting = 0, writing = 0;
    for (let b = 0; b < 8; b++) {
      let turned = false;
      setImmediate(() => { turned = true; });
      // one RowBlock per append (128 rows of 4 KB: Arrow's 512 KB), which fills partitions of 64 KB,
      // written in the background
      await w.append(DataFrame.fromTensor(Float32Array.from({ length: 128 * 1024 }, (_, i) => i + b), [1024], Int32Array.from({ length: 128 }, (_, i) => b * 128 + i)));
      if (ds.inflight.size === 0) continue;
      writing++;
      if (turned) turnedWhileWriting++;
    }
    // without the turn, the writes' steps (open, writev, fsync…) waited until the appends stopped
    expect(writing).toBeGreaterThan(0);
    expect(turnedWhileWriting).toBe(writing);
    await w.close();
    const m = await store.getIntermediates('p.m.t.*');
    expect(m.nrows).toBe(8 * 128);
    expect(m.values[5 * 1024 * 128 + 7]).toBe(7 + 5);
    await store.close();
  });

  it('reads chunks still in memory before they are written', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    await store.log('p.m.x', { v: new Float64Array([1, 2, 3]) });
    expect(fs.readdirSync(path.join(dir, 'partitions'))).toEqual([]);
    expect(Array.from((await store.getIntermediates('p.m.x.v')).values)).toEqual([1, 2, 3]);
    await store.close();
    expect(fs.readdirSync(path.join(dir, 'partitions')).length).toBe(1);
  });
});

describe('BufferPool on its own', () => {
  const part = (id: number, rawBytes: number) => ({ id, rawBytes, lastUse: 0 }) as unknown as OpenPartition;
  const seg = (byteLength: number) => ({ byteLength }) as unknown as DecodedSegment;

  it('counts open partitions and decoded segments against one budget; drops the least recently used segment first', () => {
    const pool = new BufferPool(1000);
    const a = part(1, 300), b = part(2, 200);
    pool.touch(a); pool.touch(b);
    expect(a.lastUse).toBe(1);
    expect(b.lastUse).toBe(2);
    pool.putDecoded('s1', seg(100));
    pool.putDecoded('s2', seg(150));
    expect(pool.usedBytes).toBe(300 + 200 + 100 + 150);
    expect(pool.getDecoded('s1')).toEqual(seg(100)); // s1 is now the most recent
    expect(pool.getDecoded('nope')).toBeUndefined();
    pool.putDecoded('s3', seg(250)); // 1000 used: fits exactly, nothing dropped
    expect([pool.hasDecoded('s1'), pool.hasDecoded('s2'), pool.hasDecoded('s3')]).toEqual([true, true, true]);
    pool.putDecoded('s4', seg(10)); // 1010: s2, the least recently used, goes
    expect([pool.hasDecoded('s1'), pool.hasDecoded('s2'), pool.hasDecoded('s3'), pool.hasDecoded('s4')]).toEqual([true, false, true, true]);
    expect(pool.usedBytes).toBe(860);
    pool.trimDecoded(700); // drops s1 (100 → 760), then s3 (250 → 510)
    expect([pool.hasDecoded('s1'), pool.hasDecoded('s3'), pool.hasDecoded('s4')]).toEqual([false, false, true]);
    expect(pool.usedBytes).toBe(510);
    pool.dropDecoded();
    expect(pool.usedBytes).toBe(500);
    // a segment larger than a quarter of the budget is not kept; a quarter exactly is
    pool.putDecoded('big', seg(251));
    expect(pool.hasDecoded('big')).toBe(false);
    pool.putDecoded('quarter', seg(250));
    expect(pool.hasDecoded('quarter')).toBe(true);
  });

  it('victims: decoded segments go first, then the least recently touched partitions until the incoming bytes fit', () => {
    const pool = new BufferPool(1000);
    const a = part(1, 400), b = part(2, 300), c = part(3, 200);
    pool.touch(a); pool.touch(b); pool.touch(c);
    pool.putDecoded('s', seg(100));
    expect(pool.victims(0)).toEqual([]); // 1000 of 1000
    expect(pool.hasDecoded('s')).toBe(true);
    pool.touch(a); // order now b, c, a
    expect(pool.victims(100)).toEqual([]); // the segment made room
    expect(pool.hasDecoded('s')).toBe(false);
    expect(pool.victims(101)).toEqual([b]);
    expect(pool.victims(500)).toEqual([b, c]);
    expect(pool.victims(5000)).toEqual([b, c, a]);
  });
});
