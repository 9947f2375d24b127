// De-duplication: exact (a chunk's content hash) and approximate (MinHash groups colocated in a partition).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/index.js';
import { jaccard, signature } from '../src/store/minhash.js';
import { rng, tempDir, tempStore } from './helpers.js';

function frame(seed: number, n = 5000) {
  const r = rng(seed);
  return { a: new Float64Array(n).map(() => r()), b: new Float32Array(n).map(() => r()), c: Array.from({ length: n }, () => (r() < 0.5 ? 'x' : 'y')) };
}

describe('exact de-duplication', () => {
  it('adds no chunk bytes for a frame logged twice under dedup', async () => {
    const store = await tempStore({ policy: 'dedup' });
    const f = frame(1);
    const first = await store.log('p.m1.feat', f);
    await store.flush();
    const s1 = store.stats();
    const second = await store.log('p.m2.feat', f);
    await store.flush();
    const s2 = store.stats();
    // the first adds every byte it logs, the second none
    expect(first.bytesRaw).toBeGreaterThan(5000 * 12);
    expect(first.bytesNew).toBe(first.bytesRaw);
    expect(second.bytesNew).toBe(0);
    expect(second.chunksDeduplicated).toBe(second.chunks);
    expect(s2.bytesUnique).toBe(s1.bytesUnique);
    expect(s2.bytesOnDisk).toBe(s1.bytesOnDisk);
    expect(s2.bytesLogged).toBe(2 * first.bytesRaw);
    expect(s2.dedupRatio).toBeCloseTo(2, 5);
    // the second intermediate's references read back as the source, not merely as the first read
    for (const key of ['p.m1.feat', 'p.m2.feat']) {
      const m = await store.getIntermediates(`${key}.*`);
      expect(m.column('a')).toEqual(f.a);
      expect(Float32Array.from(m.column('b'))).toEqual(f.b);
      expect(Array.from({ length: m.nrows }, (_, i) => m.get(i, 2))).toEqual(f.c);
    }
  });

  it('doubles the chunk bytes for the same under store_all', async () => {
    const store = await tempStore({ policy: 'store_all' });
    const f = frame(2);
    await store.log('p.m1.feat', f);
    await store.flush();
    const s1 = store.stats();
    const second = await store.log('p.m2.feat', f);
    await store.flush();
    const s2 = store.stats();
    expect(second.chunksDeduplicated).toBe(0);
    expect(second.bytesNew).toBe(second.bytesRaw);
    expect(s2.bytesUnique).toBe(2 * s1.bytesUnique);
    expect(s2.bytesOnDisk).toBeGreaterThanOrEqual(2 * s1.bytesOnDisk - 64);
    expect(s2.dedupRatio).toBeCloseTo(1, 5);
  });

  it('shares single columns between intermediates that differ in others', async () => {
    const store = await tempStore();
    const f = frame(3);
    await store.log('p.m.stage1', f);
    const info = await store.log('p.m.stage2', { a: f.a, c: f.c, extra: new Float64Array(5000).fill(1) });
    // a and c (5 RowBlocks each) are shared; extra's five chunks are four identical full blocks + a short one.
    expect(info.chunksDeduplicated).toBe(10 + 3);
    const m = await store.getIntermediates(['p.m.stage2.a', 'p.m.stage1.b']);
    expect(m.column(0)).toEqual(f.a);
    expect(Float32Array.from(m.column(1))).toEqual(f.b);
  });

  it('a frame deleted and collected is stored afresh when logged again in the same session', async () => {
    // the hashes of a written partition leave the pending map: one kept would point at a collected blob
    const store = await tempStore({ policy: 'dedup' });
    const f = frame(4);
    await store.log('p.m.a', f);
    await store.flush();
    store.delete('p.m.a');
    await store.gc();
    const again = await store.log('p.m.b', f);
    expect(again.chunksDeduplicated).toBe(0);
    await store.flush();
    const m = await store.getIntermediates('p.m.b.*');
    expect(m.column('a')).toEqual(f.a);
    expect(Array.from({ length: m.nrows }, (_, i) => m.get(i, 2))).toEqual(f.c);
  });
});

/** A column of n values, rounded so that MinHash sees repeated values (as FillNA, Scale… outputs do). */
const column = (seed: number, n = 4096): Float64Array => { const r = rng(seed); return Float64Array.from({ length: n }, () => Math.round(r() * 1e5) / 100); };
/** v with every `every`-th value (from `from`) replaced by NaN: a near-copy. */
const near = (v: Float64Array, every: number, from = 0): Float64Array => v.map((x, i) => (i % every === from ? NaN : x));

/** Where intermediate p.m.<name>'s chunks went (blob, partition, segment), in block and column order. */
const placement = (store: Store, name: string) => store.metadata.chunkPlacement(store.metadata.intermediateId('p', 'm', name)!);

describe('approximate de-duplication', () => {
  it('MinHash estimates Jaccard similarity', () => {
    const r = rng(3);
    const a = Float64Array.from({ length: 1024 }, () => Math.round(r() * 1e6));
    const b = a.map((v, i) => (i % 10 === 0 ? v + 0.5e6 : v)); // 10% changed: J ≈ 0.82
    const c = Float64Array.from({ length: 1024 }, () => Math.round(r() * 1e6));
    const sig = (v: Float64Array) => signature({ type: 'float64', nrows: v.length, ncols: 1, values: v });
    expect(jaccard(sig(a), sig(a))).toBe(1);
    expect(jaccard(sig(a), sig(b))).toBeGreaterThan(0.65);
    expect(jaccard(sig(a), sig(c))).toBeLessThan(0.15);
  });

  it('a near-copy of a column lands in the same partition and segment as its original; store_all does not group', async () => {
    for (const policy of ['dedup', 'store_all'] as const) {
      const store = await tempStore({ policy });
      const orig = column(9);
      await store.log('p.m.a', { x: orig });
      await store.log('p.m.b', { y: column(10) }); // fills partitions in between
      const copy = near(orig, 50); // FillNA's inverse: 2% changed
      await store.log('p.m.c', { x2: copy });
      await store.flush();
      const a = placement(store, 'a'), c = placement(store, 'c');
      if (policy === 'dedup') {
        c.forEach((ch, k) => expect(ch.partition_id).toBe(a[k]!.partition_id));
        // and in the same segment: near-duplicates are compressed together
        c.forEach((ch, k) => expect(ch.segment).toBe(a[k]!.segment));
      } else {
        expect(c.some((ch, k) => ch.segment !== a[k]!.segment)).toBe(true);
      }
      const got = await store.getIntermediates('p.m.c.x2');
      expect(Buffer.from(got.values.buffer, got.values.byteOffset, got.values.byteLength).equals(Buffer.from(copy.buffer))).toBe(true);
    }
  });

  it('counts the chunks signed, matched and colocated; store_all signs none', async () => {
    for (const policy of ['dedup', 'store_all'] as const) {
      const store = await tempStore({ policy });
      const orig = column(9);
      await store.log('p.m.a', { x: orig });
      await store.log('p.m.b', { y: column(10) });
      await store.log('p.m.c', { x2: near(orig, 50) });
      await store.flush();
      const chunks = placement(store, 'a').length;
      expect(chunks).toBeGreaterThan(1);
      expect(store.stats().approximate).toEqual(policy === 'dedup' ? { signed: 3 * chunks, matched: chunks, colocated: chunks } : { signed: 0, matched: 0, colocated: 0 });
    }
  });

  it('groups persist across sessions: a near-copy of a near-copy joins the first one\'s group', async () => {
    const dir = path.join(tempDir(), 'store');
    const orig = column(9);
    const first = await openStore(dir, { policy: 'dedup' });
    await first.log('p.m.a', { x: orig });
    await first.close();
    // a fresh handle learns the stored signatures from the MetadataDB: c matches a, whose partition is
    // written (not colocated); d, nearer c than a, matches c, open in this session (colocated)
    const store = await tempStore({ policy: 'dedup' }, dir);
    const c = near(orig, 50);
    await store.log('p.m.c', { x: c });
    await store.log('p.m.d', { x: near(c, 50, 25) });
    await store.flush();
    const chunks = placement(store, 'a').length;
    expect(store.stats().approximate).toEqual({ signed: 2 * chunks, matched: 2 * chunks, colocated: chunks });
    const blobs = (name: string) => placement(store, name).map((p) => p.blob_id);
    const cluster = new Map(store.metadata.minhashes().map((r) => [r.blob_id, r.cluster]));
    const a = blobs('a');
    // every member's group is a's chunk it descends from (a's chunks are their own groups)
    for (const name of ['a', 'c', 'd']) expect(blobs(name).map((b) => cluster.get(b)), name).toEqual(a);
    const place = (name: string) => placement(store, name).map((p) => p.partition_id);
    expect(place('d')).toEqual(place('c'));
    expect(place('c').some((p, k) => p === place('a')[k])).toBe(false);
  });
});
