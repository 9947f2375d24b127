// Reading frames from files (csv, npy, arrow, parquet) and writing query results to them (src/export/writers.ts).
export { csvCell } from '../export/writers.js';
import fs from 'node:fs';
import path from 'node:path';
import { DataType, FixedSizeList, tableFromIPC, type Table } from 'apache-arrow';
import { csvPieces, descrOf, formatOfFile, npyHeader, single, textRows, writeGroups } from '../export/writers.js';
import { keptAsNumber, parseCSV, utf8Text } from '../executor/csv.js';
import { MistiqueError } from '../errors.js';
import { DataFrame, type FrameInput, type PlainFrame } from '../model/dataframe.js';
import type { Matrix } from '../model/matrix.js';
import { columnNames } from './format.js';

/**
 * Writes a result to a file by its extension, keeping what it holds: Arrow and Parquet with row_id and
 * typed, named columns (a whole tensor: one list column named by its key, its shape in the field's
 * metadata); CSV with a row_id column (read back as row ids by `mistique log`); .npy with the values only
 * — numbers only (a text column is an error, never its dictionary codes) — and the row ids beside it in
 * `<name>.row_id.npy`.
 */
export async function writeMatrix(m: Matrix, file: string): Promise<string[]> {
  const format = formatOfFile(file);
  if (!format) throw new MistiqueError('BAD_OPTION', `cannot write ${file}: name it .npy, .arrow, .parquet or .csv`);
  const c0 = m.columns[0];
  const key = m.shape && c0 ? c0.key.slice(0, c0.key.length - c0.name.length - 1) : undefined;
  return (await writeGroups(format, file, { nrows: m.nrows, tensorName: key, meta: key ? { 'mistique.key': key, 'mistique.shape': JSON.stringify(m.shape) } : {} }, single(m))).files;
}

/** NumPy .npy (format 1.0): the dense row-major values, shape (rows, columns) or (rows, *example shape). */
export function toNpy(m: Matrix): Uint8Array {
  const head = npyHeader(descrOf(m.values), m.shape ? [m.nrows, ...m.shape] : [m.nrows, m.ncols]);
  return Buffer.concat([head, new Uint8Array(m.values.buffer, m.values.byteOffset, m.values.byteLength)]);
}

export const TEXT_FORMATS = ['table', 'csv', 'json', 'jsonl'] as const;
export type TextFormat = (typeof TEXT_FORMATS)[number];

export function textFormat(f: string | undefined, fallback: TextFormat): TextFormat {
  if (f === undefined) return fallback;
  if (!(TEXT_FORMATS as readonly string[]).includes(f)) throw new MistiqueError('BAD_OPTION', `--format ${JSON.stringify(f)}: use ${TEXT_FORMATS.join(', ')}`);
  return f as TextFormat;
}

/** A result as data on stdout: CSV (row_id first), JSON ({ rowIds, columns, rows }) or JSON lines (one object a row). NaN and ±Infinity are null in JSON. */
export function matrixText(m: Matrix, format: 'csv' | 'json' | 'jsonl'): string {
  return [...matrixTextPieces(m, format)].join('');
}

/**
 * A result as CSV, JSON or JSON lines, a few MB of text at a time (joined, matrixText): a layer of
 * gigabytes is hundreds of millions of cells, past the longest string V8 makes (it had failed with
 * "Invalid string length" after 35 s and 3 GB).
 */
export function* matrixTextPieces(m: Matrix, format: 'csv' | 'json' | 'jsonl'): Generator<string> {
  if (format === 'csv') {
    yield* csvPieces(m);
    return;
  }
  const step = textRows(m);
  const names = columnNames(m);
  const val = (i: number, j: number): number | string | null => { const v = m.get(i, j); return typeof v === 'number' && !Number.isFinite(v) ? null : v; };
  const row = (i: number): (number | string | null)[] => Array.from({ length: m.ncols }, (_, j) => val(i, j));
  if (format === 'json') {
    // the document JSON.stringify makes of { rowIds, shape, columns, rows }, its rows written as they are made
    const head = JSON.stringify({ rowIds: Array.from(m.rowIds), shape: m.shape, columns: m.columns.map((c, j) => ({ name: names[j], key: c.key, type: c.type })) });
    yield `${head.slice(0, -1)},"rows":[`;
    for (let i = 0; i < m.nrows; i += step) {
      const rows: string[] = [];
      for (let k = i; k < Math.min(m.nrows, i + step); k++) rows.push(JSON.stringify(row(k)));
      yield (i > 0 ? ',' : '') + rows.join(',');
    }
    yield ']}\n';
    return;
  }
  for (let i = 0; i < m.nrows; i += step) {
    const lines: string[] = [];
    for (let k = i; k < Math.min(m.nrows, i + step); k++) {
      const o: Record<string, number | string | null> = { row_id: m.rowIds[k]! };
      for (let j = 0; j < m.ncols; j++) o[names[j]!] = val(k, j);
      lines.push(JSON.stringify(o) + '\n');
    }
    yield lines.join('');
  }
}

/** Reads a frame to log from a .csv, .arrow/.feather or .parquet file (a .npy is read batch by batch: npy.ts). */
export async function readFrame(file: string): Promise<{ frame: FrameInput; shape?: number[]; rowIds?: Int32Array }> {
  if (!fs.existsSync(file)) throw new MistiqueError('NOT_FOUND', `input file ${file} does not exist`);
  const ext = path.extname(file).slice(1).toLowerCase();
  if (!['csv', 'arrow', 'feather', 'arrows', 'parquet'].includes(ext)) throw new MistiqueError('BAD_OPTION', `cannot read ${file}: give a .csv, .npy, .arrow or .parquet file`);
  const size = fs.statSync(file).size;
  if (size >= 2 ** 31) {
    throw new MistiqueError('BAD_FRAME', `${file} is ${(size / 2 ** 30).toFixed(1)} GiB: a .${ext} file is read whole, and that is past the 2 GiB a buffer holds; split it into files of fewer rows (log them with distinct row ids), or save the values as .npy, which is logged batch by batch whatever its size`);
  }
  const bytes = fs.readFileSync(file);
  switch (ext) {
    case 'csv': return csvFrame(parseCsv(utf8Text(bytes, file), file), file);
    case 'parquet': {
      const pq = await import('parquet-wasm');
      return arrowFrame(tableFromIPC(pq.readParquet(bytes).intoIPCStream()), file);
    }
    default: return arrowFrame(tableFromIPC(bytes), file);
  }
}

/**
 * An Arrow table to log: named columns as they are, or — as `get --out` writes a tensor — row_id and one
 * list column of float values per example, its shape from the field's `mistique.shape` (else [length]).
 */
function arrowFrame(t: Table, file: string): { frame: FrameInput; shape?: number[] } {
  const data = t.schema.fields.filter((f) => f.name !== 'row_id');
  const f = data[0];
  if (data.length !== 1 || !f || !(DataType.isFixedSizeList(f.type) || DataType.isList(f.type))) return { frame: t };
  const col = t.getChild(f.name)!;
  const n = col.length;
  // every example's list: its start and end in the chunk's child values
  const bounds = (chunk: (typeof col.data)[number], i: number): [number, number] => {
    if (DataType.isFixedSizeList(chunk.type)) { const len = (chunk.type as FixedSizeList).listSize; return [(chunk.offset + i) * len, (chunk.offset + i + 1) * len]; }
    const off = chunk.valueOffsets as Int32Array;
    return [off[chunk.offset + i]!, off[chunk.offset + i + 1]!];
  };
  const first = col.data[0];
  const per = first && first.length > 0 ? bounds(first, 0)[1] - bounds(first, 0)[0] : 0;
  // doubles stay doubles (a tensor of integers logged from numpy), anything else becomes float32
  const item = first?.children[0];
  const flat = item && DataType.isFloat(item.type) && item.type.precision === 2 ? new Float64Array(n * per) : new Float32Array(n * per);
  let row = 0;
  for (const chunk of col.data) {
    const child = chunk.children[0]!;
    for (let i = 0; i < chunk.length; i++, row++) {
      const [a, b] = bounds(chunk, i);
      if (b - a !== per) throw new MistiqueError('BAD_FRAME', `${file}: column ${f.name} holds lists of ${per} and ${b - a} values; a tensor needs one length`);
      if (chunk.nullCount > 0 && !chunk.getValid(i)) throw new MistiqueError('BAD_FRAME', `${file}: column ${f.name} has a null example at row ${row}`);
      flat.set(child.values.subarray(child.offset + a, child.offset + b) as ArrayLike<number>, row * per);
    }
  }
  const meta = f.metadata.get('mistique.shape');
  const shape = meta ? (JSON.parse(meta) as number[]) : [per];
  const ids = t.getChild('row_id');
  const rowIds = ids ? Int32Array.from(ids.toArray() as ArrayLike<number>) : undefined;
  return { frame: DataFrame.fromTensor(flat, shape, rowIds), shape };
}

/** A CSV's `row_id` column (as `mistique get --out x.csv` writes it) gives the row ids, not a data column. */
function csvFrame(plain: PlainFrame, file: string): { frame: FrameInput; rowIds?: Int32Array } {
  const ids = plain.row_id;
  if (ids === undefined) return { frame: plain };
  if (!(ids instanceof Float64Array) || ids.some((v) => !Number.isInteger(v) || v < -2147483648 || v > 2147483647)) {
    throw new MistiqueError('BAD_FRAME', `${file}: its row_id column must hold 32-bit integer row ids (rename the column to log it as data)`);
  }
  const { row_id: _ids, ...rest } = plain;
  if (Object.keys(rest).length === 0) throw new MistiqueError('BAD_FRAME', `${file} has a row_id column and no data column`);
  return { frame: rest, rowIds: Int32Array.from(ids) };
}

/** CSV with a header row. A column whose every non-empty cell is a number is float64 (empty = NaN); else utf8 (empty = null). */
export function parseCsv(text: string, file = 'csv'): PlainFrame {
  // the one CSV reader of the house (ReadCSV's): csv-parse was measured 4–6× slower on the Zillow files
  const { names: header, cells } = parseCSV(text, file);
  const body = cells.filter((r) => !(r.length === 1 && r[0] === ''));
  const out: PlainFrame = {};
  header.forEach((name, j) => {
    const col = body.map((r) => r[j]!);
    const numeric = col.every((c) => c === '' || c === 'NaN' || c === 'Infinity' || c === '-Infinity' || (c.trim() !== '' && Number.isFinite(Number(c)) && keptAsNumber(c, Number(c))));
    out[name] = numeric && col.some((c) => c !== '')
      ? Float64Array.from(col, (c) => (c === '' ? NaN : Number(c)))
      : col.map((c) => (c === '' ? null : c));
  });
  return out;
}

