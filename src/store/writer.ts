// IntermediateWriter: streams one intermediate into the DataStore, batch by batch. Rows are cut into
// RowBlocks, columns into tiles; every ColumnChunk is hashed, de-duplicated or placed, and the whole
// intermediate is registered in the MetadataDB in one transaction on close.
import { MistiqueError } from '../errors.js';
import type { ChunkData, DataFrame, FrameSchema } from '../model/dataframe.js';
import type { ChunkOrder, ChunkRow, ColumnRow, MetadataDB, RowBlockRow } from '../metadata/metadatadb.js';
import { allocValues, type ColumnType } from '../model/types.js';
import { align8, hashChunk, rawByteLength } from './chunk.js';
import type { DataStore, Placement } from './datastore.js';
import { BLOCK_BYTES, tensorGeometry } from './geometry.js';
import { encode } from '../workers/pool.js';

const NO_HASH = Buffer.alloc(0);
/** Raw bytes of an unmaterialized intermediate's first RowBlock encoded to estimate its stored size (a wide layer's RowBlock is 100 MB). */
const SAMPLE_BYTES = 1 << 20;

export interface WriterOptions {
  /** Rows per RowBlock of a table, and the most a tensor's RowBlock holds (store/geometry.ts). */
  rowBlockSize: number;
  /** A RowBlock of a wide frame holds at most this many chunks: wider frames get tiles of adjacent columns. */
  maxChunksPerBlock: number;
  scheme?: string;
  originalName?: string | null;
  /** Approximate de-duplication for this intermediate's chunks (default: yes for named columns, no for tensors). */
  approximate?: boolean;
  /** The type readers get when the frames hold a quantized physical type (float16, uint8, bool bits). */
  logicalType?: ColumnType;
  /** KBIT_QT codebook (value per code), stored with the intermediate (frames of uint8 codes made with it). */
  codebook?: Float32Array;
  /**
   * KBIT_QT with k bits, done here chunk by chunk (quantize/kbit.ts kbitBlock): frames hold the float32
   * values and every chunk is stored as codes with a codebook of its own, so no value is clipped.
   */
  kbit?: number;
  /**
   * false: nothing is stored; the intermediate is registered with its schema and statistics only (policy
   * adaptive, until queries make it worth its bytes). Default true.
   */
  materialize?: boolean;
}

export interface IntermediateInfo {
  key: string;
  id: number;
  rows: number;
  columns: number;
  chunks: number;
  chunksDeduplicated: number;
  bytesRaw: number;
  bytesNew: number;
  ms: number;
}

interface Piece { frame: DataFrame; r0: number; r1: number }
export interface Tile { c0: number; w: number; type: ColumnType }

export class IntermediateWriter {
  private schema: FrameSchema | null = null;
  private tiles: Tile[] = [];
  private blockRows = 0;
  private order: ChunkOrder = 'col';
  private pending: Piece[] = [];
  private pendingRows = 0;
  private readonly place: Placement = { partition: null };
  private readonly rowblocks: RowBlockRow[] = [];
  private readonly chunks: ChunkRow[] = [];
  private nrows = 0;
  private nblocks = 0;
  /** Unmaterialized: the first RowBlock's chunks, encoded on close to estimate the stored size. */
  private sample: ChunkData[] | null = null;
  private ncols = 0;
  private bytesRaw = 0;
  private bytesNew = 0;
  private nDedup = 0;
  private monotonic = true;
  private lastId = -Infinity;
  private firstId = 0;
  private seenIds: Set<number> | null = null;
  private readonly idPieces: Int32Array[] = [];
  private done = false;
  private approximate = false;
  private readonly t0 = performance.now();

  constructor(
    private readonly ds: DataStore,
    private readonly db: MetadataDB,
    readonly key: { project: string; model: string; intermediate: string },
    private readonly opts: WriterOptions,
  ) {
    if (db.intermediateId(key.project, key.model, key.intermediate) !== undefined) {
      throw new MistiqueError('EXISTS', `intermediate ${this.keyString} is already stored: log under a new model name (e.g. a new checkpoint) or another intermediate name, put the new data in its place (\`log(…, { replace: true })\`, \`mistique log … --replace\`), or delete it first (\`mistique rm ${this.keyString}\`)`);
    }
    ds.openWriters++;
  }

  get keyString(): string {
    return `${this.key.project}.${this.key.model}.${this.key.intermediate}`;
  }

  /** Adds rows. The batch is checked whole before anything is kept, so a bad batch changes nothing. */
  async append(frame: DataFrame): Promise<void> {
    if (this.done) throw new MistiqueError('CLOSED', `writer for ${this.keyString} is closed`);
    this.checkSchema(frame);
    this.checkRowIds(frame.rowIds);
    if (frame.nrows === 0) return;
    this.pending.push({ frame, r0: 0, r1: frame.nrows });
    this.pendingRows += frame.nrows;
    this.nrows += frame.nrows;
    const B = this.blockRows;
    while (this.pendingRows >= B) {
      await this.emitBlock(this.takeRows(B));
      await this.ds.settle(this.place);
    }
  }

  async close(): Promise<IntermediateInfo> {
    if (this.done) throw new MistiqueError('CLOSED', `writer for ${this.keyString} is closed`);
    if (!this.schema) throw new MistiqueError('BAD_FRAME', `nothing was appended to ${this.keyString}: an intermediate needs at least one batch`);
    try {
      if (this.pendingRows > 0) await this.emitBlock(this.takeRows(this.pendingRows));
      await this.ds.settle(this.place);
      const bytesEst = this.opts.materialize === false ? await this.estimateStored() : null;
      const ms = performance.now() - this.t0;
      // durable once the partitions holding its chunks are written: until then only this handle sees it
      const unwritten = this.ds.unwritten([...this.chunks.map((c) => c.blob_id), ...this.rowblocks.map((r) => r.rowid_blob)]);
      const id = this.db.insertIntermediate({
        ...this.key,
        name: this.key.intermediate,
        originalName: this.opts.originalName ?? null,
        nRows: this.nrows,
        nCols: this.ncols,
        shape: this.schema.shape,
        scheme: this.opts.scheme ?? 'none',
        rowBlockSize: this.blockRows,
        tileCols: this.tiles.reduce((m, t) => Math.max(m, t.w), 1),
        chunkOrder: this.order,
        rowIdStart: this.monotonic && this.lastId - this.firstId === this.nrows - 1 ? this.firstId : null,
        policy: this.ds.opts.policy,
        bytesRaw: this.bytesRaw,
        bytesNew: this.bytesNew,
        nChunksDedup: this.nDedup,
        tLogMs: ms,
        columns: columnRows(this.schema, this.opts.logicalType),
        codebook: this.opts.codebook ?? null,
        rowblocks: this.rowblocks,
        chunks: this.chunks,
        materialized: this.opts.materialize !== false,
        bytesEst,
        writer: unwritten.length > 0 ? this.db.writer : null,
      });
      if (unwritten.length > 0) this.ds.track(id, unwritten);
      return {
        key: this.keyString, id, rows: this.nrows, columns: this.ncols, chunks: this.chunks.length,
        chunksDeduplicated: this.nDedup, bytesRaw: this.bytesRaw, bytesNew: this.bytesNew, ms,
      };
    } finally {
      this.finish();
    }
  }

  /**
   * What storing an unmaterialized intermediate would take on disk: its first RowBlock (up to
   * SAMPLE_BYTES of it) encoded with the store's codec gives its own compression ratio (a feature table
   * and a tensor of noise differ by 10×; γ divides by this). No RowBlock means no rows: nothing to store.
   */
  private async estimateStored(): Promise<number> {
    if (!this.sample) return 0;
    // laid out as a segment lays its chunks out: each 8-byte aligned (> 0: the row ids are in it)
    const raw = this.sample.reduce((a, c) => a + align8(rawByteLength(c)), 0);
    const enc = await this.ds.codec.encode(this.sample, raw);
    return Math.round(this.bytesRaw * (enc.byteLength / raw));
  }

  /** Gives up: nothing of this intermediate is registered (chunks already placed stay as unreferenced data). */
  abort(): void {
    if (!this.done) this.finish();
  }

  private finish(): void {
    if (!this.done) this.ds.openWriters--;
    this.done = true;
    this.pending = [];
    this.sample = null;
    this.ds.release(this.place);
  }

  private checkSchema(frame: DataFrame): void {
    const s = frame.schema();
    if (!this.schema) {
      this.schema = s;
      this.ncols = frame.ncols;
      if (this.opts.kbit !== undefined && (s.names !== null || s.types[0] !== 'float32')) {
        throw new MistiqueError('BAD_FRAME', `KBIT_QT quantizes float32 tensors: ${this.keyString} got ${describeSchema(s, frame.ncols)}`);
      }
      if (s.names === null) {
        const g = tensorGeometry(s.shape!, this.opts.kbit !== undefined ? 'kbit' : s.types[0]!, this.opts.rowBlockSize, BLOCK_BYTES[this.ds.codec.id]);
        this.order = 'row';
        this.blockRows = g.blockRows;
        this.tiles = [];
        for (let c0 = 0; c0 < frame.ncols; c0 += g.chunkCols) this.tiles.push({ c0, w: Math.min(g.chunkCols, frame.ncols - c0), type: s.types[0]! });
      } else {
        this.blockRows = this.opts.rowBlockSize;
        this.tiles = planTiles(frame, this.opts.maxChunksPerBlock);
      }
      this.approximate = this.opts.approximate ?? s.names !== null;
      return;
    }
    const a = this.schema;
    const same = frame.ncols === this.ncols && JSON.stringify(a) === JSON.stringify(s);
    if (!same) {
      throw new MistiqueError('BAD_FRAME', `batch for ${this.keyString} has columns ${describeSchema(s, frame.ncols)} but earlier batches had ${describeSchema(a, this.ncols)}: every batch needs the same columns, types and shape`);
    }
  }

  private checkRowIds(ids: Int32Array): void {
    const n = ids.length;
    if (n === 0) return;
    let mono = this.monotonic && ids[0]! > this.lastId;
    // Stryker disable next-line EqualityOperator: a frame's row ids are unique (DataFrame checks), so no two in a batch are equal
    for (let i = 1; i < n && mono; i++) mono = ids[i]! > ids[i - 1]!;
    if (!mono) {
      if (!this.seenIds) {
        this.seenIds = new Set();
        for (const p of this.idPieces) for (const v of p) this.seenIds.add(v);
      }
      for (let i = 0; i < n; i++) {
        if (this.seenIds.has(ids[i]!)) throw new MistiqueError('BAD_FRAME', `row id ${ids[i]} of this batch was already logged in ${this.keyString}: row ids must be unique`);
      }
      for (const v of ids) this.seenIds.add(v);
      this.monotonic = false;
    }
    if (this.nrows === 0) this.firstId = ids[0]!;
    this.lastId = Math.max(this.lastId, ids[n - 1]!);
    if (!this.seenIds) this.idPieces.push(ids);
  }

  private takeRows(n: number): Piece[] {
    const out: Piece[] = [];
    let need = n;
    while (need > 0) {
      const p = this.pending[0]!;
      const take = Math.min(need, p.r1 - p.r0);
      out.push({ frame: p.frame, r0: p.r0, r1: p.r0 + take });
      p.r0 += take;
      need -= take;
      if (p.r0 === p.r1) this.pending.shift();
    }
    this.pendingRows -= n;
    return out;
  }

  private async emitBlock(pieces: Piece[]): Promise<void> {
    const chunks = await this.blockChunks(pieces);
    const block = this.nblocks;
    // slice, not subarray: the partition keeps the chunk, the caller keeps its frame.
    const ids = concatChunks(pieces.map((p) => ({ type: 'int32', nrows: p.r1 - p.r0, ncols: 1, values: p.frame.rowIds.slice(p.r0, p.r1) })));
    const idv = ids.values as Int32Array;
    let min = idv[0]!, max = idv[0]!, sorted = 1;
    for (let i = 1; i < idv.length; i++) {
      const v = idv[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v <= idv[i - 1]!) sorted = 0;
    }
    if (this.opts.materialize === false) {
      // registered, not stored: count what storing would take, keep (up to 1 MB of) the first RowBlock as a sample
      this.bytesRaw += rawByteLength(ids);
      const sample: ChunkData[] | null = this.sample ? null : [ids];
      let sampled = 0;
      for (const chunk of chunks) {
        const raw = rawByteLength(chunk);
        this.bytesRaw += raw;
        if (sample && sampled < SAMPLE_BYTES) { sample.push(chunk); sampled += raw; }
      }
      if (sample) this.sample = sample;
      this.bytesNew = this.bytesRaw;
      this.nblocks++;
      return;
    }
    const rowidBlob = this.put(ids, false);
    this.rowblocks.push({ block, n_rows: idv.length, min_row_id: min, max_row_id: max, sorted, rowid_blob: rowidBlob });
    this.nblocks++;
    this.tiles.forEach((t, i) => this.chunks.push({ block, col_start: t.c0, n_cols: t.w, blob_id: this.put(chunks[i]!, true) }));
  }

  /** The chunks of a RowBlock, one per tile, in this intermediate's chunk order; KBIT_QT on the encode workers. */
  private async blockChunks(pieces: Piece[]): Promise<ChunkData[]> {
    const plain = this.tiles.map((t) => concatChunks(pieces.map((p) => (this.order === 'row' ? p.frame.extractRows(p.r0, p.r1, t.c0, t.w) : p.frame.extract(p.r0, p.r1, t.c0, t.w)))));
    const k = this.opts.kbit;
    if (k === undefined) return plain;
    const blocks = await encode({ op: 'kbit', chunks: plain.map((c) => c.values as Float32Array), k });
    return plain.map((c, i) => ({ type: 'kbit', nrows: c.nrows, ncols: c.ncols, values: blocks[i]!.codes, order: 'row', codebook: blocks[i]!.book }));
  }

  /** Stores or de-duplicates one chunk; bytes count row ids too, chunk counts only data chunks. */
  private put(chunk: ChunkData, isData: boolean): number {
    // store_all never looks a chunk up: hashing it would be pure overhead
    // Stryker disable next-line ConditionalExpression: hashing under store_all too changes only the time (findDuplicate never looks)
    const hash = this.ds.opts.policy === 'dedup' ? hashChunk(chunk) : NO_HASH;
    const raw = rawByteLength(chunk);
    this.bytesRaw += raw;
    const dup = this.ds.findDuplicate(hash);
    if (dup !== undefined) {
      if (isData) this.nDedup++;
      return dup;
    }
    this.bytesNew += raw;
    return this.ds.add(this.place, chunk, hash, isData && this.approximate);
  }
}

/** Tiles: runs of up to w adjacent columns of one type, w chosen so a RowBlock has at most `maxChunks` chunks. */
export function planTiles(frame: DataFrame, maxChunks: number): Tile[] {
  const C = frame.ncols;
  const w = Math.max(1, Math.ceil(C / maxChunks));
  const tiles: Tile[] = [];
  let j = 0;
  while (j < C) {
    const type = frame.columnType(j);
    let k = 1;
    while (k < w && j + k < C && frame.columnType(j + k) === type) k++;
    tiles.push({ c0: j, w: k, type });
    j += k;
  }
  return tiles;
}

/** Stacks chunks of the same columns over consecutive row ranges (merging utf8 dictionaries). */
export function concatChunks(parts: ChunkData[]): ChunkData {
  if (parts.length === 1) return parts[0]!;
  const { type, ncols } = parts[0]!;
  const n = parts.reduce((a, p) => a + p.nrows, 0);
  const out = allocValues(type, n * ncols);
  if (parts[0]!.order === 'row') {
    let at = 0;
    for (const p of parts) { out.set(p.values, at); at += p.values.length; }
    return { type, nrows: n, ncols, values: out, order: 'row' };
  }
  let dictionary: string[] | undefined;
  const index = new Map<string, number>();
  let r = 0;
  for (const p of parts) {
    if (type === 'utf8') {
      dictionary ??= [];
      const remap = (p.dictionary ?? []).map((s) => {
        let c = index.get(s);
        if (c === undefined) { c = dictionary!.length; dictionary!.push(s); index.set(s, c); }
        return c;
      });
      for (let k = 0; k < ncols; k++) {
        for (let i = 0; i < p.nrows; i++) {
          const c = (p.values as Int32Array)[k * p.nrows + i]!;
          (out as Int32Array)[k * n + r + i] = c < 0 ? -1 : remap[c]!;
        }
      }
    } else {
      for (let k = 0; k < ncols; k++) out.set(p.values.subarray(k * p.nrows, (k + 1) * p.nrows), k * n + r);
    }
    r += p.nrows;
  }
  return dictionary ? { type, nrows: n, ncols, values: out, dictionary } : { type, nrows: n, ncols, values: out };
}

function columnRows(s: FrameSchema, logical?: ColumnType): ColumnRow[] {
  if (!s.names) return [{ idx: 0, name: null, type: logical ?? s.types[0]!, count: s.shape!.reduce((a, b) => a * b, 1) }];
  return s.names.map((name, idx) => ({ idx, name, type: logical ?? s.types[idx]!, count: 1 }));
}

function describeSchema(s: FrameSchema, ncols: number): string {
  if (!s.names) return `[tensor ${s.types[0]} shape ${JSON.stringify(s.shape)}]`;
  const parts = s.names.slice(0, 6).map((n, i) => `${n}:${s.types[i]}`);
  return `[${parts.join(', ')}${ncols > 6 ? `, … ${ncols} in all` : ''}]${s.shape ? ` shape ${JSON.stringify(s.shape)}` : ''}`;
}
