// StageTable: the column-oriented value that flows between TRAD pipeline stages. Numeric columns are
// Float64Array (NaN = missing), categorical ones arrays of strings (null = missing); every row keeps
// the row_id it was born with, so that intermediates of one pipeline line up on row_id.
import { MistiqueError } from '../errors.js';

export type TableColumn = Float64Array | (string | null)[];

export interface StageTable {
  readonly nrows: number;
  readonly rowIds: Int32Array;
  readonly names: string[];
  readonly columns: TableColumn[];
  /** A table read from a file (ReadCSV): the file and the size and CRC-32 of the bytes it was read from. */
  readonly source?: SourceFile;
}

export interface SourceFile { file: string; bytes: number; crc32: number }

export function makeTable(rowIds: Int32Array, names: string[], columns: TableColumn[]): StageTable {
  for (let j = 0; j < columns.length; j++) {
    if (columns[j]!.length !== rowIds.length) {
      throw new MistiqueError('BAD_FRAME', `column ${names[j]} has ${columns[j]!.length} values for ${rowIds.length} rows`);
    }
  }
  if (new Set(names).size !== names.length) throw new MistiqueError('BAD_FRAME', `duplicate column names in [${names.join(', ')}]`);
  return { nrows: rowIds.length, rowIds, names, columns };
}

export function column(t: StageTable, name: string, stage = 'this stage'): TableColumn {
  const j = t.names.indexOf(name);
  if (j < 0) {
    throw new MistiqueError('BAD_SPEC', `${stage}: column ${JSON.stringify(name)} is not in its input (columns: ${t.names.slice(0, 12).join(', ')}${t.names.length > 12 ? ', …' : ''})`);
  }
  return t.columns[j]!;
}

export function numeric(t: StageTable, name: string, stage?: string): Float64Array {
  const c = column(t, name, stage);
  if (!(c instanceof Float64Array)) throw new MistiqueError('BAD_SPEC', `${stage ?? 'this stage'}: column ${name} is categorical; a numeric column is needed here`);
  return c;
}

export const isNumeric = (c: TableColumn): c is Float64Array => c instanceof Float64Array;

/** Rows `idx` of every column (and of the row ids), in that order. */
export function takeRows(t: StageTable, idx: Int32Array): StageTable {
  const ids = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) ids[i] = t.rowIds[idx[i]!]!;
  const cols = t.columns.map((c) => {
    if (isNumeric(c)) {
      const o = new Float64Array(idx.length);
      for (let i = 0; i < idx.length; i++) o[i] = c[idx[i]!]!;
      return o;
    }
    return Array.from(idx, (i) => c[i]!);
  });
  return { nrows: idx.length, rowIds: ids, names: [...t.names], columns: cols };
}

/** The columns as a plain frame for `store.log` (string arrays are dictionary-encoded by the store). */
export function toFrame(t: StageTable): Record<string, Float64Array | (string | null)[]> {
  const out: Record<string, Float64Array | (string | null)[]> = {};
  t.names.forEach((n, j) => { out[n] = t.columns[j]!; });
  return out;
}

/** Features as one row-major Float64Array over the given columns (NaN stays NaN). */
export function featureMatrix(t: StageTable, names: readonly string[], stage?: string): Float64Array {
  const cols = names.map((n) => numeric(t, n, stage));
  const F = cols.length;
  const X = new Float64Array(t.nrows * F);
  for (let j = 0; j < F; j++) {
    const c = cols[j]!;
    for (let i = 0; i < t.nrows; i++) X[i * F + j] = c[i]!;
  }
  return X;
}

/** Column-major features: one Float64Array per feature (what the GBT and ElasticNet trainers scan). */
export function featureColumns(t: StageTable, names: readonly string[], stage?: string): Float64Array[] {
  return names.map((n) => numeric(t, n, stage));
}
