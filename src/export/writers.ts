// Standard files from a stream of result groups (Matrices of whole RowBlocks): Parquet, Arrow IPC, .npy
// and CSV, each written group by group so that memory stays bounded by one group whatever the size of
// what is written. Every file is written under a temporary name and renamed when complete: a failure
// leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import {
  Bool, Field, FixedSizeList, Float32, Float64, Int32, makeData, RecordBatch, RecordBatchFileWriter, Schema, Struct, Table, tableToIPC, Utf8, vectorFromArray,
  type Data, type DataType,
} from 'apache-arrow';
import { MistiqueError } from '../errors.js';
import type { Matrix, MatrixValues } from '../model/matrix.js';
import type { ColumnType } from '../model/types.js';
import { columnNames } from '../cli/format.js';

export const EXPORT_FORMATS = ['parquet', 'arrow', 'npy', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const PARQUET_COMPRESSIONS = ['snappy', 'zstd', 'lz4', 'none'] as const;
export type ParquetCompression = (typeof PARQUET_COMPRESSIONS)[number];

/** What a file says about its contents besides its values (schema metadata in Parquet and Arrow). */
export interface FileHead {
  /** Rows in all groups together (an .npy header states them before the values). */
  nrows: number;
  /** Name of a whole tensor's list column (default `values`). */
  tensorName?: string;
  /** Key-value metadata: mistique.key, mistique.scheme, mistique.shape, mistique.values. */
  meta?: Record<string, string>;
  compression?: ParquetCompression;
  /** A file read once and removed (SQL's): Parquet without dictionaries or statistics, written fastest. */
  scratch?: boolean;
}

/** The format a file name asks for, or null. */
export function formatOfFile(file: string): ExportFormat | null {
  const ext = path.extname(file).slice(1).toLowerCase();
  return ext === 'feather' ? 'arrow' : (EXPORT_FORMATS as readonly string[]).includes(ext) ? (ext as ExportFormat) : null;
}

/** The files an export of this format to `file` writes: .npy has its row ids beside it. */
export function filesOf(format: ExportFormat, file: string): string[] {
  return format === 'npy' ? [file, file.replace(/(\.npy)?$/i, '.row_id.npy')] : [file];
}

/**
 * Writes the groups to `file` in `format` (see the module comment); `onRows` after each group. Returns
 * the files written and their bytes.
 */
export async function writeGroups(format: ExportFormat, file: string, head: FileHead, groups: AsyncIterable<Matrix>, onRows: (n: number) => void = () => undefined): Promise<{ files: string[]; bytes: number }> {
  const files = filesOf(format, file);
  const parts = files.map((f) => `${f}.part-${process.pid}`);
  const it = ahead(groups)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new MistiqueError('INTERNAL', `nothing to write to ${file}`);
  checkWritable(format, first.value, file);
  // the first group, then the others as they are read
  async function* all(): AsyncGenerator<Matrix> {
    yield first.value as Matrix;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  const counted = async function* (): AsyncGenerator<Matrix> {
    for await (const m of all()) { yield m; onRows(m.nrows); }
  };
  try {
    // a file in a directory not there yet: the directory is made, as for several intermediates
    fs.mkdirSync(path.dirname(file), { recursive: true });
    switch (format) {
      case 'parquet': await writeParquet(parts[0]!, head, first.value, counted()); break;
      case 'arrow': await writeArrow(parts[0]!, head, first.value, counted()); break;
      case 'npy': await writeNpy(parts[0]!, parts[1]!, head, first.value, counted()); break;
      case 'csv': await writeCsv(parts[0]!, counted()); break;
    }
    parts.forEach((p, i) => fs.renameSync(p, files[i]!));
  } catch (err) {
    for (const p of parts) {
      try { fs.rmSync(p, { force: true }); } catch { /* its directory is not one (ENOTDIR): nothing was made there */ }
    }
    await it.return?.(undefined);
    throw outputError(file, err);
  }
  return { files, bytes: files.reduce((a, f) => a + fs.statSync(f).size, 0) };
}

/** A failure to write an output file as a MistiqueError that names the file and what to do (it had been an internal error). */
export function outputError(file: string, err: unknown): unknown {
  if (err instanceof MistiqueError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const msg = `cannot write ${file}: ${(err as Error).message}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new MistiqueError('NO_SPACE', `${msg} (the disk is full): free space, or write it elsewhere`, { cause: err });
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return new MistiqueError('READ_ONLY', `${msg} (no permission to write there): write it elsewhere`, { cause: err });
  if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOENT' || code === 'ENAMETOOLONG') return new MistiqueError('BAD_OPTION', `${msg}: give a file name in a directory that can hold it`, { cause: err });
  return err;
}

/**
 * The groups with the next one read while the last one is written: a group's decoding runs on the worker
 * threads while the main thread encodes the one before (Parquet) — two groups in memory at most.
 */
async function* ahead(groups: AsyncIterable<Matrix>): AsyncGenerator<Matrix> {
  const it = groups[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      next.catch(() => undefined); // awaited in turn; a failure must not go unhandled meanwhile
      yield r.value;
    }
  } finally {
    await it.return?.(undefined);
  }
}

function checkWritable(format: ExportFormat, m: Matrix, file: string): void {
  if (format !== 'npy') return;
  const text = m.columns.find((c) => c.type === 'utf8');
  if (text) throw new MistiqueError('BAD_OPTION', `cannot write ${file}: .npy holds numbers and column ${text.key} holds text; write .parquet, .arrow or .csv instead (or select numeric columns)`);
}

// ── Arrow ────────────────────────────────────────────────────────────────────────────────────────────

function arrowType(t: ColumnType): DataType {
  return t === 'float64' ? new Float64() : t === 'float32' ? new Float32() : t === 'bool' ? new Bool() : t === 'utf8' ? new Utf8() : new Int32();
}

function isTensor(m: Matrix): boolean {
  return m.shape !== null && (m.values instanceof Float32Array || m.values instanceof Float64Array);
}

/** A tensor's element type in a file: float32, or float64 where it holds doubles (integers logged from numpy). */
function itemType(m: Matrix): Float32 | Float64 {
  return m.values instanceof Float64Array ? new Float64() : new Float32();
}

/**
 * The Arrow schema of a file: row_id, then a column per named column (text as plain utf8: every group
 * has its own dictionary) — or, for one whole tensor, one fixed-size-list column of float32 values per
 * example with the per-example shape in the field's metadata (`mistique.shape`, JSON).
 */
export function exportSchema(m: Matrix, head: Pick<FileHead, 'tensorName' | 'meta'>): Schema {
  const ids = new Field('row_id', new Int32(), false);
  const meta = new Map(Object.entries(head.meta ?? {}));
  if (isTensor(m)) {
    const type = new FixedSizeList(m.ncols, new Field('item', itemType(m), false));
    return new Schema([ids, new Field(head.tensorName ?? 'values', type, false, new Map([['mistique.shape', JSON.stringify(m.shape)]]))], meta);
  }
  const names = columnNames(m);
  return new Schema([ids, ...m.columns.map((c, j) => new Field(names[j]!, arrowType(c.type), c.type === 'utf8'))], meta);
}

/** One group as a RecordBatch of the file's schema. */
export function exportBatch(m: Matrix, schema: Schema): RecordBatch {
  const n = m.nrows;
  const children: Data[] = [makeData({ type: new Int32(), length: n, data: m.rowIds })];
  if (isTensor(m)) {
    const type = schema.fields[1]!.type as FixedSizeList;
    const item = makeData({ type: type.children[0]!.type as Float32 | Float64, length: m.values.length, data: m.values as Float32Array | Float64Array });
    children.push(makeData({ type, length: n, nullCount: 0, child: item }));
  } else {
    m.columns.forEach((c, j) => children.push(columnData(m, j, c.type)));
  }
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

function columnData(m: Matrix, j: number, type: ColumnType): Data {
  const n = m.nrows;
  if (type === 'utf8') return vectorFromArray(Array.from({ length: n }, (_, i) => m.get(i, j) as string | null), new Utf8()).data[0]!;
  const col = m.column(j);
  if (type === 'bool') {
    const bits = new Uint8Array(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) if (col[i]) bits[i >> 3]! |= 1 << (i & 7);
    return makeData({ type: new Bool(), length: n, data: bits });
  }
  const typed: MatrixValues = type === 'float64' ? (col instanceof Float64Array ? col : Float64Array.from(col))
    : type === 'float32' ? (col instanceof Float32Array ? col : Float32Array.from(col))
      : (col instanceof Int32Array ? col : Int32Array.from(col));
  return makeData({ type: arrowType(type) as Float64, length: n, data: typed as Float64Array });
}

/** An Arrow IPC file (what pyarrow.ipc.open_file, pandas.read_feather and DuckDB's arrow extension read). */
async function writeArrow(part: string, head: FileHead, first: Matrix, groups: AsyncIterable<Matrix>): Promise<void> {
  const schema = exportSchema(first, head);
  const fd = fs.openSync(part, 'w');
  try {
    const w = new RecordBatchFileWriter();
    // the writer queues its bytes; a consumer writes them out as they come, so at most one group waits
    const drained = (async () => { for await (const chunk of w) fs.writeSync(fd, chunk); })();
    for await (const m of groups) {
      w.write(exportBatch(m, schema));
      await new Promise((r) => setImmediate(r));
    }
    await w.close();
    await drained;
  } finally {
    fs.closeSync(fd);
  }
}

// ── Parquet ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * Parquet (parquet-wasm, arrow-rs's writer): one row group per group; snappy by default (what pyarrow and
 * DuckDB write); a tensor's float values without dictionary encoding or page statistics (they cost time
 * and help no reader), a table's columns with both.
 */
async function writeParquet(part: string, head: FileHead, first: Matrix, groups: AsyncIterable<Matrix>): Promise<void> {
  const pq = await import('parquet-wasm');
  const schema = exportSchema(first, head);
  const tensor = isTensor(first);
  const codec = { snappy: pq.Compression.SNAPPY, zstd: pq.Compression.ZSTD, lz4: pq.Compression.LZ4_RAW, none: pq.Compression.UNCOMPRESSED }[head.compression ?? 'snappy'];
  let props = new pq.WriterPropertiesBuilder().setCompression(codec).setMaxRowGroupSize(Math.max(1, first.nrows))
    .setKeyValueMetadata(new Map(Object.entries(head.meta ?? {}))).setCreatedBy('mistique');
  if (tensor) props = props.setDictionaryEnabled(false).setStatisticsEnabled(pq.EnabledStatistics.Chunk);
  if (head.scratch) props = props.setDictionaryEnabled(false).setStatisticsEnabled(pq.EnabledStatistics.None);
  const it = groups[Symbol.asyncIterator]();
  const source = new ReadableStream({
    async pull(ctrl) {
      const r = await it.next();
      if (r.done) { ctrl.close(); return; }
      const t = pq.Table.fromIPCStream(tableToIPC(new Table(schema, [exportBatch(r.value, schema)]), 'stream'));
      for (const b of t.recordBatches()) ctrl.enqueue(b);
    },
  });
  const out = await pq.transformParquetStream(source, props.build());
  const fd = fs.openSync(part, 'w');
  try {
    for await (const chunk of out as unknown as AsyncIterable<Uint8Array>) fs.writeSync(fd, chunk);
  } finally {
    fs.closeSync(fd);
  }
}

// ── .npy ─────────────────────────────────────────────────────────────────────────────────────────────

/** The .npy dtype of a result's values. */
export function descrOf(v: MatrixValues): string {
  return v instanceof Float64Array ? '<f8' : v instanceof Float32Array ? '<f4' : v instanceof Int32Array ? '<i4' : '|u1';
}

/** An .npy header (format 1.0) for an array of this dtype and shape, padded to 64 bytes. */
export function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header = header + ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  return out;
}

export function bytesOf(v: MatrixValues | Int32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The .npy header of `nrows` rows of a result like `m`: N × its per-example shape, or N × its columns. */
export function npyValuesHeader(m: Matrix, nrows: number): Uint8Array {
  return npyHeader(descrOf(m.values), m.shape ? [nrows, ...m.shape] : [nrows, m.ncols]);
}

/** N × shape values (C order) and N row ids beside them: the header states N, then each group is appended. */
async function writeNpy(part: string, idsPart: string, head: FileHead, first: Matrix, groups: AsyncIterable<Matrix>): Promise<void> {
  const fd = fs.openSync(part, 'w'), ids = fs.openSync(idsPart, 'w');
  try {
    fs.writeSync(fd, npyValuesHeader(first, head.nrows));
    fs.writeSync(ids, npyHeader('<i4', [head.nrows]));
    let rows = 0;
    for await (const m of groups) {
      fs.writeSync(fd, bytesOf(m.values));
      fs.writeSync(ids, bytesOf(m.rowIds));
      rows += m.nrows;
    }
    if (rows !== head.nrows) throw new MistiqueError('INTERNAL', `an .npy export announced ${head.nrows} rows and got ${rows}`);
  } finally {
    fs.closeSync(fd);
    fs.closeSync(ids);
  }
}

// ── CSV ──────────────────────────────────────────────────────────────────────────────────────────────

/** CSV with a header row: row_id, then the columns by name; every digit of every number; empty = null. */
async function writeCsv(part: string, groups: AsyncIterable<Matrix>): Promise<void> {
  const fd = fs.openSync(part, 'w');
  try {
    let header = true;
    for await (const m of groups) {
      for (const text of csvPieces(m, header)) fs.writeSync(fd, text);
      header = false;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Cells of text made at once: a few MB (a group of floats is ~3× its bytes as text). */
const TEXT_CELLS = 250_000;

/** Rows of `m` to make into text at once (TEXT_CELLS cells, at least one row). */
export function textRows(m: Matrix): number {
  return Math.max(1, Math.floor(TEXT_CELLS / Math.max(1, m.ncols)));
}

/** A result as CSV text a few MB at a time, after a header row if `header` (which comes even for no rows). */
export function* csvPieces(m: Matrix, header = true): Generator<string> {
  const step = textRows(m);
  for (let i = 0; i < m.nrows || (header && i === 0); i += step) {
    yield csvText(m, header, i, Math.min(m.nrows, i + step));
    header = false;
  }
}

/** Rows [from, to) of a result as CSV text, after a header row (row_id, then the column names) unless `header` is false. */
export function csvText(m: Matrix, header = true, from = 0, to = m.nrows): string {
  const lines = header ? [['row_id', ...columnNames(m)].map(csvCell).join(',')] : [];
  // numbers only (a layer): a row is its values joined — the same text, without a call and a quoting test
  // per cell (a 400 MB layer took 32 s as CSV, 20 s as JSON)
  if (!m.columns.some((c) => c.type === 'utf8')) {
    for (let i = from; i < to; i++) lines.push(`${m.rowIds[i]},${m.row(i).join(',')}`);
    return lines.length ? lines.join('\n') + '\n' : '';
  }
  for (let i = from; i < to; i++) {
    const cells = [String(m.rowIds[i])];
    for (let j = 0; j < m.ncols; j++) {
      const v = m.get(i, j);
      cells.push(v === null ? '' : csvCell(String(v)));
    }
    lines.push(cells.join(','));
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** A CSV field, quoted when it holds a quote, comma or line break. */
export function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One Matrix as an async iterable of itself (a result already in memory, written as one group). */
export async function* single(m: Matrix): AsyncGenerator<Matrix> {
  yield m;
}
