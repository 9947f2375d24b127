// TRAD pipelines: spec validation, each operator on hand-checked inputs, logging then re-running a
// pipeline and sharing between variants (approximate de-duplication is in dedup.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateZillow } from '../datasets/zillow/generate.js';
import { parseCSV, readCSV } from '../src/executor/csv.js';
import { parseCsv, readFrame } from '../src/cli/files.js';
import { OPERATORS } from '../src/executor/operators/index.js';
import type { StageValue } from '../src/executor/operators/operator.js';
import { loadPipelineSpec, parsePipelineSpec } from '../src/executor/spec.js';
import { makeTable, type StageTable } from '../src/executor/table.js';
import { MistiqueError } from '../src/index.js';
import { rng, snapshotFiles, tempDir, tempStore } from './helpers.js';

const SPECS = path.resolve(__dirname, '../datasets/zillow/pipelines');
const F = (xs: number[]): Float64Array => Float64Array.from(xs);
const ids = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
const tbl = (cols: Record<string, Float64Array | (string | null)[]>, rowIds?: Int32Array): StageValue => {
  const names = Object.keys(cols);
  const n = Object.values(cols)[0]!.length;
  return { kind: 'table', table: makeTable(rowIds ?? ids(n), names, Object.values(cols)) };
};
async function op(name: string, inputs: StageValue[], params: Record<string, unknown> = {}): Promise<StageValue> {
  const def = OPERATORS.get(name)!;
  const { checkParams } = await import('../src/executor/operators/operator.js');
  return def.run(inputs, checkParams('t', def, params), { dataDir: '.', stage: 't' });
}
const T = (v: StageValue): StageTable => { if (v.kind !== 'table') throw new Error('not a table'); return v.table; };
const col = (t: StageTable, n: string) => t.columns[t.names.indexOf(n)]!;

function specError(yaml: string): MistiqueError {
  try { parsePipelineSpec(yaml, 'spec'); } catch (e) { return e as MistiqueError; }
  throw new Error('expected an error');
}

describe('pipeline specs', () => {
  const head = 'name: T1\nstages:\n  - { name: props, op: ReadCSV, params: { file: p.csv } }\n';
  it('all 50 bundled specs validate', () => {
    const files = fs.readdirSync(SPECS).filter((f) => f.endsWith('.yaml'));
    expect(files).toHaveLength(50);
    for (const f of files) expect(loadPipelineSpec(path.join(SPECS, f)).stages.length).toBeGreaterThanOrEqual(9);
  });
  it('names the stage for an unknown operator, a missing input, a cycle, a bad parameter', () => {
    let e = specError(head + '  - { name: x, op: Frobnicate, inputs: [props] }\n');
    expect(e.code).toBe('BAD_SPEC'); expect(e.message).toMatch(/stage x: unknown operator "Frobnicate"/);
    e = specError(head + '  - { name: j, op: Join, inputs: [props, nowhere] }\n');
    expect(e.message).toMatch(/stage j: input "nowhere" is not a stage/);
    e = specError(head + '  - { name: a, op: FillNA, inputs: [b] }\n  - { name: b, op: FillNA, inputs: [a] }\n');
    expect(e.message).toMatch(/stages a, b form a cycle/);
    e = specError(head + '  - { name: s, op: TrainTestSplit, inputs: [props], params: { part: test } }\n');
    expect(e.message).toMatch(/stage s: parameter part = "test" is not one of train, valid/);
    e = specError(head + '  - { name: s, op: FillNA, inputs: [props], params: { valeu: 3 } }\n');
    expect(e.message).toMatch(/stage s: FillNA has no parameter "valeu"/);
    e = specError(head + '  - { name: m, op: TrainElasticNet, inputs: [props] }\n  - { name: p, op: Predict, inputs: [props, m] }\n');
    expect(e.message).toMatch(/stage p: input 1 \(props\) is a table but Predict needs a model/);
    e = specError('name: bad.name\nstages: []\n');
    expect(e.message).toMatch(/pipeline name "bad.name" is not allowed/);
    expect(specError('name: [unclosed').message).toMatch(/not valid YAML/);
  });
  it('a bad spec leaves the store as it was', async () => {
    const store = await tempStore();
    await store.log('p.m.x', { a: F([1, 2]) });
    await store.flush();
    const before = snapshotFiles(store.dir);
    const file = path.join(tempDir(), 'bad.yaml');
    fs.writeFileSync(file, head + '  - { name: x, op: Nope }\n');
    await expect(store.logIntermediates(file, { data: '.' })).rejects.toThrow(/unknown operator/);
    expect(snapshotFiles(store.dir)).toEqual(before);
  });
});

describe('operators', () => {
  it('ReadCSV parses quotes, missing cells and types', () => {
    const { names, cells } = parseCSV('a,b,c\n1,"x,""y""",\n2,,z\n');
    expect(names).toEqual(['a', 'b', 'c']);
    expect(cells).toEqual([['1', 'x,"y"', ''], ['2', '', 'z']]);
  });
  it('ReadCSV refuses a header that leaves a column unnamed or names one twice (one was overwritten by the other, or refused only as a column name)', () => {
    expect(() => parseCSV(',x\n0,1\n', 'f.csv')).toThrow(/^f\.csv: column 1 has no name in the header \(pandas writes its index so: DataFrame\.to_csv\(…, index=False\) leaves it out\); name it$/);
    expect(() => parseCSV('x,,y\n0,1,2\n', 'f.csv')).toThrow(/^f\.csv: column 2 has no name in the header; name it$/);
    expect(() => parseCSV('a,b,a\n1,2,3\n', 'f.csv')).toThrow(/^f\.csv: columns 1 and 3 are both named "a"; rename one$/);
    expect(() => parseCSV('a;b\n1;2\n', 'f.csv')).toThrow(/^f\.csv: its header is one column named "a;b", as if separated by ';': mistique reads comma-separated values/);
    expect(() => parseCSV('a\tb\n1\t2\n', 'f.csv')).toThrow(/as if separated by tabs/);
    expect(parseCSV('a b\n1\n', 'f.csv').names).toEqual(['a b']); // one column of any other name is one column
  });
  it('ReadCSV skips a byte-order mark and reads CRLF lines, as Excel writes them', () => {
    const { names, cells } = parseCSV('\ufeffrow_id,price\r\n1,2.5\r\n2,3.5\r\n');
    expect(names).toEqual(['row_id', 'price']);
    expect(cells).toEqual([['1', '2.5'], ['2', '3.5']]);
  });
  it('ReadCSV reads UTF-8 and says so of a Latin-1 file instead of replacing its characters', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'u.csv'), 'city,n\nZürich,1\n');
    expect(col(readCSV(path.join(dir, 'u.csv')), 'city')).toEqual(['Zürich']);
    fs.writeFileSync(path.join(dir, 'l.csv'), Buffer.from('city,n\nZ\xfcrich,1\n', 'latin1'));
    expect(() => readCSV(path.join(dir, 'l.csv'))).toThrow(/l\.csv is not UTF-8 \(byte 8 is 0xfc\): convert it first, e\.g\. iconv -f latin1 -t utf-8/);
    await expect(readFrame(path.join(dir, 'l.csv'))).rejects.toThrow(/is not UTF-8/);
  });
  it('ReadCSV and mistique log keep as text a column a double would change: 19-digit ids, hex literals', () => {
    const dir = tempDir(), f = path.join(dir, 'ids.csv');
    fs.writeFileSync(f, 'big,hex,ok,neg\n12345678901234567890,0x1A,123456789012345,-9007199254740993\n12345678901234567891,0x1b,5,3\n');
    const t = readCSV(f);
    expect(col(t, 'big')).toEqual(['12345678901234567890', '12345678901234567891']);
    expect(col(t, 'hex')).toEqual(['0x1A', '0x1b']);
    expect([...col(t, 'ok') as Float64Array]).toEqual([123456789012345, 5]); // 15 digits: exact as a double
    expect(col(t, 'neg')).toEqual(['-9007199254740993', '3']);
    const plain = parseCsv(fs.readFileSync(f, 'utf8'));
    expect(plain.big).toEqual(['12345678901234567890', '12345678901234567891']);
    expect(plain.hex).toEqual(['0x1A', '0x1b']);
    expect(plain.ok).toEqual(new Float64Array([123456789012345, 5]));
  });
  it('Join is a left join that keeps the left rows and row ids', async () => {
    const L = tbl({ parcelid: F([3, 1, 9]), y: F([0.1, 0.2, 0.3]) }, Int32Array.from([10, 11, 12]));
    const R = tbl({ parcelid: F([1, 3]), sqft: F([100, 300]), zone: ['A', null] });
    const t = T(await op('Join', [L, R]));
    expect([...t.rowIds]).toEqual([10, 11, 12]);
    expect([...col(t, 'sqft') as Float64Array]).toEqual([300, 100, NaN]);
    expect(col(t, 'zone')).toEqual([null, 'A', null]);
  });
  it('SelectColumn, DropColumns', async () => {
    const x = tbl({ a: F([1]), b: F([2]), s: ['q'] });
    expect(T(await op('SelectColumn', [x], { columns: ['b', 'a'] })).names).toEqual(['b', 'a']);
    expect(T(await op('DropColumns', [x], { columns: ['a'] })).names).toEqual(['b', 's']);
    expect(T(await op('DropColumns', [x], { categorical: true })).names).toEqual(['a', 'b']);
  });
  it('OneHotEncoding keeps the most frequent values and an `other` column', async () => {
    const t = T(await op('OneHotEncoding', [tbl({ z: ['a', 'b', 'a', null, 'c'], k: F([1, 2, 3, 4, 5]) })], { columns: ['z'], max_categories: 1 }));
    expect(t.names).toEqual(['z=a', 'z=other', 'k']);
    expect([...col(t, 'z=a') as Float64Array]).toEqual([1, 0, 1, 0, 0]);
    expect([...col(t, 'z=other') as Float64Array]).toEqual([0, 1, 0, 0, 1]);
  });
  it('FillNA by value, mean and median', async () => {
    const x = tbl({ a: F([1, NaN, 3, 10]) });
    expect([...col(T(await op('FillNA', [x], { value: -1 })), 'a') as Float64Array]).toEqual([1, -1, 3, 10]);
    expect([...col(T(await op('FillNA', [x], { strategy: 'median' })), 'a') as Float64Array]).toEqual([1, 3, 3, 10]);
    expect([...col(T(await op('FillNA', [x], { strategy: 'mean' })), 'a') as Float64Array]).toEqual([1, 14 / 3, 3, 10]);
  });
  it('Avg skips missing values; GetConstructionRecency', async () => {
    const t = T(await op('Avg', [tbl({ a: F([1, NaN, NaN]), b: F([3, 4, NaN]) })], { columns: ['a', 'b'], as: 'm' }));
    expect([...col(t, 'm') as Float64Array]).toEqual([2, 4, NaN]);
    const r = T(await op('GetConstructionRecency', [tbl({ yearbuilt: F([2000, NaN]) })], { reference_year: 2017 }));
    expect([...col(r, 'construction_recency') as Float64Array]).toEqual([17, NaN]);
  });
  it('ComputeNeighborhood averages a value per grid cell; IsResidential flags codes', async () => {
    const x = tbl({ parcelid: F([1, 2, 3]), latitude: F([34.001e6, 34.002e6, 35.5e6]), longitude: F([-118.001e6, -118.002e6, -118e6]), taxvaluedollarcnt: F([100, 300, 50]), propertylandusetypeid: F([261, 31, 266]) });
    const n = T(await op('ComputeNeighborhood', [x], { cell_degrees: 0.01 }));
    expect([...col(n, 'neighborhood_mean_value') as Float64Array]).toEqual([200, 200, 50]);
    expect([...col(n, 'neighborhood_count') as Float64Array]).toEqual([2, 2, 1]);
    const r = T(await op('IsResidential', [x], { codes: [261, 266] }));
    expect(r.names).toEqual(['parcelid', 'is_residential']);
    expect([...col(r, 'is_residential') as Float64Array]).toEqual([1, 0, 1]);
  });
  it('TrainTestSplit parts are complementary and depend only on row ids', async () => {
    const x = tbl({ a: Float64Array.from({ length: 1000 }, (_, i) => i) });
    const tr = T(await op('TrainTestSplit', [x], { part: 'train', valid_fraction: 0.25 }));
    const va = T(await op('TrainTestSplit', [x], { part: 'valid', valid_fraction: 0.25 }));
    expect(tr.nrows + va.nrows).toBe(1000);
    expect(va.nrows).toBeGreaterThan(200); expect(va.nrows).toBeLessThan(300);
    const both = new Set([...tr.rowIds, ...va.rowIds]);
    expect(both.size).toBe(1000);
  });
  const linear = (n: number): StageValue => {
    const r = rng(5);
    const x1 = Float64Array.from({ length: n }, () => r() * 10), x2 = Float64Array.from({ length: n }, () => r() * 5 - 2);
    return tbl({ x1, x2, logerror: x1.map((v, i) => 2 * v - 3 * x2[i]! + 1) });
  };
  it('TrainElasticNet recovers a linear function; Predict applies it', async () => {
    const m = await op('TrainElasticNet', [linear(500)], { alpha: 1e-6, l1_ratio: 0.5, tol: 1e-10, max_iter: 10000 });
    const p = T(await op('Predict', [m, tbl({ x1: F([1, 0]), x2: F([0, 1]) })]));
    expect((col(p, 'pred') as Float64Array)[0]).toBeCloseTo(3, 3);
    expect((col(p, 'pred') as Float64Array)[1]).toBeCloseTo(-2, 3);
  });
  it('TrainLightGBM and TrainXGBoost fit a step function; models survive serialization', async () => {
    const x = Float64Array.from({ length: 400 }, (_, i) => i);
    const data = tbl({ x, logerror: x.map((v) => (v < 200 ? 1 : 5)) });
    for (const name of ['TrainLightGBM', 'TrainXGBoost']) {
      const m = await op(name, [data], name === 'TrainLightGBM' ? { learning_rate: 0.3, num_rounds: 50, min_data: 5 } : { eta: 0.3, num_rounds: 50 });
      if (m.kind !== 'model') throw new Error('no model');
      const q = tbl({ x: F([10, 390, NaN]) });
      const p = col(T(await op('Predict', [m, q])), 'pred') as Float64Array;
      expect(p[0]).toBeCloseTo(1, 1);
      expect(p[1]).toBeCloseTo(5, 1);
      const back = await OPERATORS.get(name)!.load!(m.model.serialize());
      const p2 = col(T(await op('Predict', [{ kind: 'model', model: back }, q])), 'pred') as Float64Array;
      expect([...p2]).toEqual([...p]);
    }
  });
  it('CombinePredictions weighs its inputs', async () => {
    const t = T(await op('CombinePredictions', [tbl({ pred: F([1, 2]) }), tbl({ pred: F([3, 4]) })], { weights: [0.5, 0.5] }));
    expect([...col(t, 'pred') as Float64Array]).toEqual([2, 3]);
  });
});

describe('PipelineExecutor', () => {
  const data = (): string => { const d = path.join(tempDir(), 'zillow'); generateZillow(d, 2000); return d; };
  /** mine.M1: raw (ReadCSV of d.csv: a = 0.5, empty) → filled (FillNA 0), logged into a store of policy dedup. */
  const onePipeline = async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'd.csv'), 'id,a\n1,0.5\n2,\n');
    const spec = path.join(dir, 'm.yaml');
    fs.writeFileSync(spec, 'name: M1\nproject: mine\nstages:\n  - name: raw\n    op: ReadCSV\n    params: { file: d.csv }\n  - name: filled\n    op: FillNA\n    inputs: [raw]\n    params: { value: 0 }\n');
    const store = await tempStore();
    await store.logIntermediates(spec, { data: dir });
    return { dir, spec, store };
  };

  it('a source file changed since logging: a re-run is STALE, a query reads the stored values, the file put back re-runs again', async () => {
    const { dir, spec, store } = await onePipeline();
    const logged = Array.from((await store.getIntermediates('mine.M1.filled.a', { path: 'read' })).values);
    expect(logged).toEqual([0.5, 0]);
    fs.writeFileSync(path.join(dir, 'd.csv'), 'id,a\n1,9.5\n2,\n');
    await expect(store.rerun('mine.M1', 'filled')).rejects.toThrow(/re-running mine\.M1\.filled reads .*d\.csv, which changed since mine\.M1 was logged \(.*CRC-32 .*\): a re-run would not give the logged values/);
    await expect(store.getIntermediates('mine.M1.filled.a', { path: 'rerun' })).rejects.toMatchObject({ code: 'STALE' });
    const auto = await store.getIntermediates('mine.M1.filled.a');
    expect(Array.from(auto.values)).toEqual(logged);
    expect(auto.sources[0]!.path).toBe('read');
    fs.writeFileSync(path.join(dir, 'd.csv'), 'id,a\n1,0.5\n2,\n');
    expect(Array.from((await store.getIntermediates('mine.M1.filled.a', { path: 'rerun' })).values)).toEqual(logged);
  });

  it('a source file gone since logging: a query reads what is stored, verify names the file and what cannot be read', async () => {
    const { dir, spec, store } = await onePipeline();
    const lazy = await tempStore({ policy: 'adaptive', gammaMin: Infinity }); // nothing stored: every stage re-runs
    await lazy.logIntermediates(spec, { data: dir });
    fs.rmSync(path.join(dir, 'd.csv'));
    // stored: it reads (had the cost model chosen a re-run, its failure for want of the file reads instead, as a STALE one does); a re-run asked for says why not
    for (const p of ['auto', 'read'] as const) expect(Array.from((await store.getIntermediates('mine.M1.filled.a', { path: p })).values)).toEqual([0.5, 0]);
    await expect(store.getIntermediates('mine.M1.filled.a', { path: 'rerun' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/needs the source data of stage raw from .*put the data back there/) });
    const v = await store.verify();
    expect([v.ok, v.lostSources]).toEqual([true, [{ model: 'mine.M1', file: path.join(dir, 'd.csv'), problem: 'gone', notStored: [] }]]);
    // not stored: lost until the file is back — verify had said "ok"
    const w = await lazy.verify();
    expect([w.ok, w.lostSources[0]!.notStored, w.unreadable]).toEqual([false, ['mine.M1.filled', 'mine.M1.raw'], ['mine.M1.filled', 'mine.M1.raw']]);
    fs.writeFileSync(path.join(dir, 'd.csv'), 'id,a\n1,0.5\n2,\n3,1\n');
    expect((await lazy.verify()).lostSources).toEqual([expect.objectContaining({ problem: 'changed' })]);
    fs.writeFileSync(path.join(dir, 'd.csv'), 'id,a\n1,0.5\n2,\n');
    expect(await lazy.verify()).toMatchObject({ ok: true, lostSources: [] });
  });

  it('logs every stage, and a re-run gives identical intermediates', async () => {
    const store = await tempStore();
    const dir = data();
    for (const p of ['P3_1', 'P2_1']) await store.logIntermediates(path.join(SPECS, `${p}.yaml`), { data: dir });
    const spec = loadPipelineSpec(path.join(SPECS, 'P3_1.yaml'));
    const tables = spec.stages.filter((s) => s.op.output === 'table').map((s) => s.name);
    expect(store.list('zillow.P3_1.*').map((i) => i.key.split('.')[2]).sort()).toEqual([...tables].sort());
    for (const [model, stage] of [['P3_1', 'props_filled'], ['P3_1', 'fit'], ['P3_1', 'pred_test'], ['P2_1', 'pred_valid'], ['P2_1', 'test_set']] as const) {
      const r = await store.rerun(`zillow.${model}`, stage);
      const stored = await store.getTable(`zillow.${model}.${stage}.*`);
      expect([...(stored.getChild('row_id')!.toArray() as Int32Array)]).toEqual([...r.table.rowIds]);
      r.table.names.forEach((n, j) => {
        const got = (stored.getChild(n) ?? stored.getChild(`zillow.${model}.${stage}.${n}`))!.toArray();
        const want = r.table.columns[j]!;
        for (let i = 0; i < want.length; i += 37) {
          const w = want[i], g = got[i];
          if (typeof w === 'number') expect(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))).toBe(true);
        }
        if (want instanceof Float64Array) expect(Buffer.from((got as Float64Array).buffer, (got as Float64Array).byteOffset, (got as Float64Array).byteLength).equals(Buffer.from(want.buffer))).toBe(true);
      });
    }
    // re-run of a few rows, by row id and in the asked order
    const few = await store.rerun('zillow.P2_1', 'pred_test', { rows: [1999, 3] });
    const m = await store.getIntermediates('zillow.P2_1.pred_test.pred', { rows: [1999, 3], path: 'read' });
    expect([...(few.table.columns[0] as Float64Array)]).toEqual([...m.values]);
    expect(few.stages).toContain('model');
    expect(few.stages).not.toContain('fit'); // the stored operator is loaded, nothing is retrained
  });

  it('two variants of one template share their common stages\' chunks', async () => {
    const store = await tempStore();
    const dir = data();
    await store.logIntermediates(path.join(SPECS, 'P1_1.yaml'), { data: dir });
    const after1 = store.stats().bytesUnique;
    await store.logIntermediates(path.join(SPECS, 'P1_2.yaml'), { data: dir });
    await store.flush();
    const items = store.list('zillow.P1_2.*');
    for (const shared of ['properties', 'train_joined', 'test_set', 'fit', 'valid']) {
      expect(items.find((i) => i.key === `zillow.P1_2.${shared}`)!.bytesStored).toBe(0);
    }
    const added = store.stats().bytesUnique - after1;
    expect(added).toBeLessThan(after1 * 0.1); // only the model's predictions are new
  });

  it('a pipeline that fails midway leaves nothing registered', async () => {
    const store = await tempStore();
    const dir = data();
    fs.rmSync(path.join(dir, 'test.csv'));
    await expect(store.logIntermediates(path.join(SPECS, 'P1_1.yaml'), { data: dir })).rejects.toThrow(/stage test \(ReadCSV\): cannot read/);
    expect(store.list()).toEqual([]);
    // and the name is free again
    fs.writeFileSync(path.join(dir, 'test.csv'), 'parcelid,201610,201611,201612\n1,a,b,c\n');
    await store.logIntermediates(path.join(SPECS, 'P1_1.yaml'), { data: dir });
    expect(store.list('zillow.P1_1.*').length).toBe(12);
  });
});
