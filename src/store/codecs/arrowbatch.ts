// Chunks ⇄ one Arrow RecordBatch: shared by the Arrow IPC and Parquet codecs. A column-major chunk (a
// table's column) is a column per data column; a row-major chunk (a tensor's RowBlock × value range) is
// one FixedSizeList column, a list of the chunk's values per example, which pyarrow and DuckDB read as
// such (Parquet has no fixed-size list: it comes back as a List whose offsets are checked to be regular).
import {
  Bool, Dictionary, DataType as ArrowType, Field, FixedSizeList, Float32, Float64, Int32, makeData, Uint16, Uint8, RecordBatch, Schema,
  Struct, Table, tableFromIPC, Utf8, vectorFromArray, type Data, type DataType,
} from 'apache-arrow';
import { MistiqueError } from '../../errors.js';
import type { ChunkData } from '../../model/dataframe.js';
import { allocValues, type ColumnType } from '../../model/types.js';
import type { DecodedSegment, RowSpan, Slot } from './codec.js';

const CODEBOOK_KEY = 'mistique.codebook';

export function chunksToTable(chunks: readonly ChunkData[]): Table {
  const fields: Field[] = [];
  const children: Data[] = [];
  const nrows = chunks[0]?.nrows ?? 0;
  for (const c of chunks) {
    if (c.order === 'row') {
      const item = valuesData(c.type, c.values);
      const type = new FixedSizeList(c.ncols, new Field('item', item.type, false));
      // a kbit chunk's codebook travels in its field's metadata (float32 little-endian, base64)
      const meta = c.type === 'kbit' ? new Map([[CODEBOOK_KEY, Buffer.from(c.codebook!.buffer, c.codebook!.byteOffset, c.codebook!.byteLength).toString('base64')]]) : undefined;
      fields.push(new Field(String(fields.length), type, false, meta));
      children.push(makeData({ type, length: c.nrows, nullCount: 0, child: item }));
      continue;
    }
    for (let k = 0; k < c.ncols; k++) {
      const data = columnData(c, k);
      fields.push(new Field(String(fields.length), data.type, data.nullCount > 0));
      children.push(data);
    }
  }
  const schema = new Schema(fields);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: nrows, nullCount: 0, children }));
  return new Table([batch]);
}

/** The values of a row-major chunk as the child of its list column (not utf8: tensors hold numbers). */
function valuesData(type: ColumnType, v: ChunkData['values']): Data {
  if (type === 'utf8') throw new MistiqueError('INTERNAL', 'a row-major chunk holds numbers, not strings');
  return columnData({ type, nrows: v.length, ncols: 1, values: v }, 0);
}

function columnData(c: ChunkData, k: number): Data {
  const n = c.nrows;
  const v = c.values.subarray(k * n, (k + 1) * n);
  switch (c.type) {
    case 'float64': return makeData({ type: new Float64(), length: n, data: v as Float64Array });
    case 'float32': return makeData({ type: new Float32(), length: n, data: v as Float32Array });
    case 'int32': return makeData({ type: new Int32(), length: n, data: v as Int32Array });
    case 'bool': return makeData({ type: new Bool(), length: n, data: packBits(v as Uint8Array) });
    // half floats travel as their bits (Arrow's Float16 is not read by every Parquet implementation)
    case 'float16': return makeData({ type: new Uint16(), length: n, data: v as Uint16Array });
    case 'uint8': case 'kbit': return makeData({ type: new Uint8(), length: n, data: v as Uint8Array });
    case 'utf8': {
      const codes = v as Int32Array;
      let nulls = 0;
      // Stryker disable next-line EqualityOperator,UpdateOperator: a step past the end reads undefined; a negative count is Arrow's 'count them', which finds the same nulls
      for (let i = 0; i < n; i++) if (codes[i]! < 0) nulls++;
      const dictionary = vectorFromArray(c.dictionary ?? [], new Utf8());
      const type = new Dictionary(new Utf8(), new Int32());
      // Stryker disable next-line ConditionalExpression: a validity bitmap of all ones reads the same codes
      if (nulls === 0) return makeData({ type, length: n, data: codes, dictionary });
      const valid = new Uint8Array(n);
      const safe = new Int32Array(n);
      // Stryker disable next-line EqualityOperator: a step past the end writes nowhere
      for (let i = 0; i < n; i++) {
        valid[i] = codes[i]! >= 0 ? 1 : 0;
        safe[i] = Math.max(0, codes[i]!);
      }
      return makeData({ type, length: n, nullCount: nulls, nullBitmap: packBits(valid), data: safe, dictionary });
    }
  }
}

function packBits(v: Uint8Array): Uint8Array {
  // Stryker disable next-line ArithmeticOperator: a longer bitmap holds the same first bits
  const out = new Uint8Array(Math.ceil(v.length / 8));
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined, which sets no bit
  for (let i = 0; i < v.length; i++) if (v[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

function unpackBits(bits: Uint8Array, offset: number, n: number, out: Uint8Array, at: number): void {
  // Stryker disable next-line EqualityOperator: a step past the end writes nowhere
  for (let i = 0; i < n; i++) {
    const b = offset + i;
    out[at + i] = (bits[b >> 3]! >> (b & 7)) & 1;
  }
}

/** An Arrow IPC segment's bytes viewed as a decoded segment (zero-copy). */
export function ipcSegment(bytes: Uint8Array): TableSegment {
  return new TableSegment(tableFromIPC(bytes), bytes.byteLength);
}

/**
 * A decoded record batch, read chunk by chunk. Arrow JS slices a column's value and offset buffers with
 * it and keeps its offset for the validity and boolean bitmaps only: values are read from 0, bits from
 * the offset (a segment decodes at offset 0; a batch sliced by another tool reads the same).
 */
export class TableSegment implements DecodedSegment {
  readonly byteLength: number;
  private readonly cols: Data[];
  private readonly fields: Field[];

  /** `span`: the table holds rows span.first… of the segment only (decodeRows), and so do its chunks. */
  constructor(table: Table, byteLength: number, private readonly span?: RowSpan) {
    const batch = table.batches[0];
    if (table.batches.length !== 1 || !batch) throw new MistiqueError('CORRUPT', `a segment holds one record batch, found ${table.batches.length}`);
    this.cols = batch.data.children;
    this.fields = batch.schema.fields;
    this.byteLength = byteLength;
  }

  chunk(slot: Slot): ChunkData {
    if (!this.span) return this.whole(slot);
    const rows = this.cols[0]?.length ?? 0;
    if (this.span.first + rows > slot.nrows) throw new MistiqueError('CORRUPT', `segment rows ${this.span.first}…${this.span.first + rows - 1} were read but its chunk has ${slot.nrows} rows`);
    return { ...this.whole({ ...slot, nrows: rows }), firstRow: this.span.first };
  }

  private whole(slot: Slot): ChunkData {
    const { type, nrows, ncols, colStart } = slot;
    const list = this.cols[colStart];
    if (list && (ArrowType.isFixedSizeList(list.type) || ArrowType.isList(list.type))) return listChunk(list, slot, this.fields[colStart]!);
    if (colStart + ncols > this.cols.length) throw new MistiqueError('CORRUPT', `segment has ${this.cols.length} columns, chunk wants ${colStart}..${colStart + ncols}`);
    if (ncols === 1 && type !== 'bool' && type !== 'utf8') {
      const d = this.cols[colStart]!;
      checkColumn(d, type, nrows);
      return { type, nrows, ncols, values: d.values.subarray(0, nrows) };
    }
    const out = allocValues(type, nrows * ncols);
    let dictionary: string[] | undefined;
    let index: Map<string, number> | undefined;
    for (let k = 0; k < ncols; k++) {
      const d = this.cols[colStart + k]!;
      checkColumn(d, type, nrows);
      if (type === 'bool') unpackBits(d.values as Uint8Array, d.offset, nrows, out as Uint8Array, k * nrows);
      else if (type === 'utf8') {
        // a chunk has one dictionary; Parquet gives each column its own: later columns' codes are remapped
        const own = (d.dictionary?.toArray() ?? []) as string[];
        let remap: Int32Array | null = null;
        if (!dictionary) dictionary = own;
        else {
          // (a dictionary that is a prefix of the first needs no remap: its codes mean the same strings;
          // the directive sits inside this block because Stryker reads it only as a statement's leading comment)
          // Stryker disable next-line ConditionalExpression: remapping codes that need none gives the same codes
          if (own.some((x, i) => x !== dictionary![i])) {
            index ??= new Map(dictionary.map((x, i) => [x, i]));
            remap = Int32Array.from(own, (x) => {
              let c = index!.get(x);
              if (c === undefined) { c = dictionary!.length; dictionary!.push(x); index!.set(x, c); }
              return c;
            });
          }
        }
        const codes = d.values as Int32Array;
        // Stryker disable next-line EqualityOperator: a step past the end writes nowhere
        for (let i = 0; i < nrows; i++) {
          const c = codes[i]!;
          (out as Int32Array)[k * nrows + i] = d.getValid(i) ? (remap ? remap[c]! : c) : -1;
        }
      } else out.set(d.values.subarray(0, nrows), k * nrows);
    }
    return dictionary ? { type, nrows, ncols, values: out, dictionary } : { type, nrows, ncols, values: out };
  }
}

/** A row-major chunk from its list column: the child's values are the chunk's values, in order. */
function listChunk(d: Data, slot: Slot, field: Field): ChunkData {
  const { type, nrows, ncols } = slot;
  if (d.length !== nrows || d.nullCount > 0) throw new MistiqueError('CORRUPT', `stored list column has ${d.length} rows (${d.nullCount} null), metadata says ${nrows}`);
  const child = d.children[0];
  // where the chunk's values start in the child: a fixed-size list's child is sliced with it, a List's
  // is not (its offsets, sliced, say where its rows start)
  let start = 0;
  if (ArrowType.isList(d.type)) {
    // Parquet's list: regular offsets, or it is not the chunk that was written
    const off = d.valueOffsets as Int32Array;
    for (let i = 0; i <= nrows; i++) {
      if (off[i]! - off[0]! !== i * ncols) throw new MistiqueError('CORRUPT', `stored list column of ${nrows} rows has a row that is not ${ncols} values long`);
    }
    start = off[0]!;
  } else if ((d.type as FixedSizeList).listSize !== ncols) {
    throw new MistiqueError('CORRUPT', `stored list column holds ${(d.type as FixedSizeList).listSize} values per row, metadata says ${ncols}`);
  }
  const n = nrows * ncols;
  if (!child || child.length - start < n || child.nullCount > 0) throw new MistiqueError('CORRUPT', `stored list column holds fewer than the ${n} values of its chunk`);
  if (type === 'bool') {
    const out = new Uint8Array(n);
    unpackBits(child.values as Uint8Array, child.offset + start, n, out, 0);
    return { type, nrows, ncols, values: out, order: 'row' };
  }
  const values = child.values.subarray(start, start + n);
  if (type === 'kbit') {
    const b64 = field.metadata.get(CODEBOOK_KEY);
    if (b64 === undefined) throw new MistiqueError('CORRUPT', 'a stored kbit chunk has lost its codebook');
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length % 4 !== 0 || bytes.length > 1024) throw new MistiqueError('CORRUPT', `a stored kbit chunk's codebook is ${bytes.length} bytes`);
    const codebook = new Float32Array(bytes.length / 4);
    new Uint8Array(codebook.buffer).set(bytes);
    return { type, nrows, ncols, values, order: 'row', codebook };
  }
  return { type, nrows, ncols, values, order: 'row' };
}

function checkColumn(d: Data<DataType>, type: ColumnType, nrows: number): void {
  if (d.length !== nrows) throw new MistiqueError('CORRUPT', `stored column has ${d.length} rows, metadata says ${nrows}`);
  if (d.nullCount > 0 && type !== 'utf8') throw new MistiqueError('CORRUPT', `stored ${type} column has ${d.nullCount} nulls`);
}
