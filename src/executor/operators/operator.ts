// The operator contract: what a stage's `op` names. Operators validate their parameters up front (so a
// bad spec fails before anything runs) and are pure over their inputs: same inputs, same output.
import { MistiqueError } from '../../errors.js';
import type { StageTable } from '../table.js';

/** A trained operator: stored at log time so that re-running never retrains. */
export interface TrainedModel {
  readonly op: string;
  readonly features: readonly string[];
  predict(X: StageTable, stage: string): Float64Array;
  serialize(): Uint8Array;
}

export type StageValue = { kind: 'table'; table: StageTable } | { kind: 'model'; model: TrainedModel };

export interface RunContext {
  /** Directory that ReadCSV's relative file names resolve against. */
  dataDir: string;
  stage: string;
}

export type ParamType = 'number' | 'integer' | 'string' | 'boolean' | 'string[]' | 'number[]';

export interface ParamSpec {
  type: ParamType;
  required?: boolean;
  min?: number;
  max?: number;
  oneOf?: readonly (string | number)[];
  default?: unknown;
  doc: string;
}

export type Params = Record<string, unknown>;

export interface OperatorDef {
  readonly name: string;
  readonly doc: string;
  /** Kinds of the inputs, in order; `rest` repeats the last kind for any further inputs. */
  readonly inputs: readonly ('table' | 'model')[];
  readonly rest?: boolean;
  readonly output: 'table' | 'model';
  readonly params: Readonly<Record<string, ParamSpec>>;
  run(inputs: StageValue[], params: Params, ctx: RunContext): StageValue | Promise<StageValue>;
  /** For model-producing operators: restores what `serialize` wrote. */
  load?(bytes: Uint8Array): TrainedModel | Promise<TrainedModel>;
}

/** Checks `raw` against the operator's parameter specs and fills defaults; the error names the stage. */
export function checkParams(stage: string, op: OperatorDef, raw: unknown): Params {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new MistiqueError('BAD_SPEC', `stage ${stage}: params must be a mapping of name: value`);
  }
  const given = (raw ?? {}) as Params;
  for (const k of Object.keys(given)) {
    if (!(k in op.params)) {
      throw new MistiqueError('BAD_SPEC', `stage ${stage}: ${op.name} has no parameter ${JSON.stringify(k)} (it takes: ${Object.keys(op.params).join(', ') || 'none'})`);
    }
  }
  const out: Params = {};
  for (const [k, spec] of Object.entries(op.params)) {
    const v = given[k] ?? spec.default;
    if (v === undefined) {
      if (spec.required) throw new MistiqueError('BAD_SPEC', `stage ${stage}: ${op.name} needs parameter ${k} (${spec.doc})`);
      continue;
    }
    const bad = (why: string): never => {
      throw new MistiqueError('BAD_SPEC', `stage ${stage}: parameter ${k} = ${JSON.stringify(v)} ${why} (${spec.doc})`);
    };
    switch (spec.type) {
      case 'number': case 'integer':
        if (typeof v !== 'number' || !Number.isFinite(v)) bad('is not a number');
        if (spec.type === 'integer' && !Number.isInteger(v)) bad('is not an integer');
        if (spec.min !== undefined && (v as number) < spec.min) bad(`is below ${spec.min}`);
        if (spec.max !== undefined && (v as number) > spec.max) bad(`is above ${spec.max}`);
        break;
      case 'string':
        if (typeof v !== 'string') bad('is not a string');
        break;
      case 'boolean':
        if (typeof v !== 'boolean') bad('is not true or false');
        break;
      case 'string[]':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad('is not a list of strings');
        break;
      case 'number[]':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) bad('is not a list of numbers');
        break;
    }
    if (spec.oneOf && !spec.oneOf.includes(v as string | number)) bad(`is not one of ${spec.oneOf.join(', ')}`);
    out[k] = v;
  }
  return out;
}

export function tableOf(v: StageValue | undefined, stage: string, i: number): StageTable {
  if (!v || v.kind !== 'table') throw new MistiqueError('BAD_SPEC', `stage ${stage}: input ${i + 1} must be a table`);
  return v.table;
}

export function modelOf(v: StageValue | undefined, stage: string, i: number): TrainedModel {
  if (!v || v.kind !== 'model') throw new MistiqueError('BAD_SPEC', `stage ${stage}: input ${i + 1} must be a trained model`);
  return v.model;
}

export const table = (t: StageTable): StageValue => ({ kind: 'table', table: t });
