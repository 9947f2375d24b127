// The DNN side of the PipelineExecutor: runs an ONNX checkpoint with onnxruntime-node, batch by batch,
// and streams the output of every layer into the store (one intermediate per layer, each example a
// row, its activation map a tensor column), optionally pooled (POOL_QT). The input examples are logged
// too (`input`: exact de-duplication stores them once for all checkpoints), and the checkpoint file is
// kept in the store, so that any layer can be re-run later (rerun.ts): a truncated graph on only the asked rows.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from './ort.js';
import { MistiqueError } from '../../errors.js';
import type { MetadataDB } from '../../metadata/metadatadb.js';
import type { Matrix } from '../../model/matrix.js';
import type { ColumnType } from '../../model/types.js';
import { parseModelKey } from '../../model/key.js';
import { encodeBatch, halfBatch, schemeName, type DnnScheme } from '../../quantize/scheme.js';
import { batchTensors, inputFrame, inputSpecs, namedFeeds, type Feed, type InputSpec, type InputType, type NamedInput } from './inputs.js';
import type { IntermediateWriter } from '../../store/writer.js';
import { inlineExternalData, loadCheckpoint, storeCheckpoint } from './checkpoint.js';
import { examplesNotFirst, exposedName, exposeLayers, exposeReduced, fixedBatch, fixedLeadingDims, layerInputs, nodeNames, parseGraph, selectLayers, type Expose, type GraphReduce, type Layer, type OnnxGraph, type ReducedOutput } from './graph.js';

export { encodeBatch, quantizeBatch, schemeName, type DnnScheme, type Encoded } from '../../quantize/scheme.js';
import { dropProfiles, layerTimes, profilePrefix } from './profile.js';
import { exampleRows, type ExampleRows } from './blocks.js';
import { idRange } from '../../reader/rowspec.js';
import { idRuns, type DnnSpec } from './dnnspec.js';

export { dnnGroups, idRuns, layerGroups, rowsOfGroup, type DnnGroup, type DnnSpec } from './dnnspec.js';
import { outputBytes, outputRanks, runSession, SESSION_OPTIONS } from './session.js';
export { outputRanks, SESSION_OPTIONS } from './session.js';
export { rerunLayer, type LayerRerun } from './rerun.js';

/**
 * What the network executor needs of a store (the Store class provides it): given from below as an
 * interface, so that the executor does not import mistique.ts, which imports the executor.
 */
export interface NetworkSink {
  readonly dir: string;
  readonly metadata: MetadataDB;
  writer(key: string, opts: { scheme?: string; originalName?: string; approximate?: boolean; rerunnable?: boolean; logicalType?: ColumnType; codebook?: Float32Array; kbit?: number }): IntermediateWriter;
  flush(): Promise<void>;
  getIntermediates(keys: string, opts: { rows?: number[] }): Promise<Matrix>;
}

/**
 * The examples a network runs on: its one input (`x`: N examples of `shape`, e.g. [1, 28, 28]; float32,
 * or values of the input's type — uint8 images for a model that takes them), or the model's inputs by
 * name (`inputs`: token ids and attention masks as int64, …), aligned by row.
 */
export type DnnInput =
  | { x: NamedInput['data']; shape: readonly number[]; type?: InputType; rowIds?: Int32Array; inputs?: undefined }
  | { inputs: Record<string, NamedInput>; rowIds?: Int32Array; x?: undefined; shape?: undefined };

/**
 * Examples of several input shapes — a detector's images of each height × width, token sequences of each
 * length — as one group per shape, logged in one run (row ids distinct across groups; without them each
 * group's rows follow the last group's). A layer whose per-example shape is the same in every group (a
 * pooled head, the logits) is one intermediate over all examples; a layer whose shape follows the input
 * is stored per group as `<layer>-<input shape>` (e.g. `conv1-1x24x32`).
 */
export type DnnInputs = DnnInput | readonly DnnInput[];


/**
 * A storage scheme (paper §5.4.1), applied per layer before storing: optional pooling of every channel
 * map (σ = 2, or 'S' for one value per channel), then optional quantization — LP_QT half floats, KBIT_QT
 * codes with a codebook per chunk (done by the writer), or THRESHOLD_QT bits against a percentile of a
 * sample of the layer's first batch. Readers get float32 back. `{}` stores full precision.
 */
export interface DnnLogOptions {
  batchSize?: number;
  expose?: Expose;
  scheme?: DnnScheme;
  onBatch?: (done: number, total: number) => void;
  /** Per-layer forward times from onnxruntime's profiler, on for the first two batches (default true). */
  profile?: boolean;
  /**
   * Log only these layers: names (`relu3`) or ONNX output names, `*` matching any characters
   * (`['softmax*', 'dense*']`); default every layer. A pattern that matches none is an error.
   */
  layers?: string[];
}

export interface DnnRun {
  key: string;
  layers: { name: string; original: string; op: string; shape: number[] }[];
  /**
   * Layer outputs not logged because they are not one row per example (a leading dimension that is not
   * the batch: an attention block's [tokens, batch, features] inside an exported Transformer).
   */
  notPerExample: { name: string; original: string; op: string }[];
  examples: number;
  /** Examples a forward pass took at once: `batchSize`, the model's fixed batch, or defaultBatch's choice. */
  batchSize: number;
  loadMs: number;
  forwardMs: number;
  logMs: number;
  totalMs: number;
}


function checkpointFile(store: NetworkSink, project: string, model: string): string {
  return path.join(store.dir, 'checkpoints', `${project}.${model}.onnx`);
}

/** Logs every layer of `checkpoint` (a path or ONNX bytes) over the examples as `<project>.<model>.<layer>`. */
export async function logNetwork(store: NetworkSink, modelKey: string, checkpoint: string | Uint8Array, input: DnnInputs, opts: DnnLogOptions = {}): Promise<DnnRun> {
  const { project, model } = parseModelKey(modelKey);
  // one self-contained model: tensors kept in external data files are read into it (checkpoint.ts)
  const bytes = typeof checkpoint === 'string' ? loadCheckpoint(checkpoint) : inlineExternalData(checkpoint, null);
  const g = selectLayers(parseGraph(bytes, opts.expose ?? 'layers'), opts.layers);
  const notFirst = examplesNotFirst(g);
  if (notFirst) throw new MistiqueError('UNSUPPORTED', `${modelKey}: ${notFirst}`);
  const groups = exampleGroups(g, project, Array.isArray(input) ? input : [input as DnnInput]);
  const N = groups.reduce((a, x) => a + x.n, 0);
  // a model exported without a dynamic batch axis runs on batches of exactly its size (the last one padded)
  const fixedB = fixedBatch(g);
  if (fixedB !== null && opts.batchSize !== undefined && opts.batchSize !== fixedB) {
    throw new MistiqueError('BAD_OPTION', `${modelKey}: the model takes batches of exactly ${fixedB} example${fixedB === 1 ? '' : 's'} (its input's first dimension is fixed), not ${opts.batchSize}: leave batchSize out, or export the model with a dynamic batch axis`);
  }
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new MistiqueError('BAD_OPTION', `batchSize must be a positive integer, got ${opts.batchSize}`);
  const scheme = opts.scheme ?? {};
  const t0 = performance.now();
  const profiling = opts.profile !== false;
  const prefix = profilePrefix();
  // several input shapes: the layers whose per-example shape follows the input (before any pooling) are
  // stored per group; one example of each group runs through the plain exposed model to find them.
  // One input shape, a dynamic batch or a batch of 1: how each layer holds its examples — one row, k rows
  // (an attention block's heads), or not example by example — from the first examples (blocks.ts)
  const none: ExampleRows = { blocks: new Map(), notPerExample: new Set() };
  const probeRows = groups.length === 1 && (fixedB === 1 || (fixedB === null && groups[0]!.n >= 2));
  const { session, outputs, inspected: { perGroup, groupBytes, rows: { blocks, notPerExample: probed, bytesPerExample } } } = await loggingSession(g, scheme, typeof checkpoint === 'string' ? checkpoint : 'the checkpoint', profiling ? { enableProfiling: true, profileFilePrefix: prefix } : {},
    async (plain) => {
      const shapes = groups.length > 1 ? await shapeDependentLayers(plain, modelKey, g, groups, fixedB) : null;
      return {
        perGroup: shapes?.layers ?? new Set<string>(), groupBytes: shapes?.bytesPerExample,
        rows: probeRows ? await exampleRows(plain, modelKey, g, groups[0]!.feeds, fixedB === 1) : none,
      };
    }).catch((err: unknown) => { dropProfiles(prefix); throw err; });
  // (several input shapes: the largest example of any shape)
  const B = fixedB ?? opts.batchSize ?? defaultBatch(bytesPerExample ?? groupBytes);
  const outputOf = (l: Layer): string => outputs.get(l.original)?.name ?? exposedName(l);
  let layerMs = new Map<string, number>();
  const loadMs = performance.now() - t0;

  const specs = groups[0]!.specs;
  const spec: DnnSpec = {
    kind: 'dnn', checkpoint: path.basename(checkpointFile(store, project, model)), input: specs[0]!.name, inputKey: specs[0]!.key, inputShape: specs[0]!.shape, inputs: specs, batchSize: B, scheme,
    layers: g.layers.map((l) => ({ name: l.name, original: l.original, op: l.op })), loadMs, forwardMsPerBatch: 0, layerMsPerBatch: {},
  };
  const db = store.metadata;
  const modelId = db.workflows.insert(project, model, 'dnn', JSON.stringify(spec), null);
  const writers = new Map<string, IntermediateWriter>();
  // per stored layer (a layer, or a layer of one group): its stored per-example shape
  const shapes = new Map<string, number[]>();
  const rawShapes = new Map<string, string>();
  const qstate = new Map<string, { threshold?: number }>();
  let forwardMs = 0, logMs = 0;
  // values that are not one row per example (a fixed leading dimension, or one that is not the batch's size)
  const fixed = fixedLeadingDims(g);
  const notPerExample = new Set<string>(probed);
  const written = new Set<string>();
  try {
    fs.mkdirSync(path.dirname(checkpointFile(store, project, model)), { recursive: true });
    storeCheckpoint(checkpointFile(store, project, model), bytes);
    const stored = (l: Layer, grp: ExampleGroup): string => (perGroup.has(l.name) ? `${l.name}-${grp.tag}` : l.name);
    if (groups.length > 1) {
      spec.groups = groups.map((grp) => ({ tag: grp.tag, inputs: grp.specs, rows: grp.n, runs: idRuns(grp.rowIds) }));
      spec.layers = g.layers.flatMap((l) => (perGroup.has(l.name)
        ? groups.map((grp) => ({ name: stored(l, grp), original: l.original, op: l.op, group: grp.tag }))
        : [{ name: l.name, original: l.original, op: l.op }]));
    }
    let done = 0;
    for (const [gi, grp] of groups.entries()) {
      const { feeds, n, rowIds } = grp;
      // the examples are source data, not an intermediate: stored once per project whatever the policy
      const inputWriters = grp.specs.map((sp) => (db.intermediateId(project, 'inputs', sp.key.split('.').slice(2).join('.')) === undefined ? store.writer(sp.key, { approximate: false, rerunnable: false }) : null));
      inputWriters.forEach((w, k) => { if (w) writers.set(`input:${gi}:${k}`, w); });
      for (let s = 0; s < n; s += B) {
        const e = Math.min(n, s + B);
        const ids = rowIds.subarray(s, e);
        const t1 = performance.now();
        const out = await runSession(session, modelKey, batchTensors(feeds, s, e), s, e, fixedB);
        forwardMs += performance.now() - t1;
        // profile the first two batches only (the second is past the first run's allocations)
        if (profiling && gi === 0 && (s / B === 1 || e === n) && layerMs.size === 0) {
          session.endProfiling();
          layerMs = layerTimes(prefix, nodeNames(g), g.layers);
        }
        const t2 = performance.now();
        for (const [k, w] of inputWriters.entries()) await w?.append(inputFrame(feeds[k]!, s, e, ids.slice()));
        // every layer of the batch at once: while one is encoded on a worker, the next is cut into chunks here
        await Promise.all(g.layers.map(async (l) => {
          const t = out[outputOf(l)];
          if (!t || (t.type !== 'float32' && t.type !== 'float64' && t.type !== 'float16') || notPerExample.has(l.name)) return;
          const k = blocks.get(l.name) ?? 1;
          if ((!l.batchPerm && k === 1 && fixed.has(l.original)) || Number(t.dims[0]) !== k * (e - s)) {
            if (!written.has(l.name)) { notPerExample.add(l.name); return; }
            throw new MistiqueError('BAD_INPUT', `${modelKey}: layer ${l.name} (${l.original}) had one row per example in the first batch but has ${t.dims[0]} rows for examples ${done + s}…${done + e - 1}; its leading dimension is not the batch — log with another batchSize`);
          }
          written.add(l.name);
          const name = stored(l, grp);
          let st = qstate.get(name);
          if (!st) qstate.set(name, (st = {}));
          // the writer first (in graph order, before any await): intermediates are registered in the network's order
          let w = writers.get(name);
          if (!w) {
            const q = scheme.quantize;
            w = store.writer(`${project}.${model}.${name}`, {
              originalName: l.original, scheme: schemeName(scheme), approximate: false, rerunnable: true,
              logicalType: q ? 'float32' : undefined, kbit: q && typeof q === 'object' && 'kbit' in q ? q.kbit : undefined,
            });
            writers.set(name, w);
          }
          const shape = [...(k > 1 ? [k] : []), ...(t.dims as number[]).slice(1).map(Number)];
          const had = rawShapes.get(name);
          if (had === undefined) rawShapes.set(name, shape.join('x'));
          else if (had !== shape.join('x')) {
            throw new MistiqueError('BAD_INPUT', `${modelKey}: layer ${l.name} is ${shape.join('x')} per example for examples ${done + s}…${done + e - 1} but was ${had} before; give examples of each input shape as a group of their own (logNetwork(…, [group1, group2, …]))`);
          }
          // what onnxruntime did of the scheme is not done again: a half-float layer is ready for its writer
          const o = outputs.get(l.original);
          let enc;
          if (o?.half) enc = halfBatch(t.data as Uint16Array, shape, ids.slice());
          else {
            // a float64 layer (a model in double precision) is stored as float32, as its re-run returns it
            const values = t.type === 'float64' ? Float32Array.from(t.data as Float64Array) : t.data as Float32Array;
            enc = await encodeBatch(values, shape, ids.slice(), o?.pooled ? { quantize: scheme.quantize } : scheme, st);
          }
          shapes.set(name, enc.shape);
          await w.append(enc.frame);
        }));
        logMs += performance.now() - t2;
        opts.onBatch?.(done + e, N);
      }
      // a group's own writers stay open to the end: a writer's close registers its intermediate, and a
      // failure in a later group must leave nothing of this run behind
      done += n;
    }
    const t3 = performance.now();
    for (const w of writers.values()) await w.close();
    await store.flush();
    logMs += performance.now() - t3;
    spec.forwardMsPerBatch = forwardMs / groups.reduce((a, grp) => a + Math.ceil(grp.n / B), 0);
    spec.layerMsPerBatch = Object.fromEntries(spec.layers.filter((sl) => layerMs.has(baseName(sl, spec))).map((sl) => [sl.name, layerMs.get(baseName(sl, spec))!]));
    const totalMs = performance.now() - t0;
    // lineage: each stored layer's nearest stored layers, or the stored inputs it is computed from (as keys)
    const from = layerInputs(g, g.layers.filter((l) => written.has(l.name)));
    const base = new Map(g.layers.map((l) => [l.name, l]));
    const storedOf = (name: string, grp: ExampleGroup | null): string[] => {
      if (name.startsWith('input:')) {
        const k = (gr: ExampleGroup): string => gr.specs.find((sp) => `input:${sp.name}` === name)?.key ?? name;
        return grp ? [k(grp)] : groups.map(k);
      }
      const l = base.get(name)!;
      if (!perGroup.has(l.name)) return [l.name];
      return grp ? [stored(l, grp)] : groups.map((gr) => stored(l, gr));
    };
    const stages = spec.layers.filter((sl) => shapes.has(sl.name));
    db.workflows.finish(modelId, stages.map((sl, k) => {
      const grp = sl.group === undefined ? null : groups.find((gr) => gr.tag === sl.group)!;
      const b = baseName(sl, spec);
      return {
        name: sl.name, ord: k, op: sl.op, params: JSON.stringify({ original: sl.original, shape: shapes.get(sl.name) ?? null }),
        inputs: JSON.stringify([...new Set((from.get(b) ?? []).flatMap((x) => storedOf(x, grp)))]), output: 'table',
        n_rows: grp ? grp.n : N, t_read_op_ms: loadMs, t_read_input_ms: 0, t_exec_ms: layerMs.get(b) ?? 0, t_log_ms: logMs,
      };
    }), [], totalMs);
    // a re-run gives a layer as it was logged: through the pooling kernel onnxruntime used, k rows per example
    for (const sl of spec.layers) {
      if (outputs.get(sl.original)?.pooled) sl.graphPool = true;
      const k = blocks.get(baseName(sl, spec));
      if (k !== undefined) sl.block = k;
    }
    db.workflows.updateSpec(modelId, JSON.stringify(spec));
    return {
      key: `${project}.${model}`, examples: N, batchSize: B, loadMs, forwardMs, logMs, totalMs,
      layers: stages.map((sl) => ({ name: sl.name, original: sl.original, op: sl.op, shape: shapes.get(sl.name)! })),
      notPerExample: g.layers.filter((l) => notPerExample.has(l.name)).map((l) => ({ name: l.name, original: l.original, op: l.op })),
    };
  } catch (err) {
    for (const w of writers.values()) w.abort();
    db.workflows.delete(modelId);
    fs.rmSync(checkpointFile(store, project, model), { force: true });
    throw err;
  } finally {
    await session.release();
    dropProfiles(prefix);
  }
}

/** The most examples a batch takes when `batchSize` is not given. */
export const MAX_BATCH = 128;
/** What a batch's layers may hold together when `batchSize` is not given: every exposed output is in memory at once, about three times over (onnxruntime's, the copy it hands over, the encoding). */
export const BATCH_BYTES = 256 * 2 ** 20;

/**
 * The batch size when none is given: MAX_BATCH, or fewer where one example's layers are large. A
 * DenseNet-121 at 224×224 exposes 176 MB of layers an example: 128 of them had needed ~60 GB, 16 took
 * 7 GB of RSS. Pure.
 */
export function defaultBatch(bytesPerExample: number | undefined): number {
  if (!bytesPerExample || !Number.isFinite(bytesPerExample)) return MAX_BATCH;
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_BYTES / bytesPerExample)));
}

/** The steps of `scheme` onnxruntime can do in the graph (graph.ts, GraphReduce), or null for none. */
export function graphReduce(scheme: DnnScheme): GraphReduce | null {
  const avg = scheme.pool && (scheme.pool.op ?? 'avg') === 'avg' ? scheme.pool.sigma : undefined;
  // float16 comes after pooling: in the graph only when the pooling is too (or there is none)
  const half = scheme.quantize === 'lp' && (!scheme.pool || avg !== undefined);
  if (avg === undefined && !half) return null;
  return { ...(avg !== undefined ? { pool: avg } : {}), ...(half ? { half: true } : {}) };
}

/**
 * The session logging runs: the model with its layers as outputs, reduced in the graph as far as the
 * scheme lets onnxruntime (graphReduce): pooled and half-float activations leave onnxruntime a quarter
 * or half the size, instead of being copied out whole and reduced on an encode worker. Which layers are
 * [N, C, H, W] (pooled) comes from onnxruntime's own shape inference, read from a session of the plain
 * exposed model; `inspect` runs on that session (its outputs are the layers as they are). A reduced
 * model onnxruntime will not load is logged as the plain one.
 */
async function loggingSession<T>(g: OnnxGraph, scheme: DnnScheme, what: string, profiling: ort.InferenceSession.SessionOptions, inspect: (plain: ort.InferenceSession) => Promise<T>): Promise<{ session: ort.InferenceSession; outputs: Map<string, ReducedOutput>; inspected: T }> {
  const reduce = graphReduce(scheme);
  const plain = exposeLayers(g);
  const create = async (bytes: Uint8Array, opts: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> => {
    try {
      return await ort.InferenceSession.create(bytes, { ...SESSION_OPTIONS, ...opts });
    } catch (err) {
      throw new MistiqueError('BAD_INPUT', `onnxruntime cannot load ${what}: ${(err as Error).message}`, { cause: err });
    }
  };
  // without a reduction the plain model is the logging session (the probe would be a second session for nothing)
  const probe = await create(plain, reduce ? { graphOptimizationLevel: 'disabled' } : profiling);
  let inspected: T;
  try {
    inspected = await inspect(probe);
  } catch (err) {
    await probe.release();
    throw err;
  }
  if (!reduce) return { session: probe, outputs: new Map(), inspected };
  let ranks: Map<string, number | undefined>;
  try {
    ranks = outputRanks(probe);
  } finally {
    await probe.release();
  }
  const { bytes, outputs } = exposeReduced(g, reduce, ranks);
  try {
    return { session: await ort.InferenceSession.create(bytes, { ...SESSION_OPTIONS, ...profiling }), outputs, inspected };
  } catch {
    return { session: await create(plain, profiling), outputs: new Map(), inspected };
  }
}

/** The layer a stored layer is: its name without the group's `-<tag>`. */
function baseName(sl: DnnSpec['layers'][number], spec: DnnSpec): string {
  return sl.group === undefined || !spec.groups ? sl.name : sl.name.slice(0, -(sl.group.length + 1));
}

/** A group of examples ready to log: its inputs, row ids, stored input specs and shape tag. */
interface ExampleGroup { feeds: Feed[]; n: number; rowIds: Int32Array; specs: InputSpec[]; tag: string }

/** Checks the groups of examples against the graph and each other: inputs as the model takes them, distinct shapes, distinct row ids. */
function exampleGroups(g: OnnxGraph, project: string, inputs: readonly DnnInput[]): ExampleGroup[] {
  if (inputs.length === 0) throw new MistiqueError('BAD_INPUT', 'no examples: give { x, shape } (or { inputs }), or a list of such groups, one per input shape');
  let next = 0;
  const out = inputs.map((input, gi) => {
    const where = inputs.length > 1 ? `group ${gi}: ` : '';
    if (input.inputs === undefined && g.inputs.length > 1) throw new MistiqueError('BAD_INPUT', `${where}the model takes ${g.inputs.length} inputs (${g.inputs.map((i) => i.name).join(', ')}): give them by name, { inputs: { ${g.inputs[0]!.name}: { data, shape }, … } } (mistique log: --input ${g.inputs.map((i) => `${i.name}=<file>.npy`).join(',')})`);
    let fed;
    try {
      // one input (x) is the model's only input by another name, of the model's type
      fed = namedFeeds(g, input.inputs ?? { [g.input]: { data: input.x!, shape: input.shape!, type: input.type } });
    } catch (err) {
      if (err instanceof MistiqueError && where) throw new MistiqueError(err.code, `${where}${err.message}`, { cause: err });
      throw err;
    }
    const { feeds, n } = fed;
    if (n === 0 && where) throw new MistiqueError('BAD_INPUT', `${where}no examples: every group has at least one`);
    const rowIds = input.rowIds ?? idRange(next, n);
    if (rowIds.length !== n) throw new MistiqueError('BAD_INPUT', `${where}${rowIds.length} row ids for ${n} examples`);
    for (const id of rowIds) next = Math.max(next, id + 1);
    // one float input keeps the key it always had (x_<hash>): stores of earlier versions share it
    const specs = inputSpecs(project, feeds, rowIds, input.inputs === undefined ? 'x' : undefined);
    return { feeds, n, rowIds, specs, tag: feeds.map((f) => f.shape.join('x')).join('_') };
  });
  if (out.length > 1) {
    const tags = new Map<string, number>();
    out.forEach((grp, gi) => {
      const other = tags.get(grp.tag);
      if (other !== undefined) throw new MistiqueError('BAD_INPUT', `groups ${other} and ${gi} have the same input shapes (${grp.tag}): give examples of one shape as one group`);
      tags.set(grp.tag, gi);
    });
    const all = new Int32Array(out.reduce((a, grp) => a + grp.n, 0));
    let k = 0;
    for (const grp of out) { all.set(grp.rowIds, k); k += grp.n; }
    all.sort();
    for (let i = 1; i < all.length; i++) if (all[i] === all[i - 1]) throw new MistiqueError('BAD_INPUT', `row id ${all[i]} is in two groups of examples: every example has a row id of its own`);
  }
  return out;
}

/**
 * The layers whose per-example shape is not the same for every group of examples: one example of each
 * group runs through the network first (which also checks each group's shapes before anything is stored).
 * With them, the bytes of layers the largest of those examples exposes (defaultBatch).
 */
async function shapeDependentLayers(session: ort.InferenceSession, modelKey: string, g: OnnxGraph, groups: readonly ExampleGroup[], fixedB: number | null): Promise<{ layers: Set<string>; bytesPerExample: number }> {
  const seen = new Map<string, string>();
  const out = new Set<string>();
  let bytesPerExample = 0;
  for (const [gi, grp] of groups.entries()) {
    let res;
    try {
      res = await runSession(session, modelKey, batchTensors(grp.feeds, 0, 1), 0, 1, fixedB);
    } catch (err) {
      throw new MistiqueError('BAD_INPUT', `group ${gi} (${grp.tag}): ${(err as Error).message}`, { cause: err });
    }
    bytesPerExample = Math.max(bytesPerExample, outputBytes(res));
    for (const l of g.layers) {
      const t = res[exposedName(l)];
      const shape = t ? (t.dims as readonly number[]).slice(1).join('x') : '';
      const had = seen.get(l.name);
      if (had === undefined) seen.set(l.name, shape);
      else if (had !== shape) out.add(l.name);
    }
  }
  return { layers: out, bytesPerExample };
}
