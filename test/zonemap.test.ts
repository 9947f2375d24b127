// Zone maps (#21): per chunk least / greatest value and NaN count, recorded when written; TOPK reads only
// the RowBlocks that can hold a top value and answers exactly what a full scan does (ties by row id).
import { describe, expect, it } from 'vitest';
import { diagnostics } from '../src/index.js';
import { mayHold, zoneOf, zoneOrder } from '../src/store/zonemap.js';
import { rng, tempStore } from './helpers.js';

describe('zone maps (pure)', () => {
  it('bound plain numbers of column chunks, count NaN, and order blocks best first', () => {
    expect(zoneOf({ type: 'float64', values: Float64Array.from([3, NaN, -Infinity, 7, NaN]) })).toEqual({ zmin: -Infinity, zmax: 7, nnan: 2 });
    expect(zoneOf({ type: 'int32', values: Int32Array.from([5, -2, 9]) })).toEqual({ zmin: -2, zmax: 9, nnan: 0 });
    expect(zoneOf({ type: 'float32', values: Float32Array.from([NaN, NaN]) })).toEqual({ zmin: null, zmax: null, nnan: 2 });
    expect(zoneOf({ type: 'float32', values: Float32Array.from([1, 2]), order: 'row' })).toBeNull();
    expect(zoneOf({ type: 'utf8', values: Int32Array.from([0, 1]) })).toBeNull();
    expect(zoneOf({ type: 'uint8', values: Uint8Array.from([0, 1]) })).toBeNull();
    const z = [{ block: 0, rows: 4, zmin: 1, zmax: 5, nnan: 0 }, { block: 1, rows: 4, zmin: null, zmax: null, nnan: 4 }, { block: 2, rows: 4, zmin: -3, zmax: 9, nnan: 1 }, { block: 3, rows: 4, zmin: 0, zmax: 5, nnan: 0 }];
    expect(zoneOrder(z, 'desc').map((x) => x.block)).toEqual([2, 0, 3]);
    expect(zoneOrder(z, 'asc').map((x) => x.block)).toEqual([2, 3, 0]);
    // a block whose best value ties the k-th may hold a smaller row id: it is read
    expect(mayHold(z[0]!, 5, 'desc')).toBe(true);
    expect(mayHold(z[0]!, 5.5, 'desc')).toBe(false);
    expect(mayHold(z[0]!, undefined, 'desc')).toBe(true);
    expect(mayHold(z[3]!, 0, 'asc')).toBe(true);
    expect(mayHold(z[3]!, -0.5, 'asc')).toBe(false);
  });
});

describe('TOPK by zone maps', () => {
  it('answers exactly what a full scan answers, reading a fraction of the chunks, on random, sorted, tied and NaN columns', async () => {
    const store = await tempStore({ rowBlockSize: 1024 });
    const r = rng(5);
    const n = 100_000;
    const pred = Float64Array.from({ length: n }, () => r() * 2 - 1);
    for (let i = 0; i < n; i += 97) pred[i] = NaN;
    pred[50_001] = pred[70_003] = pred[3] = 5; // a three-way tie for the top
    const sorted = Float64Array.from({ length: n }, (_, i) => i / n);
    const flat = new Float64Array(n).fill(1); // every block ties: all must be read, smallest row ids win
    const units = Int32Array.from({ length: n }, () => Math.floor(r() * 1000));
    const ids = Int32Array.from({ length: n }, (_, i) => 1_000_000 - 7 * i); // descending, not consecutive
    await store.log('z.P1.pred', { pred, sorted, flat, units }, { rowIds: ids });
    await store.flush();
    const full = await store.getIntermediates('z.P1.pred.*');
    const check = async (col: string, k: number, order: 'desc' | 'asc'): Promise<{ read: number; total: number }> => {
      const z = await store.topk(`z.P1.pred.${col}`, k, { order });
      const want = diagnostics.topk(full, `z.P1.pred.${col}`, k, order);
      expect(Array.from(z.rowIds), `${col} ${k} ${order}`).toEqual(Array.from(want.rowIds));
      expect(Array.from(z.values)).toEqual(Array.from(want.values));
      expect(z.nanSkipped).toBe(want.nanSkipped);
      expect(z.chunks, 'answered by zone maps').toBeDefined();
      return z.chunks!;
    };
    const c10 = await check('pred', 10, 'desc');
    expect(c10.total).toBe(98);
    expect(c10.read / c10.total).toBeLessThanOrEqual(0.2);
    await check('pred', 10, 'asc');
    await check('pred', 1, 'desc');
    await check('pred', 3000, 'asc');
    await check('pred', n, 'desc'); // more than there are numbers: everything, NaN left out
    expect((await check('sorted', 10, 'desc')).read).toBe(1);
    expect((await check('sorted', 2000, 'asc')).read).toBe(2);
    expect((await check('flat', 5, 'desc')).read).toBe(98);
    await check('units', 50, 'desc');
    // with rows, or a column without zone maps (a store before v7), the column is queried whole: same answer
    const some = await store.topk('z.P1.pred.pred', 5, { rows: Array.from(ids.subarray(0, 5000)) });
    expect(some.chunks).toBeUndefined();
    expect(Array.from(some.rowIds)).toEqual(Array.from(diagnostics.topk(await store.getIntermediates('z.P1.pred.pred', { rows: Array.from(ids.subarray(0, 5000)) }), 0, 5).rowIds));
    // one RowBlock without zone maps is enough to query the column whole
    const sql = (q: string): void => (store.metadata as unknown as { db: { exec(s: string): void } }).db.exec(q);
    sql('UPDATE blobs SET nnan = NULL WHERE id IN (SELECT blob_id FROM chunks WHERE block = 3)');
    const partly = await store.topk('z.P1.pred.pred', 10);
    expect(partly.chunks).toBeUndefined();
    expect(Array.from(partly.rowIds)).toEqual(Array.from(diagnostics.topk(full, 'z.P1.pred.pred', 10).rowIds));
    sql('UPDATE blobs SET zmin = NULL, zmax = NULL, nnan = NULL');
    const old = await store.topk('z.P1.pred.pred', 10);
    expect(old.chunks).toBeUndefined();
    expect(Array.from(old.rowIds)).toEqual(Array.from(diagnostics.topk(full, 'z.P1.pred.pred', 10).rowIds));
    await expect(store.topk('z.P1.pred.*', 3)).rejects.toMatchObject({ code: 'BAD_KEY' });
    await store.close();
  });

  it('zone maps survive gc rewriting a partition', async () => {
    const store = await tempStore({ rowBlockSize: 256 });
    const r = rng(9);
    await store.log('z.a.x', { v: Float64Array.from({ length: 4096 }, () => r()) });
    await store.log('z.b.x', { v: Float64Array.from({ length: 4096 }, () => r()) });
    await store.flush();
    store.delete('z.a.x');
    await store.gc({ all: true });
    const full = await store.getIntermediates('z.b.x.v');
    const t = await store.topk('z.b.x.v', 3);
    expect(t.chunks).toBeDefined();
    expect(Array.from(t.rowIds)).toEqual(Array.from(diagnostics.topk(full, 0, 3).rowIds));
    await store.close();
  });
});
