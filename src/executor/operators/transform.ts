// Feature-engineering operators of the Zillow pipelines: column-oriented, on typed arrays, row ids kept.
import path from 'node:path';
import { MistiqueError } from '../../errors.js';
import { readCSV } from '../csv.js';
import { column, isNumeric, makeTable, numeric, takeRows, type StageTable, type TableColumn } from '../table.js';
import { table, tableOf, type OperatorDef } from './operator.js';

const T = ['table'] as const;

export const ReadCSV: OperatorDef = {
  name: 'ReadCSV', doc: 'reads a CSV file (relative to the data directory) into a table; row ids = row positions',
  inputs: [], output: 'table',
  params: { file: { type: 'string', required: true, doc: 'file name, e.g. properties.csv' } },
  run: (_in, p, ctx) => table(readCSV(inDataDir(ctx.dataDir, p.file as string, ctx.stage))),
};

/** A spec names files inside its data directory only: a shared spec must not read ../../etc/passwd or /home/…. */
function inDataDir(dataDir: string, file: string, stage: string): string {
  const full = path.resolve(dataDir, file);
  const rel = path.relative(path.resolve(dataDir), full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new MistiqueError('BAD_SPEC', `stage ${stage}: ReadCSV file ${JSON.stringify(file)} is outside the data directory ${dataDir}; name a file inside it (relative to it)`);
  }
  return full;
}

export const Join: OperatorDef = {
  name: 'Join', doc: 'left join of input 1 with input 2 on a key column; rows and row ids of input 1, missing → NaN / null',
  inputs: ['table', 'table'], output: 'table',
  params: { on: { type: 'string', default: 'parcelid', doc: 'key column present in both inputs' } },
  run(inputs, p, ctx) {
    const L = tableOf(inputs[0], ctx.stage, 0), R = tableOf(inputs[1], ctx.stage, 1);
    const on = p.on as string;
    const lk = numeric(L, on, ctx.stage), rk = numeric(R, on, ctx.stage);
    const pos = new Map<number, number>();
    for (let i = 0; i < rk.length; i++) if (!pos.has(rk[i]!)) pos.set(rk[i]!, i);
    const idx = new Int32Array(L.nrows);
    for (let i = 0; i < L.nrows; i++) idx[i] = pos.get(lk[i]!) ?? -1;
    const names = [...L.names], cols: TableColumn[] = [...L.columns];
    R.names.forEach((n, j) => {
      if (n === on) return;
      if (names.includes(n)) throw new MistiqueError('BAD_SPEC', `stage ${ctx.stage}: column ${n} is in both inputs; drop or rename it before the join`);
      const c = R.columns[j]!;
      names.push(n);
      if (isNumeric(c)) {
        const o = new Float64Array(L.nrows);
        for (let i = 0; i < L.nrows; i++) o[i] = idx[i]! < 0 ? NaN : c[idx[i]!]!;
        cols.push(o);
      } else {
        cols.push(Array.from(idx, (k) => (k < 0 ? null : c[k]!)));
      }
    });
    return table(makeTable(L.rowIds, names, cols));
  },
};

export const SelectColumn: OperatorDef = {
  name: 'SelectColumn', doc: 'keeps the listed columns, in that order', inputs: T, output: 'table',
  params: { columns: { type: 'string[]', required: true, doc: 'columns to keep' } },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const names = p.columns as string[];
    return table(makeTable(t.rowIds, [...names], names.map((n) => column(t, n, ctx.stage))));
  },
};

export const DropColumns: OperatorDef = {
  name: 'DropColumns', doc: 'drops the listed columns (and, with categorical: true, every categorical column)', inputs: T, output: 'table',
  params: {
    columns: { type: 'string[]', default: [], doc: 'columns to drop; names not present are ignored' },
    categorical: { type: 'boolean', default: false, doc: 'also drop every categorical (string) column' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const drop = new Set(p.columns as string[]);
    const keep = t.names.map((_, j) => j).filter((j) => !drop.has(t.names[j]!) && (!p.categorical || isNumeric(t.columns[j]!)));
    return table(makeTable(t.rowIds, keep.map((j) => t.names[j]!), keep.map((j) => t.columns[j]!)));
  },
};

export const OneHotEncoding: OperatorDef = {
  name: 'OneHotEncoding', doc: 'replaces categorical columns by 0/1 columns `name=value` for their most frequent values', inputs: T, output: 'table',
  params: {
    columns: { type: 'string[]', required: true, doc: 'categorical columns to encode' },
    max_categories: { type: 'integer', default: 16, min: 1, max: 1000, doc: 'values beyond the most frequent ones go to `name=other`' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const enc = new Set(p.columns as string[]);
    const names: string[] = [], cols: TableColumn[] = [];
    for (const n of enc) column(t, n, ctx.stage);
    t.names.forEach((n, j) => {
      const c = t.columns[j]!;
      if (!enc.has(n)) { names.push(n); cols.push(c); return; }
      const values: (string | null)[] = isNumeric(c) ? Array.from(c, (v) => (Number.isNaN(v) ? null : String(v))) : c;
      const freq = new Map<string, number>();
      for (const v of values) if (v !== null) freq.set(v, (freq.get(v) ?? 0) + 1);
      const top = [...freq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, p.max_categories as number).map((e) => e[0]);
      const slot = new Map(top.map((v, k) => [v, k]));
      const out = top.map(() => new Float64Array(t.nrows));
      const other = new Float64Array(t.nrows);
      values.forEach((v, i) => {
        if (v === null) return;
        const k = slot.get(v);
        if (k === undefined) other[i] = 1; else out[k]![i] = 1;
      });
      top.forEach((v, k) => { names.push(`${n}=${v}`); cols.push(out[k]!); });
      if (freq.size > top.length) { names.push(`${n}=other`); cols.push(other); }
    });
    return table(makeTable(t.rowIds, names, cols));
  },
};

function median(c: Float64Array): number {
  const v = c.filter((x) => !Number.isNaN(x)).sort();
  if (v.length === 0) return 0;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export const FillNA: OperatorDef = {
  name: 'FillNA', doc: 'fills missing values of numeric columns (all, or the listed ones)', inputs: T, output: 'table',
  params: {
    strategy: { type: 'string', default: 'value', oneOf: ['value', 'mean', 'median'], doc: 'a constant, or each column\'s mean or median (0 for an all-missing column)' },
    value: { type: 'number', default: 0, doc: 'the constant for strategy: value' },
    columns: { type: 'string[]', doc: 'columns to fill; default every numeric column' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const only = p.columns ? new Set(p.columns as string[]) : null;
    if (only) for (const n of only) numeric(t, n, ctx.stage);
    const cols = t.columns.map((c, j) => {
      if (!isNumeric(c) || (only && !only.has(t.names[j]!))) return c;
      let hasNaN = false;
      for (let i = 0; i < c.length && !hasNaN; i++) hasNaN = Number.isNaN(c[i]!);
      if (!hasNaN) return c;
      let fill = p.value as number;
      if (p.strategy === 'median') fill = median(c);
      else if (p.strategy === 'mean') {
        let s = 0, k = 0;
        for (const v of c) if (!Number.isNaN(v)) { s += v; k++; }
        fill = k ? s / k : 0;
      }
      const o = new Float64Array(c);
      for (let i = 0; i < o.length; i++) if (Number.isNaN(o[i]!)) o[i] = fill;
      return o;
    });
    return table(makeTable(t.rowIds, [...t.names], cols));
  },
};

export const Avg: OperatorDef = {
  name: 'Avg', doc: 'adds the row-wise mean of some numeric columns, skipping missing values', inputs: T, output: 'table',
  params: {
    columns: { type: 'string[]', required: true, doc: 'columns to average' },
    as: { type: 'string', required: true, doc: 'name of the new column' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const src = (p.columns as string[]).map((n) => numeric(t, n, ctx.stage));
    const o = new Float64Array(t.nrows);
    for (let i = 0; i < t.nrows; i++) {
      let s = 0, k = 0;
      for (const c of src) { const v = c[i]!; if (!Number.isNaN(v)) { s += v; k++; } }
      o[i] = k ? s / k : NaN;
    }
    return table(makeTable(t.rowIds, [...t.names, p.as as string], [...t.columns, o]));
  },
};

export const GetConstructionRecency: OperatorDef = {
  name: 'GetConstructionRecency', doc: 'adds reference_year − yearbuilt', inputs: T, output: 'table',
  params: {
    column: { type: 'string', default: 'yearbuilt', doc: 'the construction-year column' },
    reference_year: { type: 'integer', default: 2017, doc: 'the year recency is measured from' },
    as: { type: 'string', default: 'construction_recency', doc: 'name of the new column' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const y = numeric(t, p.column as string, ctx.stage);
    const o = new Float64Array(t.nrows);
    for (let i = 0; i < t.nrows; i++) o[i] = (p.reference_year as number) - y[i]!;
    return table(makeTable(t.rowIds, [...t.names, p.as as string], [...t.columns, o]));
  },
};

export const ComputeNeighborhood: OperatorDef = {
  name: 'ComputeNeighborhood',
  doc: 'per parcel: its grid cell over latitude/longitude and the cell\'s mean of a value column; outputs parcelid + the new columns (join it back)',
  inputs: T, output: 'table',
  params: {
    cell_degrees: { type: 'number', default: 0.02, min: 1e-4, max: 10, doc: 'grid cell size in degrees' },
    value: { type: 'string', default: 'taxvaluedollarcnt', doc: 'column averaged per cell' },
    key: { type: 'string', default: 'parcelid', doc: 'key column copied to the output' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const lat = numeric(t, 'latitude', ctx.stage), lon = numeric(t, 'longitude', ctx.stage);
    const val = numeric(t, p.value as string, ctx.stage), key = numeric(t, p.key as string, ctx.stage);
    const d = (p.cell_degrees as number) * 1e6; // Zillow stores degrees × 10^6
    const cell = new Float64Array(t.nrows);
    const sum = new Map<number, [number, number]>();
    for (let i = 0; i < t.nrows; i++) {
      const c = Math.floor(lat[i]! / d) * 100000 + Math.floor(lon[i]! / d);
      cell[i] = Number.isFinite(c) ? c : NaN;
      const s = sum.get(cell[i]!) ?? [0, 0];
      if (!Number.isNaN(val[i]!)) { s[0] += val[i]!; s[1]++; }
      sum.set(cell[i]!, s);
    }
    const mean = new Float64Array(t.nrows), count = new Float64Array(t.nrows);
    for (let i = 0; i < t.nrows; i++) {
      const s = sum.get(cell[i]!)!;
      mean[i] = s[1] ? s[0] / s[1] : NaN;
      count[i] = s[1];
    }
    return table(makeTable(t.rowIds, [p.key as string, 'neighborhood_cell', 'neighborhood_mean_value', 'neighborhood_count'], [key, cell, mean, count]));
  },
};

export const IsResidential: OperatorDef = {
  name: 'IsResidential', doc: 'per parcel: 1 if its land-use code is residential; outputs parcelid + is_residential (join it back)', inputs: T, output: 'table',
  params: {
    column: { type: 'string', default: 'propertylandusetypeid', doc: 'land-use code column' },
    codes: { type: 'number[]', default: [261, 266, 269, 246, 247, 248, 263], doc: 'codes counted as residential' },
    key: { type: 'string', default: 'parcelid', doc: 'key column copied to the output' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const use = numeric(t, p.column as string, ctx.stage);
    const codes = new Set(p.codes as number[]);
    const o = new Float64Array(t.nrows);
    for (let i = 0; i < t.nrows; i++) o[i] = codes.has(use[i]!) ? 1 : 0;
    return table(makeTable(t.rowIds, [p.key as string, 'is_residential'], [numeric(t, p.key as string, ctx.stage), o]));
  },
};

/** A row's side of the split depends only on its row id and the seed: inputs with the same rows split alike. */
export function inValidation(rowId: number, seed: number, fraction: number): boolean {
  let h = Math.imul(rowId ^ Math.imul(seed, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296 < fraction;
}

export const TrainTestSplit: OperatorDef = {
  name: 'TrainTestSplit', doc: 'the training or the validation part of a table, by a seeded hash of each row id', inputs: T, output: 'table',
  params: {
    part: { type: 'string', required: true, oneOf: ['train', 'valid'], doc: 'which side to output' },
    valid_fraction: { type: 'number', default: 0.2, min: 0, max: 1, doc: 'share of rows in the validation part' },
    seed: { type: 'integer', default: 1, doc: 'split seed' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const want = p.part === 'valid';
    const idx: number[] = [];
    for (let i = 0; i < t.nrows; i++) if (inValidation(t.rowIds[i]!, p.seed as number, p.valid_fraction as number) === want) idx.push(i);
    return table(takeRows(t, Int32Array.from(idx)));
  },
};

export function numericTable(t: StageTable): boolean {
  return t.columns.every(isNumeric);
}
