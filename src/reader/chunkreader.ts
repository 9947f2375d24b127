// ChunkReader: answers getIntermediates(keys, { rows }) by reading only the RowBlocks and column
// tiles that hold what was asked, and stitching them into one dense row-major Matrix (where each row and
// column goes: placement.ts; the result's buffer: resultalloc.ts).
import { LRUCache } from 'lru-cache';
import { MistiqueError } from '../errors.js';
import type { ChunkData } from '../model/dataframe.js';
import { schemaColumnName, schemaColumnType, tensorColumnNames } from '../model/dataframe.js';
import {
  Bool, Field, Float32, Float64, Int32, makeData, makeVector, RecordBatch, Schema, Struct, Table, type Data, type DataType, type Vector,
} from 'apache-arrow';
import { columnVector, LazyColumns, Matrix, type MatrixColumn, type MatrixValues } from '../model/matrix.js';
import { allocValues, BYTES_PER_VALUE, type ColumnType } from '../model/types.js';
import type { BlobRow, BlockChunkRow, ChunkRow, MetadataDB } from '../metadata/metadatadb.js';
import type { DataStore } from '../store/datastore.js';
import { identity, pickRows, reconstructor, rowMajor, type Reconstruct } from './reconstruct.js';
import { keyOf, resolveKeys, type Selection } from './resolve.js';
import { RowIndex, type RowPlan } from './rowindex.js';
import { normalizeRows, type RowSelection } from './rowspec.js';
import { ColumnSink, RowMajorSink, type BlockRows, type Sink } from './sink.js';
import { storedAsIs, type TileMap } from './scatter.js';
import type { ScatterInto } from '../store/segmentreader.js';
import type { RowSpan } from '../store/codecs/index.js';
import { workerCount } from '../workers/pool.js';
import { checkAllFound, checkCoverage, dictRemap, groupByBlock, rowSpans, rowsFrom, tileMap } from './placement.js';
import { allocMatrix, matrixKind, selectionTypes } from './resultalloc.js';

export interface QueryOptions {
  /** Row ids to return, in this order; a range is [start, end). Default: all rows of the first intermediate. */
  rows?: RowSelection;
  /** Count this read in the intermediates' query statistics (default true; calibration reads do not). */
  record?: boolean;
}

/** RowBlocks decoded per step of a large read: bounds memory. A query of more blocks is a scan and bypasses the segment cache. */
const BLOCKS_PER_STEP = 16;

/** Steps (of BLOCKS_PER_STEP RowBlocks) a scan decoded straight into a shared result keeps under way. */
const SHARED_STEPS_AHEAD = 3;

/** Whether a read of this many RowBlocks is a scan: it neither uses nor fills the bufferpool's decoded segments. */
export function isScan(blocks: number): boolean {
  return blocks > BLOCKS_PER_STEP;
}

/** Chunk rows kept in the layout cache (intermediates never change once logged, so the cache never goes stale). */
const LAYOUT_CACHE_ROWS = 2_000_000;

interface Layout { blocks: (BlockChunkRow[] | undefined)[]; rows: number }

/** Tensor intermediates whose result columns are kept (wholeColumns). */
const COLUMN_CACHE = 8;

export class ChunkReader {
  private readonly columnCache = new LRUCache<string, readonly MatrixColumn[]>({ max: COLUMN_CACHE });
  /** Per whole tensor intermediate and result position, its column maps (columnMaps). */
  private readonly mapCache = new LRUCache<string, { outCol: Int32Array; tileMaps: Map<number, ReturnType<typeof tileMap>> }>({ max: COLUMN_CACHE });
  /** Per intermediate, the chunks of each RowBlock read so far, weighted by their number of chunk rows. */
  private readonly layouts = new LRUCache<number, Layout>({ maxSize: LAYOUT_CACHE_ROWS, sizeCalculation: (l) => Math.max(1, l.rows) });

  constructor(private readonly db: MetadataDB, private readonly ds: DataStore) {}

  /** Forgets cached layouts and result columns (after intermediates were deleted or partitions rewritten). */
  forget(): void {
    this.layouts.clear();
    this.columnCache.clear();
    this.mapCache.clear();
  }

  /**
   * Reads chunks by the layout cache's blob placements; when they went stale — another process's gc moved
   * the blobs to a new partition — reloads the intermediate's layout once and reads again.
   */
  private async readBlocks(sel: Selection, chunks: BlockChunkRow[], reload: () => BlockChunkRow[], scan: boolean, into?: (chunks: BlockChunkRow[]) => ScatterInto | undefined, spans?: (chunks: BlockChunkRow[]) => Map<number, RowSpan>): Promise<{ chunks: BlockChunkRow[]; data: Map<number, ChunkData>; into?: ScatterInto }> {
    const known = (cs: BlockChunkRow[]): Map<number, BlobRow> => {
      const m = new Map<number, BlobRow>();
      for (const c of cs) if (c.blob) m.set(c.blob_id, c.blob);
      return m;
    };
    try {
      const to = into?.(chunks);
      return { chunks, data: await this.ds.readChunks(chunks.map((c) => c.blob_id), known(chunks), scan, to, spans?.(chunks)), into: to };
    } catch (err) {
      const moved = chunks.some((c) => c.blob && this.db.partition(c.blob.partition_id) === undefined);
      if (!moved) throw err;
      this.layouts.delete(sel.intermediate.id);
      const fresh = reload();
      const to = into?.(fresh);
      return { chunks: fresh, data: await this.ds.readChunks(fresh.map((c) => c.blob_id), known(fresh), scan, to, spans?.(fresh)), into: to };
    }
  }

  /** The chunks of RowBlocks first..last of an intermediate, from the layout cache or the MetadataDB. */
  private blockChunks(sel: Selection, first: number, last: number): BlockChunkRow[] {
    const id = sel.intermediate.id;
    const cached = this.layouts.get(id);
    const entry: Layout = cached ?? { blocks: new Array<BlockChunkRow[] | undefined>(Math.ceil(sel.intermediate.n_rows / sel.intermediate.row_block_size)), rows: 0 };
    const layout = entry.blocks;
    let lo = first;
    while (lo <= last && layout[lo]) lo++;
    let hi = last;
    while (hi >= lo && layout[hi]) hi--;
    if (lo <= hi) {
      // cached only once read and checked whole: a failed read must not leave blocks that look empty
      const rows = this.db.blockChunks(id, lo, hi);
      const fresh = Array.from({ length: hi - lo + 1 }, (): BlockChunkRow[] => []);
      for (const c of rows) {
        const list = fresh[c.block - lo];
        if (!list) throw new MistiqueError('CORRUPT', `the metadata database is damaged: ${keyOf(sel)} has a chunk in RowBlock ${c.block}, outside blocks ${lo}…${hi}; run \`mistique verify\``);
        list.push(c);
      }
      fresh.forEach((list, k) => checkCoverage(sel, lo + k, list));
      fresh.forEach((list, k) => { layout[lo + k] = list; });
      entry.rows += rows.length;
      this.layouts.set(id, entry); // (re)weighed: evicts the least recently used others past the budget
    }
    return layout.slice(first, last + 1).flatMap((b) => b ?? []);
  }

  /** A dense row-major Matrix of the keys' columns, joined on row_id. */
  async getIntermediates(keys: readonly string[], opts: QueryOptions = {}): Promise<Matrix> {
    return this.readSelections(resolveKeys(this.db, keys), opts);
  }

  /**
   * The row ids getIntermediates(keys) returns without `rows` — the first intermediate's, kept where every
   * one has them — from the RowBlock index alone, no value read (a preview reads its first rows only).
   */
  async rowIds(keys: readonly string[]): Promise<Int32Array> {
    return (await this.plan(resolveKeys(this.db, keys), { record: false })).rowIds;
  }

  /** getIntermediates for keys already resolved (the query planner resolves them once). */
  async readSelections(sels: Selection[], opts: QueryOptions = {}): Promise<Matrix> {
    const q = await this.plan(sels, opts);
    const values = allocMatrix(selectionTypes(q.sels), q.rowIds.length * q.ncols, workerCount() > 0);
    await this.run(q, new RowMajorSink(values, q.ncols));
    const s0 = q.sels[0]!;
    const shape = q.sels.length === 1 && s0.schema.shape && wholeInOrder(s0) ? s0.schema.shape : null;
    // a whole tensor's columns are built when the result's consumer first asks for them (then kept for the next)
    return new Matrix(q.rowIds, new LazyColumns(q.ncols, () => q.columns), values, shape);
  }

  /**
   * Every row and column of one intermediate, in stored order, as Matrices of whole RowBlocks holding
   * about `maxBytes` of result values each (at least one RowBlock): what an export streams, with memory
   * bounded by a group whatever the intermediate's size. Counted as one query when the last group is read.
   */
  async *groups(key: string, maxBytes: number): AsyncGenerator<Matrix> {
    const w = await this.wholeBlocks([`${key}.*`]);
    const rowBytes = Math.max(1, w.columns.length * BYTES_PER_VALUE[matrixKind(selectionTypes([w.sel]))]);
    const t0 = performance.now();
    for (let b = 0; b < w.blocks.length;) {
      const group = [b];
      let n = w.blocks[b++]!.n_rows;
      while (b < w.blocks.length && (n + w.blocks[b]!.n_rows) * rowBytes <= maxBytes) { n += w.blocks[b]!.n_rows; group.push(b++); }
      yield await w.read(group);
    }
    this.db.recordQuery(w.sel.intermediate.id, performance.now() - t0);
  }

  /**
   * Reads whole RowBlocks of the columns `keys` select in one intermediate (`read(blocks)`, each call a
   * Matrix of those blocks' rows in block order) — what an export streams and what a zone-map scan reads.
   */
  async wholeBlocks(keys: readonly string[]): Promise<{ sel: Selection; columns: readonly MatrixColumn[]; blocks: { n_rows: number }[]; read(blocks: readonly number[]): Promise<Matrix> }> {
    const sels = resolveKeys(this.db, keys);
    if (sels.length !== 1) throw new MistiqueError('BAD_KEY', `${keys.join(', ')} names ${sels.length} intermediates; give columns of one`);
    const sel = sels[0]!;
    const q = await this.plan([sel], { record: false, rows: new Int32Array(0) });
    const r = sel.intermediate;
    const rowIds = await new RowIndex(this.db, this.ds, r).allRowIds();
    const blocks = this.db.rowblocks(r.id);
    const start = new Int32Array(blocks.length + 1);
    blocks.forEach((b, k) => { start[k + 1] = start[k]! + b.n_rows; });
    const types = [...selectionTypes([sel])];
    const shape = sel.schema.shape && wholeInOrder(sel) ? sel.schema.shape : null;
    const read = async (which: readonly number[]): Promise<Matrix> => {
      const n = which.reduce((a, k) => a + blocks[k]!.n_rows, 0);
      const plan: RowPlan = { block: new Int32Array(n), offset: new Int32Array(n) };
      const ids = new Int32Array(n);
      let i = 0;
      for (const k of which) {
        ids.set(rowIds.subarray(start[k]!, start[k + 1]!), i);
        for (let o = 0; o < blocks[k]!.n_rows; o++, i++) { plan.block[i] = k; plan.offset[i] = o; }
      }
      // each result's text columns get their own dictionaries
      const columns = q.columns.some((c) => c.type === 'utf8') ? q.columns.map((c) => ({ ...c, dictionary: undefined })) : q.columns;
      const values = allocMatrix(types, n * columns.length, workerCount() > 0);
      // a pass over whole RowBlocks (export, zone-map scans): decoded as a scan is, on the worker threads, past the bufferpool
      await this.fill(sel, plan, new RowMajorSink(values, columns.length), () => columns, 0, true);
      return new Matrix(ids, columns, values, shape);
    };
    return { sel, columns: q.columns, blocks, read };
  }

  /** The same columns as an Arrow Table (row_id first), each column in its own type: no transpose. */
  async getTable(keys: readonly string[], opts: QueryOptions = {}): Promise<Table> {
    const q = await this.plan(resolveKeys(this.db, keys), opts);
    if (opts.rows === undefined && isWholeIntermediate(q)) return this.wholeTable(q);
    const n = q.rowIds.length;
    const arrays = q.columns.map((c) => allocValues(c.type, n) as MatrixValues);
    await this.run(q, new ColumnSink(arrays));
    const vectors: Record<string, Vector> = { row_id: makeVector(q.rowIds) };
    q.columns.forEach((c, j) => { vectors[c.key] = columnVector(c, arrays[j]!); });
    return new Table(vectors);
  }

  /**
   * Every row and column of one intermediate without utf8 columns: one RecordBatch per RowBlock whose
   * columns are views of freshly decoded segments (zero-copy; the store keeps no reference to them).
   */
  private async wholeTable(q: Query): Promise<Table> {
    const sel = q.sels[0]!;
    const t0 = performance.now();
    const fields = [new Field('row_id', new Int32(), false), ...q.columns.map((c) => new Field(c.key, arrowType(c.type), false))];
    const schema = new Schema(fields);
    const nBlocks = Math.ceil(sel.intermediate.n_rows / sel.intermediate.row_block_size);
    const batches: RecordBatch[] = [];
    let row = 0;
    for (let b0 = 0; b0 < nBlocks; b0 += BLOCKS_PER_STEP) {
      const load = (): BlockChunkRow[] => this.blockChunks(sel, b0, Math.min(nBlocks, b0 + BLOCKS_PER_STEP) - 1);
      const { chunks, data } = await this.readBlocks(sel, load(), load, true);
      const decode = this.reconstructor(sel);
      for (let i = 0; i < chunks.length;) {
        const block = chunks[i]!.block;
        const children: Data[] = [];
        let n = 0;
        for (; i < chunks.length && chunks[i]!.block === block; i++) {
          const c = chunks[i]!;
          const stored = data.get(c.blob_id)!;
          const chunk = decode(stored);
          n = chunk.nrows;
          for (let k = 0; k < c.n_cols; k++) {
            if (chunk.order === 'row') {
              // a column per value position: gathered from the rows (the transpose a tensor's Arrow table costs)
              const v = allocValues(chunk.type, n) as MatrixValues, w = chunk.ncols;
              for (let i = 0; i < n; i++) v[i] = chunk.values[i * w + k]!;
              children.push(columnData(chunk.type, v));
              continue;
            }
            const v = chunk.values.subarray(k * n, (k + 1) * n) as MatrixValues;
            children.push(columnData(chunk.type, c.blob && chunk === stored ? v : v.slice()));
          }
        }
        children.unshift(makeData({ type: new Int32(), length: n, data: q.rowIds.subarray(row, row + n) }));
        batches.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children })));
        row += n;
      }
    }
    this.db.recordQuery(sel.intermediate.id, performance.now() - t0);
    return new Table(schema, batches);
  }

  /** How this intermediate's stored chunks become values of its logical types (quantized schemes). */
  private reconstructor(sel: Selection): Reconstruct {
    const decode = this.valueDecoder(sel);
    return sel.intermediate.chunk_order === 'row' ? rowMajor(decode) : decode;
  }

  private valueDecoder(sel: Selection): Reconstruct {
    const scheme = sel.intermediate.scheme;
    if (storedAsIs(scheme)) return identity;
    return reconstructor(keyOf(sel), scheme!, this.db.codebook(sel.intermediate.id) ?? null);
  }

  /** Resolves keys and finds every asked row in every intermediate (the plan; `run` does the reading). */
  private async plan(sels: Selection[], opts: QueryOptions): Promise<Query> {
    const unstored = sels.find((s) => s.intermediate.materialized === 0);
    if (unstored) {
      const r = unstored.intermediate;
      throw new MistiqueError('NOT_STORED', `${r.project}.${r.model}.${r.name} is not materialized (policy adaptive): it can only be re-run; query it through the store, which re-runs it`);
    }
    const indexes = sels.map((s) => new RowIndex(this.db, this.ds, s.intermediate));
    let rowIds = opts.rows !== undefined ? normalizeRows(opts.rows) : await indexes[0]!.allRowIds();
    let plans = await Promise.all(indexes.map((ix) => ix.locate(rowIds)));
    if (opts.rows !== undefined) {
      plans.forEach((p, s) => checkAllFound(p, rowIds, sels[s]!));
    } else if (plans.length > 1) {
      // Intermediates are joined on row_id: keep the rows every intermediate has.
      const keep = rowIds.map((_, i) => (plans.every((p) => p.block[i]! >= 0) ? 1 : 0));
      if (keep.includes(0)) {
        rowIds = rowIds.filter((_, i) => keep[i] === 1);
        plans = plans.map((p) => ({ block: p.block.filter((_, i) => keep[i] === 1), offset: p.offset.filter((_, i) => keep[i] === 1) }));
      }
    }
    // one whole tensor: its frozen columns as they are (a wide layer's copy cost more than a one-row read),
    // built when first asked for
    if (sels.length === 1 && this.isWhole(sels[0]!)) {
      const s0 = sels[0]!, whole = (): readonly MatrixColumn[] => this.wholeColumns(s0)!;
      return { sels, rowIds, plans, ncols: s0.cols.length, get columns() { return whole(); }, record: opts.record !== false };
    }
    const columns: MatrixColumn[] = [];
    for (const s of sels) {
      const whole = this.wholeColumns(s);
      if (whole) {
        for (const c of whole) columns.push(c);
        continue;
      }
      const prefix = `${keyOf(s)}.`;
      for (const j of s.cols) {
        const name = schemaColumnName(s.schema, j);
        columns.push({ key: prefix + name, name, type: schemaColumnType(s.schema, j) });
      }
    }
    return { sels, rowIds, plans, columns, ncols: columns.length, record: opts.record !== false };
  }

  /** Whether wholeColumns gives a selection's result columns. */
  private isWhole(s: Selection): boolean {
    return !s.schema.names && wholeInOrder(s);
  }

  /**
   * The result columns of a selection of every column of a tensor, in order — built once per intermediate
   * (results share them: the array is frozen), since a wide layer's 100 000s of column objects cost more
   * than its read. The columns are not frozen one by one: that took two thirds of building them (~0.18 of
   * 0.27 ms for a 6 272-column layer), all of it in a store's first query.
   */
  private wholeColumns(s: Selection): readonly MatrixColumn[] | null {
    if (!this.isWhole(s)) return null;
    const prefix = `${keyOf(s)}.`;
    const key = `${s.intermediate.id}:${prefix}`; // by name too: adaptive materialization renames an id
    let cols = this.columnCache.get(key);
    if (!cols) {
      const type = schemaColumnType(s.schema, 0);
      const names = tensorColumnNames(s.schema.shape!);
      const out = new Array<MatrixColumn>(names.length);
      for (let j = 0; j < names.length; j++) out[j] = { key: prefix + names[j]!, name: names[j]!, type };
      cols = Object.freeze(out);
      this.columnCache.set(key, cols);
    }
    return cols;
  }

  /**
   * The result column of each of the intermediate's columns (−1 where not asked), and per chunk tile
   * (by its first column) the columns it holds → result columns, the same for every RowBlock. For every
   * column in order they are the same for every query too, and kept: a wide layer's maps
   * cost a one-row read more than copying its row.
   */
  private columnMaps(sel: Selection, colBase: number): { outCol: Int32Array; tileMaps: Map<number, ReturnType<typeof tileMap>> } {
    const whole = wholeInOrder(sel);
    const key = `${sel.intermediate.id}:${colBase}`;
    const kept = whole ? this.mapCache.get(key) : undefined;
    if (kept && kept.outCol.length === sel.intermediate.n_cols) return kept;
    const outCol = new Int32Array(sel.intermediate.n_cols).fill(-1);
    const cols = sel.cols;
    for (let k = 0; k < cols.length; k++) outCol[cols[k]!] = colBase + k;
    const maps = { outCol, tileMaps: new Map<number, ReturnType<typeof tileMap>>() };
    if (whole) this.mapCache.set(key, maps);
    return maps;
  }

  private async run(q: Query, sink: Sink): Promise<void> {
    let colBase = 0;
    for (let s = 0; s < q.sels.length; s++) {
      const sel = q.sels[s]!;
      const t0 = performance.now();
      await this.fill(sel, q.plans[s]!, sink, () => q.columns, colBase);
      if (q.record) this.db.recordQuery(sel.intermediate.id, performance.now() - t0);
      colBase += sel.cols.length;
    }
  }

  /** Copies the selected columns of one intermediate into the sink, a few RowBlocks at a time. */
  private async fill(sel: Selection, plan: RowPlan, sink: Sink, columns: () => readonly MatrixColumn[], colBase: number, asScan = false): Promise<void> {
    const { outCol, tileMaps } = this.columnMaps(sel, colBase);
    const rowsByBlock = groupByBlock(plan);
    const blocks = [...rowsByBlock.keys()].sort((a, b) => a - b);
    const dicts = new Map<number, Map<string, number>>();
    const mapOf = (c: ChunkRow): ReturnType<typeof tileMap> => {
      let m = tileMaps.get(c.col_start);
      if (!m || m.width !== c.n_cols) tileMaps.set(c.col_start, (m = tileMap(c, outCol)));
      return m;
    };
    const scan = asScan || isScan(blocks.length);
    // a scan of a tensor into a shared result decodes and copies its chunks on the worker threads
    const shared = scan && sel.intermediate.chunk_order === 'row' && sink instanceof RowMajorSink && sink.out.buffer instanceof SharedArrayBuffer ? sink : null;
    const codebook = shared && !storedAsIs(sel.intermediate.scheme) ? this.db.codebook(sel.intermediate.id) ?? null : null;
    const fewRowsFirst = sel.intermediate.chunk_order === 'row' && !storedAsIs(sel.intermediate.scheme);
    const into = (chunks: BlockChunkRow[]): ScatterInto | undefined => {
      if (!shared) return undefined;
      const tiles: TileMap[] = [], blocksOut: BlockRows[] = [];
      const tileAt = new Map<string, number>(), blockAt = new Map<number, number>();
      const places = new Map<number, { tile: number; block: number }[]>();
      for (const c of chunks) {
        const tk = `${c.col_start}:${c.n_cols}`;
        let tile = tileAt.get(tk);
        if (tile === undefined) { const m = mapOf(c); tileAt.set(tk, (tile = tiles.length)); tiles.push({ ks: m.ks, ocs: m.ocs }); }
        let block = blockAt.get(c.block);
        if (block === undefined) { blockAt.set(c.block, (block = blocksOut.length)); blocksOut.push(rowsByBlock.get(c.block)!); }
        const list = places.get(c.blob_id);
        if (list) list.push({ tile, block });
        else places.set(c.blob_id, [{ tile, block }]);
      }
      const task = { out: shared.out, ncols: shared.ncols, key: keyOf(sel), scheme: sel.intermediate.scheme, codebook, tiles, blocks: blocksOut };
      return { task, place: (id) => places.get(id) ?? [] };
    };
    const read = (s: number): ReturnType<ChunkReader['readBlocks']> => {
      const step = blocks.slice(s, s + BLOCKS_PER_STEP);
      const wanted = new Set(step);
      const load = (): BlockChunkRow[] => this.blockChunks(sel, step[0]!, step[step.length - 1]!)
        .filter((c) => wanted.has(c.block) && mapOf(c).ks.length > 0);
      // a read of a few rows tells the store which, where its codec can decode those alone
      return this.readBlocks(sel, load(), load, scan, into, scan || !this.ds.codec.decodeRows ? undefined : (cs) => rowSpans(cs, rowsByBlock));
    };
    // a scan reads the next step while this one's rows are copied (two steps in memory at most; a scan
    // decoded by the workers holds only encoded bytes, so it keeps more under way)
    const ahead = shared ? SHARED_STEPS_AHEAD : 1;
    const queue: ReturnType<ChunkReader['readBlocks']>[] = [];
    let issued = 0;
    const issue = (): void => {
      for (; queue.length < ahead && issued < blocks.length; issued += BLOCKS_PER_STEP) {
        const p = read(issued);
        p.catch(() => undefined); // awaited in turn; an earlier step's failure must not leave it unhandled
        queue.push(p);
      }
    };
    for (let s = 0; s < blocks.length; s += BLOCKS_PER_STEP) {
      issue();
      const { chunks, data, into: placed } = await queue.shift()!;
      issue();
      const decode = this.reconstructor(sel);
      for (const c of chunks) {
        let rows = rowsByBlock.get(c.block)!;
        let stored = data.get(c.blob_id);
        if (!stored && placed && placed.place(c.blob_id).length > 0) continue; // decoded into the result by a worker
        if (stored!.firstRow !== undefined) rows = rowsFrom(rows, stored!.firstRow);
        // a few rows of a quantized row-major chunk: decode those rows only
        if (fewRowsFirst && rows.offsets.length * 2 <= stored!.nrows) ({ chunk: stored, rows } = pickRows(stored!, rows));
        const chunk = decode(stored!);
        if (chunk.order === 'row') {
          const m = mapOf(c);
          sink.copyRows(chunk, rows, m.ks, m.ocs);
          continue;
        }
        for (let k = 0; k < c.n_cols; k++) {
          const oc = outCol[c.col_start + k] ?? -1;
          if (oc < 0) continue;
          sink.copy(chunk, k, rows, oc, chunk.type === 'utf8' ? dictRemap(chunk, dicts, oc, columns()) : null);
        }
      }
    }
  }
}

interface Query {
  record: boolean;
  sels: Selection[];
  rowIds: Int32Array;
  plans: RowPlan[];
  /** The result's columns (a whole tensor's built on first access); `ncols` of them. */
  readonly columns: readonly MatrixColumn[];
  ncols: number;
}

/** Every column of the intermediate, in stored order: a result that keeps the tensor's shape. */
function wholeInOrder(s: Selection): boolean {
  return s.all === true || (s.cols.length === s.intermediate.n_cols && s.cols.every((j, k) => j === k));
}

function isWholeIntermediate(q: Query): boolean {
  if (q.sels.length !== 1) return false;
  const s = q.sels[0]!;
  if (!wholeInOrder(s)) return false;
  for (const t of selectionTypes(q.sels)) if (t === 'utf8') return false;
  return true;
}

function arrowType(t: ColumnType): DataType {
  return t === 'float64' ? new Float64() : t === 'float32' ? new Float32() : t === 'bool' ? new Bool() : new Int32();
}

function columnData(type: ColumnType, v: MatrixValues): Data {
  if (type === 'bool') {
    const bits = new Uint8Array(Math.ceil(v.length / 8));
    for (let i = 0; i < v.length; i++) if (v[i]) bits[i >> 3]! |= 1 << (i & 7);
    return makeData({ type: new Bool(), length: v.length, data: bits });
  }
  return makeData({ type: arrowType(type) as Float64, length: v.length, data: v as Float64Array });
}

