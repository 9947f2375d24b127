// Calibration (#5): timed cold runs that fit this machine's cost models — the read model of a scheme
// family (Eq. 5.4's terms, readrates.ts) from reads of its stored intermediates, and a layer's re-run line
// (Eq. 5.3, rerunstats.ts) from re-runs of growing size. The planner asks for them when it meets what it
// has no model for, at once or while the store is idle (idlecalibration.ts).
import { solveRerun, type ReadFeatures } from '../costmodel/index.js';
import type { IntermediateRow, MetadataDB } from '../metadata/metadatadb.js';
import type { DnnSpec } from '../executor/onnx/dnnspec.js';
import type { DataStore } from '../store/datastore.js';
import type { ChunkReader } from './chunkreader.js';
import type { Rerunners } from './planner.js';
import { idRange } from './rowspec.js';
import { readFeatures } from './readfeatures.js';
import { schemeFamily, type ReadRates } from './readrates.js';
import type { RerunStats } from './rerunstats.js';
import { schemaOf, type Selection } from './resolve.js';

export class Calibration {
  constructor(
    private readonly db: MetadataDB,
    private readonly ds: DataStore,
    private readonly reader: ChunkReader,
    private readonly rerunners: Pick<Rerunners, 'dnn'>,
    private readonly rates: ReadRates,
    private readonly reruns: RerunStats,
    /** Eq. 5.3's modelled input read of a layer's re-run (the planner's), taken off each timed re-run. */
    private readonly inputReadMs: (spec: DnnSpec, layer: string, ids: Int32Array) => Promise<number>,
  ) {}

  /**
   * The first time a layer is planned on this machine: timed re-runs of one, eight and 32 batches and
   * of all its rows (fewer when the layer has fewer rows; each the faster of two cold runs), minus the
   * modelled input read, give its line load + batches × ms. Per batch, large re-runs cost less than
   * small ones (conv1 of the cnn: 4.8 ms over 8 batches, 3.2 over 79), so the line is fitted over the
   * whole range queries can ask for rather than extrapolated from 32 batches.
   */
  async rerunLine(r: IntermediateRow, spec: DnnSpec, disturbed: () => boolean = () => false): Promise<{ a: number; b: number; n: number } | null> {
    if (r.row_id_start === null || r.n_rows < 2) return null;
    const B = spec.batchSize;
    const sizes = [...new Set([Math.min(B, r.n_rows), Math.min(8 * B, r.n_rows), Math.min(32 * B, r.n_rows), r.n_rows])];
    if (sizes.length < 2) sizes.unshift(Math.max(1, Math.floor(r.n_rows / 4)));
    const points: [number, number][] = [];
    for (const size of sizes) {
      const ids = idRange(r.row_id_start, size);
      const best = await this.coldBest(async () => {
        const inputMs = await this.inputReadMs(spec, r.name, ids);
        const t0 = performance.now();
        await this.rerunners.dnn(`${r.project}.${r.model}`, r.name, ids);
        return performance.now() - t0 - inputMs;
      }, disturbed);
      // a query ran meanwhile (deferred calibration): these timings are not this layer's alone
      if (disturbed()) return null;
      points.push([size / B, Math.max(0, best)]);
    }
    for (const [batches, ms] of points) this.reruns.foldLayer(r, batches, ms, true);
    this.ds.dropCaches();
    const line = this.reruns.line(r);
    return line ? solveRerun(line.sums, line.anchor) : null;
  }

  /**
   * The read model from a few timed cold reads of stored intermediates of this scheme family — a few
   * rows of one RowBlock, one whole RowBlock, four RowBlocks, of the largest intermediates and of the
   * smallest — so that the fixed, per-RowBlock, per-byte and per-result terms separate.
   * Run when a store meets a scheme it has no model for, on this machine.
   */
  async readModel(scheme: string, disturbed: () => boolean = () => false): Promise<{ coef: number[]; reads: number } | undefined> {
    const want = schemeFamily(scheme);
    const family = this.db.intermediates()
      .filter((r) => r.materialized !== 0 && schemeFamily(r.scheme) === want && r.n_chunks > 0)
      .sort((a, b) => b.bytes_raw - a.bytes_raw);
    if (family.length === 0) return undefined;
    const pool = family.slice(0, 12);
    // the largest, and among the large ones the least and the most compressible (on-disk ÷ decoded
    // bytes of their first RowBlock), so that the per-MB-decoded and per-MB-on-disk terms separate
    const ratio = new Map(pool.map((r) => { const fp = this.db.readFootprint(r.id, r.row_id_start === null ? null : [0]); return [r, fp.raw > 0 ? fp.stored / fp.raw : 1]; }));
    const byRatio = [...pool].sort((a, b) => ratio.get(a)! - ratio.get(b)!);
    // and the smallest: its reads are mostly the fixed and per-RowBlock costs
    const cands = [...new Set([pool[0]!, byRatio[0]!, byRatio[byRatio.length - 1]!, family[family.length - 1]!])];
    const samples: { f: ReadFeatures; ms: number }[] = [];
    for (const r of cands) {
      const nb = Math.ceil(r.n_rows / r.row_block_size);
      const sizes = r.row_id_start === null ? [r.n_rows] : [...new Set([Math.min(8, r.n_rows), Math.min(r.n_rows, r.row_block_size), Math.min(r.n_rows, Math.min(nb, 4) * r.row_block_size)])];
      const sel: Selection = { intermediate: r, schema: schemaOf(this.db, r), cols: Array.from({ length: r.n_cols }, (_, j) => j) };
      for (const size of sizes) {
        const ids = r.row_id_start === null ? undefined : idRange(r.row_id_start, size);
        let f: ReadFeatures | undefined;
        const best = await this.coldBest(async () => {
          f = readFeatures(this.db, this.ds, r, ids);
          const t0 = performance.now();
          await this.reader.readSelections([sel], ids ? { rows: ids, record: false } : { record: false });
          return performance.now() - t0;
        }, disturbed);
        if (disturbed()) return undefined;
        if (f && f.rawBytes > 0) samples.push({ f, ms: best });
      }
    }
    this.ds.dropCaches();
    if (samples.length === 0) return undefined;
    return this.rates.set(scheme, samples);
  }

  /**
   * The faster of two timed runs, decoded segments dropped before each: calibration times cold work,
   * and the first run of a graph or a file pays warm-up that no model term describes.
   */
  private async coldBest(run: () => Promise<number>, disturbed: () => boolean = () => false): Promise<number> {
    let best = Infinity;
    for (let rep = 0; rep < 2 && !disturbed(); rep++) {
      this.ds.dropCaches();
      best = Math.min(best, await run());
    }
    return best;
  }
}
