// A logged network's spec as the MetadataDB keeps it (models.spec, JSON) and what is read from it
// without loading onnxruntime: which groups of examples a stored layer's rows come from.
import fs from 'node:fs';
import path from 'node:path';
import type { DnnScheme } from '../../quantize/scheme.js';
import type { InputSpec } from './inputs.js';

/** One group of examples in a network's spec: its input shapes (`tag`), its stored inputs, its row ids as [start, end) runs. */
export interface DnnGroup { tag: string; inputs: InputSpec[]; rows: number; runs: [number, number][] }

export interface DnnSpec {
  kind: 'dnn';
  checkpoint: string;
  input: string;
  /** Where the input examples are stored: `<project>.inputs.x_<content hash>`, once for all checkpoints. */
  inputKey: string;
  inputShape: number[];
  /** Every input with its type, per-example shape and stored key (specs before multi-input have only the fields above). */
  inputs?: InputSpec[];
  batchSize: number;
  scheme: DnnScheme;
  /** Per stored layer: its name, the ONNX value it is, its op, and for a layer stored per group of examples, the group's tag. */
  layers: { name: string; original: string; op: string; group?: string; /** pooled by onnxruntime in the logging graph (re-runs as stored pool the same way) */ graphPool?: true;
    /** rows of the output per example (blocks.ts: an attention block's heads), stored as one row of [block, …] */ block?: number }[];
  /** Networks logged over several input shapes: one entry per group (absent for one shape: one group, all rows). */
  groups?: DnnGroup[];
  loadMs: number;
  forwardMsPerBatch: number;
  /** Per layer: ms for one batch from the input through that layer (onnxruntime's profiler, unmodified model). */
  layerMsPerBatch: Record<string, number>;
}

/** Row ids as [start, end) runs of consecutive ids, in their order. */
export function idRuns(ids: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < ids.length; i++) {
    const last = out[out.length - 1];
    if (last && last[1] === ids[i]) last[1]++;
    else out.push([ids[i]!, ids[i]! + 1]);
  }
  return out;
}

/** A logged network's groups of examples (a network logged over one input shape: one group, every row). */
export function dnnGroups(spec: DnnSpec): DnnGroup[] {
  if (spec.groups) return spec.groups;
  return [{ tag: '', inputs: spec.inputs ?? [{ name: spec.input, type: 'float32', shape: spec.inputShape, key: spec.inputKey }], rows: -1, runs: [] }];
}

/** The groups a stored layer's rows come from: its own for a layer stored per group, else every group. */
export function layerGroups(spec: DnnSpec, layer: string): DnnGroup[] {
  const tag = spec.layers.find((sl) => sl.name === layer)?.group;
  const all = dnnGroups(spec);
  return tag === undefined ? all : all.filter((grp) => grp.tag === tag);
}

/** Which of `ids` are a group's rows (a group of one logged shape holds every row). */
export function rowsOfGroup(grp: DnnGroup, ids: ArrayLike<number>): number[] {
  if (grp.rows < 0) return Array.from(ids);
  const runs = [...grp.runs].sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    let lo = 0, hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid]![1] <= id) lo = mid + 1;
      else if (runs[mid]![0] > id) hi = mid - 1;
      else { out.push(id); break; }
    }
  }
  return out;
}

/**
 * Why a network cannot be re-run when the checkpoint the store keeps for it (checkpoints/<file>, what a
 * re-run loads) is gone — or null while it is there. Its stored layers still read.
 */
export function lostCheckpoint(storeDir: string, modelKey: string, spec: Pick<DnnSpec, 'checkpoint'>): string | null {
  if (fs.existsSync(path.join(storeDir, 'checkpoints', spec.checkpoint))) return null;
  return `${modelKey}'s checkpoint is gone from the store (checkpoints/${spec.checkpoint}): its layers cannot be re-run, and those not stored cannot be read — \`mistique verify\` lists them; log the model again to restore them`;
}
