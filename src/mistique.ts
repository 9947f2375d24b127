// The Store: wires what storedir.ts opens — the MetadataDB, the DataStore (with its write
// lock and crash recovery), the ChunkReader, the query planner and the executors behind one API.
import type { SqlOptions, SqlResult, SqlSession } from './sql/sql.js';
import type { ExportedFile, ExportOptions } from './export/export.js';
import type { StreamOptions, StreamSummary } from './executor/stream.js';
import fs from 'node:fs';
import os from 'node:os';
import type { Table } from 'apache-arrow';
import path from 'node:path';
import { MistiqueError } from './errors.js';
import { WriteLock } from './store/writelock.js';
import { verifyStore, type VerifyReport } from './store/verify.js';
import { collectGarbage, type GcOptions, type GcReport } from './store/gc.js';
import { DataFrame, type FrameInput } from './model/dataframe.js';
import { parseIntermediateKey } from './model/key.js';
import { listIntermediates, storeStats } from './catalog.js';
import type { Matrix } from './model/matrix.js';
import type { IntermediateRow, MetadataDB } from './metadata/metadatadb.js';
import { inUse, planDelete, strandedBy } from './metadata/deleteplan.js';
import { materializableFromRerun, QueryPlanner, type Estimate, type PlannedQueryOptions, type RerunOutput } from './reader/planner.js';
import type { Band } from './costmodel/index.js';
import { toFrame } from './executor/table.js';
import { ChunkReader, type QueryOptions } from './reader/chunkreader.js';
import type { RowSelection } from './reader/rowspec.js';
import { resolveKeys } from './reader/resolve.js';
import { IdleCalibration, wrapCalls } from './reader/idlecalibration.js';
import { strayIndexFiles, type IndexInfo } from './reader/vectorindex.js';
import { Neighbours } from './reader/neighbours.js';
import type { KnnResult, Metric } from './diagnostics/knn.js';
import type { TopK } from './diagnostics/queries.js';
import { probeFrames } from './reader/probe.js';
import { schemeFamily, type ReadRate } from './reader/readrates.js';
import type { CodecId } from './store/codecs/index.js';
import type { DataStore } from './store/datastore.js';
import type { StoreManifest } from './store/manifest.js';
import { openStoreDir } from './storedir.js';
import { IntermediateWriter, type IntermediateInfo, type WriterOptions } from './store/writer.js';
// the executors (onnxruntime, the YAML parser, the operators) load on first use: `mistique ls` and
// plain reads start without them
import type { PipelineRun, RerunResult, RunOptions } from './executor/pipeline.js';
import type { PipelineSpec } from './executor/spec.js';
import type { DnnInputs, DnnLogOptions, DnnRun, LayerRerun } from './executor/onnx/dnn.js';
const pipelineExecutor = (): Promise<typeof import('./executor/pipeline.js')> => import('./executor/pipeline.js');
const networkExecutor = (): Promise<typeof import('./executor/onnx/dnn.js')> => import('./executor/onnx/dnn.js');

export type { IntermediateSummary, LogOptions, StoreOptions, StorePolicy, StoreStats } from './storetypes.js';
import type { IntermediateSummary, LogOptions, StoreOptions, StorePolicy, StoreStats } from './storetypes.js';

const MB = 1024 * 1024;

export class Store {
  private closed = false;
  private readonly reader: ChunkReader;
  private readonly planner: QueryPlanner;
  private readonly lock: WriteLock;
  private readonly flushTimer: NodeJS.Timeout;
  /** A read-only store: removes the scratch copy its MetadataDB was opened on (null: opened in place). */
  private scratch: (() => void) | null = null;
  /** KNN and the vector indexes that answer it. */
  private readonly neighbours: Neighbours;
  /** DuckDB for store.sql, opened by the first query and closed with the store. */
  private sqlSession: Promise<SqlSession> | null = null;
  private sqlSandbox: Promise<SqlSession> | null = null;
  /**
   * What writers that died (kill -9, OOM, a crash) had logged but not made durable, removed when this
   * handle opened the store or first wrote to it (only then is no other writer alive).
   */
  readonly recovered: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly db: MetadataDB,
    private readonly ds: DataStore,
    private readonly manifest: StoreManifest,
    readonly policy: StorePolicy,
    readonly gammaMin: number,
    /** What a scratch store of the same make needs (the read probe). */
    private readonly make: Pick<StoreOptions, 'gzipLevel' | 'parquetCompression' | 'segmentBytes'>,
    private readonly writeOpts: { lockTimeoutMs: number; durable: boolean; flushMs: number },
  ) {
    this.reader = new ChunkReader(db, ds);
    this.planner = new QueryPlanner(db, ds, this.reader, {
      trad: async (project, model, stage, rows) => (await pipelineExecutor()).rerunStage(db, project, model, stage, rows),
      dnn: async (modelKey, layer, rows) => (await networkExecutor()).rerunLayer(this, modelKey, layer, rows, undefined, { asStored: true }),
      materialize: (row, full) => this.materialize(row, full),
      probeReads: (scheme) => this.probeReads(scheme),
    }, { enabled: policy === 'adaptive', gammaMin }, manifest.codec,
    // deferred calibrations wait while writers are open (logging) or data waits unflushed, not only while calls run
    new IdleCalibration(() => ds.openWriters > 0 || ds.unflushedBytes > 0));
    this.neighbours = new Neighbours({
      dir, db, reader: this.reader, adaptive: policy === 'adaptive',
      getIntermediates: (keys, opts) => this.getIntermediates(keys, opts),
      writable: () => this.writable(),
      canWrite: () => this.lock.free(),
      ifUnlocked: (fn) => this.asProbe(fn),
    });
    this.lock = new WriteLock(dir);
    // recovery needs the write lock (no writer alive); a reader that cannot have it leaves the live writer be
    if (this.lock.acquire(0, false)) {
      try { this.recover(); } finally { this.lock.release(); }
    }
    // what waits in memory is written out at least every flushMs, even while the caller computes
    this.flushTimer = setInterval(() => {
      if (this.ds.unflushedBytes > 0 && Date.now() - this.ds.unflushedSince >= this.writeOpts.flushMs) this.ds.flushAll().catch(() => undefined);
    }, Math.min(1000, this.writeOpts.flushMs));
    this.flushTimer.unref();
  }

  private recover(): void {
    this.recovered.push(...this.db.recoverDeadWriters());
    this.ds.resumeIds();
  }

  /** Takes the write lock before the first write (recovering what a dead writer left), or fails with LOCKED. */
  private writable(): void {
    if (this.lock.held) return;
    this.lock.acquire(this.writeOpts.lockTimeoutMs);
    this.recover();
  }

  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    const d = await openStoreDir(dir, opts);
    const store = new Store(d.root, d.db, d.ds, d.manifest, d.policy, d.gammaMin, { gzipLevel: opts.gzipLevel, parquetCompression: opts.parquetCompression, segmentBytes: opts.segmentBytes },
      { lockTimeoutMs: d.settings.lockTimeoutMs, durable: d.settings.durable, flushMs: d.settings.flushMs });
    store.scratch = d.scratch;
    return store;
  }

  get codec(): CodecId { return this.manifest.codec; }
  get rowBlockSize(): number { return this.manifest.rowBlockSize; }

  /** Logs one intermediate computed by the caller, under `project.model.intermediate`. */
  async log(key: string, frame: FrameInput, opts: LogOptions = {}): Promise<IntermediateInfo> {
    return this.logBatches(key, [DataFrame.from(frame, opts)], opts);
  }

  /**
   * Logs one intermediate from batches of rows (frames of the same columns, row ids distinct across them),
   * as `log` does one frame: what waits in memory is the bufferpool and the batch at hand, whatever the
   * intermediate's size. Nothing is registered unless every batch is. Options as `log`'s (`shape` and
   * `rowIds` belong to each frame).
   */
  async logBatches(key: string, batches: Iterable<DataFrame> | AsyncIterable<DataFrame>, opts: LogOptions = {}): Promise<IntermediateInfo> {
    if (opts.replace) return this.replaceLog(key, batches, opts);
    const w = this.writer(key, opts);
    let info: IntermediateInfo;
    try {
      for await (const df of batches) await w.append(df);
      info = await w.close();
    } catch (err) {
      w.abort();
      throw err;
    }
    if (opts.durable ?? this.writeOpts.durable) await this.ds.flushAll();
    return info;
  }

  /**
   * `log(…, { replace: true })`: the new data is written under a temporary name and made durable, then put
   * in the old one's place in one transaction — a reader sees the old intermediate or the new one, never
   * neither. (A crash between the two leaves the new one under `<name>-replacing-<id>`; rm it or re-run.)
   */
  private async replaceLog(key: string, batches: Iterable<DataFrame> | AsyncIterable<DataFrame>, opts: LogOptions): Promise<IntermediateInfo> {
    const k = parseIntermediateKey(key);
    const oldId = this.db.intermediateId(k.project, k.model, k.intermediate);
    if (oldId === undefined) return this.logBatches(key, batches, { ...opts, replace: false });
    const info = await this.swapIn(k.project, k.model, k.intermediate, oldId, 'replacing', (tmp) => this.logBatches(tmp, batches, { ...opts, replace: false }), {});
    return { ...info, key: `${k.project}.${k.model}.${k.intermediate}` };
  }

  /**
   * Writes a new intermediate under a temporary name (`<name>-<verb>-<old id>`), makes it durable, then puts
   * it in the place of intermediate `oldId` under `name` in one transaction. (Readers' caches need no
   * clearing: they key on ids, and ids are never handed out twice.)
   */
  private async swapIn(project: string, model: string, name: string, oldId: number, verb: string,
    write: (tmpKey: string) => Promise<IntermediateInfo>, opts: { keepStats?: boolean; keepDecoded?: boolean }): Promise<IntermediateInfo> {
    const info = await write(`${project}.${model}.${name.slice(0, 100)}-${verb}-${oldId}`);
    await this.ds.flushAll({ keepDecoded: opts.keepDecoded });
    this.db.replaceIntermediate(oldId, info.id, name, opts.keepStats === true);
    return info;
  }

  /** Streams one intermediate in batches: `append` each batch, then `close`. Memory stays within the bufferpool. */
  writer(key: string, opts: Pick<LogOptions, 'scheme' | 'originalName' | 'approximate' | 'rerunnable'> & Pick<WriterOptions, 'logicalType' | 'codebook' | 'kbit'> = {}): IntermediateWriter {
    this.checkOpen();
    const k = parseIntermediateKey(key);
    this.writable();
    // adaptive: a re-creatable intermediate is first registered only (γ = 0 before any query), unless a
    // re-run could never become it (a quantized layer): then it is stored now, or it would never be
    const materialize = !(this.policy === 'adaptive' && opts.rerunnable === true && this.gammaMin > 0 && materializableFromRerun(opts.scheme));
    return new IntermediateWriter(this.ds, this.db, k, {
      rowBlockSize: this.manifest.rowBlockSize,
      maxChunksPerBlock: this.manifest.maxChunksPerBlock,
      scheme: opts.scheme,
      originalName: opts.originalName ?? null,
      approximate: opts.approximate,
      logicalType: opts.logicalType,
      codebook: opts.codebook,
      kbit: opts.kbit,
      materialize,
    });
  }

  /**
   * Adaptive: stores a re-created intermediate under its key, keeping its statistics; atomically replaces
   * the registration. Not while another process writes the store (false): the query was answered anyway.
   * A handle that was not writing takes the write lock for this alone and lets it go once it is durable
   * (before, it kept it until closed: a `mistique serve` or a notebook that had materialized once kept
   * every training job from logging).
   */
  private materialize(row: IntermediateRow, full: RerunOutput): Promise<boolean> {
    return this.asProbe(async () => {
      const frame = full.table ? DataFrame.from(toFrame(full.table), { rowIds: full.table.rowIds }) : DataFrame.fromTensor(full.tensor!.values, full.tensor!.shape, full.tensor!.rowIds);
      const opts = full.table ? { scheme: row.scheme } : { scheme: row.scheme, originalName: row.original_name ?? undefined, approximate: false };
      // written through (keepDecoded): the queries that made it worth storing come back for it; durable on return
      await this.swapIn(row.project, row.model, row.name, row.id, 'materializing', (tmp) => this.log(tmp, frame, opts), { keepStats: true, keepDecoded: true });
    });
  }

  /**
   * Runs `fn` under the write lock unless another writer holds it (false: one does, and `fn` did not run).
   * A handle that was not writing takes the lock as a probe — which a writer arriving meanwhile waits out —
   * recovers first, and lets the lock go when `fn` is done.
   */
  private async asProbe(fn: () => Promise<void>): Promise<boolean> {
    const held = this.lock.held;
    if (!held && !this.lock.acquire(0, false)) return false;
    try {
      if (!held) this.recover();
      await fn();
      return true;
    } finally {
      if (!held) this.lock.release();
    }
  }

  /**
   * The read model of a scheme family this store holds nothing of yet: synthetic intermediates
   * (reader/probe.ts) logged in a scratch store of the same codec, RowBlock size and segment size, in the
   * system's temporary directory, timed by its calibration and removed. Only uncompressed values
   * (family none): quantized families are not materialized from re-runs, so nothing waits on their γ.
   */
  private async probeReads(scheme: string): Promise<ReadRate | undefined> {
    if (schemeFamily(scheme) !== 'none') return undefined;
    let dir: string;
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-read-probe-'));
    } catch {
      return undefined; // no scratch space: the estimate says its read rate is assumed
    }
    try {
      const probe = await Store.open(dir, { ...this.make, codec: this.codec, rowBlockSize: this.rowBlockSize, policy: 'store_all', bufferpoolBytes: 64 * MB });
      try {
        for (const { name, frame } of probeFrames(this.rowBlockSize)) await probe.log(`probe.reads.${name}`, frame);
        await probe.flush();
        await probe.planner.calibrate(scheme);
        return probe.planner.rates.get(scheme);
      } finally {
        await probe.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Answers a query: per intermediate, reads it or re-runs its workflow, whichever the cost model says
   * is faster (`path` forces one). `matrix.sources` says which path answered and what loss it carries.
   */
  async getIntermediates(keys: string | readonly string[], opts: PlannedQueryOptions = {}): Promise<Matrix> {
    this.checkOpen();
    return (await this.planner.query(typeof keys === 'string' ? [keys] : keys, opts)).matrix;
  }

  /**
   * The row ids getIntermediates(keys) returns, in its order, read from the RowBlock index without any
   * value: what a preview needs to read its first rows only and count the rest. Stored intermediates only
   * (NOT_STORED for one policy adaptive has not materialized).
   */
  async rowIds(keys: string | readonly string[]): Promise<Int32Array> {
    this.checkOpen();
    return this.reader.rowIds(typeof keys === 'string' ? [keys] : keys);
  }

  /**
   * The cost model's view of a query: per intermediate, both estimates (with their inputs), the choice
   * and why. It changes nothing: a read model or re-run line not yet measured on this machine is assumed
   * (its `source` says so). `measure: true` times what the estimates need first, as a query does;
   * `run: true` runs the query too and each estimate gets its measured time.
   */
  async explain(keys: string | readonly string[], opts: PlannedQueryOptions & { run?: boolean; measure?: boolean } = {}): Promise<Estimate[]> {
    this.checkOpen();
    const k = typeof keys === 'string' ? [keys] : keys;
    return opts.run ? (await this.planner.query(k, opts)).estimates : this.planner.explain(k, opts);
  }

  /**
   * The read model per codec and scheme family on this machine: its coefficients (READ_TERMS: fixed ms,
   * ms per RowBlock, per segment decoded, per MB decoded, per MB on disk, per MB of result) and how many
   * reads they come from; `recalibrate` re-measures them from a few timed reads (a family the store holds
   * nothing of is probed again on its next estimate).
   */
  async readRates(opts: { recalibrate?: boolean } = {}): Promise<Record<string, { coef: number[]; reads: number }>> {
    this.checkOpen();
    if (opts.recalibrate) {
      const schemes = new Set(this.db.intermediates().filter((r) => r.materialized !== 0).map((r) => r.scheme));
      this.planner.rates.forget();
      this.planner.accuracy.forget('read:'); // the band was of the old read model's estimates
      for (const s of schemes) await this.planner.calibrate(s);
    }
    return this.planner.rates.all();
  }

  /**
   * Resolves once the calibrations queries deferred are done. A query whose choice a model this machine
   * has not measured yet would inform (the read rate of a scheme family, a layer's re-run line) decides
   * from what is at hand — the logging profile, the assumed read rate; its estimate's `source` says so —
   * and leaves the timed reads and re-runs that measure it for when the store is idle (200 ms without a
   * query; never during one), so a first query costs what a later one does. Benchmarks and tests that
   * need the measured models await this; `explain({ measure: true })` measures at once instead.
   */
  async calibrated(): Promise<void> {
    this.checkOpen();
    await this.planner.idle.settled();
  }

  /**
   * How far the cost model's estimates have been from the runs that followed them on this machine, per
   * kind of run (`read:<codec>|<scheme family>`, `rerun:dnn`, `rerun:trad`): the band of measured ÷
   * estimated over the last 32 runs (10th percentile, median, 90th), for kinds with three runs or more.
   */
  estimateAccuracy(): Record<string, Band> {
    this.checkOpen();
    return this.planner.accuracy.all();
  }

  /**
   * The same as getIntermediates, as an Arrow Table (row_id, then one column per key in its own type):
   * read column by column from the store, or — an intermediate not stored (policy adaptive) — re-run as
   * getIntermediates does (it had failed NOT_STORED, telling the caller to query through the store).
   */
  async getTable(keys: string | readonly string[], opts: QueryOptions = {}): Promise<Table> {
    this.checkOpen();
    const k = typeof keys === 'string' ? [keys] : keys;
    return this.reader.getTable(k, opts).catch(async (err: unknown) => {
      if (!(err instanceof MistiqueError && err.code === 'NOT_STORED')) throw err;
      return (await this.getIntermediates(k, opts)).toArrow();
    });
  }

  /** Intermediates whose `project.model.intermediate` matches the pattern (default: all). */
  list(pattern = '*'): IntermediateSummary[] {
    this.checkOpen();
    return listIntermediates(this.db, pattern);
  }

  stats(): StoreStats {
    this.checkOpen();
    return storeStats(this.db, this.ds, { dir: this.dir, codec: this.codec, policy: this.policy });
  }

  /**
   * Runs a TRAD pipeline spec (a YAML file, or one already parsed) in logging mode: every stage's output
   * becomes intermediate `<project>.<pipeline>.<stage>`, trained operators and stage timings are kept.
   * `data` is the directory its ReadCSV stages read from.
   */
  async logIntermediates(spec: string | PipelineSpec, inputs: RunOptions): Promise<PipelineRun> {
    this.checkOpen();
    const parsed = typeof spec === 'string' ? (await import('./executor/spec.js')).loadPipelineSpec(spec) : spec;
    if (!inputs || typeof inputs.data !== 'string') throw new MistiqueError('BAD_OPTION', 'logIntermediates needs { data: <directory of the source files> }');
    this.writable();
    return (await pipelineExecutor()).logPipeline(this, parsed, { ...inputs, data: path.resolve(inputs.data) });
  }

  /**
   * Re-creates one logged intermediate of a pipeline (`project.model`, stage) from the source files and
   * the stored trained operators, keeping only `rows` (row ids) when given.
   */
  async rerun(model: string, intermediate: string, opts: { rows?: ArrayLike<number> } = {}): Promise<RerunResult> {
    this.checkOpen();
    const [project, name, ...rest] = model.split('.');
    if (!project || !name || rest.length > 0) throw new MistiqueError('BAD_KEY', `rerun takes a model as project.model (e.g. zillow.P1_1), got ${JSON.stringify(model)}`);
    return (await pipelineExecutor()).rerunStage(this.db, project, name, intermediate, opts.rows);
  }

  /**
   * Runs an ONNX checkpoint over input examples and logs every layer's output as
   * `<project>.<model>.<layer>` (conv1, relu1, …), streaming batch by batch through the bufferpool.
   * Examples of several input shapes go in as a list of groups, one per shape (see DnnInputs).
   */
  async logNetwork(modelKey: string, checkpoint: string | Uint8Array, input: DnnInputs, opts: DnnLogOptions = {}): Promise<DnnRun> {
    this.checkOpen();
    this.writable();
    return (await networkExecutor()).logNetwork(this, modelKey, checkpoint, input, opts);
  }

  /**
   * Logs a framed stream of float32 tensor batches written by another process (docs/STREAM.md; the
   * Python package python/mistique writes it from PyTorch forward hooks): every intermediate it names
   * becomes durable at its end message, or none does. `input`: any async source of bytes, or `{ fd }`, a
   * file descriptor (a pipe, a socket, a file) read to the stream's end on a thread of its own — what
   * `mistique log --stream` does with its stdin.
   */
  async logStream(input: AsyncIterable<Uint8Array> | { fd: number }, opts: StreamOptions = {}): Promise<StreamSummary> {
    this.checkOpen();
    this.writable();
    return (await import('./executor/stream.js')).logStream(this, input, opts);
  }

  /**
   * One SQL statement over the store, run by DuckDB in-process: every intermediate is a relation named by its
   * quoted key ("project.model.intermediate") with row_id and its columns (a tensor: row_id and `values`, a list
   * of its float32 values; its shape is in mistique_intermediates), beside the catalog relations
   * mistique_intermediates, mistique_models and mistique_projects. Conditions on row_id narrow what is read
   * (the RowBlock index); each intermediate is read or re-run as the cost model chooses. Read-only.
   */
  async sql(query: string, opts: SqlOptions & { sandbox?: boolean } = {}): Promise<SqlResult> {
    this.checkOpen();
    if (opts.sandbox) {
      // a statement from someone else (mistique serve): DuckDB may touch no file but its own scratch files
      if (opts.out !== undefined) throw new MistiqueError('BAD_OPTION', 'a sandboxed SQL statement writes no file: leave out `out`');
      this.sqlSandbox ??= import('./sql/sql.js').then((m) => m.SqlSession.open({ sandbox: true }));
      return (await this.sqlSandbox).run(this, query, { limit: opts.limit, each: opts.each });
    }
    this.sqlSession ??= import('./sql/sql.js').then((m) => m.SqlSession.open());
    return (await this.sqlSession).run(this, query, opts);
  }

  /**
   * Writes whole intermediates to standard files: Parquet, Arrow IPC, .npy (plus `<name>.row_id.npy`) or
   * CSV — one file for one intermediate, a directory of `<key>.<format>` files for several — each with
   * row_id and its named columns (a tensor: one fixed-size list of float32 per example, its shape in the
   * metadata). Stored intermediates stream a group of RowBlocks at a time (memory bounded by a group); one
   * not stored (policy adaptive) is re-run whole. Quantized schemes export the floats a read returns, and
   * each file's metadata says so (`mistique.values`).
   */
  async export(patterns: string | readonly string[], opts: ExportOptions): Promise<ExportedFile[]> {
    this.checkOpen();
    const { exportIntermediates } = await import('./export/export.js');
    const rowOf = (key: string): IntermediateRow | undefined => this.db.intermediates().find((r) => `${r.project}.${r.model}.${r.name}` === key);
    const planner = this.planner, reader = this.reader;
    return exportIntermediates({
      intermediates: (p) => this.list(p),
      hasText: (key) => { const r = rowOf(key); return r !== undefined && this.db.columns(r.id).some((c) => c.type === 'utf8'); },
      groups: async function* (key, maxBytes) {
        if (rowOf(key)?.materialized === 0) yield (await planner.query([`${key}.*`])).matrix;
        else yield* reader.groups(key, maxBytes);
      },
    }, typeof patterns === 'string' ? [patterns] : patterns, opts);
  }

  /**
   * TOPK: the k rows with the largest (`asc`: smallest) value of one column (`project.model.intermediate.column`),
   * ties by row id, NaN left out and counted. A stored column with zone maps (tables logged from schema
   * v7 on) reads only the RowBlocks whose range can still hold a top value (`chunks` says how many of how
   * many); otherwise, or with `rows`, the column is queried whole (read or re-run) and ranked.
   */
  async topk(columnKey: string, k: number, opts: { order?: 'desc' | 'asc'; rows?: RowSelection } = {}): Promise<TopK & { chunks?: { read: number; total: number }; matrix?: Matrix }> {
    this.checkOpen();
    const order = opts.order ?? 'desc';
    if (order !== 'desc' && order !== 'asc') throw new MistiqueError('BAD_OPTION', `order ${JSON.stringify(order)}: use 'desc' or 'asc'`);
    const { topk } = await import('./diagnostics/queries.js');
    const row = resolveKeys(this.db, [columnKey])[0];
    if (opts.rows === undefined && row && row.intermediate.materialized !== 0) {
      const z = await (await import('./reader/zonescan.js')).topkByZones(this.db, this.reader, columnKey, k, order);
      if (z) return z;
    }
    const m = await this.getIntermediates(columnKey, opts.rows !== undefined ? { rows: opts.rows } : {});
    if (m.ncols !== 1) throw new MistiqueError('BAD_KEY', `topk ranks by one column; ${columnKey} gives ${m.ncols}: name the column (or neuron index) as the last part of the key`);
    return { ...topk(m, 0, k, order), matrix: m };
  }

  /**
   * Builds (or rebuilds) an HNSW vector index over a stored layer's rows for KNN with this metric
   * (default euclidean), saved beside the partitions: later `knn` queries on the layer use it. Rows with
   * NaN or ±Infinity are left out (counted). Takes the write lock.
   */
  async buildIndex(key: string, opts: { metric?: Metric; onProgress?: (done: number, total: number) => void } = {}): Promise<IndexInfo> {
    this.checkOpen();
    return this.neighbours.buildIndex(key, opts);
  }

  /** The vector indexes of intermediates matching the pattern (default all), as registered. */
  listIndexes(pattern = '*'): IndexInfo[] {
    this.checkOpen();
    return this.neighbours.list(this.list(pattern).map((s) => s.key));
  }

  /** Removes the vector indexes of an intermediate (every metric, or one). Returns what was removed. */
  async dropIndex(key: string, opts: { metric?: Metric } = {}): Promise<IndexInfo[]> {
    this.checkOpen();
    return this.neighbours.dropIndex(key, opts);
  }

  /**
   * KNN: the k rows of a layer nearest to row `row`, by its vector index when one was built for the
   * metric from the layer as it is stored now (`path: 'index'`), else exactly over every row (`path:
   * 'exact'`, also when `exact` is asked or `rows` restricts the search). Under policy adaptive, a layer
   * whose exact searches have cost as much as building its index gets one.
   */
  async knn(key: string, row: number, opts: { k?: number; metric?: Metric; exact?: boolean; rows?: RowSelection } = {}): Promise<KnnResult & { path: 'index' | 'exact'; ms: number; matrix?: Matrix }> {
    this.checkOpen();
    return this.neighbours.knn(key, row, opts);
  }

  /** Re-runs a logged network up to `layer` on only the asked rows (a truncated graph). */
  async rerunLayer(modelKey: string, layer: string, opts: { rows?: ArrayLike<number>; batchSize?: number } = {}): Promise<LayerRerun> {
    this.checkOpen();
    return (await networkExecutor()).rerunLayer(this, modelKey, layer, opts.rows, opts.batchSize);
  }

  /** The MetadataDB, for the executor and the cost model (not for applications). */
  get metadata(): MetadataDB {
    this.checkOpen();
    return this.db;
  }

  /** Writes every open partition: after this, everything logged survives a crash. */
  async flush(): Promise<void> {
    this.checkOpen();
    await this.ds.flushAll();
  }

  /**
   * Checks the whole store: metadata.db, every segment's checksum and decode, every intermediate's
   * blobs, partition files against the MetadataDB. `repair` drops intermediates that cannot be read and
   * removes unreferenced files. Takes the write lock (LOCKED while another process writes).
   */
  async verify(opts: { repair?: boolean; onPartition?: (done: number, total: number) => void } = {}): Promise<VerifyReport> {
    this.checkOpen();
    this.writable();
    await this.ds.flushAll();
    const report = await verifyStore(this.dir, this.db, this.ds.codec, { ...opts, orphanIndexFiles: strayIndexFiles(this.dir, this.db) });
    this.ds.dropCaches();
    return report;
  }

  /**
   * Deletes what the patterns name — `project`, `project.model` (whole models: their intermediates,
   * workflow, trained operators and checkpoint) or `project.model.intermediate` (`*` matches any part) —
   * all or nothing, and returns the keys it deleted. Every pattern must match something. The data stays
   * on disk, unreferenced, until `gc()`. `dryRun` only lists them.
   *
   * Lineage: a network's layers re-run from its stored input. Deleting an input that layers left in the
   * store re-run from is refused (IN_USE, naming them) unless `force`: without it they could not be
   * re-run, and those not stored (policy adaptive) not read. TRAD stages re-run from their source files
   * and trained operators, so nothing stored depends on another stage.
   */
  delete(patterns: string | readonly string[], opts: { dryRun?: boolean; force?: boolean } = {}): string[] {
    this.checkOpen();
    const plan = planDelete(this.db, patterns);
    if (!opts.force) {
      const uses = strandedBy(this.db, plan);
      if (uses.length > 0) throw inUse(uses);
    }
    if (opts.dryRun) return plan.keys;
    this.writable();
    this.db.lifecycle.delete([...plan.intermediateIds], plan.models.map((m) => m.id));
    for (const m of plan.models) fs.rmSync(path.join(this.dir, 'checkpoints', `${m.project}.${m.model}.onnx`), { force: true });
    // their vector indexes go with them
    this.neighbours.dropAllOf(plan.keys);
    this.reader.forget();
    return plan.keys;
  }

  /**
   * Reclaims the space of what no intermediate references any more: partitions left with nothing live are
   * removed, and those with at least `minDeadFraction` (default 0.25) of their bytes unreferenced are
   * rewritten with their live data only. Takes the write lock; no writer of this handle may be open.
   */
  async gc(opts: GcOptions = {}): Promise<GcReport> {
    this.checkOpen();
    this.writable();
    const report = await collectGarbage(this.ds, this.db.lifecycle, () => new Set(this.db.integrity.partitionRows().map((p) => p.file)), opts);
    // and what vector index builds killed half-way left in indexes/
    for (const f of strayIndexFiles(this.dir, this.db)) { fs.rmSync(path.join(this.dir, f), { force: true }); report.strayFiles.push(f); }
    this.reader.forget();
    return report;
  }

  /** Forgets decoded segments, so the next read decodes from disk (cold-read measurements). */
  dropCaches(): void {
    this.ds.dropCaches();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.flushTimer);
    // a deferred calibration under way stops at its next timed run; none starts any more
    await this.planner.idle.stop();
    try {
      await this.ds.flushAll();
    } finally {
      this.closed = true;
      for (const sql of [this.sqlSession, this.sqlSandbox]) if (sql) (await sql.catch(() => null))?.close();
      try { this.planner.rates.flush(); } catch { /* the read model is a cache of timings: losing its last second is harmless */ }
      this.ds.close();
      this.db.close();
      this.lock.release();
      this.scratch?.();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new MistiqueError('CLOSED', `store ${this.dir} is closed: open it again with openStore()`);
  }
}

export function openStore(dir: string, opts: StoreOptions = {}): Promise<Store> {
  return Store.open(dir, opts);
}

/**
 * Every asynchronous API call of a Store tells the planner it is under way, so that the calibrations
 * queries deferred run only while the store is idle (reader/idlecalibration.ts): none starts during a call,
 * and one under way when a call starts is thrown away, writing nothing.
 */
wrapCalls(Store.prototype, (s) => (s as unknown as { planner: QueryPlanner }).planner.idle,
  ['log', 'explain', 'readRates', 'getTable', 'logIntermediates', 'rerun', 'logNetwork', 'logStream', 'sql', 'export',
    'topk', 'buildIndex', 'dropIndex', 'knn', 'rerunLayer', 'flush', 'verify', 'gc'],
  // and the synchronous ones that change what a calibration would measure
  ['delete', 'writer']);
