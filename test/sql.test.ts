// SQL over a store with DuckDB (#17): relations named by key, catalog relations, joins, aggregates and
// filters equal to the API's answers; row_id conditions narrow what is read; bad SQL is one clear error
// and leaves the store as it was.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataFrame } from '../src/index.js';
import { rowFilters } from '../src/sql/pushdown.js';
import { run } from '../src/cli/main.js';
import { rng, snapshotFiles, tempDir, tempStore } from './helpers.js';

async function twoPipelines() {
  const store = await tempStore();
  const r = rng(7);
  const n = 3000;
  const city = Array.from({ length: n }, (_, i) => ['Los Angeles', 'Ventura', 'Orange'][i % 3]!);
  const p1 = Float64Array.from({ length: n }, () => r() - 0.5);
  const p2 = Float64Array.from(p1, (v, i) => (i % 10 === 0 ? v + r() : v));
  p1[17] = NaN;
  await store.log('z.P1.features', { city, sqft: Float64Array.from({ length: n }, (_, i) => 500 + i) });
  await store.log('z.P1.pred', { pred: p1 });
  await store.log('z.P2.pred', { pred: p2 }, { rowIds: Int32Array.from({ length: n }, (_, i) => i) });
  const act = Float32Array.from({ length: 40 * 2 * 3 * 3 }, () => r() * 4 - 1);
  await store.log('z.cnn.relu1', DataFrame.fromTensor(act, [2, 3, 3]));
  return { store, p1, p2, city, act, n };
}

describe('store.sql', () => {
  it('joins two pipelines, filters, aggregates, and answers what the API answers', async () => {
    const { store, p1, p2, city } = await twoPipelines();
    // the 20 rows where the two pipelines disagree most, with a feature
    const q = await store.sql(`SELECT a.row_id, a.pred AS p1, b.pred AS p2, f.city FROM "z.P1.pred" a JOIN "z.P2.pred" b USING (row_id)
      JOIN "z.P1.features" f USING (row_id) WHERE NOT isnan(a.pred) ORDER BY abs(a.pred - b.pred) DESC, a.row_id LIMIT 20`);
    expect(q.columns).toEqual(['row_id', 'p1', 'p2', 'city']);
    const want = Array.from(p1, (v, i) => ({ i, d: Math.abs(v - p2[i]!) })).filter((x) => !Number.isNaN(p1[x.i]!)).sort((a, b) => b.d - a.d || a.i - b.i).slice(0, 20);
    expect(q.rows.map((r) => r.row_id)).toEqual(want.map((x) => x.i));
    for (const r of q.rows) {
      expect(r.p1).toBe(p1[r.row_id as number]);
      expect(r.p2).toBe(p2[r.row_id as number]);
      expect(r.city).toBe(city[r.row_id as number]);
    }
    expect(q.table.numRows).toBe(20);
    // an aggregate per group, NaN kept as NaN
    const g = await store.sql(`SELECT f.city, count(*) AS n, sum(b.pred) AS s FROM "z.P2.pred" b JOIN "z.P1.features" f USING (row_id) GROUP BY f.city ORDER BY f.city`);
    for (const r of g.rows) {
      const idx = city.map((c, i) => (c === r.city ? i : -1)).filter((i) => i >= 0);
      expect(r.n).toBe(idx.length);
      expect(r.s as number).toBeCloseTo(idx.reduce((a, i) => a + p2[i]!, 0), 9);
    }
    const nan = await store.sql(`SELECT pred FROM "z.P1.pred" WHERE row_id = 17`);
    expect(Number.isNaN(nan.rows[0]!.pred)).toBe(true);
    // statements asked together run one after another on the store's DuckDB session, each with its own views
    const [x, y] = await Promise.all([
      store.sql(`SELECT count(*) AS n FROM "z.P1.pred" WHERE row_id < 10`),
      store.sql(`SELECT count(*) AS n FROM "z.P1.pred" WHERE row_id >= 2990`),
    ]);
    expect([x.rows[0]!.n, y.rows[0]!.n]).toEqual([10, 10]);
    const u = await store.sql(`SELECT 1 AS k, count(*) AS n FROM "z.P1.pred" WHERE row_id < 10 UNION ALL SELECT 2, count(*) FROM "z.P1.pred" ORDER BY k`);
    expect(u.rows.map((r) => r.n)).toEqual([10, 3000]);
  });

  it('a tensor layer is row_id and a list of its values; the catalog lists what is stored', async () => {
    const { store, act } = await twoPipelines();
    const t = await store.sql(`SELECT row_id, "values" FROM "z.cnn.relu1" WHERE row_id IN (3, 39) ORDER BY row_id`);
    expect(t.rows.map((r) => r.row_id)).toEqual([3, 39]);
    expect(t.rows[1]!.values).toEqual(Array.from(act.subarray(39 * 18, 40 * 18)));
    expect(t.reads).toEqual([expect.objectContaining({ key: 'z.cnn.relu1', rows: 2, narrowed: true })]);
    // per unit, the mean activation over examples: list positions are 1-based in SQL
    const m = await store.sql(`SELECT avg("values"[5]) AS m FROM "z.cnn.relu1"`);
    let s = 0;
    for (let i = 0; i < 40; i++) s += act[i * 18 + 4]!;
    expect(m.rows[0]!.m as number).toBeCloseTo(s / 40, 6);
    const cat = await store.sql(`SELECT "key", n_rows, shape, scheme FROM mistique_intermediates ORDER BY "key"`);
    expect(cat.rows).toEqual(store.list().sort((a, b) => (a.key < b.key ? -1 : 1)).map((i) => ({ key: i.key, n_rows: i.rows, shape: i.shape ? JSON.stringify(i.shape) : null, scheme: i.scheme })));
    const models = await store.sql(`SELECT project, model, intermediates FROM mistique_models ORDER BY model`);
    expect(models.rows).toEqual([{ project: 'z', model: 'P1', intermediates: 2 }, { project: 'z', model: 'P2', intermediates: 1 }, { project: 'z', model: 'cnn', intermediates: 1 }]);
  });

  it('conditions on row_id narrow the rows read, and only where that is sound', async () => {
    const { store, n } = await twoPipelines();
    const q = await store.sql(`SELECT count(*) AS c FROM "z.P1.pred" a JOIN "z.P2.pred" b USING (row_id) WHERE row_id BETWEEN 100 AND 149`);
    expect(q.rows[0]!.c).toBe(50);
    expect(q.reads.map((r) => [r.rows, r.narrowed])).toEqual([[50, true], [50, true]]);
    // a qualified condition narrows its own table only; OR is not narrowed
    const q2 = await store.sql(`SELECT count(*) AS c FROM "z.P1.pred" a JOIN "z.P2.pred" b ON a.row_id = b.row_id + 1 WHERE a.row_id < 10`);
    expect(q2.rows[0]!.c).toBe(9);
    expect(q2.reads.map((r) => r.rows)).toEqual([10, n]);
    const q3 = await store.sql(`SELECT count(*) AS c FROM "z.P1.pred" WHERE row_id < 10 OR pred > 0.4`);
    expect(q3.reads[0]!.rows).toBe(n);
    // a self-join under two aliases is never narrowed
    const q4 = await store.sql(`SELECT count(*) AS c FROM "z.P1.pred" a JOIN "z.P1.pred" b ON b.row_id = a.row_id + 5 WHERE a.row_id < 10`);
    expect(q4.rows[0]!.c).toBe(10);
  });

  it('a query naming some columns of a table reads those alone, with the answers of reading every column', async () => {
    const store = await tempStore();
    const r = rng(3);
    const n = 500, C = 40;
    const wide: Record<string, Float64Array | string[]> = { Name: Array.from({ length: n }, (_, i) => `h${i % 7}`) };
    for (let c = 0; c < C; c++) wide[`f${c}`] = Float64Array.from({ length: n }, () => Math.round(r() * 10));
    await store.log('z.P1.onehot', wide);
    await store.log('z.P1.pred', { pred: Float64Array.from({ length: n }, () => r()) });
    const cases: [string, number[] | null][] = [
      // columns named anywhere: the select list, WHERE, GROUP BY, a subquery, USING; case as DuckDB matches it
      ['SELECT name, sum(F3) AS s FROM "z.P1.onehot" WHERE f7 > 5 GROUP BY name ORDER BY name', [3]],
      ['SELECT count(*) AS c FROM "z.P1.onehot"', [1]],
      ['SELECT o.f1, p.pred FROM "z.P1.onehot" o JOIN "z.P1.pred" p USING (row_id) WHERE o.row_id IN (SELECT row_id FROM "z.P1.onehot" WHERE f2 = 3) ORDER BY o.row_id', [2, null]], // (pred is all of z.P1.pred)
      // every column: a star, a whole row by its alias, a NATURAL join
      ['SELECT * FROM "z.P1.onehot" WHERE f0 = 1 ORDER BY row_id', null],
      ['SELECT o FROM "z.P1.onehot" o ORDER BY o.row_id LIMIT 3', null],
      ['SELECT COLUMNS(\'f1.*\') FROM "z.P1.onehot" ORDER BY row_id LIMIT 4', null],
    ];
    for (const [q, cols] of cases) {
      const got = await store.sql(q);
      expect(got.reads.map((x) => x.columns ?? null).slice(0, cols?.length ?? 1), q).toEqual(cols ?? [null]);
      // the same statement over views of every column (a star forces it) answers the same
      const whole = await store.sql(`SELECT * FROM (${q}) AS q, (SELECT count(*) FROM (SELECT * FROM "z.P1.onehot") AS w) AS k`);
      expect(whole.reads.every((x) => x.columns === undefined), q).toBe(true);
      expect(JSON.stringify(whole.rows.map((x) => Object.fromEntries(Object.entries(x).filter(([k]) => !k.startsWith('count')))))).toBe(JSON.stringify(got.rows));
    }
  });

  it('bad SQL, unknown relations and writes are one clear error and change no file', async () => {
    const { store } = await twoPipelines();
    await store.flush();
    const before = snapshotFiles(store.dir);
    await expect(store.sql('SELEC 1')).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/syntax error/) });
    await expect(store.sql('SELECT * FROM "z.nope.pred"')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/z\.nope\.pred.*mistique ls/) });
    await expect(store.sql('DELETE FROM mistique_intermediates')).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/read-only/) });
    await expect(store.sql('SELECT 1; SELECT 2')).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/one SQL statement/) });
    await expect(store.sql('SELECT nope FROM "z.P1.pred"')).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/nope/) });
    // a first query's two slips say what to write instead
    await expect(store.sql('SELECT * FROM z.P1.pred')).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/; quote keys: FROM "project\.model\.intermediate"/) });
    await expect(store.sql('SELECT "z.cnn.relu1"[1] FROM "z.cnn.relu1"')).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/; a tensor layer's values are its list column "values" \("values"\[1\] is the first, 1-based\)/) });
    // the DuckDB session outlives a statement: nothing may change it
    for (const q of ['SET threads = 1', 'CREATE TABLE t AS SELECT 1 AS x', '  attach \'x.db\'', 'USE memory']) {
      await expect(store.sql(q)).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/read-only/) });
    }
    await expect(store.sql('SELECT * FROM t')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // EXPLAIN ANALYZE runs what it explains: it had written the file and created the table
    const leak = path.join(tempDir(), 'leak.csv');
    for (const q of [`EXPLAIN ANALYZE COPY (SELECT 42 AS x) TO '${leak}'`, 'explain analyze CREATE TABLE kept AS SELECT 1 AS x', 'EXPLAIN INSERT INTO mistique_intermediates VALUES (1)',
      // a write behind a WITH: refused for what it is, not for the table it names
      'WITH x AS (SELECT 1 AS n_rows) INSERT INTO mistique_intermediates (n_rows) SELECT * FROM x']) {
      await expect(store.sql(q), q).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/read-only/) });
    }
    expect(fs.existsSync(leak)).toBe(false);
    await expect(store.sql('SELECT * FROM kept')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // …and explains a statement over intermediates (it had said they do not exist)
    const plan = await store.sql('EXPLAIN SELECT count(*) FROM "z.P1.pred" WHERE pred > 0');
    expect(plan.reads.map((r) => r.key)).toEqual(['z.P1.pred']);
    expect(JSON.stringify(plan.rows)).toMatch(/mistique_relation_\d+/); // the statement's table of the intermediate
    expect((await store.sql('EXPLAIN ANALYZE SELECT count(*) AS c FROM "z.P1.pred"')).count).toBeGreaterThan(0);
    // what DuckDB's parse tree does not hold still reads: SHOW, SUMMARIZE, PIVOT
    expect((await store.sql('SUMMARIZE SELECT sqft FROM "z.P1.features"')).rows[0]).toMatchObject({ column_name: 'sqft', count: 3000 });
    expect((await store.sql('PIVOT (SELECT city, sqft FROM "z.P1.features" WHERE row_id < 6) ON city USING sum(sqft)')).rows).toEqual([{ 'Los Angeles': 503 + 500, Orange: 502 + 505, Ventura: 501 + 504 }]);
    expect(snapshotFiles(store.dir)).toEqual(before);
  });
});

describe('row_id pushdown (pure)', () => {
  it('reads the WHERE clause of DuckDB’s parse tree', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const parse = async (q: string) => JSON.parse((await c.runAndReadAll(`SELECT json_serialize_sql('${q.replace(/'/g, "''")}') AS j`)).getRowObjectsJS()[0]!.j as string).statements[0];
    const f = async (q: string) => Object.fromEntries([...rowFilters(await parse(q))].map(([k, v]) => [k, v.ids ? [...v.ids].sort() : [v.lo, v.hi]]));
    expect(await f('SELECT * FROM "a.b.c" WHERE row_id >= 5 AND row_id < 9 AND x > 1')).toEqual({ 'a.b.c': [5, 8] });
    expect(await f('SELECT * FROM "a.b.c" t WHERE 7 > t.row_id')).toEqual({ 'a.b.c': [-Infinity, 6] });
    expect(await f('SELECT * FROM "a.b.c" WHERE row_id IN (4, 2) AND row_id <= 3')).toEqual({ 'a.b.c': [2] });
    expect(await f('SELECT * FROM (SELECT * FROM "a.b.c") WHERE row_id = 1')).toEqual({});
    expect(await f('SELECT * FROM "a.b.c" WHERE row_id = 1 OR row_id = 2')).toEqual({});
    c.closeSync();
    db.closeSync();
  });
});

describe('mistique sql', () => {
  it('every column type reaches DuckDB as logged, chunk after chunk, and a wide tensor in chunks of fewer rows', async () => {
    const store = await tempStore();
    const n = 5000;
    const f64 = Float64Array.from({ length: n }, (_, i) => (i % 11 === 0 ? NaN : i / 3));
    const i32 = Int32Array.from({ length: n }, (_, i) => i * 7 - 9000);
    const b = Array.from({ length: n }, (_, i) => i % 3 === 0);
    const txt = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `s${i % 13}`));
    await store.log('t.m.cols', { f64, i32, b, txt }, { rowIds: Int32Array.from({ length: n }, (_, i) => 2 * i + 1) });
    const got = await store.sql('SELECT row_id, f64, i32, b, txt, typeof(f64) || typeof(i32) || typeof(b) || typeof(txt) AS types FROM "t.m.cols" ORDER BY row_id');
    expect(got.rows.length).toBe(n);
    got.rows.forEach((r, i) => expect(r).toEqual({ row_id: 2 * i + 1, f64: f64[i], i32: i32[i], b: b[i], txt: txt[i], types: 'DOUBLEINTEGERBOOLEANVARCHAR' }));
    // projection: one column of four, in the statement's order
    expect((await store.sql('SELECT txt, i32 FROM (SELECT * FROM "t.m.cols") WHERE row_id = 3')).rows).toEqual([{ txt: 's1', i32: -8993 }]);
    // 3 000 values a row: 1 398 rows a chunk (4 M values), so 3 000 rows are three chunks
    const W = 3000, rows = 3000;
    const x = Float32Array.from({ length: rows * W }, (_, i) => Math.fround(Math.sin(i) * 5));
    await store.log('t.m.wide', DataFrame.fromTensor(x, [3, 10, 100]));
    const sums = await store.sql('SELECT row_id, list_sum("values") AS s, "values"[3000] AS last, len("values") AS l FROM "t.m.wide" ORDER BY row_id');
    expect(sums.rows.length).toBe(rows);
    for (const i of [0, 1397, 1398, 2795, 2796, 2999]) {
      let s = 0;
      for (let k = 0; k < W; k++) s += x[i * W + k]!;
      expect(sums.rows[i]).toMatchObject({ row_id: i, last: x[i * W + W - 1], l: W });
      expect(sums.rows[i]!.s as number).toBeCloseTo(s, 2);
    }
    // a statement naming no intermediate of its own cannot reach another's results
    await expect(store.sql("SELECT * FROM mistique_relation('0')")).rejects.toMatchObject({ code: 'BAD_QUERY', message: expect.stringMatching(/is no intermediate of this statement/) });
  });

  it('a row_id filter on an intermediate that is not stored (policy adaptive) re-runs it and keeps the rows asked for', async () => {
    const store = await tempStore({ policy: 'adaptive', gammaMin: Infinity }); // nothing materialized: every query re-runs
    const x = Float32Array.from({ length: 12 * 784 }, (_, i) => ((i * 7) % 256) / 255);
    await store.logNetwork('fm.tiny', path.resolve(__dirname, '../datasets/fixtures/tiny_cnn.onnx'), { x, shape: [1, 28, 28] });
    expect(store.list('fm.tiny.relu1')[0]!.bytesStored).toBe(0);
    const q = await store.sql('SELECT row_id, "values"[7] AS v FROM "fm.tiny.relu1" WHERE row_id IN (2, 5) ORDER BY row_id');
    const want = await store.getIntermediates('fm.tiny.relu1.*', { rows: [2, 5] });
    // it had answered no rows: the RowBlock index of an intermediate not stored holds none
    expect(q.rows).toEqual([{ row_id: 2, v: want.values[6] }, { row_id: 5, v: want.values[want.ncols + 6] }]);
    expect(q.reads[0]).toMatchObject({ key: 'fm.tiny.relu1', narrowed: false, rows: 12 });
    // getTable re-runs it too, as getIntermediates does (it had failed NOT_STORED)
    const t = await store.getTable('fm.tiny.relu1.*', { rows: [2, 5] });
    expect([t.numRows, t.numCols - 1, Array.from(t.getChild('row_id')!.toArray() as Int32Array)]).toEqual([2, want.ncols, [2, 5]]);
    expect(t.getChildAt(7)!.get(1)).toBe(want.values[want.ncols + 6]);
    // an index needs stored rows: the error says why there are none and what to do
    await expect(store.buildIndex('fm.tiny.relu1')).rejects.toMatchObject({ code: 'NOT_STORED', message: expect.stringMatching(/policy adaptive stores a layer only once querying it has cost more .* log the model into a store of policy dedup/) });
  });

  it('a relation that fails to read fails the statement only once every other relation is handed over and gone', async () => {
    const { store } = await twoPipelines();
    const real = store.getIntermediates.bind(store);
    // z.P2.pred fails at once; z.P1.pred is handed over after that
    store.getIntermediates = (async (keys: string | readonly string[], opts?: object) => {
      if (String(keys).startsWith('z.P2.pred')) throw new Error('disk gone');
      await new Promise((r) => setTimeout(r, 50));
      return real(keys, opts);
    }) as typeof store.getIntermediates;
    await expect(store.sql('SELECT count(*) FROM "z.P1.pred" a JOIN "z.P2.pred" b USING (row_id)')).rejects.toThrow('disk gone');
    store.getIntermediates = real;
    await new Promise((r) => setTimeout(r, 150)); // past z.P1.pred's hand-over, had it gone on alone
    // nothing of it is left in the session: no table, no view
    const left = await store.sql("SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal");
    expect(left.rows).toEqual([]);
    expect((await store.sql('SELECT count(*) AS n FROM "z.P1.pred"')).rows).toEqual([{ n: 3000 }]);
  });

  it("a join's columns of one name are two columns (pred, pred_1), in their order even when a name is a number", async () => {
    const { store, p1, p2 } = await twoPipelines();
    const q = await store.sql(`SELECT a.row_id, a.pred, b.pred, 7 AS "0" FROM "z.P1.pred" a JOIN "z.P2.pred" b USING (row_id) WHERE a.row_id IN (10, 20) ORDER BY a.row_id`);
    // the second pred had shown the first's values under the same name
    expect(q.columns).toEqual(['row_id', 'pred', 'pred_1', '0']);
    expect(q.rows).toEqual([{ row_id: 10, pred: p1[10], pred_1: p2[10], 0: 7 }, { row_id: 20, pred: p1[20], pred_1: p2[20], 0: 7 }]);
    expect(p1[10]).not.toBe(p2[10]);
    // a table's own columns of one name (as DuckDB compares them), and a column named row_id: renamed, and read whole
    await store.log('z.P1.odd', { Price: Float64Array.from([1, 2]), price: Float64Array.from([3, 4]), row_id: Float64Array.from([9, 8]) });
    const odd = await store.sql('SELECT * FROM "z.P1.odd"');
    expect([odd.columns, odd.rows]).toEqual([['row_id', 'Price', 'price_1', 'row_id_1'], [{ row_id: 0, Price: 1, price_1: 3, row_id_1: 9 }, { row_id: 1, Price: 2, price_1: 4, row_id_1: 8 }]]);
    expect((await store.sql('SELECT price_1 FROM "z.P1.odd" WHERE row_id = 1')).rows).toEqual([{ price_1: 4 }]);
    const { uniqueNames } = await import('../src/sql/sql.js');
    expect(uniqueNames(['x', 'X', 'x_1', 'x', 'y'])).toEqual(['x', 'X_2', 'x_1', 'x_3', 'y']);
  });

  it('limit converts the first rows and counts the rest; each takes every row in pieces, as a whole read gives them', async () => {
    const { store, act } = await twoPipelines();
    const all = await store.sql('SELECT row_id, "values" FROM "z.cnn.relu1" ORDER BY row_id');
    expect([all.rows.length, all.count]).toEqual([40, 40]);
    const few = await store.sql('SELECT row_id, "values" FROM "z.cnn.relu1" ORDER BY row_id', { limit: 3 });
    expect([few.rows, few.count]).toEqual([all.rows.slice(0, 3), 40]);
    expect((await store.sql('SELECT * FROM "z.P1.pred"', { limit: 0 })).count).toBe(3000);
    const pieces: Record<string, unknown>[][] = [];
    const big = await store.sql('SELECT row_id, pred FROM "z.P1.pred" ORDER BY row_id', { each: (rows, columns) => { expect(columns).toEqual(['row_id', 'pred']); pieces.push(rows); } });
    expect([big.rows, big.count]).toEqual([[], 3000]);
    expect(pieces.length).toBeGreaterThan(1); // DuckDB's chunks of 2 048 rows at most
    expect(pieces.flat()).toEqual((await store.sql('SELECT row_id, pred FROM "z.P1.pred" ORDER BY row_id')).rows);
    expect(all.rows[39]!.values).toEqual(Array.from(act.subarray(39 * 18)));
    for (const limit of [-1, 1.5]) await expect(store.sql('SELECT 1', { limit })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it("a statement that never names a tensor's values reads its row ids alone, and answers as a whole read does", async () => {
    const { store } = await twoPipelines();
    const cases = [
      ['SELECT count(*) AS c FROM "z.cnn.relu1"', [{ c: 40 }]],
      ['SELECT row_id FROM "z.cnn.relu1" WHERE row_id BETWEEN 5 AND 7 ORDER BY row_id', [{ row_id: 5 }, { row_id: 6 }, { row_id: 7 }]],
      ['SELECT count(*) AS c FROM "z.cnn.relu1" t JOIN "z.P1.pred" p USING (row_id) WHERE p.pred > 0', null],
    ] as const;
    for (const [q, want] of cases) {
      const got = await store.sql(q);
      expect(got.reads[0], q).toMatchObject({ key: 'z.cnn.relu1', columns: 0 });
      const whole = await store.sql(q.replace('"z.cnn.relu1"', '(SELECT * FROM "z.cnn.relu1")'));
      expect(whole.reads[0]!.columns, q).toBeUndefined();
      expect(got.rows, q).toEqual(want ?? whole.rows);
    }
    // columns renamed by position: DuckDB alone knows which is which, so every column is read
    const renamed = await store.sql('SELECT v[1] AS first FROM "z.cnn.relu1" t(id, v) WHERE id = 2');
    expect(renamed.reads[0]!.columns).toBeUndefined();
    expect(renamed.rows).toEqual((await store.sql('SELECT "values"[1] AS first FROM "z.cnn.relu1" WHERE row_id = 2')).rows);
  });

  it('prints an aligned table, csv or json, writes parquet, and exits 1 on bad SQL', async () => {
    const { store } = await twoPipelines();
    await store.close();
    const io = () => { const out: string[] = [], err: string[] = []; return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } }; };
    const a = io();
    expect(await run(['sql', 'SELECT row_id, city, sqft FROM "z.P1.features" WHERE row_id < 3 ORDER BY row_id', '--store', store.dir], a.io)).toBe(0);
    expect(a.out.join('\n')).toMatch(/row_id +city +sqft\n[─ ]+\n +0 +Los Angeles +500\n +1 +Ventura +501\n +2 +Orange +502\n3 rows/);
    const b = io();
    expect(await run(['sql', 'SELECT row_id, "values"[1] AS v FROM "z.cnn.relu1" WHERE row_id = 0', '--format', 'json', '--store', store.dir], b.io)).toBe(0);
    expect(JSON.parse(b.out.join(''))).toEqual([{ row_id: 0, v: expect.any(Number) }]);
    // every row as data, in DuckDB's chunks: csv, json and JSON lines say the same; no rows is a header, [] or nothing
    const q = 'SELECT row_id, pred, city FROM "z.P1.pred" JOIN "z.P1.features" USING (row_id) ORDER BY row_id';
    const [csv, json, jsonl] = await Promise.all(['csv', 'json', 'jsonl'].map(async (format) => { const x = io(); expect(await run(['sql', q, '--format', format, '--store', store.dir], x.io)).toBe(0); return x.out.join('\n'); }));
    const rows = JSON.parse(json!) as { row_id: number; pred: number | null; city: string }[];
    expect(rows).toHaveLength(3000);
    expect(jsonl!.split('\n').map((l) => JSON.parse(l))).toEqual(rows);
    expect(csv!.split('\n')).toEqual(['row_id,pred,city', ...rows.map((r) => `${r.row_id},${r.pred ?? 'NaN'},${r.city}`)]);
    expect(rows[17]!.pred).toBeNull(); // NaN: null in JSON, NaN in CSV (as pandas reads it)
    for (const [format, want] of [['csv', 'row_id'], ['json', '[]'], ['jsonl', '']] as const) {
      const x = io();
      expect(await run(['sql', 'SELECT row_id FROM "z.P1.pred" WHERE row_id < 0', '--format', format, '--store', store.dir], x.io)).toBe(0);
      expect(x.out.join('\n')).toBe(want);
    }
    const out = path.join(tempDir(), 'd.parquet');
    const c = io();
    expect(await run(['sql', 'SELECT * FROM "z.P1.pred" WHERE row_id < 100', '--out', out, '--store', store.dir], c.io)).toBe(0);
    expect(fs.readFileSync(out).subarray(0, 4).toString()).toBe('PAR1');
    const d = io();
    expect(await run(['sql', 'SELECT FROM WHERE', '--store', store.dir], d.io)).toBe(1);
    expect(d.err.join('\n')).toMatch(/^mistique sql: SQL failed: Parser Error/);
  });
});
