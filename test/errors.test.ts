import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataFrame, MistiqueError, openStore, type Store, type StoreOptions } from '../src/index.js';
import { generateZillow } from '../datasets/zillow/generate.js';
import { snapshotFiles, tempDir, tempStore } from './helpers.js';

async function expectError(p: Promise<unknown> | (() => unknown), code: string, message: RegExp): Promise<void> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(MistiqueError);
  expect((err as MistiqueError).code).toBe(code);
  expect((err as MistiqueError).message).toMatch(message);
}

/** Runs a failing call and checks that the store is as it was: same files, same listing, same stats. */
async function unchanged(store: Store, fn: () => Promise<void>): Promise<void> {
  await store.flush();
  const files = snapshotFiles(store.dir);
  const list = store.list();
  const stats = store.stats();
  await fn();
  await store.flush();
  expect(snapshotFiles(store.dir)).toEqual(files);
  expect(store.list()).toEqual(list);
  expect(store.stats()).toEqual(stats);
}

describe('bad input', () => {
  it('rejects malformed and unknown keys', async () => {
    const store = await tempStore();
    await store.log('p.m.x', { v: new Float64Array(3) });
    await unchanged(store, async () => {
      await expectError(store.getIntermediates('p.m.x'), 'BAD_KEY', /project\.model\.intermediate\.column/);
      await expectError(store.getIntermediates('p..x.v'), 'BAD_KEY', /malformed/);
      await expectError(store.getIntermediates('p.m/x.y.v'), 'BAD_KEY', /model part/);
      await expectError(store.getIntermediates('p.m.nope.v'), 'NOT_FOUND', /no intermediate matches.*mistique ls/);
      await expectError(store.getIntermediates('p.m.x.w'), 'NOT_FOUND', /no column of p\.m\.x matches "w"/);
      await expectError(store.getIntermediates([]), 'BAD_KEY', /at least one key/);
      await expectError(store.log('p.m', { v: new Float64Array(1) }), 'BAD_KEY', /project\.model\.intermediate/);
    });
  });

  it('rejects names that would escape the store directory', async () => {
    const store = await tempStore();
    await unchanged(store, async () => {
      for (const key of ['../etc.m.x', 'p./abs.x', 'p.m.a\u0000b', 'p.m.-x', 'p.m.a b', 'p.m.' + 'x'.repeat(200)]) {
        await expectError(store.log(key, { v: new Float64Array(1) }), key.split('.').length === 3 ? 'BAD_NAME' : 'BAD_KEY', /not allowed|must be/);
      }
      await expectError(store.log('p.m.x', { 'a\u0000b': new Float64Array(1) }), 'BAD_NAME', /column name/);
    });
  });

  it('takes plain arrays with missing values, bigints and Dates: a missing number reads NaN (a leading null had read 0)', async () => {
    const store = await tempStore();
    await store.log('p.m.plain', { n: [null, 1, undefined], g: [1n, -2n, null], d: [new Date(0), null, new Date(86_400_000)], s: [null, 'b', 'c'] });
    const m = await store.getIntermediates('p.m.plain.*');
    expect(m.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['n:float64', 'g:float64', 'd:utf8', 's:utf8']);
    expect([0, 1, 2].map((i) => [m.get(i, 0), m.get(i, 1), m.get(i, 2), m.get(i, 3)])).toEqual([
      [NaN, 1, '1970-01-01T00:00:00.000Z', null], [1, -2, null, 'b'], [NaN, NaN, '1970-01-02T00:00:00.000Z', 'c'],
    ]);
    await store.log('p.m.ints', { g: [1n, 2n ** 31n - 1n] });
    expect((await store.getIntermediates('p.m.ints.*')).columns[0]!.type).toBe('int32');
  });

  it('rejects frames with wrong row counts, mixed types or bad row ids, writing nothing', async () => {
    const store = await tempStore();
    await store.log('p.m.ok', { v: new Float64Array(4) });
    await unchanged(store, async () => {
      await expectError(store.log('p.m.x', { a: new Float64Array(3), b: new Float64Array(4) }), 'BAD_FRAME', /"b" has 4 rows but column "a" has 3/);
      await expectError(store.log('p.m.x', { a: [1, 'two', 3] as unknown as number[] }), 'BAD_FRAME', /mixes types: number values, then a string at row 1/);
      await expectError(store.log('p.m.x', { a: [true, null, false] }), 'BAD_FRAME', /holds booleans and a missing value at row 1: bool has no null/);
      await expectError(store.log('p.m.x', { a: [1n, 2n ** 60n] }), 'BAD_FRAME', /holds 1152921504606846976, which neither int32 nor float64 holds exactly/);
      await expectError(store.log('p.m.x', { a: [{}] as unknown as number[] }), 'BAD_FRAME', /holds an object: columns hold numbers, bigints, booleans, strings or Dates/);
      await expectError(store.log('p.m.x', { a: new Uint8Array([0, 2]) }), 'BAD_FRAME', /read as bool/);
      await expectError(store.log('p.m.x', { a: new Float64Array(3) }, { rowIds: [1, 2] }), 'BAD_FRAME', /rowIds has 2 entries/);
      await expectError(store.log('p.m.x', { a: new Float64Array(3) }, { rowIds: [5, 1, 5] }), 'BAD_FRAME', /row id 5 appears twice/);
      await expectError(store.log('p.m.x', { a: new Float64Array(3) }, { rowIds: [1.5, 2, 3] }), 'BAD_FRAME', /not a 32-bit integer/);
      await expectError(store.log('p.m.x', { a: new Float64Array(6) }, { shape: [4] }), 'BAD_FRAME', /holds 4 values per example but the frame has 1 columns/);
      await expectError(store.log('p.m.x', {}), 'BAD_FRAME', /no columns/);
      await expectError(() => DataFrame.fromTensor(new Float32Array(10), [3]), 'BAD_FRAME', /not a whole number of examples/);
      await expectError(store.log('p.m.ok', { v: new Float64Array(4) }), 'EXISTS', /already stored/);
    });
  });

  it('rejects a bad batch in a stream without losing the good ones', async () => {
    const store = await tempStore();
    const w = store.writer('p.m.s');
    await w.append(DataFrame.from({ a: new Float64Array([1, 2]) }, { rowIds: [0, 1] }));
    await expectError(w.append(DataFrame.from({ b: new Float64Array([1]) })), 'BAD_FRAME', /same columns/);
    await expectError(w.append(DataFrame.from({ a: new Float64Array([1]) }, { rowIds: [1] })), 'BAD_FRAME', /row id 1 .* already logged/);
    await w.append(DataFrame.from({ a: new Float64Array([3]) }, { rowIds: [2] }));
    await w.close();
    expect(Array.from((await store.getIntermediates('p.m.s.a')).values)).toEqual([1, 2, 3]);
  });

  it('rejects a bad query path and rows an intermediate does not hold, in explain too, changing nothing', async () => {
    const store = await tempStore();
    await store.log('p.m.dense', { v: Float64Array.from({ length: 300 }, (_, i) => i) });
    const ids = Int32Array.from({ length: 200 }, (_, i) => 1000 + 7 * i);
    await store.log('p.m.sparse', { v: Float64Array.from(ids) }, { rowIds: ids });
    await unchanged(store, async () => {
      await expectError(store.getIntermediates('p.m.dense.v', { path: 'fast' as never }), 'BAD_OPTION', /path "fast": use 'auto', 'read' or 'rerun'/);
      await expectError(store.explain('p.m.dense.v', { path: 'fast' as never }), 'BAD_OPTION', /use 'auto', 'read' or 'rerun'/);
      await expectError(store.explain('p.m.dense.v', { rows: [5, 300, -1] }), 'BAD_ROWS', /p\.m\.dense has no row with id 300, -1 \(it holds 300 rows\)/);
      await expectError(store.explain('p.m.sparse.v', { rows: [1000, 5] }), 'BAD_ROWS', /p\.m\.sparse has no row with id 5 /);
      // inside the RowBlocks' id range but not held: found when the rows are read
      await expectError(store.getIntermediates('p.m.sparse.v', { rows: [1001] }), 'BAD_ROWS', /has no row with id 1001/);
    });
    expect((await store.explain('p.m.sparse.v', { rows: [1000, 1007] }))[0]!.choice).toBe('read');
  });

  it('says what a re-run needs when a pipeline\'s source data is gone, changing nothing', async () => {
    const data = path.join(tempDir(), 'zillow');
    generateZillow(data, 301);
    const store = await tempStore({ policy: 'adaptive', gammaMin: Infinity }); // nothing stored: every query re-runs
    await store.logIntermediates(path.join(__dirname, '../datasets/zillow/pipelines/P1_1.yaml'), { data });
    fs.renameSync(data, data + '-moved');
    await unchanged(store, async () => {
      await expectError(store.getIntermediates('zillow.P1_1.test_set.*', { rows: [0] }), 'NOT_FOUND',
        /re-running zillow\.P1_1\.test_set needs the source data of stage \w+ from .*zillow, where it was logged from, and it cannot be read \(ENOENT.*\): put the data back there/);
    });
    fs.renameSync(data + '-moved', data);
    expect((await store.getIntermediates('zillow.P1_1.test_set.*', { rows: [0] })).nrows).toBe(1);
  });

  it('refuses directories that are not stores, and bad options', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    await expectError(openStore(dir), 'NOT_A_STORE', /not empty and is not a mistique store/);
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
    await expectError(openStore(path.join(dir, 'notes.txt')), 'NOT_A_STORE', /is a file/);
    await expectError(openStore(path.join(dir, 'new'), { create: false }), 'NOT_A_STORE', /not a mistique store/);
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
    await expectError(openStore(path.join(dir, 'c'), { codec: 'brotli' as never }), 'BAD_OPTION', /unknown codec "brotli": choose one of gzip, lz4, arrow, parquet/);
    await expectError(openStore(path.join(dir, 'd'), { bufferpoolBytes: -1 }), 'BAD_OPTION', /bufferpoolBytes must be a positive integer/);
    // every bad option is refused before anything is created
    const bad: [StoreOptions, RegExp][] = [
      [{ policy: 'all' as never }, /policy "all" is unknown: use store_all, dedup or adaptive/],
      [{ gammaMin: -1 }, /gammaMin must be a number ≥ 0/],
      [{ lockTimeoutMs: NaN }, /lockTimeoutMs must be a number ≥ 0, got NaN/],
      [{ flushMs: 0 }, /flushMs must be a positive integer, got 0/],
      [{ partitionBytes: 1.5 }, /partitionBytes must be a positive integer, got 1.5/],
      [{ segmentBytes: -4 }, /segmentBytes must be a positive integer, got -4/],
      [{ similarityThreshold: 1.5 }, /similarityThreshold must be a number in \(0, 1\], got 1.5/],
      [{ flushBytes: 0 }, /flushBytes must be a positive integer, got 0/],
      [{ codec: 'gzip', gzipLevel: 42 }, /gzipLevel must be an integer from 0 to 9, got 42/],
      [{ codec: 'parquet', parquetCompression: 'brotli' as never }, /parquetCompression "brotli" is unknown: use snappy, zstd, lz4, gzip, none/],
      [{ rowBlockSize: 0 }, /rowBlockSize must be a positive integer, got 0/],
    ];
    for (const [opts, message] of bad) {
      await expectError(openStore(path.join(dir, 'e'), opts), 'BAD_OPTION', message);
      expect(fs.existsSync(path.join(dir, 'e')), JSON.stringify(opts)).toBe(false);
    }
    const s = await openStore(path.join(dir, 'g'), { codec: 'gzip' });
    await s.close();
    await expectError(openStore(path.join(dir, 'g'), { codec: 'arrow' }), 'BAD_OPTION', /created with codec gzip/);
    // nor does a bad option change a store that exists: the policy given beside it is not kept
    const files = snapshotFiles(path.join(dir, 'g'));
    await expectError(openStore(path.join(dir, 'g'), { policy: 'adaptive', flushBytes: 0 }), 'BAD_OPTION', /flushBytes must be a positive integer/);
    expect(snapshotFiles(path.join(dir, 'g'))).toEqual(files);
    const again = await openStore(path.join(dir, 'g'));
    expect(again.policy).toBe('dedup');
    await again.close();
    await expectError(s.getIntermediates('a.b.c.d'), 'CLOSED', /closed/);
  });

  it('detects a truncated partition file instead of returning garbage', async () => {
    const dir = tempDir();
    const s = await openStore(dir);
    await s.log('p.m.x', { v: Float64Array.from({ length: 4096 }, (_, i) => Math.sqrt(i)) });
    await s.close();
    const pdir = path.join(dir, 'partitions');
    const file = path.join(pdir, fs.readdirSync(pdir)[0]!);
    fs.truncateSync(file, fs.statSync(file).size - 100);
    const again = await openStore(dir);
    await expectError(again.getIntermediates('p.m.x.v'), 'CORRUPT', /truncated|inflate|unexpected end/i);
    await again.close();
  });
});
