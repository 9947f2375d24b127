// PipelineExecutor for TRAD workflows. Logging mode runs a pipeline spec stage by stage, hands every
// table a stage outputs to the DataStore as intermediate `<project>.<pipeline>.<stage>`, stores every
// trained operator, and registers the workflow, its stages, their lineage and timings in the MetadataDB.
// Re-run mode re-creates one stage's output from the source files and the stored operators.
import { MistiqueError } from '../errors.js';
import type { MetadataDB, OperatorRow, StageRow } from '../metadata/metadatadb.js';
import type { PipelineSpec } from './spec.js';
import { fingerprint, lineage, SOURCE, sourceCheck, sourcesGone, type Fingerprint } from './sources.js';
import { OPERATORS } from './operators/index.js';
import type { StageValue, TrainedModel } from './operators/operator.js';
import { takeRows, toFrame, type StageTable } from './table.js';

/** What the executor needs of a store (the Store class provides it). */
export interface IntermediateSink {
  readonly metadata: MetadataDB;
  log(key: string, frame: Record<string, Float64Array | (string | null)[]>, opts: { rowIds: Int32Array; rerunnable?: boolean }): Promise<unknown>;
  flush(): Promise<void>;
}

export interface RunOptions {
  /** Directory of the source files ReadCSV reads. */
  data: string;
  /** Called after each stage. */
  onStage?: (done: number, total: number, stage: string) => void;
}

export interface StageTiming { stage: string; op: string; rows: number | null; execMs: number; logMs: number }
export interface PipelineRun { key: string; stages: StageTiming[]; totalMs: number }

/** Runs every stage; `log` (if given) receives each stage's output as soon as it exists. */
async function execute(
  spec: PipelineSpec, opts: RunOptions,
  onOutput?: (stage: string, v: StageValue) => Promise<number>,
): Promise<{ timings: StageTiming[]; rows: StageRow[]; operators: OperatorRow[] }> {
  const values = new Map<string, StageValue>();
  const lastUse = new Map<string, number>();
  spec.stages.forEach((s, k) => { for (const i of s.inputs) lastUse.set(i, k); });
  const timings: StageTiming[] = [], rows: StageRow[] = [], operators: OperatorRow[] = [];
  for (let k = 0; k < spec.stages.length; k++) {
    const s = spec.stages[k]!;
    const inputs = s.inputs.map((i) => values.get(i)!);
    const t0 = performance.now();
    let out: StageValue;
    try {
      out = await s.op.run(inputs, s.params, { dataDir: opts.data, stage: s.name });
    } catch (err) {
      if (err instanceof MistiqueError) throw new MistiqueError(err.code, `pipeline ${spec.name}, stage ${s.name} (${s.op.name}): ${err.message.replace(/^stage [^:]+: /, '')}`, { cause: err });
      throw new MistiqueError('INTERNAL', `pipeline ${spec.name}, stage ${s.name} (${s.op.name}) failed: ${(err as Error).message}`, { cause: err });
    }
    const execMs = performance.now() - t0;
    let readOpMs = 0;
    if (out.kind === 'model') {
      const bytes = out.model.serialize();
      // time what a re-run pays to get the operator back: deserializing what is stored
      const t1 = performance.now();
      await s.op.load!(bytes);
      readOpMs = performance.now() - t1;
      operators.push({ stage: s.name, op: s.op.name, bytes });
    }
    const logMs = onOutput ? await onOutput(s.name, out) : 0;
    values.set(s.name, out);
    const nrows = out.kind === 'table' ? out.table.nrows : null;
    timings.push({ stage: s.name, op: s.op.name, rows: nrows, execMs, logMs });
    // a source stage's file, as this run read it: a re-run checks it reads the same bytes (sourceCheck)
    const source = s.inputs.length === 0 && out.kind === 'table' && out.table.source ? fingerprint(out.table.source) : undefined;
    rows.push({
      name: s.name, ord: k, op: s.op.name, params: JSON.stringify(source ? { ...s.params, [SOURCE]: source } : s.params), inputs: JSON.stringify(s.inputs), output: s.op.output,
      n_rows: nrows, t_read_op_ms: readOpMs, t_read_input_ms: 0, t_exec_ms: execMs, t_log_ms: logMs,
    });
    for (const i of s.inputs) if (lastUse.get(i) === k) values.delete(i);
    opts.onStage?.(k + 1, spec.stages.length, s.name);
  }
  return { timings, rows, operators };
}

/**
 * Runs a pipeline without logging to a store (the baseline a logging run is compared with); `onTable`
 * sees every table a stage outputs (e.g. to save it some other way) and returns the ms it spent.
 */
export async function runPipeline(spec: PipelineSpec, opts: RunOptions, onTable?: (stage: string, t: StageTable) => Promise<number>): Promise<PipelineRun> {
  const t0 = performance.now();
  const { timings } = await execute(spec, opts, onTable ? async (stage, v) => (v.kind === 'table' ? onTable(stage, v.table) : 0) : undefined);
  return { key: `${spec.project}.${spec.name}`, stages: timings, totalMs: performance.now() - t0 };
}

/** Logging mode: runs and logs every stage. On failure nothing of the pipeline stays registered. */
export async function logPipeline(store: IntermediateSink, spec: PipelineSpec, opts: RunOptions): Promise<PipelineRun> {
  const db = store.metadata;
  const t0 = performance.now();
  const modelId = db.workflows.insert(spec.project, spec.name, 'trad', spec.source, opts.data);
  try {
    const { timings, rows, operators } = await execute(spec, opts, async (stage, v) => {
      if (v.kind !== 'table') return 0;
      const t = performance.now();
      await store.log(`${spec.project}.${spec.name}.${stage}`, toFrame(v.table), { rowIds: v.table.rowIds, rerunnable: true });
      return performance.now() - t;
    });
    await store.flush();
    const totalMs = performance.now() - t0;
    db.workflows.finish(modelId, rows, operators, totalMs);
    return { key: `${spec.project}.${spec.name}`, stages: timings, totalMs };
  } catch (err) {
    db.workflows.delete(modelId);
    throw err;
  }
}

/** `table`: the asked rows; `full`: the whole re-created output (what adaptive materialization stores). */
/** What one stage took in a re-run: ms executing it, or loading its trained operator. */
export interface StageRerunTiming { name: string; execMs?: number; readOpMs?: number }

/** `timings`: each stage of the lineage in this re-run. */
export interface RerunResult { table: StageTable; full: StageTable; stages: string[]; ms: number; timings: StageRerunTiming[] }

/**
 * Re-creates the output of one stage from the source files and the stored operators (no retraining),
 * then keeps the asked rows (by row id, in the asked order; ids not present are an error).
 */
export async function rerunStage(db: MetadataDB, project: string, model: string, stage: string, rows?: ArrayLike<number>): Promise<RerunResult> {
  const wf = db.workflows.get(project, model);
  if (!wf) throw new MistiqueError('NOT_FOUND', `${project}.${model} is not a logged workflow: only what a pipeline (mistique log spec.yaml) or a network (mistique log model.onnx) computed can be re-run; data logged as it is (a file, a stream, store.log) has nothing to re-run it from`);
  const stages = db.workflows.stages(wf.model_id).map((s) => ({ ...s, inputs: JSON.parse(s.inputs) as string[] }));
  if (!stages.some((s) => s.name === stage)) throw new MistiqueError('NOT_FOUND', `${project}.${model} has no stage ${stage}; stages: ${stages.map((s) => s.name).join(', ')}`);
  const target = stages.find((s) => s.name === stage)!;
  if (target.output !== 'table') throw new MistiqueError('BAD_KEY', `stage ${stage} outputs a trained model, not an intermediate table`);
  const need = lineage(stages, stage);
  const t0 = performance.now();
  const values = new Map<string, StageValue>();
  const timings: StageRerunTiming[] = [];
  for (const s of stages) {
    if (!need.has(s.name)) continue;
    const op = OPERATORS.get(s.op);
    if (!op) throw new MistiqueError('CORRUPT', `stage ${s.name} uses operator ${s.op}, unknown to this mistique`);
    if (s.output === 'model') {
      const bytes = db.workflows.operator(wf.model_id, s.name);
      if (!bytes) throw new MistiqueError('CORRUPT', `the trained operator of stage ${s.name} is missing from the MetadataDB`);
      const tl = performance.now();
      values.set(s.name, { kind: 'model', model: (await op.load!(bytes)) as TrainedModel });
      timings.push({ name: s.name, readOpMs: performance.now() - tl });
      continue;
    }
    let out: StageValue;
    const te = performance.now();
    const { [SOURCE]: source, ...params } = JSON.parse(s.params) as Record<string, unknown> & { [SOURCE]?: Fingerprint };
    try {
      out = await op.run(s.inputs.map((i) => values.get(i)!), params, { dataDir: wf.data_dir ?? '.', stage: s.name });
    } catch (err) {
      // a source file that was there at logging time and is gone now: say so, not how to generate data
      if (err instanceof MistiqueError && err.code === 'NOT_FOUND' && s.inputs.length === 0) {
        const gone = new MistiqueError('NOT_FOUND', `re-running ${project}.${model}.${stage} needs the source data of stage ${s.name} from ${wf.data_dir ?? '.'}, where it was logged from, and it cannot be read (${(err.cause as Error | undefined)?.message ?? err.message}): put the data back there, or query an intermediate that is stored`, { cause: err });
        sourcesGone.add(gone);
        throw gone;
      }
      throw err;
    }
    if (source && out.kind === 'table' && out.table.source) sourceCheck(`${project}.${model}`, stage, out.table.source, source);
    timings.push({ name: s.name, execMs: performance.now() - te });
    values.set(s.name, out);
  }
  const out = values.get(stage)!;
  if (out.kind !== 'table') throw new MistiqueError('INTERNAL', `stage ${stage} did not produce a table`);
  const full = out.table;
  let table = full;
  if (rows) {
    const pos = new Map<number, number>();
    table.rowIds.forEach((id, i) => pos.set(id, i));
    const idx = Int32Array.from(Array.from(rows, (id) => {
      const p = pos.get(id);
      if (p === undefined) throw new MistiqueError('BAD_ROWS', `row id ${id} is not in ${project}.${model}.${stage}`);
      return p;
    }));
    table = takeRows(table, idx);
  }
  return { table, full, stages: [...need], ms: performance.now() - t0, timings };
}
