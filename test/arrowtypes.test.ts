// Tables as other tools write them (pandas, DuckDB, Spark: Parquet with Int64, decimals, dates and
// timestamps) log exactly: integers as int32 where they fit, else as float64 within ±2^53 (a null as NaN),
// decimals as the nearest double, dates and timestamps as ISO 8601 text to their unit's precision.
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { openStore } from '../src/index.js';
import { tempDir } from './helpers.js';

async function parquet(file: string, select: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  await c.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  c.closeSync();
}

async function cli(...argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await run(argv, { out: () => undefined, err: (x) => err.push(x) });
  return { code, err: err.join('\n') };
}

describe('Parquet columns of the types other tools write', () => {
  it('log exactly, as int32, float64 or ISO text', async () => {
    const dir = tempDir(), file = path.join(dir, 't.parquet'), store = path.join(dir, 'store');
    await parquet(file, `SELECT i AS id, CAST(i AS UTINYINT) AS small, CASE WHEN i = 1 THEN NULL ELSE i END AS holes,
      CAST(i AS BIGINT) * 10000000000 AS big, CAST(i AS DECIMAL(6,2)) - 1.25 AS price,
      DATE '2024-02-28' + CAST(i AS INTEGER) AS day, TIMESTAMP_NS '1969-12-31 23:59:59.999999999' AS ns,
      TIMESTAMPTZ '2024-01-01 00:00:00.123456+00' AS utc FROM range(3) t(i)`);
    const r = await cli('log', 'p.m.t', file, '--store', store);
    expect(r.code, r.err).toBe(0);
    const s = await openStore(store);
    try {
      const m = await s.getIntermediates('p.m.t.*');
      expect(m.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['id:int32', 'small:int32', 'holes:float64', 'big:float64', 'price:float64', 'day:utf8', 'ns:utf8', 'utc:utf8']);
      const col = (name: string): unknown[] => { const j = m.columns.findIndex((c) => c.name === name); return Array.from({ length: m.nrows }, (_, i) => m.get(i, j)); };
      expect(col('id')).toEqual([0, 1, 2]);
      expect(col('holes')).toEqual([0, NaN, 2]);
      expect(col('big')).toEqual([0, 1e10, 2e10]);
      expect(col('price')).toEqual([-1.25, -0.25, 0.75]);
      expect(col('day')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
      expect(col('ns')).toEqual(Array(3).fill('1969-12-31T23:59:59.999999999')); // before 1970, to the nanosecond
      expect(col('utc')).toEqual(Array(3).fill('2024-01-01T00:00:00.123456Z'));
    } finally {
      await s.close();
    }
  });

  it('an integer a double would round is one clear error that logs nothing', async () => {
    const dir = tempDir(), file = path.join(dir, 'huge.parquet'), store = path.join(dir, 'store');
    await parquet(file, 'SELECT CAST(9007199254740993 AS BIGINT) AS huge');
    const r = await cli('log', 'p.m.h', file, '--store', store);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/column "huge" \(Arrow Int64\) holds 9007199254740993, which neither int32 nor float64 holds exactly: log it as text/);
  });

  it('a list column beside others (an embedding in a table) says how to log it: on its own, as a tensor, joined on row_id', async () => {
    const dir = tempDir(), store = path.join(dir, 'store');
    const both = path.join(dir, 'both.parquet'), lists = path.join(dir, 'emb.parquet');
    await parquet(both, 'SELECT i::INTEGER AS row_id, i % 3 AS label, [i * 0.5, 1.0]::FLOAT[] AS emb FROM range(4) t(i)');
    const r = await cli('log', 'p.m.t', both, '--store', store);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/column "emb" holds a list per row \(List<Float32>\): a table's columns hold one value a row — log the lists as an intermediate of their own/);
    // as it says: the lists alone are a tensor
    await parquet(lists, `SELECT row_id, emb FROM '${both}'`);
    expect((await cli('log', 'p.m.emb', lists, '--store', store)).code).toBe(0);
    const s = await openStore(store);
    try {
      const m = await s.getIntermediates('p.m.emb.*', { rows: [3] });
      expect(Array.from(m.values)).toEqual([1.5, 1]);
    } finally {
      await s.close();
    }
  });
});
