// Export (#17): whole intermediates to Parquet, Arrow, .npy and CSV, read back by the real tools — DuckDB
// for Parquet, apache-arrow for Arrow, a strict .npy header parse — value for value (NaN and nulls
// included) against getIntermediates; streamed in groups; bad input is one clear error and writes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import { DataFrame, MistiqueError, openStore, type Matrix, type Store } from '../src/index.js';
import { run } from '../src/cli/main.js';
import { columnNames } from '../src/cli/format.js';
import { parseCsv } from '../src/cli/files.js';
import { bytesOf, rng, snapshotFiles, tempDir, tempStore } from './helpers.js';

async function duckRows(file: string, sql = `SELECT * FROM read_parquet('${file}')`): Promise<Record<string, unknown>[] & { columns: string[] }> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(sql);
    return Object.assign(r.getRowObjectsJS() as Record<string, unknown>[], { columns: r.columnNames() });
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** A value as a reader of the file sees it: numbers as numbers (NaN kept), text as text, null as null. */
function same(got: unknown, want: number | string | null): boolean {
  if (typeof want === 'number' && Number.isNaN(want)) return typeof got === 'number' && Number.isNaN(got);
  if (typeof got === 'boolean') return Number(got) === want;
  return got === want;
}

/** Every row of a Parquet file (DuckDB's reading) equals the Matrix, in order. */
async function expectParquetEquals(file: string, m: Matrix, key: string): Promise<void> {
  const rows = await duckRows(file);
  expect(rows.length).toBe(m.nrows);
  expect(rows.map((r) => r.row_id)).toEqual(Array.from(m.rowIds));
  if (m.shape) {
    for (let i = 0; i < m.nrows; i++) {
      const list = rows[i]![key] as number[];
      expect(list.length).toBe(m.ncols);
      for (let j = 0; j < m.ncols; j++) if (!same(list[j], m.values[i * m.ncols + j]!)) throw new Error(`${key} row ${i} value ${j}: file ${list[j]}, read ${m.values[i * m.ncols + j]}`);
    }
    return;
  }
  const names = columnNames(m);
  expect(rows.columns).toEqual(['row_id', ...names]);
  for (let i = 0; i < m.nrows; i++) {
    for (let j = 0; j < m.ncols; j++) if (!same(rows[i]![names[j]!], m.get(i, j))) throw new Error(`${key} row ${i} ${names[j]}: file ${String(rows[i]![names[j]!])}, read ${m.get(i, j)}`);
  }
}

async function mixedStore(): Promise<{ store: Store; act: Float32Array }> {
  const store = await tempStore();
  const r = rng(3);
  const n = 2500;
  const price = Float64Array.from({ length: n }, () => r() * 1e6);
  price[5] = NaN; price[6] = Infinity; price[7] = -0;
  await store.log('z.P1.features', {
    city: Array.from({ length: n }, (_, i) => (i % 97 === 0 ? null : ['Los Angeles', 'Ventura, CA', 'O"range'][i % 3]!)),
    price, rooms: Int32Array.from({ length: n }, (_, i) => i % 7), pool: Array.from({ length: n }, (_, i) => i % 5 === 0),
  }, { rowIds: Int32Array.from({ length: n }, (_, i) => 10 + 3 * i) });
  const act = Float32Array.from({ length: 300 * 4 * 6 * 6 }, () => Math.max(0, r() * 2 - 1));
  act[11] = NaN;
  await store.log('z.cnn.relu1', DataFrame.fromTensor(act, [4, 6, 6]));
  await store.log('z.cnn.relu1_lp', DataFrame.fromTensor(act, [4, 6, 6]), { scheme: 'lp' });
  return { store, act };
}

describe('export', () => {
  it('writes every intermediate of the demo store to Parquet that DuckDB reads back as getIntermediates returns it', async () => {
    const dir = path.join(tempDir(), 'demo');
    const c = { out: () => undefined, err: () => undefined };
    expect(await run(['demo', '--store', dir], { out: c.out, err: c.err })).toBe(0);
    const store = await openStore(dir);
    const out = path.join(tempDir(), 'all');
    // small groups: every file of more than a few RowBlocks is written in several row groups
    const files = await store.export('*.*.*', { out, groupBytes: 256 * 1024 });
    expect(files.length).toBe(store.list().length);
    for (const f of files) {
      expect(path.basename(f.files[0]!)).toBe(`${f.key}.parquet`);
      const m = await store.getIntermediates(`${f.key}.*`, { path: 'read' });
      await expectParquetEquals(f.files[0]!, m, f.key);
      const meta = await duckRows(f.files[0]!, `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${f.files[0]}') WHERE decode(key) LIKE 'mistique.%'`);
      expect(Object.fromEntries(meta.map((x) => [x.k, x.v]))).toMatchObject({ 'mistique.key': f.key, 'mistique.scheme': 'none', 'mistique.values': 'as logged' });
    }
    // SQL's lineage relation on the same store: a TRAD stage's inputs, a layer's nearest logged layer
    const lin = await store.sql(`SELECT "key", list(input ORDER BY input) AS inputs FROM mistique_lineage WHERE "key" IN ('zillow.P1_1.pred_test', 'zillow.P1_1.properties', 'fmnist.tiny_e01.pool1') GROUP BY "key" ORDER BY "key"`);
    expect(lin.rows).toEqual([
      { key: 'fmnist.tiny_e01.pool1', inputs: ['fmnist.tiny_e01.relu2'] },
      { key: 'zillow.P1_1.pred_test', inputs: ['zillow.P1_1.model', 'zillow.P1_1.test_set'] },
      { key: 'zillow.P1_1.properties', inputs: [null] },
    ]);
    const relu1 = files.find((f) => f.key === 'fmnist.tiny_e01.relu1')!;
    const groups = await duckRows(relu1.files[0]!, `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${relu1.files[0]}')`);
    expect(Number(groups[0]!.n)).toBeGreaterThan(1);
    await store.close();
  });

  it('Arrow, .npy and CSV hold what a read returns, streamed in groups; a quantized scheme says what its floats are', async () => {
    const { store, act } = await mixedStore();
    const dir = tempDir();
    const table = await store.getIntermediates('z.P1.features.*');
    const tensor = await store.getIntermediates('z.cnn.relu1.*');
    expect(bytesOf(tensor.values).equals(bytesOf(act))).toBe(true);
    let calls = 0;
    const small = { groupBytes: 32 * 1024, onProgress: () => { calls++; } };
    // Arrow: row_id and named columns (text as text, nulls as nulls); a tensor as one fixed-size list with its shape
    await store.export('z.P1.features', { out: path.join(dir, 'f.arrow'), ...small });
    expect(calls).toBeGreaterThan(1);
    const ft = tableFromIPC(fs.readFileSync(path.join(dir, 'f.arrow')));
    expect(ft.schema.fields.map((f) => f.name)).toEqual(['row_id', 'city', 'price', 'rooms', 'pool']);
    expect(ft.batches.length).toBeGreaterThan(1);
    expect(Array.from(ft.getChild('row_id')!.toArray() as Int32Array)).toEqual(Array.from(table.rowIds));
    for (const [j, name] of ['city', 'price', 'rooms', 'pool'].entries()) {
      const col = ft.getChild(name)!;
      for (let i = 0; i < table.nrows; i++) if (!same(col.get(i), table.get(i, j))) throw new Error(`${name} row ${i}: ${col.get(i)} vs ${table.get(i, j)}`);
    }
    await store.export('z.cnn.relu1', { out: path.join(dir, 't.arrow'), ...small });
    const tt = tableFromIPC(fs.readFileSync(path.join(dir, 't.arrow')));
    expect(tt.schema.fields[1]!.name).toBe('z.cnn.relu1');
    expect(tt.schema.fields[1]!.metadata.get('mistique.shape')).toBe('[4,6,6]');
    expect(tt.schema.metadata.get('mistique.values')).toBe('as logged');
    const flat = new Float32Array(act.length);
    let at = 0;
    for (const b of tt.batches) { const v = b.getChildAt(1)!.data[0]!.children[0]!.values as Float32Array; flat.set(v.subarray(0, b.numRows * 144), at); at += b.numRows * 144; }
    expect(bytesOf(flat).equals(bytesOf(act))).toBe(true);
    // .npy: the header exactly as NumPy writes it (format 1.0, padded to 64 bytes), then the values; row ids beside
    await store.export('z.cnn.relu1', { out: path.join(dir, 't.npy'), ...small });
    const npy = fs.readFileSync(path.join(dir, 't.npy'));
    const hlen = npy.readUInt16LE(8);
    expect(npy.subarray(0, 8).equals(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]))).toBe(true);
    expect((10 + hlen) % 64).toBe(0);
    expect(npy.subarray(10, 10 + hlen).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(300, 4, 6, 6\), \} *\n$/);
    expect(npy.subarray(10 + hlen).equals(bytesOf(act))).toBe(true);
    const ids = fs.readFileSync(path.join(dir, 't.row_id.npy'));
    expect(ids.subarray(10, 10 + ids.readUInt16LE(8)).toString('latin1')).toMatch(/^\{'descr': '<i4', 'fortran_order': False, 'shape': \(300,\), \} *\n$/);
    expect(ids.subarray(10 + ids.readUInt16LE(8)).equals(bytesOf(tensor.rowIds))).toBe(true);
    // CSV: a header, every digit, quotes where needed, empty for null; parses back to the same values
    await store.export('z.P1.features', { out: path.join(dir, 'f.csv'), ...small });
    const text = fs.readFileSync(path.join(dir, 'f.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe('row_id,city,price,rooms,pool');
    expect(text).toContain('"Ventura, CA"');
    const back = parseCsv(text);
    expect(Array.from(back.row_id as Float64Array)).toEqual(Array.from(table.rowIds));
    expect(Array.from(back.price as Float64Array).map((v) => (Object.is(v, -0) ? 0 : v))).toEqual(Array.from({ length: table.nrows }, (_, i) => table.get(i, 1)).map((v) => (Object.is(v, -0) ? 0 : v)));
    expect(back.city).toEqual(Array.from({ length: table.nrows }, (_, i) => table.get(i, 0)));
    // a quantized scheme exports the floats a read returns, and says so
    const lp = await store.getIntermediates('z.cnn.relu1_lp.*');
    await store.export('z.cnn.relu1_lp', { out: path.join(dir, 'lp.parquet'), ...small });
    await expectParquetEquals(path.join(dir, 'lp.parquet'), lp, 'z.cnn.relu1_lp');
    const meta = await duckRows(path.join(dir, 'lp.parquet'), `SELECT decode(value) AS v FROM parquet_kv_metadata('${path.join(dir, 'lp.parquet')}') WHERE decode(key) = 'mistique.values'`);
    expect(meta[0]!.v).toMatch(/^float32 as a read returns them, reconstructed from the lp scheme \(float16 rounding\)$/);
    await store.close();
  });

  it('a tensor of doubles (integers logged from numpy) is one list column of float64 too, and logs back as it was', async () => {
    const store = await tempStore();
    const dir = tempDir();
    const labels = Float64Array.from({ length: 30 * 2 }, (_, i) => (i * 7919) % 1000 + 2 ** 40); // beyond float32's exact integers
    await store.log('z.data.labels', DataFrame.fromTensor(labels, [2]));
    for (const ext of ['parquet', 'arrow']) await store.export('z.data.labels', { out: path.join(dir, `l.${ext}`) });
    await store.close(); // the CLI below writes to the store
    for (const ext of ['parquet', 'arrow']) {
      const out = path.join(dir, `l.${ext}`);
      if (ext === 'parquet') {
        const rows = await duckRows(out);
        expect(rows.columns).toEqual(['row_id', 'z.data.labels']);
        expect((rows[3]!['z.data.labels'] as number[]).map(Number)).toEqual([labels[6], labels[7]]);
      } else {
        const t = tableFromIPC(fs.readFileSync(out));
        expect(t.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['row_id:Int32', 'z.data.labels:FixedSizeList[2]<Float64>']);
      }
      // mistique log of the file: the same doubles, the same shape
      const err: string[] = [];
      expect(await run(['log', `z.back.${ext}`, out, '--store', store.dir], { out: () => undefined, err: (e) => err.push(e) }), err.join('\n')).toBe(0);
    }
    const s = await openStore(store.dir);
    for (const ext of ['parquet', 'arrow']) {
      const m = await s.getIntermediates(`z.back.${ext}.*`);
      expect(m.shape).toEqual([2]);
      expect(Array.from(m.values)).toEqual(Array.from(labels));
    }
    await s.close();
  });

  it('bad input is one clear error, writes no file and leaves the store as it was', async () => {
    const { store } = await mixedStore();
    const dir = tempDir();
    await store.flush();
    const before = snapshotFiles(store.dir);
    const cases: [() => Promise<unknown>, RegExp, string][] = [
      [() => store.export('z.nope.*', { out: path.join(dir, 'x.parquet') }), /no intermediate matches z\.nope\.\*/, 'NOT_FOUND'],
      [() => store.export('z.P1.features.price', { out: path.join(dir, 'x.parquet') }), /export writes whole intermediates/, 'BAD_KEY'],
      [() => store.export('z.P1.features', { out: path.join(dir, 'x.npy') }), /\.npy holds numbers and it has text columns/, 'BAD_OPTION'],
      [() => store.export(['z.cnn.relu1', 'z.P1.features'], { out: path.join(dir, 'two'), format: 'npy' }), /\.npy holds numbers/, 'BAD_OPTION'],
      [() => store.export('z.cnn.relu1', { out: path.join(dir, 'x.parquet'), format: 'csv' }), /named \.parquet but the format asked is csv/, 'BAD_OPTION'],
      [() => store.export('z.cnn.relu1', { out: path.join(dir, 'x.txt') }), /cannot tell the format of/, 'BAD_OPTION'],
      [() => store.export('z.cnn.relu1', { out: path.join(dir, 'x.parquet'), compression: 'brotli' as 'zstd' }), /compression "brotli"/, 'BAD_OPTION'],
    ];
    fs.writeFileSync(path.join(dir, 'afile'), 'x');
    cases.push([() => store.export('z.cnn.*', { out: path.join(dir, 'afile') }), /is a file, and 2 intermediates need a directory/, 'BAD_OPTION']);
    // several into one file's name: before, a directory named x.parquet; a file under a file: before, an internal error
    cases.push([() => store.export('z.cnn.*', { out: path.join(dir, 'x.parquet') }), /2 intermediates match \(z\.cnn\.relu1, z\.cnn\.relu1_lp\) and .*x\.parquet names one file: give --out a directory \(e\.g\. .*\/x\/\)/, 'BAD_OPTION']);
    cases.push([() => store.export('z.cnn.relu1', { out: path.join(dir, 'afile', 'x.npy') }), /cannot write .*afile\/x\.npy: EEXIST.*: give a file name in a directory that can hold it/, 'BAD_OPTION']);
    for (const [f, msg, code] of cases) {
      const err = await f().then(() => null, (e: unknown) => e);
      expect(err, String(msg)).toBeInstanceOf(MistiqueError);
      expect((err as MistiqueError).message).toMatch(msg);
      expect((err as MistiqueError).code).toBe(code);
    }
    expect(fs.readdirSync(dir)).toEqual(['afile']);
    expect(snapshotFiles(store.dir)).toEqual(before);
    await store.close();
  });

  it('a file in a directory not there yet is written there, the directory made (export, get --out, sql --out)', async () => {
    const { store } = await mixedStore();
    const dir = tempDir();
    await store.export('z.cnn.relu1', { out: path.join(dir, 'a', 'b', 'r.npy') });
    expect(fs.readdirSync(path.join(dir, 'a', 'b')).sort()).toEqual(['r.npy', 'r.row_id.npy']);
    await store.flush(); // what the commands below (other handles) see
    const errs: string[] = [];
    const io = { out: () => undefined, err: (e: string) => errs.push(e) };
    expect(await run(['get', 'z.cnn.relu1.*', '--out', path.join(dir, 'c', 'r.parquet'), '--store', store.dir], io), errs.join()).toBe(0);
    expect(await run(['sql', 'SELECT 1 AS one', '--out', path.join(dir, 'd', 'one.csv'), '--store', store.dir], io), errs.join()).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'd', 'one.csv'), 'utf8')).toBe('one\n1\n');
    expect(fs.existsSync(path.join(dir, 'c', 'r.parquet'))).toBe(true);
    await store.close();
  });

  it('mistique export writes files with a line per intermediate, or JSON', async () => {
    const { store } = await mixedStore();
    await store.close();
    const dir = tempDir();
    const lines: string[] = [], errs: string[] = [];
    const io = { out: (s: string) => lines.push(s), err: (s: string) => errs.push(s) };
    expect(await run(['export', 'z.cnn.*', '--out', path.join(dir, 'acts'), '--format', 'npy', '--store', store.dir], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/z\.cnn\.relu1: 300 rows → .*acts\/z\.cnn\.relu1\.npy \+ .*z\.cnn\.relu1\.row_id\.npy/);
    expect(fs.readdirSync(path.join(dir, 'acts')).sort()).toEqual(['z.cnn.relu1.npy', 'z.cnn.relu1.row_id.npy', 'z.cnn.relu1_lp.npy', 'z.cnn.relu1_lp.row_id.npy']);
    lines.length = 0;
    expect(await run(['export', 'z.P1.features', '--out', path.join(dir, 'f.parquet'), '--compression', 'zstd', '--json', '--store', store.dir], io)).toBe(0);
    expect(JSON.parse(lines[0]!)).toEqual([expect.objectContaining({ key: 'z.P1.features', format: 'parquet', rows: 2500 })]);
    expect(await run(['export', 'z.P1.features', '--out', path.join(dir, 'f.parquet'), '--rows', '1', '--store', store.dir], io)).toBe(2);
    expect(errs.join('\n')).toMatch(/--rows is not an option of this command/);
  });
});
