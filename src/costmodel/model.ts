// The cost model of paper §5.5, as pure functions over recorded statistics (no I/O, no clocks): the
// time to re-run a TRAD stage (Eq. 5.2) or a DNN layer (Eq. 5.3), the time to read an intermediate's
// asked rows (Eq. 5.4, with the terms a real read has), the read-or-re-run choice (Alg. 4), and the storage trade-off γ (Eq. 5.5).
import { addSample, addSums, emptySums, solveNonNegative, type LinearSums } from './fit.js';

/** Recorded timings of one TRAD stage (ms), as the PipelineExecutor stores them. */
export interface StageCost { name: string; inputs: readonly string[]; output: 'table' | 'model'; readOpMs: number; readInputMs: number; execMs: number; rows: number | null }

/**
 * Eq. 5.2: re-running stage i costs, over the stages it needs (its lineage, stopping at trained
 * operators, which are loaded, not retrained), reading the operator + reading the input + executing.
 * TRAD re-runs compute whole tables and then keep the asked rows, so the row count does not enter.
 */
export function tRerunTrad(stages: readonly StageCost[], target: string): number {
  const by = new Map(stages.map((s) => [s.name, s]));
  const seen = new Set<string>();
  let total = 0;
  const visit = (name: string, root: boolean): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const s = by.get(name);
    if (!s) throw new RangeError(`no stage ${name}`);
    if (s.output === 'model' && !root) { total += s.readOpMs; return; }
    total += s.readInputMs + s.execMs;
    for (const i of s.inputs) visit(i, false);
  };
  visit(target, true);
  return total;
}

/** Recorded timings of a DNN checkpoint: model load, input read per example, per-layer forward time per batch. */
export interface NetworkCost { loadMs: number; inputReadMsPerRow: number; batchSize: number; layerMsPerBatch: Readonly<Record<string, number>> }

/** Eq. 5.3: model load + input read + ⌈n / batch⌉ × the forward time of one batch up to layer i. */
export function tRerunDnn(net: NetworkCost, layer: string, nRows: number): number {
  const perBatch = net.layerMsPerBatch[layer];
  if (perBatch === undefined) throw new RangeError(`no timing for layer ${layer}`);
  // a last partial batch costs its share: onnxruntime's time grows about linearly with the batch
  return net.loadMs + net.inputReadMsPerRow * nRows + perBatch * (nRows / net.batchSize);
}

/**
 * How much a run — a read or a re-run — slower than the model predicted counts, against one as fast or
 * faster. The model estimates a run undisturbed by the rest of the machine (what calibration's faster
 * of two cold runs measures): interference — the other core busy, a garbage collection, the threadpool
 * late — only ever adds time, so a slow run is weaker evidence that runs got slower than a fast one is
 * that they got faster. Asymmetric least squares (an expectile fit, τ = 0.2): on this machine's cold
 * reads of the cnn (13 layers, 100 to 10 000 rows, ten runs each) read estimates within 30% of the
 * best run went from 84% to 92% of reads, and of the median run from 92% to 93%.
 */
export const SLOWER_RUN_WEIGHT = 0.25;

/** The weight of a run that took `ms` against the model's `predictedMs` for it (none: not yet predicted). */
function runWeight(ms: number, predictedMs: number | undefined): number {
  return predictedMs !== undefined && ms > predictedMs ? SLOWER_RUN_WEIGHT : 1;
}

/**
 * A TRAD stage's recorded time (Eq. 5.2's execute or read-operator term) after a re-run measured it:
 * moved `rate` of the way to the measurement, a quarter of that when the run was slower (as for reads
 * and layers, interference only adds time). The times recorded while logging are the first run of each
 * operator in the process, which pays JIT warm-up: a pipeline on 400 homes re-ran in a third of the
 * time its logging recorded.
 */
export function refreshStageMs(recordedMs: number, measuredMs: number, rate = 0.5): number {
  if (!(measuredMs >= 0) || !Number.isFinite(measuredMs)) return recordedMs;
  return recordedMs + rate * runWeight(measuredMs, recordedMs) * (measuredMs - recordedMs);
}

/**
 * Folds one measured re-run of a DNN layer (its ms beyond the modelled input read) into the layer's line
 * load + batches × ms per batch: least squares over decayed running sums, older re-runs multiplied by
 * `decay`, a re-run slower than the line's `predictedMs` for it weighted by SLOWER_RUN_WEIGHT.
 */
export function addRerun(sums: LinearSums | undefined, batches: number, ms: number, decay = 0.9, predictedMs?: number): LinearSums {
  return addSample(sums ?? emptySums(2), [1, batches], ms, runWeight(ms, predictedMs), decay);
}

/**
 * A layer's re-run line — load ms (`a`), ms per batch (`b`), how many re-runs it rests on (`n`, weighted
 * and decayed) — from the re-runs queries made (`sums`) and the undecayed calibration re-runs
 * (`anchor`: one, eight, 32 batches and all rows, so a layer always queried at one size keeps its load
 * and slope apart). Non-negative least squares: a negative load or slope is noise around a tiny cost, and
 * the other term is refitted alone. Null until re-runs of at least two sizes are in, or when neither
 * term is positive.
 */
export function solveRerun(sums: LinearSums | undefined, anchor?: LinearSums): { a: number; b: number; n: number } | null {
  const all = addSums(anchor, sums);
  if (!all || all.k !== 2 || all.count < 2) return null;
  const w = all.xtx[0]!, mx = all.xtx[1]! / w, mxx = all.xtx[3]! / w;
  if (!(w > 0) || !(mxx - mx * mx > 1e-9 * Math.max(1, mxx))) return null;
  const c = solveNonNegative(all, 0);
  return c ? { a: c[0]!, b: c[1]!, n: Math.round(w) } : null;
}

/**
 * Eq. 5.4 says reading costs the stored bytes of the asked rows ÷ ρ_d. Measured on this engine, a read
 * has six parts, each linear in what the planner knows before reading (`ReadFeatures`): a fixed cost
 * (resolving the key, the chunk index in SQLite), a cost per RowBlock (its row ids, its chunk lookups),
 * a cost per segment decoded (reading it from the file, one inflate call and its hop to the threadpool:
 * a RowBlock of a wide layer spans ~100 segments, of the logits one), a cost per MB decoded (inflating
 * and reconstructing: 1/ρ_d of the paper), a cost per MB on disk (incompressible data costs more per
 * decoded MB) and a cost per MB of the result (assembling the asked rows into one dense matrix).
 * Segments already decoded in the bufferpool count in none of segments, decoded or on-disk bytes.
 */
export interface ReadFeatures {
  blocks: number; segments: number; rawBytes: number; storedBytes: number; outBytes: number;
  /**
   * Threads that read and decode the segments at once (default 1): a scan of a gzip / LZ4 store inflates
   * its segments on the worker threads, so its per-segment and per-MB decoded / on-disk work is shared
   * among them — without this term the model charges a wide layer's scan as if one thread decoded it.
   */
  lanes?: number;
}

/** The names of the read model's coefficients, in order. */
export const READ_TERMS = ['fixed ms', 'ms per RowBlock', 'ms per segment', 'ms per MB decoded', 'ms per MB on disk', 'ms per MB of result'] as const;

export function readVector(f: ReadFeatures): number[] {
  const l = Math.max(1, f.lanes ?? 1);
  return [1, f.blocks, f.segments / l, f.rawBytes / 1e6 / l, f.storedBytes / 1e6 / l, f.outBytes / 1e6];
}

/** t_read: the coefficients (`READ_TERMS`) applied to a read's features. */
export function tRead(f: ReadFeatures, coef: readonly number[]): number {
  if (coef.length !== READ_TERMS.length || coef.some((c) => !(c >= 0))) throw new RangeError(`read coefficients must be ${READ_TERMS.length} non-negative numbers, got ${JSON.stringify(coef)}`);
  const x = readVector(f);
  return x.reduce((a, v, i) => a + v * coef[i]!, 0);
}

/**
 * Folds one measured read into the running fit, weighted by 1/ms² (relative errors: a 2 ms read counts
 * as much as a 2 s one, which is what the read-or-re-run choice needs) and by SLOWER_RUN_WEIGHT when
 * it took longer than `predictedMs` (the model's estimate before it); older reads decayed by `decay`.
 */
export function addRead(sums: LinearSums | undefined, f: ReadFeatures, ms: number, decay = 0.97, predictedMs?: number): LinearSums {
  const w = runWeight(ms, predictedMs) / Math.max(ms, 0.05) ** 2;
  return addSample(sums ?? emptySums(READ_TERMS.length), readVector(f), ms, w, decay);
}

/**
 * The read model's coefficients from the reads so far (non-negative least squares), once there are
 * three. `anchor` holds reads that vary every term on purpose (calibration), kept undecayed beside the
 * decayed `sums` of the reads queries made: queries often vary one term only (a hundred, three hundred,
 * a thousand rows of the logits are all one RowBlock and one segment), and without the anchor the
 * split between the fixed and the per-RowBlock cost would drift to whatever the last reads left free.
 */
export function solveRead(sums: LinearSums | undefined, anchor?: LinearSums): number[] | undefined {
  const all = addSums(anchor, sums);
  return all ? solveNonNegative(all, 3) : undefined;
}

export type Choice = 'read' | 'rerun';

/** Alg. 4: read when the intermediate is stored and reading is not slower than re-running. */
export function choose(stored: boolean, tReadMs: number, tRerunMs: number): Choice {
  return stored && tReadMs <= tRerunMs ? 'read' : 'rerun';
}

/** Eq. 5.5: γ = (t_rerun − t_read) · n_query / S, in seconds saved per GB stored. */
export function gamma(tRerunMs: number, tReadMs: number, nQuery: number, storedBytes: number): number {
  if (storedBytes <= 0) return Infinity;
  return ((tRerunMs - tReadMs) / 1000) * nQuery / (storedBytes / 1e9);
}
