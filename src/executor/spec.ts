// Pipeline specs: a YAML file of named stages (Airflow-like), each with an operator, its inputs (other
// stages) and parameters. Validation happens before anything runs and names the stage at fault.
//
//   name: P1_1
//   project: zillow            # optional, default zillow
//   stages:
//     - { name: properties, op: ReadCSV, params: { file: properties.csv } }
//     - { name: joined, op: Join, inputs: [train, properties], params: { on: parcelid } }
import fs from 'node:fs';
import { parseDocument } from 'yaml';
import { MistiqueError } from '../errors.js';
import { checkName } from '../model/key.js';
import { OPERATORS } from './operators/index.js';
import { checkParams, type OperatorDef, type Params } from './operators/operator.js';

export interface StageSpec {
  name: string;
  op: OperatorDef;
  inputs: string[];
  params: Params;
}

export interface PipelineSpec {
  project: string;
  name: string;
  description: string;
  /** In an order where every stage comes after its inputs. */
  stages: StageSpec[];
  /** The YAML text it was parsed from (stored with the workflow). */
  source: string;
}

export function loadPipelineSpec(file: string): PipelineSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MistiqueError('NOT_FOUND', `cannot read pipeline spec ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parsePipelineSpec(text, file);
}

export function parsePipelineSpec(text: string, source = 'pipeline spec'): PipelineSpec {
  let doc: unknown;
  try {
    const d = parseDocument(text);
    // the yaml library reports what it could not make sense of (an unknown !tag, …) as warnings on stderr: they are errors here
    const problem = d.errors[0] ?? d.warnings[0];
    if (problem) throw problem;
    doc = d.toJS();
  } catch (err) {
    throw new MistiqueError('BAD_SPEC', `${source} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const bad = (msg: string): never => { throw new MistiqueError('BAD_SPEC', `${source}: ${msg}`); };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) bad('expected a mapping with name and stages');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!['name', 'project', 'description', 'stages'].includes(k)) bad(`unknown field ${JSON.stringify(k)} (fields: name, project, description, stages)`);
  if (typeof d.name !== 'string') bad('`name:` (the pipeline\'s model name, e.g. P1_1) is missing');
  const wrap = <T>(fn: () => T): T => { try { return fn(); } catch (e) { return bad((e as Error).message); } };
  const name = wrap(() => checkName('pipeline', d.name as string));
  const project = wrap(() => checkName('project', (d.project as string | undefined) ?? 'zillow'));
  if (!Array.isArray(d.stages) || d.stages.length === 0) bad('`stages:` must be a non-empty list');
  const raw = d.stages as unknown[];
  const byName = new Map<string, { spec: StageSpec; index: number }>();
  raw.forEach((s, index) => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) bad(`stage ${index + 1} is not a mapping of name, op, inputs, params`);
    const st = s as Record<string, unknown>;
    for (const k of Object.keys(st)) if (!['name', 'op', 'inputs', 'params'].includes(k)) bad(`stage ${String(st.name ?? index + 1)}: unknown field ${JSON.stringify(k)} (fields: name, op, inputs, params)`);
    if (typeof st.name !== 'string') bad(`stage ${index + 1} has no name`);
    const sname = wrap(() => checkName('stage', st.name as string));
    if (byName.has(sname)) bad(`stage ${sname} is defined twice`);
    const op = OPERATORS.get(st.op as string);
    if (!op) bad(`stage ${sname}: unknown operator ${JSON.stringify(st.op)}; known operators: ${[...OPERATORS.keys()].join(', ')}`);
    const inputs = st.inputs ?? [];
    if (!Array.isArray(inputs) || !inputs.every((x) => typeof x === 'string')) bad(`stage ${sname}: inputs must be a list of stage names`);
    const want = op!.inputs.length;
    const n = (inputs as string[]).length;
    if (op!.rest ? n < want : n !== want) bad(`stage ${sname}: ${op!.name} takes ${op!.rest ? `at least ${want}` : want} input${want === 1 ? '' : 's'} (${op!.inputs.join(', ') || 'none'}), got ${n}`);
    const params = wrap(() => checkParams(sname, op!, st.params));
    byName.set(sname, { spec: { name: sname, op: op!, inputs: [...(inputs as string[])], params }, index });
  });
  for (const { spec } of byName.values()) {
    spec.inputs.forEach((i, k) => {
      const from = byName.get(i);
      if (!from) bad(`stage ${spec.name}: input ${JSON.stringify(i)} is not a stage of this pipeline`);
      const kind = spec.op.inputs[Math.min(k, spec.op.inputs.length - 1)]!;
      if (from!.spec.op.output !== kind) bad(`stage ${spec.name}: input ${k + 1} (${i}) is a ${from!.spec.op.output} but ${spec.op.name} needs a ${kind} there`);
    });
  }
  return { project, name, description: typeof d.description === 'string' ? d.description : '', stages: topoOrder(byName, bad), source: text };
}

/** Kahn's algorithm, ties broken by the order in the file; a cycle is reported with its stages. */
function topoOrder(byName: Map<string, { spec: StageSpec; index: number }>, bad: (m: string) => never): StageSpec[] {
  const indeg = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const [n, { spec }] of byName) {
    indeg.set(n, spec.inputs.length);
    for (const i of spec.inputs) users.set(i, [...(users.get(i) ?? []), n]);
  }
  const ready = [...byName.keys()].filter((n) => indeg.get(n) === 0);
  const out: StageSpec[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => byName.get(a)!.index - byName.get(b)!.index);
    const n = ready.shift()!;
    out.push(byName.get(n)!.spec);
    for (const u of users.get(n) ?? []) {
      indeg.set(u, indeg.get(u)! - 1);
      if (indeg.get(u) === 0) ready.push(u);
    }
  }
  if (out.length < byName.size) {
    const stuck = [...byName.keys()].filter((n) => indeg.get(n)! > 0);
    bad(`stages ${stuck.join(', ')} form a cycle (each waits for another's output)`);
  }
  return out;
}

export { lineage } from './sources.js';
