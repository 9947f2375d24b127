// Reading frames from files (csv, npy, arrow, parquet) and writing query results to them (src/export/writers.ts).
export { csvCell } from '../export/writers.js';
import fs from 'node:fs';
import path from 'node:path';
import { DataType, FixedSizeList, tableFromIPC, type Table } from 'apache-arrow';
import { csvText, descrOf, formatOfFile, npyHeader, single, writeGroups } from '../export/writers.js';
import { keptAsNumber, parseCSV, utf8Text } from '../executor/csv.js';
import { MistiqueError } from '../errors.js';
import { DataFrame, exactInDouble, type FrameInput, type PlainFrame } from '../model/dataframe.js';
import type { Matrix } from '../model/matrix.js';
import { fromFloat16 } from '../quantize/lowprecision.js';
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
  if (format === 'csv') return csvText(m);
  const names = columnNames(m);
  const val = (i: number, j: number): number | string | null => { const v = m.get(i, j); return typeof v === 'number' && !Number.isFinite(v) ? null : v; };
  if (format === 'json') {
    return JSON.stringify({
      rowIds: Array.from(m.rowIds), shape: m.shape, columns: m.columns.map((c, j) => ({ name: names[j], key: c.key, type: c.type })),
      rows: Array.from({ length: m.nrows }, (_, i) => Array.from({ length: m.ncols }, (_, j) => val(i, j))),
    }) + '\n';
  }
  const lines: string[] = [];
  for (let i = 0; i < m.nrows; i++) {
    const o: Record<string, number | string | null> = { row_id: m.rowIds[i]! };
    for (let j = 0; j < m.ncols; j++) o[names[j]!] = val(i, j);
    lines.push(JSON.stringify(o));
  }
  return lines.join('\n') + '\n';
}

/** Reads a frame to log from a .csv, .npy, .arrow/.feather or .parquet file. */
export async function readFrame(file: string): Promise<{ frame: FrameInput; shape?: number[]; rowIds?: Int32Array }> {
  if (!fs.existsSync(file)) throw new MistiqueError('NOT_FOUND', `input file ${file} does not exist`);
  const ext = path.extname(file).slice(1).toLowerCase();
  const bytes = fs.readFileSync(file);
  switch (ext) {
    case 'csv': return csvFrame(parseCsv(utf8Text(bytes, file), file), file);
    case 'npy': return fromNpy(bytes, file);
    case 'arrow': case 'feather': case 'arrows': return arrowFrame(tableFromIPC(bytes), file);
    case 'parquet': {
      const pq = await import('parquet-wasm');
      return arrowFrame(tableFromIPC(pq.readParquet(bytes).intoIPCStream()), file);
    }
    default: throw new MistiqueError('BAD_OPTION', `cannot read ${file}: give a .csv, .npy, .arrow or .parquet file`);
  }
}

/**
 * A .npy array as a tensor intermediate: float32 and float64 as they are, float16 as float32, integers
 * and booleans (labels, class ids: numpy's default int64) as float64 — exactly, within ±2^53.
 */
function fromNpy(bytes: Buffer, file: string): { frame: FrameInput; shape?: number[] } {
  const { values, shape, descr } = npyArray(bytes, file, NPY_DESCRS);
  const example = shape.length === 1 ? [1] : shape.slice(1);
  let v: Float32Array | Float64Array;
  if (values instanceof Float32Array || values instanceof Float64Array) v = values;
  else if (descr === '<f2') v = fromFloat16(values as Uint16Array);
  else if (values instanceof BigInt64Array) {
    v = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (!exactInDouble(x)) throw new MistiqueError('BAD_FRAME', `${file}: value ${x} (int64) is beyond ±2^53, which a float64 tensor would round; log it as a table column of text, or scale it`);
      v[i] = Number(x);
    }
  } else v = Float64Array.from(values as ArrayLike<number>);
  return { frame: DataFrame.fromTensor(v, example), shape: example };
}

const NPY_TYPES = {
  '<f4': Float32Array, '<f8': Float64Array, '<f2': Uint16Array, '<i8': BigInt64Array, '<i4': Int32Array, '<i2': Int16Array, '|i1': Int8Array,
  '<u4': Uint32Array, '<u2': Uint16Array, '|u1': Uint8Array, '|b1': Uint8Array,
} as const;
export type NpyDescr = keyof typeof NPY_TYPES;
/** Every element type a .npy file read here may hold. */
export const NPY_DESCRS = Object.keys(NPY_TYPES) as NpyDescr[];

/** A C-order .npy array (format 1.0–3.0) of one of `accept`'s element types: its values and shape. */
export function npyArray(bytes: Buffer, file: string, accept: readonly NpyDescr[]): { values: InstanceType<(typeof NPY_TYPES)[NpyDescr]>; shape: number[]; descr: NpyDescr } {
  if (bytes.length < 10 || bytes.readUInt32BE(0) !== 0x934e554d) throw new MistiqueError('BAD_FRAME', `${file} is not a .npy file`);
  const major = bytes[6]!;
  const hlen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + hlen).toString('latin1');
  const written = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  // big-endian arrays (numpy's '>f4', …) are read as their little-endian type, each value's bytes swapped
  const bigEndian = written?.startsWith('>') === true;
  const descr = bigEndian ? `<${written!.slice(1)}` : written;
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const T = accept.includes(descr as NpyDescr) ? NPY_TYPES[descr as NpyDescr] : undefined;
  const count = shape.reduce((a, b) => a * b, 1);
  const shown = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  if (!T) {
    throw new MistiqueError('BAD_FRAME', `${file}: mistique reads .npy arrays of ${accept.join(', ')} here (got ${written} of shape ${shown}); convert with numpy.ascontiguousarray(a, dtype=numpy.float32)`);
  }
  if (shape.length < 1) throw new MistiqueError('BAD_FRAME', `${file} holds one value (shape ()): an intermediate needs an examples axis first, e.g. numpy.save(file, numpy.atleast_1d(a))`);
  const data = bytes.subarray(start + hlen);
  if (data.length !== count * T.BYTES_PER_ELEMENT) throw new MistiqueError('BAD_FRAME', `${file}: its header says shape ${shown} of ${written}, ${count * T.BYTES_PER_ELEMENT} bytes, but ${data.length} bytes follow`);
  const buf = new ArrayBuffer(data.length);
  const raw = new Uint8Array(buf);
  raw.set(data);
  if (bigEndian) swapBytes(raw, T.BYTES_PER_ELEMENT);
  const values = new T(buf) as InstanceType<(typeof NPY_TYPES)[NpyDescr]>;
  return { values: fortran ? cOrder(values, shape) : values, shape, descr: descr as NpyDescr };
}

/** Reverses the bytes of every `size`-byte value in place (big-endian ⇄ little-endian). */
function swapBytes(b: Uint8Array, size: number): void {
  if (size === 2) Buffer.from(b.buffer, b.byteOffset, b.byteLength).swap16();
  else if (size === 4) Buffer.from(b.buffer, b.byteOffset, b.byteLength).swap32();
  else if (size === 8) Buffer.from(b.buffer, b.byteOffset, b.byteLength).swap64();
}

/** A Fortran-order (column-major) array's values in C order (row-major), as numpy.ascontiguousarray gives them. */
function cOrder<A extends InstanceType<(typeof NPY_TYPES)[NpyDescr]>>(v: A, shape: readonly number[]): A {
  const out = new (v.constructor as new (n: number) => A)(v.length);
  const d = shape.length, idx = new Array<number>(d).fill(0);
  // Fortran strides: the first index varies fastest
  const stride = shape.map((_, k) => shape.slice(0, k).reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) {
    let off = 0;
    for (let k = 0; k < d; k++) off += idx[k]! * stride[k]!;
    (out as unknown as unknown[])[i] = (v as unknown as unknown[])[off];
    for (let k = d - 1; k >= 0; k--) { if (++idx[k]! < shape[k]!) break; idx[k] = 0; }
  }
  return out;
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
  const flat = new Float32Array(n * per);
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

