// What a delete removes, decided before anything is: the keys its patterns name, the intermediates and
// models behind them, and the networks it would strand — their stored input deleted while layers that
// re-run from it stay.
import { dnnGroups, layerGroups, type DnnSpec } from '../executor/onnx/dnnspec.js';
import { MistiqueError } from '../errors.js';
import type { MetadataDB } from './metadatadb.js';
import type { IntermediateRow } from './rows.js';

export interface DeletePlan {
  /** What a delete reports (sorted): intermediates, and whole models by `project.model`. */
  keys: string[];
  intermediateIds: Set<number>;
  models: { id: number; project: string; model: string }[];
  /** The intermediates visible when the plan was made (not those being written). */
  visible: readonly IntermediateRow[];
}

/** A network whose stored `input` a delete removes while `layers` of it stay. */
export interface Stranded { input: string; model: string; layers: string[] }

export function planDelete(db: MetadataDB, patterns: string | readonly string[]): DeletePlan {
  const visible = db.intermediates();
  const all = (typeof patterns === 'string' ? [patterns] : patterns).map((p) => db.lifecycle.resolve(p, visible));
  if (all.length === 0) throw new MistiqueError('BAD_KEY', 'delete needs a pattern: project, project.model or project.model.intermediate');
  return {
    keys: [...new Set(all.flatMap((r) => r.keys))].sort(),
    intermediateIds: new Set(all.flatMap((r) => r.intermediateIds)),
    models: [...new Map(all.flatMap((r) => r.models).map((m) => [m.id, m])).values()],
    visible,
  };
}

/** The networks a plan would strand: those whose stored input it deletes while some of their layers stay. */
export function strandedBy(db: MetadataDB, plan: DeletePlan): Stranded[] {
  const deleted = plan.intermediateIds;
  const gone = new Set(plan.visible.filter((r) => deleted.has(r.id)).map((r) => `${r.project}.${r.model}.${r.name}`));
  if (gone.size === 0) return [];
  const out: Stranded[] = [];
  const byModel = new Map<string, IntermediateRow[]>();
  for (const r of plan.visible) {
    const k = `${r.project}.${r.model}`;
    const rows = byModel.get(k);
    if (rows) rows.push(r); else byModel.set(k, [r]);
  }
  for (const [model, rows] of byModel) {
    const staying = rows.filter((r) => !deleted.has(r.id));
    if (staying.length === 0) continue;
    const wf = db.workflows.get(rows[0]!.project, rows[0]!.model);
    if (wf?.kind !== 'dnn') continue;
    const spec = JSON.parse(wf.spec) as DnnSpec;
    for (const grp of dnnGroups(spec)) {
      const input = grp.inputs.map((i) => i.key).find((k) => gone.has(k));
      // a network over several input shapes: the layers of this group's examples, and those over every group
      const uses = staying.filter((r) => layerGroups(spec, r.name).some((g) => g.tag === grp.tag));
      if (input && uses.length > 0) { out.push({ input, model, layers: uses.map((r) => `${r.project}.${r.model}.${r.name}`) }); break; }
    }
  }
  return out;
}

/** IN_USE for a delete that would strand `uses` (at least one), naming the first and counting the rest. */
export function inUse(uses: readonly Stranded[]): MistiqueError {
  const u = uses[0]!;
  return new MistiqueError('IN_USE', `${u.input} is the input ${u.model}'s layers re-run from (${u.layers.length} stay in the store: ${u.layers.slice(0, 4).join(', ')}${u.layers.length > 4 ? ', …' : ''})${uses.length > 1 ? `, and ${uses.length - 1} more models use what this deletes` : ''}: without it they cannot be re-run, and those not stored cannot be read. Delete them too (e.g. mistique rm ${u.model}), or force it (--force, { force: true })`);
}
