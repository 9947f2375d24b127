// The cost model of paper §5.5, as pure functions over recorded statistics (no I/O, no clocks): the
// time to re-run a TRAD stage (Eq. 5.2) or a DNN layer (Eq. 5.3), the time to read an intermediate's
// asked rows (Eq. 5.4), the read-or-re-run choice (Alg. 4), and the storage trade-off γ (Eq. 5.5).

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
 * Eq. 5.4: reading costs the stored bytes of the RowBlocks that hold the asked rows ÷ ρ_d, the read
 * rate (bytes per ms) measured for the intermediate's storage scheme and codec — plus, our addition, a
 * fixed cost per read (`fixedMs`: resolving the key, the row index, opening segments), which dominates
 * small reads and which Eq. 5.4 leaves out.
 */
export function tRead(storedBytesOfBlocks: number, rhoBytesPerMs: number, fixedMs = 0): number {
  if (!(rhoBytesPerMs > 0)) throw new RangeError(`ρ_d must be positive, got ${rhoBytesPerMs}`);
  return Math.max(0, fixedMs) + storedBytesOfBlocks / rhoBytesPerMs;
}

/**
 * Running sums for a least-squares line ms = fixed + bytes / ρ, weighted by 1 / ms² (so relative errors
 * count: a 2 ms read weighs as much as a 2 s one, which is what the read-or-re-run choice needs), older
 * reads decayed by `decay` per read.
 */
export interface ReadFit { count: number; w: number; sx: number; sy: number; sxx: number; sxy: number }

export function addToFit(fit: ReadFit | undefined, bytes: number, ms: number, decay = 0.95): ReadFit {
  const f = fit ?? { count: 0, w: 0, sx: 0, sy: 0, sxx: 0, sxy: 0 };
  const x = bytes / 1e6; // MB, to keep the sums well scaled
  const w = 1 / Math.max(ms, 0.05) ** 2;
  return {
    count: f.count + 1, w: f.w * decay + w, sx: f.sx * decay + w * x, sy: f.sy * decay + w * ms,
    sxx: f.sxx * decay + w * x * x, sxy: f.sxy * decay + w * x * ms,
  };
}

/**
 * The line through the reads, when they span enough sizes to tell a fixed cost from a rate: ρ in bytes
 * per ms and the fixed ms (never negative; a negative intercept is refitted through the origin).
 */
export function solveFit(f: ReadFit | undefined): { rho: number; fixedMs: number } | undefined {
  if (!f || f.count < 3 || !(f.w > 0)) return undefined;
  const mx = f.sx / f.w, my = f.sy / f.w;
  const varX = f.sxx / f.w - mx * mx;
  if (!(varX > 1e-9 * Math.max(1e-12, mx * mx))) return undefined;
  const slope = (f.sxy / f.w - mx * my) / varX; // ms per MB
  let fixed = my - slope * mx;
  let perMB = slope;
  if (fixed < 0) { fixed = 0; perMB = f.sxy / f.sxx; }
  if (!(perMB > 0)) return undefined;
  return { rho: 1e6 / perMB, fixedMs: fixed };
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

/** Updates ρ_d with a measured read: an exponentially weighted mean of bytes per ms (weight `alpha` on the new read). */
export function updateRho(rho: number | undefined, bytes: number, ms: number, alpha = 0.3): number {
  const measured = bytes / Math.max(ms, 1e-3);
  return rho === undefined ? measured : (1 - alpha) * rho + alpha * measured;
}
