import { describe, expect, it } from 'vitest';
import { rng, tempStore } from './helpers.js';

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
});
