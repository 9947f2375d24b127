// A re-run's output made into what a read returns (src/reader/rerunresult.ts), on hand-made inputs:
// pooling as the scheme pooled, a layer's or a table's selected columns as a Matrix, and the join on
// row_id of results that took different paths.
import { describe, expect, it } from 'vitest';
import { makeTable } from '../src/executor/table.js';
import type { IntermediateRow } from '../src/metadata/metadatadb.js';
import { Matrix, type MatrixSource } from '../src/model/matrix.js';
import type { FrameSchema } from '../src/model/dataframe.js';
import { pool } from '../src/quantize/index.js';
import type { Selection } from '../src/reader/resolve.js';
import { applyPool, joinOnRowId, tableToMatrix, tensorToMatrix } from '../src/reader/rerunresult.js';
import { thrownError } from './helpers.js';

const sel = (schema: FrameSchema, nCols: number, cols: number[]): Selection => ({
  intermediate: { project: 'p', model: 'm', name: 'x', n_cols: nCols } as IntermediateRow, schema, cols,
});

describe('a re-run made into a read', () => {
  it('applyPool pools as the scheme says (σ, S for whole maps, max) and leaves anything else alone', () => {
    const shape = [2, 4, 4];
    const v = Float32Array.from({ length: 2 * 32 }, (_, i) => (i * 7) % 11);
    expect(applyPool(v, shape, 'pool(2)')).toEqual(pool(v, shape, 2, 'avg'));
    expect(applyPool(v, shape, 'lp+pool(2,max)')).toEqual(pool(v, shape, 2, 'max'));
    const v24 = v.subarray(0, 48); // two examples of [2, 4, 3] or [2, 3, 4]
    expect(applyPool(v24, [2, 4, 3], 'pool(S)')).toEqual(pool(v24, [2, 4, 3], 4, 'avg'));
    expect(applyPool(v24, [2, 3, 4], 'pool(S,max)')).toEqual(pool(v24, [2, 3, 4], 4, 'max'));
    expect(applyPool(v24, [2, 3, 4], 'pool(S,max)').shape).toEqual([2, 1, 1]);
    for (const [s, sh] of [['none', shape], ['kbit(8)', shape], ['pool(2)', [32]], ['pool(2)', [2, 16, 1, 1]]] as const) {
      const out = applyPool(v, [...sh], s);
      expect(out.values, s).toBe(v);
      expect(out.shape).toEqual(sh);
    }
  });

  it('tensorToMatrix: the whole layer as it is (with its shape), selected columns gathered, a wrong size CORRUPT', () => {
    const schema: FrameSchema = { names: null, types: ['float32'], shape: [2, 3] };
    const values = Float32Array.from({ length: 2 * 6 }, (_, i) => i);
    const ids = Int32Array.from([7, 3]);
    const whole = tensorToMatrix(values, [2, 3], ids, sel(schema, 6, [0, 1, 2, 3, 4, 5]));
    expect(whole.values).toBe(values);
    expect(whole.shape).toEqual([2, 3]);
    expect(whole.columns.map((c) => c.key)).toEqual(['p.m.x.0_0', 'p.m.x.0_1', 'p.m.x.0_2', 'p.m.x.1_0', 'p.m.x.1_1', 'p.m.x.1_2']);
    const some = tensorToMatrix(values, [2, 3], ids, sel(schema, 6, [5, 0, 4]));
    expect(Array.from(some.values)).toEqual([5, 0, 4, 11, 6, 10]);
    expect(some.shape).toBeNull();
    expect(some.columns.map((c) => [c.name, c.type])).toEqual([['1_2', 'float32'], ['0_0', 'float32'], ['1_1', 'float32']]);
    // the first columns in order but not all of them: gathered, not the whole
    expect(Array.from(tensorToMatrix(values, [2, 3], ids, sel(schema, 6, [0, 1])).values)).toEqual([0, 1, 6, 7]);
    expect(thrownError(() => tensorToMatrix(values, [3, 2, 1], ids, sel(schema, 7, [0])))).toBe('CORRUPT: re-running p.m.x gave 6 values per example, the logged intermediate has 7');
  });

  it('tableToMatrix: floats as they are, strings as codes with a dictionary per column (null −1), mixed kinds as float64', () => {
    const t = makeTable(Int32Array.from([4, 2, 9]), ['a', 's', 'b', 'u'], [Float64Array.from([1.5, 2, 3]), ['x', null, 'x'], Float64Array.from([7, 8, 9]), ['q', 'r', 's']]);
    const schema: FrameSchema = { names: ['a', 's', 'b', 'u'], types: ['float64', 'utf8', 'float64', 'utf8'], shape: null };
    const floats = tableToMatrix(t, sel(schema, 4, [2, 0]));
    expect(floats.values).toEqual(Float64Array.from([7, 1.5, 8, 2, 9, 3]));
    expect(Array.from(floats.rowIds)).toEqual([4, 2, 9]);
    const text = tableToMatrix(t, sel(schema, 4, [3, 1]));
    expect(text.values).toEqual(Int32Array.from([0, 0, 1, -1, 2, 0]));
    expect(text.columns.map((c) => c.dictionary)).toEqual([['q', 'r', 's'], ['x']]);
    const mixed = tableToMatrix(t, sel(schema, 4, [1, 0]));
    expect(mixed.values).toEqual(Float64Array.from([0, 1.5, -1, 2, 0, 3]));
    expect(mixed.columns.map((c) => [c.key, c.type])).toEqual([['p.m.x.s', 'utf8'], ['p.m.x.a', 'float64']]);
    const noCol: FrameSchema = { names: ['zz'], types: ['float64'], shape: null };
    expect(thrownError(() => tableToMatrix(t, sel(noCol, 1, [0])))).toBe('CORRUPT: re-running p.m.x gave no column zz');
  });

  it('joinOnRowId: the first result\'s row order, only rows every result holds unless rows were asked, sources kept', () => {
    const col = (key: string) => ({ key, name: key, type: 'float64' as const });
    const a = new Matrix(Int32Array.from([5, 1, 3]), [col('a')], Float64Array.from([50, 10, 30]));
    const b = new Matrix(Int32Array.from([3, 5, 8]), [col('b'), col('c')], Float64Array.from([3, 33, 5, 55, 8, 88]));
    a.sources = [{ path: 'read' } as MatrixSource];
    b.sources = [{ path: 'rerun' } as MatrixSource];
    const j = joinOnRowId([a, b], false);
    expect(Array.from(j.rowIds)).toEqual([5, 3]);
    expect(j.values).toEqual(Float64Array.from([50, 5, 55, 30, 3, 33]));
    expect(j.columns.map((c) => c.key)).toEqual(['a', 'b', 'c']);
    expect(j.sources).toEqual([{ path: 'read' }, { path: 'rerun' }]);
    // rows asked: every result holds them (checked before), taken in the first result's order
    const asked = joinOnRowId([new Matrix(Int32Array.from([3, 5]), [col('a')], Float64Array.from([30, 50])), b], true);
    expect(asked.values).toEqual(Float64Array.from([30, 3, 33, 50, 5, 55]));
    // float32 beside float64: float64; float32 beside float32 stays float32
    const f32 = new Matrix(Int32Array.from([5, 3]), [{ key: 'f', name: 'f', type: 'float32' }], Float32Array.from([0.5, 0.25]));
    expect(joinOnRowId([f32, b], false).values).toEqual(Float64Array.from([0.5, 5, 55, 0.25, 3, 33]));
    expect(joinOnRowId([f32, f32], false).values).toBeInstanceOf(Float32Array);
  });
});
