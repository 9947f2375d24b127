// Workflows in the MetadataDB: the pipelines and networks mistique runs — each model's spec, its stages
// with their timings (the cost model's Eq. 5.2 / 5.3 terms) and its trained operators — registered
// before a run, completed with it (and its intermediates made durable) or removed when it fails.
import type Database from 'better-sqlite3';
import { MistiqueError } from '../errors.js';
import { deleteIntermediateRows } from './lifecycle.js';
import { checkedRows, checkRow, rehashRows } from './rowcrc.js';
import type { OperatorRow, StageRow, WorkflowRow } from './rows.js';
import { sqliteBestEffort, sqliteWrite } from './sqliteerror.js';

/** What registering a workflow's model needs of the MetadataDB (its projects and models). */
export interface ModelRegistry {
  projectId(project: string): number;
  modelId(projectId: number, model: string): number | undefined;
  newModel(projectId: number, model: string, kind: string): number;
}

export class MetadataWorkflows {
  /** Every query's planner asks for its intermediate's workflow: prepared once, on first use. */
  private getStmt?: Database.Statement;

  /** `writer`: the token of the handle whose runs these are (rows not durable yet carry it). */
  constructor(private readonly db: Database.Database, private readonly models: ModelRegistry, private readonly writer: string) {}

  /** Registers a workflow's model before its stages run; fails if the model name is taken. */
  insert(project: string, model: string, kind: string, spec: string, dataDir: string | null): number {
    return sqliteWrite(`registering workflow ${project}.${model}`, () => this.db.transaction(() => {
      const projectId = this.models.projectId(project);
      if (this.models.modelId(projectId, model) !== undefined) {
        throw new MistiqueError('EXISTS', `model ${project}.${model} is already stored: give the pipeline a new name (its \`name:\`) or log into another store`);
      }
      const id = this.models.newModel(projectId, model, kind);
      this.db.prepare(`INSERT INTO workflows (model_id, kind, spec, data_dir, t_total_ms, created_at, writer) VALUES (?, ?, ?, ?, 0, ?, ?)`)
        .run(id, kind, spec, dataDir, new Date().toISOString(), this.writer);
      rehashRows(this.db, 'workflows', 'model_id = ?', id);
      return id;
    }).immediate());
  }

  /**
   * Completes a workflow: its stages and operators are stored and it becomes durable together with its
   * intermediates (the caller has flushed their partitions).
   */
  finish(modelId: number, stages: readonly StageRow[], operators: readonly OperatorRow[], totalMs: number): void {
    sqliteWrite('completing a workflow', () => this.db.transaction(() => {
      this.db.prepare(`UPDATE workflows SET writer = NULL WHERE model_id = ?`).run(modelId);
      this.db.prepare(`UPDATE intermediates SET writer = NULL WHERE model_id = ? AND writer = ?`).run(modelId, this.writer);
      const ins = this.db.prepare(`INSERT INTO stages (model_id, name, ord, op, params, inputs, output, n_rows, t_read_op_ms, t_read_input_ms, t_exec_ms, t_log_ms)
        VALUES (@model_id, @name, @ord, @op, @params, @inputs, @output, @n_rows, @t_read_op_ms, @t_read_input_ms, @t_exec_ms, @t_log_ms)`);
      for (const st of stages) ins.run({ ...st, model_id: modelId });
      const op = this.db.prepare(`INSERT INTO operators (model_id, stage, op, bytes) VALUES (?, ?, ?, ?)`);
      for (const o of operators) op.run(modelId, o.stage, o.op, o.bytes);
      rehashRows(this.db, 'stages', 'model_id = ?', modelId);
      rehashRows(this.db, 'operators', 'model_id = ?', modelId);
      this.db.prepare(`UPDATE workflows SET t_total_ms = ? WHERE model_id = ?`).run(totalMs, modelId);
    }).immediate());
  }

  updateSpec(modelId: number, spec: string): void {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE workflows SET spec = ? WHERE model_id = ?`).run(spec, modelId);
      rehashRows(this.db, 'workflows', 'model_id = ?', modelId);
    }).immediate();
  }

  /** Removes a workflow that failed midway, in one transaction: its intermediates, stages, operators and model row. */
  delete(modelId: number): void {
    this.db.transaction(() => {
      const ids = this.db.prepare(`SELECT id FROM intermediates WHERE model_id = ?`).pluck().all(modelId) as number[];
      for (const id of ids) deleteIntermediateRows(this.db, id);
      for (const t of ['stages', 'operators', 'workflows']) this.db.prepare(`DELETE FROM ${t} WHERE model_id = ?`).run(modelId);
      this.db.prepare(`DELETE FROM models WHERE id = ?`).run(modelId);
    }).immediate();
  }

  get(project: string, model: string): WorkflowRow | undefined {
    this.getStmt ??= this.db.prepare(`SELECT w.model_id, w.kind, w.spec, w.data_dir, w.t_total_ms, w.crc FROM workflows w
      JOIN models m ON m.id = w.model_id JOIN projects p ON p.id = m.project_id WHERE p.name = ? AND m.name = ?`);
    const w = this.getStmt.get(project, model) as WorkflowRow | undefined;
    if (w) checkRow('workflows', w as unknown as Record<string, unknown>, `workflow ${project}.${model}`);
    return w;
  }

  /** Stage times refreshed from a re-run (the cost model's Eq. 5.2 terms), in one transaction. */
  updateStageTimes(modelId: number, times: readonly { name: string; t_exec_ms?: number; t_read_op_ms?: number }[]): void {
    const ex = this.db.prepare(`UPDATE stages SET t_exec_ms = ? WHERE model_id = ? AND name = ?`);
    const op = this.db.prepare(`UPDATE stages SET t_read_op_ms = ? WHERE model_id = ? AND name = ?`);
    sqliteBestEffort(() => this.db.transaction(() => {
      for (const t of times) {
        if (t.t_exec_ms !== undefined) ex.run(t.t_exec_ms, modelId, t.name);
        if (t.t_read_op_ms !== undefined) op.run(t.t_read_op_ms, modelId, t.name);
      }
    })());
  }

  stages(modelId: number): StageRow[] {
    return checkedRows('stages', this.db.prepare(`SELECT model_id, name, ord, op, params, inputs, output, n_rows, t_read_op_ms, t_read_input_ms, t_exec_ms, t_log_ms, crc
      FROM stages WHERE model_id = ? ORDER BY ord`).all(modelId) as StageRow[], `the stages of model ${modelId}`);
  }

  operator(modelId: number, stage: string): Uint8Array | undefined {
    const r = this.db.prepare(`SELECT model_id, stage, op, bytes, crc FROM operators WHERE model_id = ? AND stage = ?`).get(modelId, stage) as { bytes: Buffer } | undefined;
    if (!r) return undefined;
    checkRow('operators', r, `the trained operator of stage ${stage} of model ${modelId}`);
    return new Uint8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
  }
}
