// The query planner (paper Alg. 4): for every intermediate a query touches, estimate the time to read
// its asked rows (Eq. 5.4) and to re-run the workflow up to it (Eq. 5.2 / 5.3) from recorded statistics,
// take the faster path, and measure what it really cost. Under policy adaptive it also materializes an
// intermediate once its γ (Eq. 5.5) passes γ_min, from the re-run that answered the query. What re-runs
// measured is kept by rerunstats.ts (as reads' by readrates.ts), and fitted from timed cold runs by
// calibration.ts; what a read touches is counted by readfeatures.ts; rerunresult.ts turns a re-run's
// output into the Matrix a read gives.
import { choose, closeCall, gamma, solveRerun, tRead, tRerunDnn, tRerunTrad, type Band, type Choice, type ReadFeatures, type StageCost } from '../costmodel/index.js';
import { MistiqueError } from '../errors.js';
import { IdleCalibration } from './idlecalibration.js';
import type { IntermediateRow, MetadataDB, WorkflowRow } from '../metadata/metadatadb.js';
import { layerGroups, lostCheckpoint, type DnnSpec } from '../executor/onnx/dnnspec.js';
import type { Matrix } from '../model/matrix.js';
import type { DataStore } from '../store/datastore.js';
import type { StageRerunTiming } from '../executor/pipeline.js';
import { sourceGone } from '../executor/sources.js';
import type { StageTable } from '../executor/table.js';
import { ChunkReader } from './chunkreader.js';
import { normalizeRows, type RowSelection } from './rowspec.js';
import { checkRowsHeld, lanes, readFeatures } from './readfeatures.js';
import { EstimateAccuracy } from './accuracy.js';
import { ReadRates, schemeFamily, type ReadRate } from './readrates.js';
import { findIntermediate, resolveKeys, type Selection } from './resolve.js';
import { applyPool, joinOnRowId, tableToMatrix, tensorToMatrix } from './rerunresult.js';
import { RerunStats } from './rerunstats.js';
import { Calibration } from './calibration.js';

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
  /**
   * Eq. 5.4 with the terms a read has (costmodel READ_TERMS): what the read touches — RowBlocks,
   * segments to decode, their bytes decoded and on disk (segments already decoded in the bufferpool are
   * `cachedBytes` and cost none of these), bytes of the result — and the model's coefficients.
   */
  read: (ReadFeatures & { cachedBytes: number; coef: number[]; reads: number; source: 'measured' | 'calibrated' | 'probed' | 'assumed'; ms: number; accuracy: Band | null }) | null;
  /** Eq. 5.2 / 5.3 with the terms that went in. */
  rerun: { ms: number; terms: Record<string, number>; accuracy: Band | null } | null;
  choice: Choice;
  reason: string;
  /** After the query ran: the path taken and its measured time. */
  measured?: { path: Choice; ms: number };
  /** Policy adaptive: γ after this query (s saved per GB) and whether the query materialized it. */
  gamma?: number;
  materializedNow?: boolean;
}


/** The whole output of a re-run, as adaptive materialization stores it: a pipeline table or a layer's tensor. */
export interface RerunOutput { table?: StageTable; tensor?: { values: Float32Array; shape: number[]; rowIds: Int32Array } }

export interface Rerunners {
  trad(project: string, model: string, stage: string, rows?: ArrayLike<number>): Promise<{ table: StageTable; full: StageTable; timings: StageRerunTiming[] }>;
  /** A layer re-run as stored: `pooled` when the values come back pooled as the scheme pools (else the caller pools them). */
  dnn(modelKey: string, layer: string, rows?: ArrayLike<number>): Promise<{ values: Float32Array; shape: number[]; rowIds: Int32Array; pooled?: boolean }>;
  /**
   * Stores the full re-run output of an unmaterialized intermediate (adaptive), keeping its statistics;
   * false when it could not now (another process holds the store's write lock).
   */
  materialize(row: IntermediateRow, full: RerunOutput): Promise<boolean>;
  /**
   * The read model of a scheme family this store holds nothing of, from timed reads of synthetic
   * intermediates in a scratch store of the same codec (the store itself is left as it was).
   */
  probeReads?(scheme: string): Promise<ReadRate | undefined>;
}

export interface AdaptiveSettings { enabled: boolean; gammaMin: number }

/** The read model before anything was ever read on this machine: 10 ms per MB decoded (100 MB/s), stated as assumed. */
const ASSUMED_READ = [0, 0, 0, 10, 0, 0];

/**
 * What an estimate may do about a model this machine has not measured yet: false — take what is at hand
 * (explain); true — calibrate it now, before answering (explain with `measure`, adaptive's γ); 'defer' —
 * take what is at hand and calibrate it once the store is idle (a query).
 */
type Measure = boolean | 'defer';

export class QueryPlanner {
  readonly rates: ReadRates;
  /** What re-runs measured on this machine: each layer's line (Eq. 5.3) and each pipeline stage's time (Eq. 5.2). */
  private readonly reruns: RerunStats;
  /**
   * How far estimates have been from the runs that followed them, per kind of run (`accuracyKind`): an
   * estimate carries the band (measured ÷ estimated, 10th–90th percentile of the last 32 runs) as `accuracy`.
   */
  readonly accuracy: EstimateAccuracy;
  /** Intermediates being materialized now: a query beside the one materializing leaves it be. */
  private readonly materializing = new Set<number>();
  /** The calibrations queries did not wait for (Measure 'defer'): run while the store is idle. */
  readonly idle: IdleCalibration;
  /** Timed cold runs that fit the read model and the re-run lines. */
  private readonly calibration: Calibration;

  constructor(
    private readonly db: MetadataDB,
    private readonly ds: DataStore,
    private readonly reader: ChunkReader,
    private readonly rerunners: Rerunners,
    private readonly adaptive: AdaptiveSettings,
    private readonly codec: string,
    idle: IdleCalibration = new IdleCalibration(),
  ) {
    this.idle = idle;
    this.rates = new ReadRates(db, codec);
    this.reruns = new RerunStats(db);
    this.accuracy = new EstimateAccuracy(db);
    this.calibration = new Calibration(db, ds, reader, rerunners, this.rates, this.reruns, (spec, layer, ids) => this.inputReadMs(spec, layer, ids));
  }

  /** The kind of run whose estimates share a band: reads of one codec and scheme family, re-runs of networks, of pipelines. */
  private accuracyKind(path: Choice, e: Estimate): string {
    return path === 'read' ? `read:${this.codec}|${schemeFamily(e.scheme)}` : `rerun:${e.workflow}`;
  }

  /** Records a query's measured run against the estimate for its path. */
  private recordAccuracy(e: Estimate): void {
    if (!e.measured || e.materializedNow) return; // a run that also materialized did more than was estimated
    const est = e.measured.path === 'read' ? e.read?.ms : e.rerun?.ms;
    if (est !== undefined) this.accuracy.record(this.accuracyKind(e.measured.path, e), est, e.measured.ms);
  }

  /**
   * The estimates and choices for a query, without running it — and without measuring anything: a
   * read model or a re-run line this machine has not measured yet is taken from what is at hand (the
   * logging profile, the assumed read rate) and says so in its `source`, instead of timing reads and
   * re-runs (and dropping the bufferpool's decoded segments) in the middle of other queries. A query,
   * explain with `run`, or `measure: true` (estimate as a query would, without running it) measures them.
   */
  async explain(keys: readonly string[], opts: PlannedQueryOptions & { measure?: boolean } = {}): Promise<Estimate[]> {
    const sels = resolveKeys(this.db, keys);
    const ids = opts.rows !== undefined ? normalizeRows(opts.rows) : undefined;
    const out: Estimate[] = [];
    const path = queryPath(opts.path);
    for (const sel of sels) out.push(await this.estimate(sel, ids, path, opts.measure === true));
    return out;
  }

  /** Answers a query, each intermediate by its chosen path; the estimates get their measured times. */
  async query(keys: readonly string[], opts: PlannedQueryOptions = {}): Promise<{ matrix: Matrix; estimates: Estimate[] }> {
    this.idle.enter();
    try {
      return await this.runQuery(keys, opts);
    } finally {
      this.idle.leave();
    }
  }

  private async runQuery(keys: readonly string[], opts: PlannedQueryOptions): Promise<{ matrix: Matrix; estimates: Estimate[] }> {
    const sels = resolveKeys(this.db, keys);
    const ids = opts.rows !== undefined ? normalizeRows(opts.rows) : undefined;
    const path = queryPath(opts.path);
    const estimates: Estimate[] = [];
    // a path the caller forced needs no choice: nothing is timed (estimates from what is known); a choice
    // a model not measured yet would inform is made from what is at hand, its calibration deferred
    for (const sel of sels) estimates.push(await this.estimate(sel, ids, path, path === 'auto' ? 'defer' : false));
    // Everything read: one pass of the ChunkReader, which joins on row_id itself.
    if (estimates.every((e) => e.choice === 'read')) {
      const t0 = performance.now();
      const before = { bytes: this.ds.decodedRawBytes, segments: this.ds.decodedSegments };
      const matrix = await this.reader.readSelections(sels, ids ? { rows: ids } : {});
      const ms = performance.now() - t0;
      const decoded = this.ds.decodedRawBytes - before.bytes;
      // every single-intermediate read teaches the read model; segments and bytes as decoded (the cache
      // may have changed since planning), on-disk bytes in the planned proportion
      const f = estimates[0]!.read;
      if (sels.length === 1 && f) {
        const scale = f.rawBytes > 0 ? decoded / f.rawBytes : 0;
        this.rates.update(sels[0]!.intermediate.scheme, { blocks: f.blocks, segments: this.ds.decodedSegments - before.segments, rawBytes: decoded, storedBytes: f.storedBytes * scale, outBytes: f.outBytes, lanes: f.lanes }, ms);
      }
      for (const e of estimates) e.measured = { path: 'read', ms: ms / estimates.length };
      if (estimates.length === 1) this.recordAccuracy(estimates[0]!);
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
        try {
          m = await this.rerun(sel, ids, e);
        } catch (err) {
          // the source data changed or is gone since logging: only the stored intermediate holds the logged values
          if (!(((err instanceof MistiqueError && err.code === 'STALE') || sourceGone(err)) && e.materialized && path !== 'rerun')) throw err;
          e.choice = 'read';
          e.reason = `re-running would not give the logged values (${(err as Error).message.split(':')[0]}): read instead`;
          m = await this.reader.readSelections([sel], ids ? { rows: ids } : {});
        }
      }
      e.measured = { path: e.choice, ms: performance.now() - t0 };
      this.recordAccuracy(e);
      m.sources = [{ key: e.key, path: e.choice, scheme: e.scheme, loss: e.choice === 'read' ? lossOf(e.scheme) : 'none (re-run at full precision)', ms: e.measured.ms }];
      parts.push(m);
    }
    const matrix = parts.length === 1 ? parts[0]! : joinOnRowId(parts, ids !== undefined);
    return { matrix, estimates };
  }

  /** `measure`: a model not measured on this machine yet is calibrated now (timed reads or re-runs); else assumed. */
  private async estimate(sel: Selection, ids: Int32Array | undefined, path: QueryPath, measure: Measure = true): Promise<Estimate> {
    const r = sel.intermediate;
    const key = `${r.project}.${r.model}.${r.name}`;
    const wf = this.db.workflows.get(r.project, r.model);
    // a network whose stored checkpoint is gone reads what is stored and re-runs nothing
    const lost = wf?.kind === 'dnn' ? lostCheckpoint(this.ds.dir, `${r.project}.${r.model}`, JSON.parse(wf.spec) as DnnSpec) : null;
    if (lost && (path === 'rerun' || r.materialized === 0)) throw new MistiqueError('NOT_FOUND', lost);
    const workflow = wf && !lost && (wf.kind === 'trad' || wf.kind === 'dnn') ? wf.kind : null;
    const n = ids ? ids.length : r.n_rows;
    if (ids) checkRowsHeld(this.db, r, ids);
    const materialized = r.materialized !== 0;
    const e: Estimate = { key, rows: n, columns: sel.cols.length, scheme: r.scheme, materialized, workflow, read: null, rerun: null, choice: 'read', reason: '' };
    if (materialized) e.read = await this.readEstimate(sel, ids, measure);
    // γ needs what reading it would cost once stored; with γ_min = ∞ nothing is ever stored
    else if (this.adaptive.enabled && Number.isFinite(this.adaptive.gammaMin)) e.read = await this.readEstimateUnstored(r, measure);
    if (workflow) e.rerun = await this.rerunEstimate(r, wf!, ids, measure);
    if (e.read) e.read.accuracy = this.accuracy.band(this.accuracyKind('read', e));
    if (e.rerun) e.rerun.accuracy = this.accuracy.band(this.accuracyKind('rerun', e));
    if (path === 'read') {
      if (!materialized) throw new MistiqueError('NOT_STORED', `${key} is not materialized (policy adaptive): it can only be re-run; use path auto or rerun`);
      e.choice = 'read'; e.reason = 'read was asked for';
    } else if (path === 'rerun') {
      if (!workflow) throw new MistiqueError('UNSUPPORTED', `${key} was logged by the caller, not by a workflow mistique ran: it cannot be re-run, only read`);
      e.choice = 'rerun'; e.reason = 're-run was asked for';
    } else if (!workflow) {
      e.choice = 'read'; e.reason = lost ? 'its network\'s checkpoint is gone from the store: only a read' : 'no workflow can re-create it (logged by the caller)';
    } else if (!materialized) {
      e.choice = 'rerun'; e.reason = 'not materialized (adaptive): re-running is the only path';
    } else {
      e.choice = choose(true, e.read!.ms, e.rerun!.ms);
      const ratio = e.choice === 'read' ? e.rerun!.ms / Math.max(e.read!.ms, 1e-3) : e.read!.ms / Math.max(e.rerun!.ms, 1e-3);
      e.reason = `${e.choice === 'read' ? 'reading' : 're-running'} is estimated ${ratio.toFixed(1)}× faster`;
      if (closeCall(e.choice, e.read!.ms, e.rerun!.ms, e.read!.accuracy, e.rerun!.accuracy)) {
        const seen = [['reads', e.read!.accuracy], ['re-runs', e.rerun!.accuracy]] as const;
        e.reason += ` — a close call: ${seen.filter(([, b]) => b).map(([what, b]) => `${what} here took ${bandText(b!)} of their estimates`).join(', ')}`;
      }
    }
    return e;
  }

  /**
   * The read model of a scheme's family: measured on this machine; else calibrated from timed reads of
   * the store's own intermediates; else, when it holds none of that family (adaptive, right after
   * logging), probed on synthetic ones of its codec; else (a family the probe does not cover) assumed.
   */
  private async readModel(scheme: string, measure: Measure = true): Promise<{ coef: number[]; reads: number; source: 'measured' | 'calibrated' | 'probed' | 'assumed' }> {
    const rate = this.rates.get(scheme);
    if (rate) return { coef: rate.coef, reads: rate.reads, source: rate.probed ? 'probed' : 'measured' };
    if (!measure) return { coef: ASSUMED_READ, reads: 0, source: 'assumed' };
    if (measure === 'defer') {
      this.idle.defer(`read:${schemeFamily(scheme)}`, async (disturbed) => {
        if (this.rates.get(scheme)) return true;
        if (await this.calibrate(scheme, disturbed)) return true;
        if (disturbed()) return false;
        const probe = await this.rerunners.probeReads?.(scheme);
        if (probe && !disturbed()) this.rates.adopt(scheme, probe);
        return !disturbed();
      });
      return { coef: ASSUMED_READ, reads: 0, source: 'assumed' };
    }
    const cal = await this.calibrate(scheme);
    if (cal) return { coef: cal.coef, reads: cal.reads, source: 'calibrated' };
    const probe = await this.rerunners.probeReads?.(scheme);
    if (probe) {
      const r = this.rates.adopt(scheme, probe);
      return { coef: r.coef, reads: r.reads, source: 'probed' };
    }
    return { coef: ASSUMED_READ, reads: 0, source: 'assumed' };
  }

  private async readEstimate(sel: Selection, ids: Int32Array | undefined, measure: Measure = true): Promise<NonNullable<Estimate['read']>> {
    const r = sel.intermediate;
    // a loop, not Math.min(...cols): a wide layer's hundreds of thousands of columns overflow the stack as arguments
    let c0 = Infinity, c1 = -Infinity;
    if (sel.all) { c0 = 0; c1 = r.n_cols; } else for (const j of sel.cols) { if (j < c0) c0 = j; if (j + 1 > c1) c1 = j + 1; }
    const model = await this.readModel(r.scheme, measure);
    const f = readFeatures(this.db, this.ds, r, ids, c0, c1);
    return { ...f, ...model, ms: tRead(f, model.coef), accuracy: null };
  }

  /** An unmaterialized intermediate: what reading all of it would cost once stored (its raw bytes, compressed as its scheme's reads are). */
  private async readEstimateUnstored(r: IntermediateRow, measure: Measure = true): Promise<NonNullable<Estimate['read']>> {
    const model = await this.readModel(r.scheme, measure);
    // each RowBlock's chunks fill segments of about the store's segment size
    const blocks = Math.ceil(r.n_rows / Math.max(1, r.row_block_size));
    const segments = blocks * Math.max(1, Math.ceil(r.bytes_raw / Math.max(1, blocks) / this.ds.opts.segmentBytes));
    const f: ReadFeatures = { blocks, segments, rawBytes: r.bytes_raw, storedBytes: r.bytes_est ?? r.bytes_raw, outBytes: r.bytes_raw, lanes: lanes(this.ds, blocks, r) };
    return { ...f, cachedBytes: 0, ...model, ms: tRead(f, model.coef), accuracy: null };
  }

  private async rerunEstimate(r: IntermediateRow, wf: WorkflowRow, ids: Int32Array | undefined, measure: Measure = true): Promise<Estimate['rerun']> {
    if (wf.kind === 'trad') {
      const stages: StageCost[] = this.db.workflows.stages(wf.model_id).map((s) => ({
        name: s.name, inputs: JSON.parse(s.inputs) as string[], output: s.output, readOpMs: s.t_read_op_ms, readInputMs: s.t_read_input_ms, execMs: s.t_exec_ms, rows: s.n_rows,
      }));
      const ms = tRerunTrad(stages, r.name);
      return { ms, terms: { stages: stages.length, wholeTableMs: ms }, accuracy: null };
    }
    const spec = JSON.parse(wf.spec) as DnnSpec;
    const n = ids ? ids.length : r.n_rows;
    const inputMs = await this.inputReadMs(spec, r.name, ids, measure);
    // Eq. 5.3's load and per-batch forward time: this layer's line over timed re-runs on this machine
    // (calibrated with re-runs of 1, 8, 32 batches and all rows the first time it is planned; per batch,
    // large re-runs cost less than small ones, so the line must see both), else the logging session's profile
    // (a layer already timed whose line is degenerate — all re-runs ~0 ms — is not timed again on every estimate)
    const line = this.reruns.line(r);
    let fit = line ? solveRerun(line.sums, line.anchor) : null;
    // a line without calibration's re-runs (only a query's) is calibrated later; never measured, now if asked
    if (!line?.anchor && measure === 'defer') this.idle.defer(`rerun:${r.id}`, async (disturbed) => (this.reruns.line(r)?.anchor ? true : (await this.calibration.rerunLine(r, spec, disturbed)) !== null || !disturbed()));
    else if (!line && measure) fit = await this.calibration.rerunLine(r, spec);
    const loadMs = fit ? fit.a : spec.loadMs;
    const batchMs = fit ? fit.b : spec.layerMsPerBatch[r.name] ?? spec.forwardMsPerBatch;
    const ms = tRerunDnn({ loadMs, inputReadMsPerRow: n > 0 ? inputMs / n : 0, batchSize: spec.batchSize, layerMsPerBatch: { [r.name]: batchMs } }, r.name, n);
    return { ms, terms: { loadMs, inputReadMs: inputMs, batches: n / spec.batchSize, layerMsPerBatch: batchMs, fromReruns: fit ? fit.n : 0 }, accuracy: null };
  }

  /** Eq. 5.3's input read: the read model on the network's stored examples (every input of a multi-input model). */
  private async inputReadMs(spec: DnnSpec, layer: string, ids: Int32Array | undefined, measure: Measure = true): Promise<number> {
    let ms = 0;
    for (const key of layerGroups(spec, layer).flatMap((grp) => grp.inputs.map((i) => i.key))) {
      const row = findIntermediate(this.db, key);
      if (!row) continue;
      ms += tRead(readFeatures(this.db, this.ds, row, ids), (await this.readModel(row.scheme, measure)).coef);
    }
    return ms;
  }

  /**
   * The read model of a scheme family from a few timed cold reads of its stored intermediates
   * (calibration.ts); run when a store meets a scheme it has no model for, on this machine.
   */
  calibrate(scheme: string, disturbed: () => boolean = () => false): Promise<{ coef: number[]; reads: number } | undefined> {
    return this.calibration.readModel(scheme, disturbed);
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
      // every re-run refreshes the stage times Eq. 5.2 sums (logging recorded each operator's first run)
      this.reruns.foldStages(r, res.timings);
      m = tableToMatrix(res.table, sel);
      full = { table: res.full };
    } else if (ids && ids.length === 0) {
      // no rows asked: nothing to run (a network run on no examples has no output shape to give)
      m = tensorToMatrix(new Float32Array(0), sel.schema.shape ?? [r.n_cols], new Int32Array(0), sel);
    } else {
      const res = await this.rerunners.dnn(`${r.project}.${r.model}`, r.name, rows);
      // every re-run teaches this layer's line: its time beyond the modelled input read, against its batches
      if (e.rerun) this.reruns.foldLayer(r, e.rerun.terms.batches!, Math.max(0, performance.now() - t0 - e.rerun.terms.inputReadMs!));
      const pooled = res.pooled ? res : applyPool(res.values, res.shape, r.scheme);
      m = tensorToMatrix(pooled.values, pooled.shape, res.rowIds, sel);
      // quantized schemes are not materialized from a re-run (they need the logging-time codebooks)
      if ((!ids || ids.length === r.n_rows) && materializableFromRerun(r.scheme)) full = { tensor: { values: pooled.values, shape: pooled.shape, rowIds: res.rowIds } };
    }
    // by name, not by the id planned with: a query running beside this one may have materialized it
    // meanwhile, which replaces its registration
    const id = this.db.intermediateId(r.project, r.model, r.name);
    if (id === undefined) return m;
    this.db.recordQuery(id, performance.now() - t0);
    const now = this.db.intermediate(id)!;
    if (this.adaptive.enabled && now.materialized === 0 && !this.materializing.has(now.id)) {
      const tAll = e.rerun && !ids ? e.rerun.ms : (await this.rerunEstimate(now, this.db.workflows.get(r.project, r.model)!, undefined))!.ms;
      const tReadAll = e.read?.ms ?? 0;
      e.gamma = gamma(tAll, tReadAll, now.n_query, now.bytes_est ?? now.bytes_raw);
      // still the registration this query saw: while it estimated, another query may have materialized it
      if (e.gamma >= this.adaptive.gammaMin && full && !this.materializing.has(now.id) && this.db.intermediateId(r.project, r.model, r.name) === now.id) {
        this.materializing.add(now.id);
        try {
          e.materializedNow = await this.rerunners.materialize(now, full);
        } finally {
          this.materializing.delete(now.id);
        }
      }
    }
    return m;
  }
}

/**
 * Whether a re-run can become the stored intermediate under this scheme: full precision, pooled or not.
 * Quantized schemes (LP_QT, KBIT_QT, THRESHOLD_QT) are written from their logging-time codebooks and
 * thresholds, so under adaptive such intermediates are stored when logged (`Store.writer`).
 */
export function materializableFromRerun(scheme: string | undefined): boolean {
  return schemeFamily(scheme ?? 'none') === 'none';
}

/** A query path option, checked: auto (the cost model chooses), read or rerun. */
function queryPath(p: QueryPath | undefined): QueryPath {
  if (p === undefined) return 'auto';
  if (p !== 'auto' && p !== 'read' && p !== 'rerun') throw new MistiqueError('BAD_OPTION', `path ${JSON.stringify(p)}: use 'auto', 'read' or 'rerun'`);
  return p;
}

/** A band as text: '0.80–1.30×' (its 10th–90th percentile). */
export function bandText(b: Band): string {
  return `${b.low.toFixed(2)}–${b.high.toFixed(2)}×`;
}

/** What a read gives up for a scheme. */
export function lossOf(scheme: string): string {
  if (scheme === 'none') return 'none';
  return scheme.split('+').map((p) => (p.startsWith('pool') ? `${p} (stored pooled)` : p === 'lp' ? 'float16 rounding' : p.startsWith('kbit') ? `${p} codes, each value within (max − min)/(2^k − 1) of its chunk's range` : `${p} bits`)).join(', ');
}
