import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { ChunkData } from '../src/model/dataframe.js';
import { DataFrame, MistiqueError } from '../src/index.js';
import type { IntermediateRow } from '../src/metadata/metadatadb.js';
import { DataStore } from '../src/store/datastore.js';
import { MetadataDB } from '../src/metadata/metadatadb.js';
import { ChunkReader } from '../src/reader/chunkreader.js';
import { idRange, missingRows, normalizeRows, parseRows, type RowSelection } from '../src/reader/rowspec.js';
import { ColumnSink, RowMajorSink, type BlockRows } from '../src/reader/sink.js';
import { pickRows } from '../src/reader/reconstruct.js';
import { groupByBlock, rowSpans, rowsFrom } from '../src/reader/placement.js';
import { quantizeBatch, type DnnScheme } from '../src/quantize/scheme.js';
import { rng, tempDir, tempStore, thrownError, thrownErrorAsync } from './helpers.js';

const rowIdStartOf = (store: Awaited<ReturnType<typeof tempStore>>, name: string): number | null => store.metadata.intermediates().find((r) => r.name === name)!.row_id_start;

describe('row selection and joins', () => {
  it('returns exactly the asked rows in the asked order (dense row ids)', async () => {
    const store = await tempStore();
    const v = Float64Array.from({ length: 5000 }, (_, i) => i * 1.5);
    await store.log('p.m.x', { v });
    const rows = [4999, 0, 1023, 1024, 2048, 17, 17];
    const m = await store.getIntermediates('p.m.x.v', { rows });
    expect(Array.from(m.rowIds)).toEqual(rows);
    expect(Array.from(m.values)).toEqual(rows.map((r) => r * 1.5));
    const range = await store.getIntermediates('p.m.x.v', { rows: { start: 1020, end: 1030 } });
    expect(Array.from(range.values)).toEqual(Array.from({ length: 10 }, (_, i) => (1020 + i) * 1.5));
  });

  it('keys name columns once, in the order first asked, whether by name, glob or every column', async () => {
    const store = await tempStore();
    await store.log('p.m.x', { a: Float64Array.from([1, 2]), b: Float64Array.from([3, 4]), c: Float64Array.from([5, 6]) });
    await store.log('p.m.t', DataFrame.fromTensor(Float32Array.from({ length: 2 * 6 }, (_, i) => i), [2, 3]));
    const names = async (keys: string[]): Promise<string[]> => (await store.getIntermediates(keys)).columns.map((c) => c.key);
    expect(await names(['p.m.x.*', 'p.m.x.b'])).toEqual(['p.m.x.a', 'p.m.x.b', 'p.m.x.c']);
    expect(await names(['p.m.x.c', 'p.m.x.*'])).toEqual(['p.m.x.c', 'p.m.x.a', 'p.m.x.b']);
    expect(await names(['p.m.x.*', 'p.m.x.*'])).toEqual(['p.m.x.a', 'p.m.x.b', 'p.m.x.c']);
    expect(await names(['p.*.x.b', 'p.m.?.a'])).toEqual(['p.m.x.b', 'p.m.x.a']);
    const t = await store.getIntermediates(['p.m.t.*', 'p.m.t.1_2']);
    expect(t.columns).toHaveLength(6);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.values)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const one = await store.getIntermediates(['p.m.t.1_2', 'p.m.t.*']);
    expect(one.columns.map((c) => c.name)).toEqual(['1_2', '0_0', '0_1', '0_2', '1_0', '1_1']);
    expect(one.shape).toBeNull();
    // an exact key of nothing stored, next to a glob of nothing: the same error
    for (const k of ['p.m.nope.*', 'p.m.no*.*']) await expect(store.getIntermediates(k)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no intermediate matches it') });
    await expect(store.getIntermediates('p.m.x.zz')).rejects.toThrow('no column of p.m.x matches "zz"');
  });

  it('names a tensor\'s columns by index (i_j), by glob, or not at all: an index outside the shape matches nothing', async () => {
    const store = await tempStore();
    await store.log('p.m.t', DataFrame.fromTensor(Float32Array.from({ length: 4 * 6 }, (_, i) => i), [2, 3]));
    // the first example's values are the flat indices 0 … 5
    const cols = async (keys: string[]): Promise<number[]> => Array.from((await store.getIntermediates(keys, { rows: [0] })).values);
    expect(await cols(['p.m.t.0_0', 'p.m.t.1_2', 'p.m.t.0_2'])).toEqual([0, 5, 2]);
    expect(await cols(['p.m.t.1_*'])).toEqual([3, 4, 5]);
    expect(await cols(['p.m.t.*_1'])).toEqual([1, 4]);
    for (const bad of ['2_0', '1_3', '1', '0_1_2', 'a_b', '-1_0', '0.5_0', '0_', '_1', '01_2', '1e0_1', '0x1_1']) {
      expect(await thrownErrorAsync(store.getIntermediates(`p.m.t.${bad}`)), bad).toBe(`NOT_FOUND: key "p.m.t.${bad}" matches nothing: no column of p.m.t matches "${bad}"; run \`mistique ls p.m.t --columns\` to see its columns`);
    }
    // after every column was asked for, a later key must still match something
    await expect(store.getIntermediates(['p.m.t.*', 'p.m.t.9_9'])).rejects.toThrow('key "p.m.t.9_9" matches nothing: no column of p.m.t matches "9_9"');
    expect(await cols(['p.m.t.*', 'p.m.t.1_1'])).toEqual([0, 1, 2, 3, 4, 5]);
    // indices of more than one digit
    await store.log('p.m.w', DataFrame.fromTensor(Float32Array.from({ length: 2 * 12 }, (_, i) => i), [12]));
    expect(Array.from((await store.getIntermediates('p.m.w.11', { rows: [0] })).values)).toEqual([11]);
  });

  it('what a set of keys selects: at least one key; intermediates a column pattern leaves empty are left out; errors name three intermediates at most', async () => {
    const store = await tempStore();
    await store.log('p.m.x', { a: Float64Array.from([1, 2]), b: Float64Array.from([3, 4]) });
    await store.log('p.m.y', { b: Float64Array.from([5, 6]) });
    for (const n of ['z1', 'z2', 'z3', 'z4']) await store.log(`q.m.${n}`, { c: Float64Array.from([0, 0]) });
    await expect(store.getIntermediates([])).rejects.toMatchObject({ code: 'BAD_KEY', message: 'give at least one key such as project.model.intermediate.column' });
    const m = await store.getIntermediates(['p.m.*.a']);
    expect(m.columns.map((c) => c.key)).toEqual(['p.m.x.a']);
    expect(m.sources.map((s) => s.key)).toEqual(['p.m.x']);
    await expect(store.getIntermediates('q.m.*.nope')).rejects.toThrow('key "q.m.*.nope" matches nothing: no column of q.m.z1, q.m.z2, q.m.z3 matches "nope"; run `mistique ls \'q.m.*\' --columns` to see their columns');
  });

  it('a tensor read alone, then second in a join, then alone again: its column maps are kept per place in the result', async () => {
    const store = await tempStore();
    const n = 30, C = 2 * 3 * 4;
    const t = Float32Array.from({ length: n * C }, (_, i) => i * 0.25);
    await store.log('p.m.t', DataFrame.fromTensor(t, [2, 3, 4]));
    await store.log('p.m.y', { y: Float64Array.from({ length: n }, (_, i) => -i), z: Float64Array.from({ length: n }, (_, i) => i * 10) });
    const row = (r: number): number[] => Array.from(t.subarray(r * C, (r + 1) * C));
    const rows = [7, 3, 29];
    for (let pass = 0; pass < 2; pass++) {
      expect(Array.from((await store.getIntermediates('p.m.t.*', { rows })).values)).toEqual(rows.flatMap(row));
      const joined = await store.getIntermediates(['p.m.y.*', 'p.m.t.*'], { rows });
      expect(joined.columns).toHaveLength(2 + C);
      expect(Array.from(joined.values)).toEqual(rows.flatMap((r) => [-r, r * 10, ...row(r)]));
      const first = await store.getIntermediates(['p.m.t.*', 'p.m.y.z'], { rows });
      expect(Array.from(first.values)).toEqual(rows.flatMap((r) => [...row(r), r * 10]));
      // a subset of its columns after the whole: maps of their own
      const some = await store.getIntermediates(['p.m.t.1_2_3', 'p.m.t.0_0_1'], { rows });
      expect(Array.from(some.values)).toEqual(rows.flatMap((r) => [t[r * C + 12 + 8 + 3]!, t[r * C + 1]!]));
    }
  });

  it('finds rows by id when ids are sparse and unsorted', async () => {
    const store = await tempStore({ rowBlockSize: 64 });
    const r = rng(5);
    const ids = Int32Array.from(new Set(Array.from({ length: 700 }, () => Math.floor(r() * 1e8))));
    const v = Float64Array.from(ids, (x) => x / 7);
    await store.log('p.m.sparse', { v }, { rowIds: ids });
    const pick = [ids[600]!, ids[3]!, ids[64]!, ids[0]!];
    const m = await store.getIntermediates('p.m.sparse.*', { rows: pick });
    expect(Array.from(m.values)).toEqual(pick.map((x) => x / 7));
    const all = await store.getIntermediates('p.m.sparse.v');
    expect(all.rowIds).toEqual(ids);
  });

  it('locates rows by id on every path of the row index: sorted blocks, disjoint unsorted blocks, overlapping blocks', async () => {
    const store = await tempStore({ rowBlockSize: 4 });
    // [name, row ids, ids asked, ids missing inside some RowBlock's id range, ids outside every range]
    const cases: [string, number[], number[], number[], number[]][] = [
      // sorted and sparse: binary search in the one block whose range holds the id
      ['sorted', Array.from({ length: 50 }, (_, i) => i * 3), [147, 0, 24, 3, 12, 9], [25, 4], [-1, 150]],
      // each block unsorted, their ranges disjoint: a scan of that one block
      ['disjoint', Array.from({ length: 40 }, (_, i) => 8 * Math.floor(i / 4) + [6, 2, 4, 0][i % 4]!), [78, 0, 34, 2, 72], [5, 33], [80, -5]],
      // ranges that overlap (0…100, 1…101, …): one map over every row id
      ['overlap', [0, 100, 1, 101, 2, 102, 3, 103], [101, 2, 0, 103, 3], [50], [104, -1]],
    ];
    const bad = (name: string, rows: number[]): Promise<string | null> => thrownErrorAsync(store.getIntermediates(`p.m.${name}.v`, { rows }));
    for (const [name, ids, present, inside, outside] of cases) {
      const v = Float64Array.from(ids, (x) => x + 0.25);
      await store.log(`p.m.${name}`, { v }, { rowIds: ids });
      expect(rowIdStartOf(store, name), name).toBeNull();
      expect(Array.from((await store.getIntermediates(`p.m.${name}.v`)).rowIds), name).toEqual(ids);
      const m = await store.getIntermediates(`p.m.${name}.v`, { rows: present });
      expect(Array.from(m.values), name).toEqual(present.map((x) => x + 0.25));
      // ids outside every range are named before anything is read; those inside one, when it is read
      const head = present.slice(0, 2);
      expect(await bad(name, [...head, ...inside, ...outside])).toBe(`BAD_ROWS: p.m.${name} has no row with id ${outside.join(', ')} (it holds ${ids.length} rows)`);
      expect(await bad(name, [...head, ...inside])).toBe(`BAD_ROWS: p.m.${name} has no row with id ${inside.join(', ')} (it holds ${ids.length} rows)`);
    }
  });

  it('reads only the row-id chunk of the RowBlock whose range holds an asked id (all of them only where ranges overlap)', async () => {
    const store = await tempStore({ rowBlockSize: 4 });
    const ds = (store as unknown as { ds: DataStore }).ds;
    const sorted = Array.from({ length: 50 }, (_, i) => i * 3); // 13 RowBlocks, disjoint ranges
    await store.log('p.m.sorted', { v: Float64Array.from(sorted) }, { rowIds: sorted });
    const overlap = [0, 100, 1, 101, 2, 102, 3, 103, 4, 104, 5, 105];
    await store.log('p.m.overlap', { v: Float64Array.from(overlap) }, { rowIds: overlap });
    const rowIdBlobs = (name: string) => new Set(store.metadata.rowblocks(store.metadata.intermediateId('p', 'm', name)!).map((b) => b.rowid_blob));
    const asked: number[] = [];
    const spy = vi.spyOn(ds, 'readChunks').mockImplementation(function (this: DataStore, ...args: Parameters<DataStore['readChunks']>) {
      asked.push(...args[0]);
      return DataStore.prototype.readChunks.apply(this, args);
    });
    try {
      expect(Array.from((await store.getIntermediates('p.m.sorted.v', { rows: [147] })).values)).toEqual([147]);
      expect(asked.filter((b) => rowIdBlobs('sorted').has(b))).toHaveLength(1);
      // an id missing inside one block's range costs that block's row ids, not a scan of all 13
      asked.length = 0;
      await expect(store.getIntermediates('p.m.sorted.v', { rows: [25, 4] })).rejects.toThrow('p.m.sorted has no row with id 25, 4');
      expect(new Set(asked.filter((b) => rowIdBlobs('sorted').has(b))).size).toBe(2);
      asked.length = 0;
      // 101 lies in two ranges (0…101, 2…103): every block's row ids are read
      expect(Array.from((await store.getIntermediates('p.m.overlap.v', { rows: [101] })).values)).toEqual([101]);
      expect(new Set(asked.filter((b) => rowIdBlobs('overlap').has(b))).size).toBe(3);
    } finally {
      spy.mockRestore();
    }
  });

  it('a handle\'s one-row reads look up their segments\' rows one by one, and load a partition\'s rows at once past 32 lookups; the values are the same', async () => {
    const dir = path.join(tempDir(), 'store');
    const writer = await tempStore({ rowBlockSize: 4, segmentBytes: 1024 }, dir);
    const n = 160, w = 256; // 40 RowBlocks of 4 KB: a segment each, all in one partition
    const v = Float32Array.from({ length: n * w }, (_, i) => (i % 977) - 300);
    await writer.log('p.m.t', DataFrame.fromTensor(v, [w]));
    await writer.close();
    const store = await tempStore({}, dir);
    const one = vi.spyOn(MetadataDB.prototype, 'segment');
    const all = vi.spyOn(MetadataDB.prototype, 'segments');
    try {
      for (let k = 0; k < 40; k++) {
        store.dropCaches();
        const row = (k * 4 + (k % 4)) % n; // another RowBlock each time
        expect(Array.from((await store.getIntermediates('p.m.t.*', { rows: [row] })).values)).toEqual(Array.from(v.subarray(row * w, (row + 1) * w)));
        if (k === 0) {
          // the first query of the handle: its segment's row alone
          expect(all).not.toHaveBeenCalled();
          expect(one.mock.calls.length).toBeGreaterThan(0);
        }
      }
      // counted on this store's MetadataDB alone (a calibration's scratch store, were one to start while idle, has its own)
      const db = one.mock.contexts[0];
      expect(one.mock.contexts.filter((c) => c === db)).toHaveLength(32);
      expect(all.mock.contexts.filter((c) => c === db)).toHaveLength(1);
    } finally {
      one.mockRestore();
      all.mockRestore();
    }
  });

  it('a whole tensor\'s result columns are built when first asked for, once per handle, and name every value position in order', async () => {
    const store = await tempStore();
    const v = Float32Array.from({ length: 6 * 2 * 3 }, (_, i) => i);
    await store.log('p.m.t', DataFrame.fromTensor(v, [2, 3]));
    const built = vi.spyOn(ChunkReader.prototype as unknown as { wholeColumns(...a: unknown[]): unknown }, 'wholeColumns');
    try {
      const a = await store.getIntermediates('p.m.t.*', { rows: [4] });
      expect([a.nrows, a.ncols, Array.from(a.row(0))]).toEqual([1, 6, [24, 25, 26, 27, 28, 29]]);
      expect(built).not.toHaveBeenCalled();
      expect(a.columns.map((c) => c.key)).toEqual(['0_0', '0_1', '0_2', '1_0', '1_1', '1_2'].map((n) => `p.m.t.${n}`));
      expect(a.column('p.m.t.1_2')[0]).toBe(29);
      const b = await store.getIntermediates('p.m.t.*', { rows: [5, 0] });
      expect(b.columns).toBe(a.columns);
      expect(built).toHaveBeenCalledTimes(2); // the second a cache hit
    } finally {
      built.mockRestore();
    }
  });

  it('joins intermediates on row_id and keeps only rows they all hold', async () => {
    const store = await tempStore({ rowBlockSize: 100 });
    const ids = Int32Array.from({ length: 500 }, (_, i) => i * 2);
    await store.log('z.P1.features', { size: Float64Array.from(ids, (x) => x * 10) }, { rowIds: ids });
    const testIds = Int32Array.from({ length: 100 }, (_, i) => 998 - i * 4); // a subset, other order
    await store.log('z.P1.pred', { logerror: Float64Array.from(testIds, (x) => x / 1000) }, { rowIds: testIds });
    const m = await store.getIntermediates(['z.P1.pred.logerror', 'z.P1.features.size']);
    expect(Array.from(m.rowIds)).toEqual(Array.from(testIds));
    expect(m.columns.map((c) => c.key)).toEqual(['z.P1.pred.logerror', 'z.P1.features.size']);
    for (let i = 0; i < m.nrows; i++) {
      expect(m.get(i, 0)).toBe(testIds[i]! / 1000);
      expect(m.get(i, 1)).toBe(testIds[i]! * 10);
    }
    const inner = await store.getIntermediates(['z.P1.features.size', 'z.P1.pred.*']);
    expect(inner.nrows).toBe(100);
  });

  it('says which rows are missing', async () => {
    const store = await tempStore();
    await store.log('p.m.x', { v: new Float64Array(10) });
    const err = await store.getIntermediates('p.m.x.v', { rows: [3, 10, 11] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MistiqueError);
    expect((err as MistiqueError).code).toBe('BAD_ROWS');
    expect((err as MistiqueError).message).toMatch(/no row with id 10, 11/);
  });

  it('matches wildcards at every level and counts queries', async () => {
    const store = await tempStore();
    for (const model of ['cnn_e01', 'cnn_e02', 'vgg_e01']) {
      await store.log(`fm.${model}.logits`, { c0: new Float32Array([1, 2]), c1: new Float32Array([3, 4]) });
    }
    const m = await store.getIntermediates('fm.cnn_*.logits.c1');
    expect(m.columns.map((c) => c.key)).toEqual(['fm.cnn_e01.logits.c1', 'fm.cnn_e02.logits.c1']);
    const all = await store.getIntermediates('*.*.*.*');
    expect(all.ncols).toBe(6);
    expect(store.list('fm.cnn_e01.*')[0]!.queries).toBe(2);
  });
});

describe('row ids across a writer\'s batches', () => {
  type S = Awaited<ReturnType<typeof tempStore>>;
  async function logBatches(store: S, key: string, batches: number[][]): Promise<void> {
    const w = store.writer(key);
    for (const ids of batches) await w.append(DataFrame.from({ v: Float64Array.from(ids, (x) => x * 0.5) }, { rowIds: ids }));
    await w.close();
  }

  it('numbers rows from the first id when the batches are contiguous and increasing; any other order or a gap is looked up by id', async () => {
    const store = await tempStore({ rowBlockSize: 4 });
    const cases: [string, number[][], number | null][] = [
      ['dense', [[5, 6, 7], [8, 9, 10, 11, 12]], 5],
      ['empty', [[], [3, 4], [], [5]], 3],
      ['gap', [[0, 2, 4], [6, 8]], null],
      ['back', [[10, 11, 12], [0, 1, 2]], null],
      ['unsorted', [[0, 1, 3, 2], [4, 5]], null],
      ['overlap', [[0, 5], [1, 2, 3, 4]], null], // five ids spanning 0…5: not 0…4
    ];
    for (const [name, batches, want] of cases) {
      await logBatches(store, `p.m.${name}`, batches);
      expect(rowIdStartOf(store, name), name).toBe(want);
      const ids = batches.flat();
      expect(Array.from((await store.getIntermediates(`p.m.${name}.v`)).rowIds), name).toEqual(ids);
      const pick = [...ids].reverse();
      expect(Array.from((await store.getIntermediates(`p.m.${name}.v`, { rows: pick })).values), name).toEqual(pick.map((x) => x * 0.5));
    }
  });

  it('a row id an earlier batch logged is BAD_FRAME naming it, whether the ids were increasing or not; nothing is stored', async () => {
    const store = await tempStore({ rowBlockSize: 4 });
    const cases: [number[][], number][] = [
      [[[0, 1, 2], [2, 3]], 2],
      [[[5, 6], [1, 2], [6]], 6],
      [[[3, 1], [0, 1]], 1],
      [[[0, 1, 2, 3, 4, 5], [7, 8], [6, 4]], 4], // the repeat in the first batch's second RowBlock
    ];
    for (const [k, [batches, repeated]] of cases.entries()) {
      const w = store.writer(`p.m.dup${k}`);
      const last = batches.length - 1;
      for (const ids of batches.slice(0, last)) await w.append(DataFrame.from({ v: Float64Array.from(ids) }, { rowIds: ids }));
      const err = await w.append(DataFrame.from({ v: Float64Array.from(batches[last]!) }, { rowIds: batches[last]! })).catch((e: unknown) => e);
      expect(err, String(batches)).toMatchObject({ code: 'BAD_FRAME', message: expect.stringContaining(`row id ${repeated} of this batch was already logged in p.m.dup${k}`) });
      w.abort();
    }
    expect(store.list('p.m.*')).toEqual([]);
  });
});

describe('row selections as people write them (rowspec.ts)', () => {
  it('groupByBlock: per RowBlock the asked rows\' offsets and result rows in asked order, missing rows left out, contiguous exactly when a whole run goes in order (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: -1, max: 6 }), fc.integer({ min: 0, max: 40 })), { maxLength: 60 }), fc.boolean(), (pairs, sorted) => {
      const list = sorted ? [...pairs].sort((a, b) => a[0] - b[0] || a[1] - b[1]) : pairs;
      const plan = { block: Int32Array.from(list, (p) => p[0]), offset: Int32Array.from(list, (p) => p[1]) };
      const got = groupByBlock(plan);
      // the reference: a plain walk over the rows
      const want = new Map<number, { offsets: number[]; outRows: number[] }>();
      list.forEach(([b, o], i) => {
        if (b < 0) return;
        const r = want.get(b) ?? { offsets: [], outRows: [] };
        r.offsets.push(o); r.outRows.push(i);
        want.set(b, r);
      });
      expect([...got.keys()]).toEqual([...want.keys()]);
      for (const [b, r] of want) {
        const g = got.get(b)!;
        expect(Array.from(g.offsets)).toEqual(r.offsets);
        expect(Array.from(g.outRows)).toEqual(r.outRows);
        const contiguous = r.offsets.every((o, k) => o === k && r.outRows[k] === r.outRows[0]! + k);
        expect(g.contiguous).toEqual(contiguous ? { first: r.outRows[0] } : null);
      }
    }), { numRuns: 300 });
  });

  it('idRange: start…start+n−1 as Int32Array', () => {
    expect(Array.from(idRange(5, 4))).toEqual([5, 6, 7, 8]);
    expect(idRange(-2, 0)).toEqual(new Int32Array(0));
    expect(Array.from(idRange(2147483646, 2))).toEqual([2147483646, 2147483647]);
  });

  it('parseRows: single ids, lists and inclusive ranges, spaces allowed, negative ids too', () => {
    expect(parseRows('5')).toEqual([5]);
    expect(parseRows('1,7,9')).toEqual([1, 7, 9]);
    expect(parseRows('100-103')).toEqual([100, 101, 102, 103]);
    expect(parseRows(' 1 , 5 - 8 ,3')).toEqual([1, 5, 6, 7, 8, 3]);
    expect(parseRows('-3--1,4-4')).toEqual([-3, -2, -1, 4]);
    expect(parseRows('2147483646-2147483647')).toEqual([2147483646, 2147483647]);
    expect(parseRows('-2147483648')).toEqual([-2147483648]);
  });

  it('parseRows: anything else is BAD_ROWS saying how to write it', () => {
    const cases: [string, string][] = [
      ['', '--rows "": write row ids as 5, 1,7,9 or 100-200'],
      ['1,,2', '--rows "1,,2": write row ids as 5, 1,7,9 or 100-200'],
      ['a', '--rows "a": write row ids as 5, 1,7,9 or 100-200'],
      ['1.5', '--rows "1.5": write row ids as 5, 1,7,9 or 100-200'],
      ['1-2-3', '--rows "1-2-3": write row ids as 5, 1,7,9 or 100-200'],
      ['x5', '--rows "x5": write row ids as 5, 1,7,9 or 100-200'],
      ['5x', '--rows "5x": write row ids as 5, 1,7,9 or 100-200'],
      ['9-3', '--rows range 9-3 ends before it starts'],
      ['0-50000001', '--rows range 0-50000001 is too large'],
      ['2147483647-2147483648', '--rows 2147483647-2147483648: row ids are 32-bit signed integers (-2147483648 … 2147483647); no intermediate holds such a row'],
      ['-2147483649', '--rows -2147483649: row ids are 32-bit signed integers (-2147483648 … 2147483647); no intermediate holds such a row'],
    ];
    for (const [s, msg] of cases) expect(thrownError(() => parseRows(s)), s).toBe(`BAD_ROWS: ${msg}`);
    expect(parseRows('0-50000000')).toHaveLength(50_000_001);
  });

  it('normalizeRows: a list of integers, an Int32Array as it is, or a range [start, end)', () => {
    const ids = Int32Array.from([3, 1]);
    expect(normalizeRows(ids)).toBe(ids);
    expect(normalizeRows([4, -2, 2147483647])).toEqual(Int32Array.from([4, -2, 2147483647]));
    expect(normalizeRows({ start: 5, end: 8 })).toEqual(Int32Array.from([5, 6, 7]));
    expect(normalizeRows({ start: 5, end: 5 })).toEqual(new Int32Array(0));
    expect(normalizeRows({ start: 2147483646, end: 2147483648 })).toEqual(Int32Array.from([2147483646, 2147483647]));
    const bad: [unknown, string][] = [
      [[1, 2.5], 'rows[1] = 2.5 is not an integer row id'],
      [[2147483648], 'rows[0] = 2147483648: row ids are 32-bit signed integers (-2147483648 … 2147483647); no intermediate holds such a row'],
      [[-2147483649], 'rows[0] = -2147483649: row ids are 32-bit signed integers (-2147483648 … 2147483647); no intermediate holds such a row'],
      [{ start: 3, end: 2 }, 'rows must be a list of row ids or a range { start, end } with integers start ≤ end, got {"start":3,"end":2}'],
      [{ start: 0.5, end: 2 }, 'rows must be a list of row ids or a range { start, end } with integers start ≤ end, got {"start":0.5,"end":2}'],
      [{ start: 0, end: 2.5 }, 'rows must be a list of row ids or a range { start, end } with integers start ≤ end, got {"start":0,"end":2.5}'],
      [null, 'rows must be a list of row ids or a range { start, end } with integers start ≤ end, got null'],
      [{ start: 2147483647, end: 2147483649 }, 'the range 2147483647…2147483648: row ids are 32-bit signed integers (-2147483648 … 2147483647); no intermediate holds such a row'],
      [{ start: -2147483649, end: 0 }, 'the range -2147483649…-1: row ids are 32-bit signed integers (-2147483648 … 2147483647); no intermediate holds such a row'],
    ];
    for (const [rows, msg] of bad) expect(thrownError(() => normalizeRows(rows as RowSelection)), JSON.stringify(rows)).toBe(`BAD_ROWS: ${msg}`);
  });

  it('missingRows names the intermediate, up to five ids (an ellipsis at five) and how many rows it holds', () => {
    const r = { project: 'p', model: 'm', name: 'x', n_rows: 10 } as IntermediateRow;
    expect(thrownError(() => { throw missingRows(r, [10, 11]); })).toBe('BAD_ROWS: p.m.x has no row with id 10, 11 (it holds 10 rows)');
    expect(thrownError(() => { throw missingRows(r, [10, 11, 12, 13, 14]); })).toBe('BAD_ROWS: p.m.x has no row with id 10, 11, 12, 13, 14, … (it holds 10 rows)');
  });
});

describe('sinks: a chunk\'s rows into the result (sink.ts)', () => {
  /** Random placements of one chunk into a result of R rows × C columns, against a plain loop. */
  const placement = fc.integer({ min: 1, max: 12 }).chain((n) => fc.record({
    n: fc.constant(n),
    w: fc.integer({ min: 1, max: 6 }),
    extraCols: fc.integer({ min: 0, max: 4 }),
    // a whole block in order to consecutive result rows (the contiguous case), or any rows anywhere
    whole: fc.boolean(),
    offsets: fc.shuffledSubarray([...Array(n).keys()], { minLength: 1 }),
    first: fc.integer({ min: 0, max: 5 }),
    seed: fc.integer(),
    run: fc.boolean(),
    colShift: fc.integer({ min: 0, max: 4 }),
  }));

  function setup(p: { n: number; w: number; extraCols: number; whole: boolean; offsets: number[]; first: number; seed: number; run: boolean; colShift: number }) {
    const r = rng(p.seed >>> 0);
    const C = p.w + p.extraCols, R = p.n + p.first + 5;
    const offsets = Int32Array.from(p.whole ? [...Array(p.n).keys()] : p.offsets);
    const outRows = p.whole ? Int32Array.from(offsets, (o) => p.first + o) : Int32Array.from([...Array(R).keys()].sort(() => r() - 0.5).slice(0, offsets.length));
    const rows: BlockRows = { offsets, outRows, contiguous: p.whole ? { first: p.first } : null };
    // ks ascending within the chunk's w columns, ocs ascending within C: one run or scattered
    let ks: number[], ocs: number[];
    if (p.run) {
      const m = 1 + Math.floor(r() * p.w), k0 = Math.floor(r() * (p.w - m + 1));
      ks = Array.from({ length: m }, (_, j) => k0 + j);
      const oc0 = Math.min(p.colShift, C - m);
      ocs = ks.map((_, j) => oc0 + j);
    } else {
      ks = [...Array(p.w).keys()].filter(() => r() < 0.6);
      if (ks.length === 0) ks = [0];
      ocs = [...Array(C).keys()].sort(() => r() - 0.5).slice(0, ks.length).sort((a, b) => a - b);
    }
    const src = Float64Array.from({ length: p.n * p.w }, () => Math.round(r() * 1000));
    return { C, R, rows, ks: Int32Array.from(ks), ocs: Int32Array.from(ocs), src };
  }

  it('RowMajorSink.copyRows and ColumnSink.copyRows put chunk column ks[j] of row offsets[i] at (outRows[i], ocs[j]) and nothing else', () => {
    fc.assert(fc.property(placement, (p) => {
      const { C, R, rows, ks, ocs, src } = setup(p);
      const want = new Float64Array(R * C).fill(-7);
      for (let i = 0; i < rows.offsets.length; i++) for (let j = 0; j < ks.length; j++) want[rows.outRows[i]! * C + ocs[j]!] = src[rows.offsets[i]! * p.w + ks[j]!]!;
      const chunk: ChunkData = { type: 'float64', nrows: p.n, ncols: p.w, values: src, order: 'row' };
      const out = new Float64Array(R * C).fill(-7);
      new RowMajorSink(out, C).copyRows(chunk, rows, ks, ocs);
      expect(out).toEqual(want);
      const cols = Array.from({ length: C }, () => new Float64Array(R).fill(-7));
      new ColumnSink(cols).copyRows(chunk, rows, ks, ocs);
      for (let c = 0; c < C; c++) expect(cols[c], `column ${c}`).toEqual(Float64Array.from({ length: R }, (_, i) => want[i * C + c]!));
    }), { seed: 7, numRuns: 300 });
  });

  it('copy puts column k of a column-major chunk at result column oc, string codes through the remap (−1 stays null)', () => {
    fc.assert(fc.property(placement, fc.boolean(), (p, strings) => {
      const { C, R, rows, src } = setup(p);
      const k = p.w - 1, oc = Math.min(p.colShift, C - 1);
      const values = strings ? Int32Array.from(src, (v) => (v % 5 === 0 ? -1 : v % 3)) : src;
      const remap = strings ? Int32Array.from([2, 0, 1]) : null;
      const chunk: ChunkData = { type: strings ? 'utf8' : 'float64', nrows: p.n, ncols: p.w, values, dictionary: strings ? ['a', 'b', 'c'] : undefined };
      const want = new Float64Array(R * C).fill(-7);
      for (let i = 0; i < rows.offsets.length; i++) {
        const v = values[k * p.n + rows.offsets[i]!]!;
        want[rows.outRows[i]! * C + oc] = remap ? (v < 0 ? -1 : remap[v]!) : v;
      }
      const out = new Float64Array(R * C).fill(-7);
      new RowMajorSink(out, C).copy(chunk, k, rows, oc, remap);
      expect(out).toEqual(want);
      const cols = Array.from({ length: C }, () => new Float64Array(R).fill(-7));
      new ColumnSink(cols).copy(chunk, k, rows, oc, remap);
      for (let c = 0; c < C; c++) expect(cols[c], `column ${c}`).toEqual(Float64Array.from({ length: R }, (_, i) => want[i * C + c]!));
    }), { seed: 8, numRuns: 300 });
  });
});

describe('a few rows of a quantized tensor (reconstruct.ts pickRows)', () => {
  it('pickRows keeps the asked rows of a row-major chunk, in the asked order, with their destinations', () => {
    const c: ChunkData = { type: 'float16', nrows: 5, ncols: 3, values: Uint16Array.from({ length: 15 }, (_, i) => 100 + i), order: 'row' };
    const rows: BlockRows = { offsets: Int32Array.from([4, 1]), outRows: Int32Array.from([7, 2]), contiguous: null };
    const { chunk, rows: at } = pickRows(c, rows);
    expect(chunk).toMatchObject({ type: 'float16', nrows: 2, ncols: 3, order: 'row' });
    expect(chunk.values).toBeInstanceOf(Uint16Array);
    expect(Array.from(chunk.values)).toEqual([112, 113, 114, 103, 104, 105]);
    expect(Array.from(at.offsets)).toEqual([0, 1]);
    expect(at.outRows).toBe(rows.outRows);
    const book = Float32Array.from([0.5, 1.5]);
    const k = pickRows({ type: 'kbit', nrows: 4, ncols: 2, values: Uint8Array.from([0, 1, 1, 0, 1, 1, 0, 0]), codebook: book }, { offsets: Int32Array.from([2]), outRows: Int32Array.from([0]), contiguous: { first: 0 } });
    expect(k.chunk.codebook).toBe(book);
    expect(Array.from(k.chunk.values)).toEqual([1, 1]);
    expect(k.rows.contiguous).toEqual({ first: 0 });
  });

  it('rowSpans: the rows each blob is read for, over every RowBlock that shares it; rowsFrom shifts offsets to a chunk decoded from a row on', () => {
    const rows = (offsets: number[], first = 0): BlockRows => ({ offsets: Int32Array.from(offsets), outRows: Int32Array.from(offsets, (_, i) => first + i), contiguous: null });
    const byBlock = new Map([[0, rows([9, 2, 5])], [1, rows([0, 1], 3)], [2, rows([])]]);
    const chunk = (blob_id: number, block: number) => ({ blob_id, block }) as never;
    const spans = rowSpans([chunk(10, 0), chunk(11, 1), chunk(12, 0), chunk(12, 1), chunk(13, 2), chunk(14, 7)], byBlock);
    expect(Object.fromEntries(spans)).toEqual({ 10: { first: 2, count: 8 }, 11: { first: 0, count: 2 }, 12: { first: 0, count: 10 } });
    const r = rows([9, 2, 5]);
    r.contiguous = { first: 0 };
    expect(rowsFrom(r, 0)).toBe(r);
    const shifted = rowsFrom(r, 2);
    expect(Array.from(shifted.offsets)).toEqual([7, 0, 3]);
    expect(shifted.outRows).toBe(r.outRows);
    expect(shifted.contiguous).toBeNull();
    expect(Array.from(r.offsets)).toEqual([9, 2, 5]);
  });

  it('decodes a few rows of a Parquet segment alone (past the bufferpool), many rows whole, and reads the same values either way', async () => {
    const store = await tempStore({ codec: 'parquet' });
    const ds = (store as unknown as { ds: DataStore }).ds;
    const n = 64, shape = [4, 16, 16], per = 1024; // 4 KB rows: 32-row RowBlocks (128 KB under Parquet), two to a 256 KB segment
    const r = rng(9);
    const v = Float32Array.from({ length: n * per }, () => (r() < 0.4 ? 0 : r() * 5));
    await store.log('p.m.t', DataFrame.fromTensor(v, shape));
    const names = ['a', 'b', 'c', 'd', 'e'];
    await store.log('p.m.x', { f: Float64Array.from({ length: n }, (_, i) => i / 7), s: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : names[i % 5]!)) });
    await store.flush();
    const partial = vi.spyOn(ds.codec, 'decodeRows'), whole = vi.spyOn(ds.codec, 'decode');
    const calls = (): [number, number] => { const c: [number, number] = [partial.mock.calls.length, whole.mock.calls.length]; partial.mockClear(); whole.mockClear(); return c; };
    try {
      store.dropCaches();
      const read = async (rows: number[]): Promise<[number, number]> => {
        const m = await store.getIntermediates('p.m.t.*', { rows, path: 'read' });
        expect(Array.from(m.values)).toEqual(rows.flatMap((i) => Array.from(v.subarray(i * per, (i + 1) * per))));
        return calls();
      };
      // a segment holds chunks of one RowBlock or of two next to each other (the same row count)
      for (const rows of [[5], [33, 40, 38]]) {
        const [few, all] = await read(rows);
        expect([rows, few > 0, all]).toEqual([rows, true, 0]);
      }
      await read([63, 0]); // rows 0 and 31 of a segment shared by two blocks: that one whole, the others in part
      const [few, all] = await read(Array.from({ length: 16 }, (_, i) => 32 + i));
      expect([few, all > 0]).toEqual([0, true]);
      // decoded whole, its segments are in the bufferpool: a row of that block decodes nothing
      const again = await store.getIntermediates('p.m.t.*', { rows: [47], path: 'read' });
      expect(Array.from(again.values)).toEqual(Array.from(v.subarray(47 * per, 48 * per)));
      expect(calls()).toEqual([0, 0]);
      // a table: its column-major chunks (numbers, strings with nulls) the same way
      const t = await store.getIntermediates(['p.m.x.s', 'p.m.x.f'], { rows: [12, 9, 10], path: 'read' });
      expect(Array.from(t.values)).toEqual([names[2], 12 / 7, null, 9 / 7, names[0], 10 / 7].map((x, i) => (i % 2 === 0 ? t.columns[0]!.dictionary!.indexOf(x as string) : x)));
      expect(calls()[0]).toBeGreaterThan(0);
    } finally {
      partial.mockRestore();
      whole.mockRestore();
    }
  });

  it('reads a few rows of every quantized scheme as exactly the full read\'s rows, for each codec', async () => {
    const n = 150, shape = [3, 7, 9], per = 189;
    const r = rng(5);
    const v = Float32Array.from({ length: n * per }, () => Math.max(0, r() * 6 - 2));
    const schemes: [string, DnnScheme['quantize']][] = [['lp', 'lp'], ['kbit(8)', { kbit: 8 }], ['kbit(4)', { kbit: 4 }], ['threshold(90)', { threshold: 90 }]];
    for (const codec of ['lz4', 'arrow', 'parquet', 'gzip'] as const) {
      const store = await tempStore({ codec, rowBlockSize: 64 });
      for (const [name, q] of schemes) {
        const state: { threshold?: number } = {};
        let w: ReturnType<typeof store.writer> | null = null;
        for (let i = 0; i < n; i += 50) {
          const enc = quantizeBatch(v.subarray(i * per, (i + 50) * per), shape, Int32Array.from({ length: 50 }, (_, k) => i + k), q, state);
          w ??= store.writer(`p.m.${name.replace(/\W/g, '')}`, { scheme: name, approximate: false, logicalType: 'float32', kbit: enc.kbit });
          await w.append(enc.frame);
        }
        await w!.close();
        const key = `p.m.${name.replace(/\W/g, '')}.*`;
        const all = await store.getIntermediates(key, { path: 'read' });
        for (const rows of [[0], [149], [70, 3, 140, 64], [63, 64, 65]]) {
          store.dropCaches();
          const few = await store.getIntermediates(key, { rows, path: 'read' });
          const want = rows.flatMap((id) => Array.from(all.values.subarray(id * per, (id + 1) * per)));
          expect([codec, name, rows, Array.from(few.values)]).toEqual([codec, name, rows, want]);
        }
      }
    }
  }, 60_000);
});
