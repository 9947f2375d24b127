// The query planner (paper Alg. 4): for every intermediate a query touches, estimate the time to read
// its asked rows (Eq. 5.4) and to re-run the workflow up to it (Eq. 5.2 / 5.3) from recorded statistics,
// take the faster path, and measure what it really cost. Under policy adaptive it also materializes an
// intermediate once its γ (Eq. 5.5) passes γ_min, from the re-run that answered the query.
import { choose, gamma, tRead, tRerunDnn, tRerunTrad, type Choice, type StageCost } from '../costmodel/index.js';
import { MistiqueError } from '../errors.js';
import type { IntermediateRow, MetadataDB, WorkflowRow } from '../metadata/metadatadb.js';
import type { DnnSpec } from '../executor/onnx/dnn.js';
import { Matrix, type MatrixColumn, type MatrixValues } from '../model/matrix.js';
import { schemaColumnName } from '../model/dataframe.js';
import type { ColumnType } from '../model/types.js';
import { pool } from '../quantize/index.js';
import type { DataStore } from '../store/datastore.js';
import type { Table } from '../executor/table.js';
import { ChunkReader, normalizeRows, type RowSelection } from './chunkreader.js';
import { ReadRates, schemeFamily } from './readrates.js';
import { resolveKeys, schemaOf, type Selection } from './resolve.js';

export type QueryPath = 'auto' | 'read' | 'rerun';

export interface PlannedQueryOptions {
  rows?: RowSelection;
  /** auto (default): the cost model chooses per intermediate; read / rerun force one path. */
  path?: QueryPath;
}

/** What the planner knows and decides about one intermediate of a query. */
export interface Estimate {
  key: string;
  /** Rows asked (all of the intermediate's rows when none were given). */
  rows: number;
  columns: number;
  scheme: string;
  materialized: boolean;
  /** The workflow that can re-create it, if any. */
  workflow: 'trad' | 'dnn' | null;
  /** Eq. 5.4: decoded bytes of the segments holding the asked rows and columns ÷ ρ_d. */
  read: { bytes: number; segments: number; rhoBytesPerMs: number; fixedMs: number; rhoReads: number; rhoSource: 'measured' | 'calibrated' | 'assumed'; ms: number } | null;
  /** Eq. 5.2 / 5.3 with the terms that went in. */
  rerun: { ms: number; terms: Record<string, number> } | null;
  choice: Choice;
  reason: string;
  /** After the query ran: the path taken and its measured time. */
  measured?: { path: Choice; ms: number };
  /** Policy adaptive: γ after this query (s saved per GB) and whether the query materialized it. */
  gamma?: number;
  materializedNow?: boolean;
}


/** The whole output of a re-run, as adaptive materialization stores it: a pipeline table or a layer's tensor. */
export interface RerunOutput { table?: Table; tensor?: { values: Float32Array; shape: number[]; rowIds: Int32Array } }

export interface Rerunners {
  trad(project: string, model: string, stage: string, rows?: ArrayLike<number>): Promise<{ table: Table; full: Table }>;
  dnn(modelKey: string, layer: string, rows?: ArrayLike<number>): Promise<{ values: Float32Array; shape: number[]; rowIds: Int32Array }>;
  /** Stores the full re-run output of an unmaterialized intermediate (adaptive), keeping its statistics. */
  materialize(row: IntermediateRow, full: RerunOutput): Promise<void>;
}

export interface AdaptiveSettings { enabled: boolean; gammaMin: number }

/** ρ_d used before anything was ever read on this machine: 100 MB/s of decoded bytes, stated as assumed. */
const ASSUMED_RHO = 100_000;

export class QueryPlanner {
  readonly rates: ReadRates;

  constructor(
    private readonly db: MetadataDB,
    private readonly ds: DataStore,
    private readonly reader: ChunkReader,
    private readonly rerunners: Rerunners,
    private readonly adaptive: AdaptiveSettings,
    codec: string,
  ) {
    this.rates = new ReadRates(db, codec);
  }

  /** The estimates and choices for a query, without running it. */
  async explain(keys: readonly string[], opts: PlannedQueryOptions = {}): Promise<Estimate[]> {
    const sels = resolveKeys(this.db, keys);
    const ids = opts.rows !== undefined ? normalizeRows(opts.rows) : undefined;
    const out: Estimate[] = [];
    for (const sel of sels) out.push(await this.estimate(sel, ids, opts.path ?? 'auto'));
    return out;
  }

  /** Answers a query, each intermediate by its chosen path; the estimates get their measured times. */
  async query(keys: readonly string[], opts: PlannedQueryOptions = {}): Promise<{ matrix: Matrix; estimates: Estimate[] }> {
    const sels = resolveKeys(this.db, keys);
    const ids = opts.rows !== undefined ? normalizeRows(opts.rows) : undefined;
    const path = opts.path ?? 'auto';
    const estimates: Estimate[] = [];
    for (const sel of sels) estimates.push(await this.estimate(sel, ids, path));
    // Everything read: one pass of the ChunkReader, which joins on row_id itself.
    if (estimates.every((e) => e.choice === 'read')) {
      const t0 = performance.now();
      const before = this.ds.decodedRawBytes;
      const matrix = await this.reader.readSelections(sels, ids ? { rows: ids } : {});
      const ms = performance.now() - t0;
      const decoded = this.ds.decodedRawBytes - before;
      const planned = estimates.reduce((a, e) => a + (e.read?.bytes ?? 0), 0);
      // only reads that mostly decoded from disk say something about ρ_d (a cached read costs ~nothing)
      if (sels.length === 1 && planned > 0 && decoded >= 0.5 * planned) this.rates.update(sels[0]!.intermediate.scheme, decoded, ms);
      for (const e of estimates) e.measured = { path: 'read', ms: ms / estimates.length };
      matrix.sources = estimates.map((e) => ({ key: e.key, path: 'read' as const, scheme: e.scheme, loss: lossOf(e.scheme), ms: ms / estimates.length }));
      return { matrix, estimates };
    }
    const parts: Matrix[] = [];
    for (let s = 0; s < sels.length; s++) {
      const sel = sels[s]!, e = estimates[s]!;
      const t0 = performance.now();
      let m: Matrix;
      if (e.choice === 'read') {
        m = await this.reader.readSelections([sel], ids ? { rows: ids } : {});
      } else {
        m = await this.rerun(sel, ids, e);
      }
      e.measured = { path: e.choice, ms: performance.now() - t0 };
      m.sources = [{ key: e.key, path: e.choice, scheme: e.scheme, loss: e.choice === 'read' ? lossOf(e.scheme) : 'none (re-run at full precision)', ms: e.measured.ms }];
      parts.push(m);
    }
    const matrix = parts.length === 1 ? parts[0]! : joinOnRowId(parts, ids !== undefined);
    return { matrix, estimates };
  }

  private async estimate(sel: Selection, ids: Int32Array | undefined, path: QueryPath): Promise<Estimate> {
    const r = sel.intermediate;
    const key = `${r.project}.${r.model}.${r.name}`;
    const wf = this.db.workflow(r.project, r.model);
    const workflow = wf && (wf.kind === 'trad' || wf.kind === 'dnn') ? wf.kind : null;
    const n = ids ? ids.length : r.n_rows;
    const materialized = r.materialized !== 0;
    const e: Estimate = { key, rows: n, columns: sel.cols.length, scheme: r.scheme, materialized, workflow, read: null, rerun: null, choice: 'read', reason: '' };
    if (materialized) e.read = await this.readEstimate(sel, ids);
    else if (this.adaptive.enabled) e.read = await this.readEstimateUnstored(r);
    if (workflow) e.rerun = await this.rerunEstimate(r, wf!, ids);
    if (path === 'read') {
      if (!materialized) throw new MistiqueError('NOT_STORED', `${key} is not materialized (policy adaptive): it can only be re-run; use path auto or rerun`);
      e.choice = 'read'; e.reason = 'read was asked for';
    } else if (path === 'rerun') {
      if (!workflow) throw new MistiqueError('UNSUPPORTED', `${key} was logged by the caller, not by a workflow mistique ran: it cannot be re-run, only read`);
      e.choice = 'rerun'; e.reason = 're-run was asked for';
    } else if (!workflow) {
      e.choice = 'read'; e.reason = 'no workflow can re-create it (logged by the caller)';
    } else if (!materialized) {
      e.choice = 'rerun'; e.reason = 'not materialized (adaptive): re-running is the only path';
    } else {
      e.choice = choose(true, e.read!.ms, e.rerun!.ms);
      const ratio = e.choice === 'read' ? e.rerun!.ms / Math.max(e.read!.ms, 1e-3) : e.read!.ms / Math.max(e.rerun!.ms, 1e-3);
      e.reason = `${e.choice === 'read' ? 'reading' : 're-running'} is estimated ${ratio.toFixed(1)}× faster`;
    }
    return e;
  }

  /** The RowBlocks that can hold the asked rows (all when none asked). */
  private blocksFor(r: IntermediateRow, ids: Int32Array | undefined): number[] | null {
    if (!ids) return null;
    const B = r.row_block_size;
    const blocks = new Set<number>();
    if (r.row_id_start !== null) {
      for (const id of ids) {
        const p = id - r.row_id_start;
        if (p >= 0 && p < r.n_rows) blocks.add(Math.floor(p / B));
      }
    } else {
      const rb = this.db.rowblocks(r.id);
      for (const id of ids) for (const b of rb) if (id >= b.min_row_id && id <= b.max_row_id) blocks.add(b.block);
    }
    return [...blocks].sort((a, b) => a - b);
  }

  private async rho(scheme: string): Promise<{ rho: number; fixedMs: number; reads: number; source: 'measured' | 'calibrated' | 'assumed' }> {
    const rate = this.rates.get(scheme);
    if (!rate) {
      const cal = await this.calibrate(scheme);
      if (!cal) return { rho: ASSUMED_RHO, fixedMs: 0, reads: 0, source: 'assumed' };
      return { rho: cal.rho, fixedMs: cal.fixedMs ?? 0, reads: cal.reads, source: 'calibrated' };
    }
    return { rho: rate.rho, fixedMs: rate.fixedMs ?? 0, reads: rate.reads, source: 'measured' };
  }

  private async readEstimate(sel: Selection, ids: Int32Array | undefined): Promise<NonNullable<Estimate['read']>> {
    const r = sel.intermediate;
    const c0 = Math.min(...sel.cols), c1 = Math.max(...sel.cols) + 1;
    const fp = this.db.readFootprint(r.id, this.blocksFor(r, ids), c0, c1);
    const rate = await this.rho(r.scheme);
    return { bytes: fp.raw, segments: fp.segments, rhoBytesPerMs: rate.rho, fixedMs: rate.fixedMs, rhoReads: rate.reads, rhoSource: rate.source, ms: tRead(fp.raw, rate.rho, rate.fixedMs) };
  }

  /** An unmaterialized intermediate: what reading all of it would cost once stored (its raw bytes at ρ_d). */
  private async readEstimateUnstored(r: IntermediateRow): Promise<NonNullable<Estimate['read']>> {
    const rate = await this.rho(r.scheme);
    return { bytes: r.bytes_raw, segments: 0, rhoBytesPerMs: rate.rho, fixedMs: rate.fixedMs, rhoReads: rate.reads, rhoSource: rate.source, ms: tRead(r.bytes_raw, rate.rho, rate.fixedMs) };
  }

  private async rerunEstimate(r: IntermediateRow, wf: WorkflowRow, ids: Int32Array | undefined): Promise<Estimate['rerun']> {
    if (wf.kind === 'trad') {
      const stages: StageCost[] = this.db.stages(wf.model_id).map((s) => ({
        name: s.name, inputs: JSON.parse(s.inputs) as string[], output: s.output, readOpMs: s.t_read_op_ms, readInputMs: s.t_read_input_ms, execMs: s.t_exec_ms, rows: s.n_rows,
      }));
      const ms = tRerunTrad(stages, r.name);
      return { ms, terms: { stages: stages.length, wholeTableMs: ms } };
    }
    const spec = JSON.parse(wf.spec) as DnnSpec;
    const n = ids ? ids.length : r.n_rows;
    const perBatch = spec.layerMsPerBatch[r.name] ?? spec.forwardMsPerBatch;
    const [ip, im, ii] = spec.inputKey.split('.');
    const inputId = this.db.intermediateId(ip!, im!, ii!);
    let inputMs = 0;
    if (inputId !== undefined) {
      const row = this.db.intermediate(inputId)!;
      const fp = this.db.readFootprint(inputId, this.blocksFor(row, ids));
      const rate = await this.rho(row.scheme);
      inputMs = tRead(fp.raw, rate.rho, rate.fixedMs);
    }
    // the fixed cost of a re-run (graph cut, session creation) as measured by earlier re-runs, else the logging session's load
    const measuredLoad = Number(this.db.getMeta(`rerun_load_ms:${r.project}.${r.model}`) ?? NaN);
    let loadMs = Number.isFinite(measuredLoad) ? measuredLoad : spec.loadMs;
    let batchMs = perBatch;
    // once this layer has been re-run at two or more sizes, its own line (load + batches × ms) replaces
    // the profile of the logging session (which also paid for exposing every layer as an output)
    const fit = lineFit(this.db.getMeta(`rerun_fit:${r.project}.${r.model}.${r.name}`));
    if (fit) { loadMs = fit.a; batchMs = fit.b; }
    const ms = tRerunDnn({ loadMs, inputReadMsPerRow: n > 0 ? inputMs / n : 0, batchSize: spec.batchSize, layerMsPerBatch: { [r.name]: batchMs } }, r.name, n);
    return { ms, terms: { loadMs, inputReadMs: inputMs, batches: n / spec.batchSize, layerMsPerBatch: batchMs, fromReruns: fit ? fit.n : 0 } };
  }

  /**
   * ρ_d from a few timed cold reads of stored intermediates of this scheme family (whole RowBlocks,
   * decoded from disk): run when a store meets a scheme it has no rate for, on this machine.
   */
  async calibrate(scheme: string): Promise<{ rho: number; fixedMs?: number; reads: number } | undefined> {
    const want = schemeFamily(scheme);
    const cands = this.db.intermediates()
      .filter((r) => r.materialized !== 0 && schemeFamily(r.scheme) === want && r.n_chunks > 0)
      .sort((a, b) => b.bytes_raw - a.bytes_raw)
      .slice(0, 3);
    if (cands.length === 0) return undefined;
    // one RowBlock and up to four of each: two sizes, so that the fixed cost of a read and ρ_d separate
    const samples: { bytes: number; ms: number }[] = [];
    for (const r of cands) {
      const nb = Math.ceil(r.n_rows / r.row_block_size);
      for (const count of [...new Set([1, Math.min(nb, 4)])]) {
        const rows = r.row_id_start !== null ? { start: r.row_id_start, end: r.row_id_start + Math.min(r.n_rows, count * r.row_block_size) } : undefined;
        const sel: Selection = { intermediate: r, schema: schemaOf(this.db, r), cols: Array.from({ length: r.n_cols }, (_, j) => j) };
        this.ds.dropCaches();
        const before = this.ds.decodedRawBytes;
        const t0 = performance.now();
        await this.reader.readSelections([sel], rows ? { rows, record: false } : { record: false });
        const ms = performance.now() - t0;
        const bytes = this.ds.decodedRawBytes - before;
        if (bytes > 0) samples.push({ bytes, ms });
        if (!rows) break;
      }
    }
    if (samples.length === 0) return undefined;
    return this.rates.set(scheme, samples);
  }

  /** Re-creates one intermediate's asked rows and columns; materializes it if adaptive says so. */
  private async rerun(sel: Selection, ids: Int32Array | undefined, e: Estimate): Promise<Matrix> {
    const r = sel.intermediate;
    const rows = ids ? Array.from(ids) : undefined;
    const t0 = performance.now();
    let m: Matrix;
    let full: RerunOutput | null = null;
    if (e.workflow === 'trad') {
      const res = await this.rerunners.trad(r.project, r.model, r.name, rows);
      m = tableToMatrix(res.table, sel);
      full = { table: res.full };
    } else {
      const res = await this.rerunners.dnn(`${r.project}.${r.model}`, r.name, rows);
      if (e.rerun) {
        // keep the fixed part of Eq. 5.3 honest: what this re-run took beyond input read and forward batches
        const t = e.rerun.terms;
        const over = Math.max(0, performance.now() - t0 - t.inputReadMs! - t.batches! * t.layerMsPerBatch!);
        const k = `rerun_load_ms:${r.project}.${r.model}`;
        const old = Number(this.db.getMeta(k) ?? NaN);
        this.db.setMeta(k, String(Number.isFinite(old) ? 0.7 * old + 0.3 * over : over));
        const fk = `rerun_fit:${r.project}.${r.model}.${r.name}`;
        this.db.setMeta(fk, lineAdd(this.db.getMeta(fk), t.batches!, performance.now() - t0 - t.inputReadMs!));
      }
      const pooled = applyPool(res.values, res.shape, r.scheme);
      m = tensorToMatrix(pooled.values, pooled.shape, res.rowIds, sel);
      // quantized schemes are not materialized from a re-run (they need the logging-time codebooks)
      if ((!ids || ids.length === r.n_rows) && schemeFamily(r.scheme) === 'none') full = { tensor: { values: pooled.values, shape: pooled.shape, rowIds: res.rowIds } };
    }
    this.db.recordQuery(r.id, performance.now() - t0);
    if (this.adaptive.enabled && r.materialized === 0) {
      const now = this.db.intermediate(r.id)!;
      const tAll = e.rerun && !ids ? e.rerun.ms : (await this.rerunEstimate(now, this.db.workflow(r.project, r.model)!, undefined))!.ms;
      const tReadAll = e.read?.ms ?? 0;
      e.gamma = gamma(tAll, tReadAll, now.n_query, now.bytes_est ?? now.bytes_raw);
      if (e.gamma >= this.adaptive.gammaMin && full) {
        await this.rerunners.materialize(now, full);
        e.materializedNow = true;
      }
    }
    return m;
  }
}

/** What a read gives up for a scheme. */
export function lossOf(scheme: string): string {
  if (scheme === 'none') return 'none';
  return scheme.split('+').map((p) => (p.startsWith('pool') ? `${p} (stored pooled)` : p === 'lp' ? 'float16 rounding' : p.startsWith('kbit') ? `${p} quantile codes` : `${p} bits`)).join(', ');
}

function applyPool(values: Float32Array, shape: number[], scheme: string): { values: Float32Array; shape: number[] } {
  const m = /pool\((\d+|S)(,max)?\)/.exec(scheme);
  if (!m || shape.length !== 3) return { values, shape };
  const sigma = m[1] === 'S' ? Math.max(shape[1]!, shape[2]!) : Number(m[1]);
  return pool(values, shape, sigma, m[2] ? 'max' : 'avg');
}

function tensorToMatrix(values: Float32Array, shape: number[], rowIds: Int32Array, sel: Selection): Matrix {
  const r = sel.intermediate;
  const per = shape.reduce((a, b) => a * b, 1);
  if (per !== r.n_cols) throw new MistiqueError('CORRUPT', `re-running ${r.project}.${r.model}.${r.name} gave ${per} values per example, the logged intermediate has ${r.n_cols}`);
  const prefix = `${r.project}.${r.model}.${r.name}.`;
  const cols: MatrixColumn[] = sel.cols.map((j) => { const name = schemaColumnName(sel.schema, j); return { key: prefix + name, name, type: 'float32' as ColumnType }; });
  const whole = sel.cols.length === per && sel.cols.every((j, k) => j === k);
  if (whole) return new Matrix(rowIds, cols, values, sel.schema.shape);
  const n = rowIds.length, C = sel.cols.length;
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++) for (let k = 0; k < C; k++) out[i * C + k] = values[i * per + sel.cols[k]!]!;
  return new Matrix(rowIds, cols, out, null);
}

function tableToMatrix(t: Table, sel: Selection): Matrix {
  const r = sel.intermediate;
  const prefix = `${r.project}.${r.model}.${r.name}.`;
  const src = sel.cols.map((j) => {
    const name = schemaColumnName(sel.schema, j);
    const k = t.names.indexOf(name);
    if (k < 0) throw new MistiqueError('CORRUPT', `re-running ${prefix.slice(0, -1)} gave no column ${name}`);
    return { name, col: t.columns[k]!, type: sel.schema.types[j]! as ColumnType };
  });
  const cols: MatrixColumn[] = src.map((s) => ({ key: prefix + s.name, name: s.name, type: s.type }));
  const n = t.nrows, C = cols.length;
  const allFloat = src.every((s) => s.type === 'float64');
  const allText = src.every((s) => s.type === 'utf8');
  const values: MatrixValues = allFloat ? new Float64Array(n * C) : allText ? new Int32Array(n * C) : new Float64Array(n * C);
  src.forEach((s, k) => {
    if (s.col instanceof Float64Array) {
      for (let i = 0; i < n; i++) values[i * C + k] = s.col[i]!;
    } else {
      const dict: string[] = [];
      const index = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const v = s.col[i];
        if (v === null || v === undefined) { values[i * C + k] = -1; continue; }
        let c = index.get(v);
        if (c === undefined) { c = dict.length; dict.push(v); index.set(v, c); }
        values[i * C + k] = c;
      }
      cols[k]!.dictionary = dict;
    }
  });
  return new Matrix(t.rowIds, cols, values, null);
}

/** Joins per-intermediate results on row_id: the first result's row order; rows all of them hold. */
export function joinOnRowId(parts: Matrix[], rowsGiven: boolean): Matrix {
  const first = parts[0]!;
  const indexes = parts.map((p) => p.rowIndex());
  let ids = first.rowIds;
  if (!rowsGiven) ids = ids.filter((id) => indexes.every((ix) => ix.has(id)));
  const columns = parts.flatMap((p) => p.columns);
  const C = columns.length;
  const sameType = parts.every((p) => p.values.constructor === first.values.constructor);
  const values: MatrixValues = sameType ? new (first.values.constructor as { new (n: number): MatrixValues })(ids.length * C) : new Float64Array(ids.length * C);
  let base = 0;
  for (let s = 0; s < parts.length; s++) {
    const p = parts[s]!, ix = indexes[s]!, pc = p.ncols;
    for (let i = 0; i < ids.length; i++) {
      const r = ix.get(ids[i]!)!;
      for (let k = 0; k < pc; k++) values[i * C + base + k] = p.values[r * pc + k]!;
    }
    base += pc;
  }
  const m = new Matrix(Int32Array.from(ids), columns, values, null);
  m.sources = parts.flatMap((p) => p.sources);
  return m;
}

/** Decayed sums for a least-squares line y = a + b·x over observed re-runs (x: batches, y: ms). */
interface LineSums { n: number; sx: number; sy: number; sxx: number; sxy: number }

function lineAdd(raw: string | undefined, x: number, y: number, decay = 0.9): string {
  const s: LineSums = raw ? (JSON.parse(raw) as LineSums) : { n: 0, sx: 0, sy: 0, sxx: 0, sxy: 0 };
  const d = s.n > 0 ? decay : 1;
  return JSON.stringify({ n: s.n * d + 1, sx: s.sx * d + x, sy: s.sy * d + y, sxx: s.sxx * d + x * x, sxy: s.sxy * d + x * y });
}

function lineFit(raw: string | undefined): { a: number; b: number; n: number } | null {
  if (!raw) return null;
  const s = JSON.parse(raw) as LineSums;
  const varx = s.sxx / s.n - (s.sx / s.n) ** 2;
  if (s.n < 2 || !(varx > 1e-9 * Math.max(1, s.sxx / s.n))) return null;
  const b = (s.sxy / s.n - (s.sx / s.n) * (s.sy / s.n)) / varx;
  const a = s.sy / s.n - b * (s.sx / s.n);
  if (!(b > 0)) return null;
  return { a: Math.max(0, a), b, n: Math.round(s.n) };
}
