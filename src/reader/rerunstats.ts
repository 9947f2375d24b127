// What re-runs measured on this machine, kept in the MetadataDB — the re-run side of readrates.ts:
// each network layer's line (Eq. 5.3: load + batches × ms per batch; its calibration re-runs an
// undecayed anchor beside the decayed re-runs of queries, in meta `rerun_fit:<key>`, per machine) and
// each pipeline stage's time (Eq. 5.2's terms, in the stages table, moved toward every re-run).
import { addRerun, isSums, refreshStageMs, solveRerun, type LinearSums } from '../costmodel/index.js';
import type { StageRerunTiming } from '../executor/pipeline.js';
import type { IntermediateRow, MetadataDB } from '../metadata/metadatadb.js';
import { machineId, machineMeta } from './readrates.js';

export interface RerunLine { sums?: LinearSums; anchor?: LinearSums }

export class RerunStats {
  constructor(private readonly db: MetadataDB) {}

  private key(r: IntermediateRow): string { return `rerun_fit:${r.project}.${r.model}.${r.name}`; }

  /**
   * This layer's re-run line, if it was measured on this machine: the decayed sums of the re-runs
   * queries made and the undecayed anchor of its calibration re-runs (see solveRerun).
   */
  line(r: IntermediateRow): RerunLine | undefined {
    const v = machineMeta<{ machine: string } & RerunLine>(this.db, this.key(r));
    // sums of another machine, in the older five-sum form, or changed by a damaged file, are not this line's: it is timed again
    if (!v || (v.sums !== undefined && !isSums(v.sums, 2)) || (v.anchor !== undefined && !isSums(v.anchor, 2)) || (!v.sums && !v.anchor)) return undefined;
    return { ...(v.sums ? { sums: v.sums } : {}), ...(v.anchor ? { anchor: v.anchor } : {}) };
  }

  /** Folds a timed re-run into the layer's line: a calibration run into its anchor, a query's weighed against the line's estimate. */
  foldLayer(r: IntermediateRow, batches: number, ms: number, calibration = false): void {
    const line = this.line(r) ?? {};
    if (calibration) line.anchor = addRerun(line.anchor, batches, ms, 1);
    else {
      const fit = solveRerun(line.sums, line.anchor);
      line.sums = addRerun(line.sums, batches, ms, undefined, fit ? fit.a + fit.b * batches : undefined);
    }
    this.db.setMeta(this.key(r), JSON.stringify({ machine: machineId(), ...line }));
  }

  /** Moves the recorded time of each stage a pipeline re-run ran toward what it took (refreshStageMs). */
  foldStages(r: IntermediateRow, timings: readonly StageRerunTiming[]): void {
    const wf = this.db.workflows.get(r.project, r.model);
    if (!wf) return;
    const old = new Map(this.db.workflows.stages(wf.model_id).map((s) => [s.name, s]));
    this.db.workflows.updateStageTimes(wf.model_id, timings.flatMap((t) => {
      const s = old.get(t.name);
      if (!s) return [];
      return [{
        name: t.name,
        ...(t.execMs !== undefined ? { t_exec_ms: refreshStageMs(s.t_exec_ms, t.execMs) } : {}),
        ...(t.readOpMs !== undefined ? { t_read_op_ms: refreshStageMs(s.t_read_op_ms, t.readOpMs) } : {}),
      }];
    }));
  }
}
