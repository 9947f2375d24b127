// DataFrame: one intermediate, N rows × C columns with a row_id per row (paper Fig. 5-6),
// normalized and validated from what callers hand in, before anything is written.
import { DataType, Table, Type } from 'apache-arrow';
import { LRUCache } from 'lru-cache';
import { MistiqueError } from '../errors.js';
import { checkColumnName } from './key.js';
import { allocValues, type ColumnType, type ColumnValues } from './types.js';

export interface Column {
  name: string;
  type: ColumnType;
  /** One value per row; utf8 holds dictionary codes (−1 = null). */
  values: ColumnValues;
  dictionary?: string[];
}

/**
 * A block of `ncols` adjacent columns of one type over `nrows` rows: a ColumnChunk's content. Column-major
 * (value (i, k) at k·nrows + i) unless `order` is 'row' (at i·ncols + k: a tensor chunk, see store/geometry.ts).
 */
export interface ChunkData {
  type: ColumnType;
  nrows: number;
  ncols: number;
  values: ColumnValues;
  dictionary?: string[];
  order?: 'row';
  /** kbit chunks: the value read back for each code (KBIT_QT with a codebook per chunk). */
  codebook?: Float32Array;
  /** A chunk decoded in part (store/codecs/codec.ts `decodeRows`): it holds the stored rows firstRow…firstRow+nrows−1. */
  firstRow?: number;
}

/** A plain column: a typed array, or an array of numbers, bigints, booleans, strings or Dates (null or undefined: missing). */
export type PlainColumn = ColumnValues | readonly (string | null)[] | readonly (number | null)[] | readonly boolean[] | readonly (bigint | null)[] | readonly (Date | null)[];
export type PlainFrame = Record<string, PlainColumn>;
export type FrameInput = Table | PlainFrame | DataFrame;

export interface FrameOptions {
  /** One integer id per row, unique; default 0…N−1. */
  rowIds?: Int32Array | readonly number[];
  /** Per-example shape, e.g. [C, H, W]; its product must equal the number of columns. */
  shape?: readonly number[];
}

/** Column names, types and shape without the values: what the MetadataDB keeps about a frame. */
export interface FrameSchema {
  names: string[] | null; // null: generated from the shape (tensor frames)
  types: ColumnType[];
  shape: number[] | null;
}

export abstract class DataFrame {
  abstract readonly nrows: number;
  abstract readonly ncols: number;
  abstract readonly rowIds: Int32Array;
  abstract readonly shape: number[] | null;
  abstract columnName(j: number): string;
  abstract columnType(j: number): ColumnType;
  /** Copies rows [r0, r1) × columns [c0, c0+w) (all of one type) into a column-major chunk. */
  abstract extract(r0: number, r1: number, c0: number, w: number): ChunkData;
  /** The same block as a row-major chunk (order 'row'): one copy per row, none of a transpose. */
  extractRows(r0: number, r1: number, c0: number, w: number): ChunkData {
    const c = this.extract(r0, r1, c0, w);
    return { ...toRowMajor(c), order: 'row' };
  }
  abstract schema(): FrameSchema;

  static from(input: FrameInput, opts: FrameOptions = {}): DataFrame {
    if (input instanceof DataFrame) return input;
    if (input instanceof Table) return ColumnFrame.fromArrow(input, opts);
    if (input && typeof input === 'object' && !Array.isArray(input)) return ColumnFrame.fromPlain(input as PlainFrame, opts);
    throw new MistiqueError('BAD_FRAME', `a frame must be an Arrow Table, a DataFrame or an object of named columns, got ${describe(input)}`);
  }

  /** A row-major tensor of N examples, each of `shape` (e.g. DNN activations [N, C, H, W]). */
  static fromTensor(values: Float32Array | Float64Array, shape: readonly number[], rowIds?: Int32Array | readonly number[]): DataFrame {
    return new TensorFrame(values, shape, rowIds);
  }

  /** A tensor of quantized values: float16 bits (Uint16Array), k-bit codes (Uint8Array, type uint8) or threshold bits (Uint8Array, type bool). */
  static fromEncodedTensor(values: Uint16Array | Uint8Array, type: 'float16' | 'uint8' | 'bool', shape: readonly number[], rowIds?: Int32Array | readonly number[]): DataFrame {
    return new TensorFrame(values, shape, rowIds, type);
  }
}

export class ColumnFrame extends DataFrame {
  readonly nrows: number;
  readonly rowIds: Int32Array;
  readonly shape: number[] | null;

  constructor(readonly columns: Column[], nrows: number, rowIds: Int32Array | null, shape: number[] | null) {
    super();
    this.nrows = nrows;
    this.rowIds = rowIds ?? defaultRowIds(nrows);
    this.shape = shape;
  }

  get ncols(): number { return this.columns.length; }
  columnName(j: number): string { return this.columns[j]!.name; }
  columnType(j: number): ColumnType { return this.columns[j]!.type; }
  schema(): FrameSchema {
    return { names: this.columns.map((c) => c.name), types: this.columns.map((c) => c.type), shape: this.shape };
  }

  extract(r0: number, r1: number, c0: number, w: number): ChunkData {
    const n = r1 - r0;
    const first = this.columns[c0]!;
    if (w === 1 && first.type !== 'utf8') {
      return { type: first.type, nrows: n, ncols: 1, values: first.values.slice(r0, r1) };
    }
    if (first.type === 'utf8') return extractUtf8(first, r0, r1);
    const out = allocValues(first.type, n * w);
    for (let k = 0; k < w; k++) out.set(this.columns[c0 + k]!.values.subarray(r0, r1), k * n);
    return { type: first.type, nrows: n, ncols: w, values: out };
  }

  static fromPlain(obj: PlainFrame, opts: FrameOptions): ColumnFrame {
    const names = Object.keys(obj);
    if (names.length === 0) throw new MistiqueError('BAD_FRAME', 'the frame has no columns: pass at least one named column');
    const columns = names.map((name) => plainColumn(checkColumnName(name), obj[name]!));
    return ColumnFrame.assemble(columns, opts);
  }

  static fromArrow(table: Table, opts: FrameOptions): ColumnFrame {
    const columns: Column[] = [];
    let rowIds = opts.rowIds;
    for (const field of table.schema.fields) {
      const vec = table.getChild(field.name)!;
      if (field.name === 'row_id' && rowIds === undefined) {
        if (!DataType.isInt(field.type) || field.type.bitWidth > 32) throw new MistiqueError('BAD_FRAME', `column row_id must be Int32, got ${field.type}`);
        rowIds = Int32Array.from(vec.toArray() as ArrayLike<number>);
        continue;
      }
      columns.push(arrowColumn(checkColumnName(field.name), field.type, vec.toArray() as unknown, vec.nullCount, (i) => vec.isValid(i), (i) => vec.get(i)));
    }
    if (columns.length === 0) throw new MistiqueError('BAD_FRAME', 'the Arrow table has no data columns');
    return ColumnFrame.assemble(columns, { ...opts, rowIds });
  }

  private static assemble(columns: Column[], opts: FrameOptions): ColumnFrame {
    const n = columns[0]!.values.length;
    const seen = new Set<string>();
    for (const c of columns) {
      if (c.values.length !== n) {
        throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(c.name)} has ${c.values.length} rows but column ${JSON.stringify(columns[0]!.name)} has ${n}: every column needs the same number of rows`);
      }
      if (seen.has(c.name)) throw new MistiqueError('BAD_FRAME', `column name ${JSON.stringify(c.name)} appears twice`);
      seen.add(c.name);
    }
    const shape = checkShape(opts.shape, columns.length, columns.map((c) => c.type));
    return new ColumnFrame(columns, n, checkRowIds(opts.rowIds, n), shape);
  }
}

export class TensorFrame extends DataFrame {
  readonly nrows: number;
  readonly ncols: number;
  readonly rowIds: Int32Array;
  readonly shape: number[];
  private readonly type: ColumnType;
  private readonly strides: number[];

  constructor(readonly values: Float32Array | Float64Array | Uint16Array | Uint8Array, shape: readonly number[], rowIds?: Int32Array | readonly number[], encoded?: 'float16' | 'uint8' | 'bool') {
    super();
    const ok = encoded
      ? (encoded === 'float16' ? values instanceof Uint16Array : values instanceof Uint8Array)
      : values instanceof Float32Array || values instanceof Float64Array;
    if (!ok) {
      throw new MistiqueError('BAD_FRAME', `a tensor frame needs ${encoded ? (encoded === 'float16' ? 'a Uint16Array' : 'a Uint8Array') : 'a Float32Array or Float64Array'}, got ${describe(values)}`);
    }
    this.type = encoded ?? (values instanceof Float32Array ? 'float32' : 'float64');
    if (!Array.isArray(shape)) throw new MistiqueError('BAD_FRAME', `a tensor frame needs its per-example shape as a list of positive integers such as [32, 28, 28], got ${describe(shape)}`);
    const ncols = shape.reduce((a, b) => a * b, 1);
    this.shape = checkShape(shape, ncols, [this.type])!;
    if (values.length % ncols !== 0) {
      throw new MistiqueError('BAD_FRAME', `tensor of ${values.length} values is not a whole number of examples of shape [${shape.join(', ')}] (${ncols} values each)`);
    }
    this.ncols = ncols;
    this.nrows = values.length / ncols;
    this.rowIds = checkRowIds(rowIds, this.nrows) ?? defaultRowIds(this.nrows);
    this.strides = this.shape.map((_, i) => this.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  }

  /** Names are the example coordinates joined by '_': channel 35, y 10, x 12 → "35_10_12". */
  columnName(j: number): string {
    return this.strides.map((s, i) => Math.floor(j / s) % this.shape[i]!).join('_');
  }
  columnType(): ColumnType { return this.type; }
  schema(): FrameSchema { return { names: null, types: [this.type], shape: this.shape }; }

  override extractRows(r0: number, r1: number, c0: number, w: number): ChunkData {
    const C = this.ncols;
    const src = this.values;
    // slice, not subarray: the partition keeps the chunk, the caller keeps its frame
    if (c0 === 0 && w === C) return { type: this.type, nrows: r1 - r0, ncols: w, values: src.slice(r0 * C, r1 * C), order: 'row' };
    const out = allocValues(this.type, (r1 - r0) * w);
    for (let i = r0; i < r1; i++) out.set(src.subarray(i * C + c0, i * C + c0 + w), (i - r0) * w);
    return { type: this.type, nrows: r1 - r0, ncols: w, values: out, order: 'row' };
  }

  extract(r0: number, r1: number, c0: number, w: number): ChunkData {
    const n = r1 - r0;
    const out = allocValues(this.type, n * w);
    const src = this.values;
    const C = this.ncols;
    for (let i = 0; i < n; i++) {
      const base = (r0 + i) * C + c0;
      for (let k = 0; k < w; k++) out[k * n + i] = src[base + k]!;
    }
    return { type: this.type, nrows: n, ncols: w, values: out };
  }
}

/** A column-major chunk's values in row-major order (the chunk itself when it is one column or one row). */
function toRowMajor(c: ChunkData): ChunkData {
  if (c.ncols === 1 || c.nrows === 1) return c;
  const out = allocValues(c.type, c.values.length);
  const n = c.nrows, w = c.ncols, src = c.values;
  for (let k = 0; k < w; k++) for (let i = 0; i < n; i++) out[i * w + k] = src[k * n + i]!;
  return { ...c, values: out };
}

/** Column names of a stored frame, from its schema (tensor frames generate them from the shape). */
export function schemaColumnName(schema: FrameSchema, j: number): string {
  if (schema.names) return schema.names[j]!;
  return tensorColumnNames(schema.shape!)[j]!;
}

/** Names of a tensor's columns, "c_y_x" per value position: built once per shape (a wide layer has 100 000s). */
const tensorNames = new LRUCache<string, readonly string[]>({ max: 16 });
export function tensorColumnNames(shape: readonly number[]): readonly string[] {
  const key = shape.join('x');
  let names = tensorNames.get(key);
  if (names) return names;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Array<string>(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let j = 0; j < n; j++) {
    out[j] = idx.join('_');
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  names = Object.freeze(out);
  tensorNames.set(key, names);
  return names;
}

export function schemaColumnType(schema: FrameSchema, j: number): ColumnType {
  return schema.types.length === 1 && !schema.names ? schema.types[0]! : schema.types[j]!;
}

function defaultRowIds(n: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  return ids;
}

function checkRowIds(ids: Int32Array | readonly number[] | undefined, n: number): Int32Array | null {
  if (ids === undefined) return null;
  if (!(ids instanceof Int32Array) && !Array.isArray(ids)) throw new MistiqueError('BAD_FRAME', `rowIds must be an Int32Array or a list of integers, got ${describe(ids)}`);
  if (ids.length !== n) throw new MistiqueError('BAD_FRAME', `rowIds has ${ids.length} entries but the frame has ${n} rows: give one row id per row`);
  const out = ids instanceof Int32Array ? ids : new Int32Array(n);
  if (!(ids instanceof Int32Array)) {
    for (let i = 0; i < n; i++) {
      const v = ids[i]!;
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new MistiqueError('BAD_FRAME', `rowIds[${i}] = ${v} is not a 32-bit integer`);
      out[i] = v;
    }
  }
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = out[i]! > out[i - 1]!;
  if (!sorted) {
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (seen.has(out[i]!)) throw new MistiqueError('BAD_FRAME', `row id ${out[i]} appears twice (at row ${i}): row ids are the primary index and must be unique`);
      seen.add(out[i]!);
    }
  }
  return out;
}

function checkShape(shape: readonly number[] | undefined, ncols: number, types: ColumnType[]): number[] | null {
  if (shape === undefined) return null;
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new MistiqueError('BAD_FRAME', `shape ${JSON.stringify(shape)} must be a list of positive integers such as [32, 28, 28]`);
  }
  const prod = shape.reduce((a, b) => a * b, 1);
  if (prod !== ncols) throw new MistiqueError('BAD_FRAME', `shape [${shape.join(', ')}] holds ${prod} values per example but the frame has ${ncols} columns`);
  if (types.some((t) => t !== 'float32' && t !== 'float64' && t !== 'float16' && t !== 'uint8' && t !== 'bool')) throw new MistiqueError('BAD_FRAME', 'a per-example shape can only be attached to a float32 or float64 frame (or a quantized tensor)');
  return [...shape];
}

function plainColumn(name: string, v: PlainColumn): Column {
  if (v instanceof Float64Array) return { name, type: 'float64', values: v };
  if (v instanceof Float32Array) return { name, type: 'float32', values: v };
  if (v instanceof Int32Array) return { name, type: 'int32', values: v };
  if (v instanceof Uint8Array) {
    for (let i = 0; i < v.length; i++) {
      if (v[i]! > 1) throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} is a Uint8Array, read as bool, but row ${i} holds ${v[i]}: use 0/1 or an Int32Array`);
    }
    return { name, type: 'bool', values: v };
  }
  if (!Array.isArray(v)) throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} must be a typed array or an array, got ${describe(v)}`);
  const { kind, nullAt } = arrayKind(name, v);
  // a missing value (null, undefined) of a number column reads NaN, as a CSV's empty cell and an Arrow null do
  if (kind === 'number') return { name, type: 'float64', values: Float64Array.from(v as (number | null)[], (x) => (x === null || x === undefined ? NaN : x)) };
  if (kind === 'bigint') return intColumn(name, 'bigint', v as (bigint | null)[], (i) => v[i] !== null && v[i] !== undefined);
  if (kind === 'boolean') {
    if (nullAt >= 0) throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} holds booleans and a missing value at row ${nullAt}: bool has no null; give numbers (NaN for missing) or strings`);
    return { name, type: 'bool', values: Uint8Array.from(v as boolean[], (b) => (b ? 1 : 0)) };
  }
  if (kind === 'date') return { name, type: 'utf8', ...dictionaryEncode((v as (Date | null)[]).map((d) => (d === null || d === undefined ? null : isoDate(name, d)))) };
  return { name, type: 'utf8', ...dictionaryEncode(v as (string | null)[]) };
}

type Kind = 'number' | 'boolean' | 'string' | 'bigint' | 'date';

/** What a plain array's values are (missing values aside), and the first row of a missing one (−1: none). */
function arrayKind(name: string, v: readonly unknown[]): { kind: Kind; nullAt: number } {
  let kind: Kind | null = null;
  let nullAt = -1;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x === null || x === undefined) {
      if (nullAt < 0) nullAt = i;
      continue;
    }
    const t = typeof x;
    const k: Kind | null = t === 'number' || t === 'boolean' || t === 'string' || t === 'bigint' ? t : x instanceof Date ? 'date' : null;
    if (k === null) throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} row ${i} holds ${t === 'object' ? 'an object' : `a ${t}`}: columns hold numbers, bigints, booleans, strings or Dates`);
    if (kind === null) kind = k;
    else if (kind !== k) throw mixed(name, kind, k, i);
  }
  return { kind: kind ?? 'string', nullAt };
}

function isoDate(name: string, d: Date): string {
  if (Number.isNaN(d.getTime())) throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} holds an invalid Date`);
  return d.toISOString();
}

function mixed(name: string, a: string, b: string, i: number): MistiqueError {
  return new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} mixes types: ${a} values, then a ${b} at row ${i}; a column holds one type (null or undefined for a missing value)`);
}

export function dictionaryEncode(v: readonly (string | null)[]): { values: Int32Array; dictionary: string[] } {
  const codes = new Int32Array(v.length);
  const index = new Map<string, number>();
  const dictionary: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const s = v[i];
    if (s === null || s === undefined) { codes[i] = -1; continue; }
    let c = index.get(s);
    if (c === undefined) { c = dictionary.length; dictionary.push(s); index.set(s, c); }
    codes[i] = c;
  }
  return { values: codes, dictionary };
}

function extractUtf8(col: Column, r0: number, r1: number): ChunkData {
  // Each chunk gets its own compact dictionary, so identical chunks hash the same wherever they came from.
  const src = col.values as Int32Array;
  const dict = col.dictionary!;
  const remap = new Int32Array(dict.length).fill(-1);
  const local: string[] = [];
  const out = new Int32Array(r1 - r0);
  for (let i = r0; i < r1; i++) {
    const c = src[i]!;
    if (c < 0) { out[i - r0] = -1; continue; }
    if (remap[c] === -1) { remap[c] = local.length; local.push(dict[c]!); }
    out[i - r0] = remap[c]!;
  }
  return { type: 'utf8', nrows: r1 - r0, ncols: 1, values: out, dictionary: local };
}

function arrowColumn(name: string, type: DataType, values: unknown, nullCount: number, valid: (i: number) => boolean, get: (i: number) => unknown): Column {
  switch (type.typeId) {
    case Type.Float:
    case Type.Float16:
    case Type.Float64:
    case Type.Float32: {
      // half floats (their bits as Uint16Array) as float32, exactly
      const half = values instanceof Uint16Array ? Float32Array.from({ length: values.length }, (_, i) => Number(get(i))) : null;
      const arr = half ?? (values instanceof Float32Array ? Float32Array.from(values) : values instanceof Float64Array ? Float64Array.from(values) : null);
      if (!arr) break;
      if (nullCount > 0) for (let i = 0; i < arr.length; i++) if (!valid(i)) arr[i] = NaN;
      return { name, type: arr instanceof Float32Array ? 'float32' : 'float64', values: arr };
    }
    case Type.Int:
    case Type.Int8: case Type.Int16: case Type.Int32: case Type.Int64:
    case Type.Uint8: case Type.Uint16: case Type.Uint32: case Type.Uint64:
      return intColumn(name, type, values as ArrayLike<number | bigint>, valid);
    case Type.Decimal: {
      // to the nearest double, as pandas and DuckDB's DOUBLE casts give it (a nulls as NaN)
      const n = (values as ArrayLike<unknown>).length / Math.max(1, (type as DataType & { bitWidth: number }).bitWidth / 32);
      const scale = 10 ** (type as DataType & { scale: number }).scale;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = valid(i) ? Number(get(i)) / scale : NaN;
      return { name, type: 'float64', values: out };
    }
    case Type.Date: case Type.DateDay: case Type.DateMillisecond:
    case Type.Timestamp: case Type.TimestampSecond: case Type.TimestampMillisecond: case Type.TimestampMicrosecond: case Type.TimestampNanosecond:
      return { name, type: 'utf8', ...dictionaryEncode(isoStrings(type, values as ArrayLike<unknown>, valid, get)) };
    case Type.Bool:
      if (nullCount > 0) throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} is Bool with ${nullCount} nulls: bool has no null, use Utf8 or Float64`);
      return { name, type: 'bool', values: Uint8Array.from(values as boolean[], (b) => (b ? 1 : 0)) };
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Dictionary: {
      const n = (values as ArrayLike<unknown>).length;
      const strs: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) strs[i] = valid(i) ? String(get(i)) : null;
      return { name, type: 'utf8', ...dictionaryEncode(strs) };
    }
  }
  // a list per row (an embedding, a layer's values) is a tensor: an intermediate of its own, joined on row_id
  if (DataType.isList(type) || DataType.isFixedSizeList(type)) {
    throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} holds a list per row (${type}): a table's columns hold one value a row — log the lists as an intermediate of their own (a file of row_id and that one list column is a tensor, e.g. COPY (SELECT row_id, ${name} FROM t) TO 'x.parquet'), the other columns as another; they join on row_id`);
  }
  throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} has Arrow type ${type}: mistique stores numbers (floats, integers, decimals), Bool, Utf8, dates and timestamps (cast it to one of them first)`);
}

/** Whether a double holds this integer exactly (|v| ≤ 2^53). */
export function exactInDouble(v: bigint): boolean {
  return v <= 2n ** 53n && v >= -(2n ** 53n);
}

/**
 * An Arrow integer column of any width, exactly: int32 when every value fits and none is null, else
 * float64 (a null as NaN) when every value is within ±2^53 — beyond that a double would round it.
 */
function intColumn(name: string, type: DataType | string, values: ArrayLike<number | bigint | null>, valid: (i: number) => boolean): Column {
  const n = values.length;
  const out = new Float64Array(n);
  let int32 = true;
  for (let i = 0; i < n; i++) {
    if (!valid(i)) { out[i] = NaN; int32 = false; continue; }
    const v = values[i]!;
    if (typeof v === 'bigint' && !exactInDouble(v)) {
      throw new MistiqueError('BAD_FRAME', `column ${JSON.stringify(name)} (${typeof type === 'string' ? type : `Arrow ${type}`}) holds ${v}, which neither int32 nor float64 holds exactly: log it as text (Utf8)`);
    }
    const x = Number(v);
    out[i] = x;
    if (x < -2147483648 || x > 2147483647) int32 = false;
  }
  return int32 ? { name, type: 'int32', values: Int32Array.from(out) } : { name, type: 'float64', values: out };
}

/** Dates as YYYY-MM-DD and timestamps as ISO 8601 to their unit's precision (Z when the zone is UTC-based), nulls as null. */
function isoStrings(type: DataType, values: ArrayLike<unknown>, valid: (i: number) => boolean, get: (i: number) => unknown): (string | null)[] {
  const n = values.length;
  const out: (string | null)[] = new Array(n);
  if (DataType.isDate(type)) {
    for (let i = 0; i < n; i++) out[i] = valid(i) ? new Date(Number(get(i))).toISOString().slice(0, 10) : null;
    return out;
  }
  const t = type as DataType & { unit: number; timezone: string | null };
  // TimeUnit: SECOND 0, MILLISECOND 1, MICROSECOND 2, NANOSECOND 3 — raw values in that unit
  const digits = [0, 3, 6, 9][t.unit]!;
  const per = 10n ** BigInt(digits);
  const zone = t.timezone ? 'Z' : '';
  for (let i = 0; i < n; i++) {
    if (!valid(i)) { out[i] = null; continue; }
    const raw = BigInt(values[i] as bigint | number);
    let sec = raw / per, frac = raw % per;
    if (frac < 0n) { frac += per; sec -= 1n; }
    const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
    out[i] = `${base}${digits ? `.${frac.toString().padStart(digits, '0')}` : ''}${zone}`;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v;
}
