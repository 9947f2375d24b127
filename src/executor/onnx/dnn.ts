// The DNN side of the PipelineExecutor: runs an ONNX checkpoint with onnxruntime-node, batch by batch,
// and streams the output of every layer into the store (one intermediate per layer, each example a
// row, its activation map a tensor column), optionally pooled (POOL_QT). The input examples are logged
// too (`input`: exact de-duplication stores them once for all checkpoints), and the checkpoint file is
// kept in the store, so that any layer can be re-run later: a truncated graph on only the asked rows.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { MistiqueError } from '../../errors.js';
import type { MetadataDB } from '../../metadata/metadatadb.js';
import type { Matrix } from '../../model/matrix.js';
import type { ColumnType } from '../../model/types.js';
import { encodeBatch, schemeName, type DnnScheme } from '../../quantize/scheme.js';
import { batchTensors, inputFrame, inputSpecs, namedFeeds, storedFeeds, type InputSpec, type NamedInput } from './inputs.js';
import type { IntermediateWriter } from '../../store/writer.js';
import { exposeLayers, fixedLeadingDims, layerInputs, nodeNames, parseGraph, truncateAt, type Expose, type Layer } from './graph.js';

export { encodeBatch, quantizeBatch, schemeName, type DnnScheme, type Encoded } from '../../quantize/scheme.js';
import { layerTimes, profilePrefix } from './profile.js';

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
 * The examples a network runs on: one float32 input (`x`: N examples of `shape`, e.g. [1, 28, 28]), or
 * the model's inputs by name (`inputs`: token ids and attention masks as int64, …), aligned by row.
 */
export type DnnInput =
  | { x: Float32Array; shape: readonly number[]; rowIds?: Int32Array; inputs?: undefined }
  | { inputs: Record<string, NamedInput>; rowIds?: Int32Array; x?: undefined; shape?: undefined };

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
}

export interface DnnRun {
  key: string;
  layers: { name: string; original: string; op: string; shape: number[] }[];
  examples: number;
  loadMs: number;
  forwardMs: number;
  logMs: number;
  totalMs: number;
}

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
  layers: { name: string; original: string; op: string }[];
  loadMs: number;
  forwardMsPerBatch: number;
  /** Per layer: ms for one batch from the input through that layer (onnxruntime's profiler, unmodified model). */
  layerMsPerBatch: Record<string, number>;
}

function checkpointFile(store: NetworkSink, project: string, model: string): string {
  return path.join(store.dir, 'checkpoints', `${project}.${model}.onnx`);
}

/** Logs every layer of `checkpoint` (a path or ONNX bytes) over the examples as `<project>.<model>.<layer>`. */
export async function logNetwork(store: NetworkSink, modelKey: string, checkpoint: string | Uint8Array, input: DnnInput, opts: DnnLogOptions = {}): Promise<DnnRun> {
  const [project, model, ...rest] = modelKey.split('.');
  if (!project || !model || rest.length) throw new MistiqueError('BAD_KEY', `a network is logged under project.model (e.g. fmnist.cnn_e03), got ${JSON.stringify(modelKey)}`);
  const bytes = typeof checkpoint === 'string' ? readCheckpoint(checkpoint) : checkpoint;
  const g = parseGraph(bytes, opts.expose ?? 'layers');
  if (input.inputs === undefined && g.inputs.length > 1) throw new MistiqueError('BAD_INPUT', `the model takes ${g.inputs.length} inputs (${g.inputs.map((i) => i.name).join(', ')}): give them by name, { inputs: { ${g.inputs[0]!.name}: { data, shape }, … } }`);
  // one float input (x) is the model's only input by another name
  const { feeds, n: N } = namedFeeds(g, input.inputs ?? { [g.input]: { data: input.x!, shape: input.shape!, type: 'float32' } });
  const rowIds = input.rowIds ?? Int32Array.from({ length: N }, (_, i) => i);
  if (rowIds.length !== N) throw new MistiqueError('BAD_INPUT', `${rowIds.length} row ids for ${N} examples`);
  const B = opts.batchSize ?? 128;
  if (!Number.isInteger(B) || B < 1) throw new MistiqueError('BAD_OPTION', `batchSize must be a positive integer, got ${B}`);
  const scheme = opts.scheme ?? {};
  const t0 = performance.now();
  const profiling = opts.profile !== false;
  const prefix = profilePrefix();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(exposeLayers(g), profiling ? { enableProfiling: true, profileFilePrefix: prefix } : {});
  } catch (err) {
    throw new MistiqueError('BAD_INPUT', `onnxruntime cannot load ${typeof checkpoint === 'string' ? checkpoint : 'the checkpoint'}: ${(err as Error).message}`, { cause: err });
  }
  let layerMs = new Map<string, number>();
  const loadMs = performance.now() - t0;

  // one float input keeps the key it always had (x_<hash>): stores of earlier versions share it
  const specs = inputSpecs(project, feeds, rowIds, input.inputs === undefined ? 'x' : undefined);
  const spec: DnnSpec = {
    kind: 'dnn', checkpoint: path.basename(checkpointFile(store, project, model)), input: specs[0]!.name, inputKey: specs[0]!.key, inputShape: specs[0]!.shape, inputs: specs, batchSize: B, scheme,
    layers: g.layers.map((l) => ({ name: l.name, original: l.original, op: l.op })), loadMs, forwardMsPerBatch: 0, layerMsPerBatch: {},
  };
  const db = store.metadata;
  const modelId = db.workflows.insert(project, model, 'dnn', JSON.stringify(spec), null);
  const writers = new Map<string, IntermediateWriter>();
  const shapes = new Map<string, number[]>();
  const qstate = new Map<string, { threshold?: number }>();
  let forwardMs = 0, logMs = 0;
  // values that are not one row per example (a fixed leading dimension, or one that is not the batch's size)
  const fixed = fixedLeadingDims(g);
  const notPerExample = new Set<string>();
  try {
    fs.mkdirSync(path.dirname(checkpointFile(store, project, model)), { recursive: true });
    fs.writeFileSync(checkpointFile(store, project, model), bytes);
    // the examples are source data, not an intermediate: stored once per project whatever the policy
    const inputWriters = specs.map((sp) => (db.intermediateId(project, 'inputs', sp.key.split('.').slice(2).join('.')) === undefined ? store.writer(sp.key, { approximate: false, rerunnable: false }) : null));
    inputWriters.forEach((w, k) => { if (w) writers.set(`input:${k}`, w); });
    for (let s = 0; s < N; s += B) {
      const e = Math.min(N, s + B);
      const ids = rowIds.subarray(s, e);
      const t1 = performance.now();
      const out = await runSession(session, modelKey, batchTensors(feeds, s, e), s, e);
      forwardMs += performance.now() - t1;
      // profile the first two batches only (the second is past the first run's allocations)
      if (profiling && (s / B === 1 || e === N) && layerMs.size === 0) {
        session.endProfiling();
        layerMs = layerTimes(prefix, nodeNames(g), g.layers);
      }
      const t2 = performance.now();
      for (const [k, w] of inputWriters.entries()) await w?.append(inputFrame(feeds[k]!, s, e, ids.slice()));
      // every layer of the batch at once: while one is encoded on a worker, the next is cut into chunks here
      await Promise.all(g.layers.map(async (l) => {
        const t = out[l.original];
        if (!t || t.type !== 'float32' || notPerExample.has(l.name)) return;
        if (fixed.has(l.original) || Number(t.dims[0]) !== e - s) {
          if (!writers.has(l.name)) { notPerExample.add(l.name); return; }
          throw new MistiqueError('BAD_INPUT', `${modelKey}: layer ${l.name} (${l.original}) had one row per example in the first batch but has ${t.dims[0]} rows for examples ${s}…${e - 1}; its leading dimension is not the batch — log with another batchSize`);
        }
        let st = qstate.get(l.name);
        if (!st) qstate.set(l.name, (st = {}));
        // the writer first (in graph order, before any await): intermediates are registered in the network's order
        let w = writers.get(l.name);
        if (!w) {
          const q = scheme.quantize;
          w = store.writer(`${project}.${model}.${l.name}`, {
            originalName: l.original, scheme: schemeName(scheme), approximate: false, rerunnable: true,
            logicalType: q ? 'float32' : undefined, kbit: q && typeof q === 'object' && 'kbit' in q ? q.kbit : undefined,
          });
          writers.set(l.name, w);
        }
        const enc = await encodeBatch(t.data as Float32Array, (t.dims as number[]).slice(1).map(Number), ids.slice(), scheme, st);
        shapes.set(l.name, enc.shape);
        await w.append(enc.frame);
      }));
      logMs += performance.now() - t2;
      opts.onBatch?.(e, N);
    }
    const t3 = performance.now();
    for (const w of writers.values()) await w.close();
    await store.flush();
    logMs += performance.now() - t3;
    spec.forwardMsPerBatch = forwardMs / Math.ceil(N / B);
    spec.layerMsPerBatch = Object.fromEntries(layerMs);
    const totalMs = performance.now() - t0;
    // lineage: each layer's nearest stored layers, or the stored input it is computed from (as a key)
    const inputKey = new Map(specs.map((sp) => [`input:${sp.name}`, sp.key]));
    const from = layerInputs(g, g.layers.filter((l) => shapes.has(l.name)));
    db.workflows.finish(modelId, g.layers.map((l, k) => ({
      name: l.name, ord: k, op: l.op, params: JSON.stringify({ original: l.original, shape: shapes.get(l.name) ?? null }),
      inputs: JSON.stringify((from.get(l.name) ?? []).map((x) => inputKey.get(x) ?? x)), output: 'table',
      n_rows: N, t_read_op_ms: loadMs, t_read_input_ms: 0, t_exec_ms: layerMs.get(l.name) ?? 0, t_log_ms: logMs,
    })), [], totalMs);
    db.workflows.updateSpec(modelId, JSON.stringify(spec));
    return {
      key: `${project}.${model}`, examples: N, loadMs, forwardMs, logMs, totalMs,
      layers: g.layers.filter((l) => shapes.has(l.name)).map((l) => ({ name: l.name, original: l.original, op: l.op, shape: shapes.get(l.name)! })),
    };
  } catch (err) {
    for (const w of writers.values()) w.abort();
    db.workflows.delete(modelId);
    fs.rmSync(checkpointFile(store, project, model), { force: true });
    throw err;
  } finally {
    await session.release();
  }
}

/** One batch through onnxruntime; its failure (a node's type or shape error) as a MistiqueError naming the model and the examples. */
async function runSession(session: ort.InferenceSession, model: string, feeds: Record<string, ort.Tensor>, s: number, e: number): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (err) {
    const shapes = Object.entries(feeds).map(([k, t]) => `${k} [${t.dims.join(', ')}] ${t.type}`).join(', ');
    throw new MistiqueError('BAD_INPUT', `onnxruntime failed running ${model} on examples ${s}…${e - 1} (${shapes}): ${(err as Error).message}; check that the input shape and type are what the model expects`, { cause: err });
  }
}

function readCheckpoint(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new MistiqueError('NOT_FOUND', `cannot read checkpoint ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export interface LayerRerun { values: Float32Array; shape: number[]; rowIds: Int32Array; nodes: number; totalNodes: number; ms: number }

/**
 * Re-runs a logged network up to one layer, on only the asked rows: their inputs are read from the
 * store, the stored checkpoint is cut after the layer, and only that graph runs. Full precision (no scheme).
 */
export async function rerunLayer(store: NetworkSink, modelKey: string, layer: string, rows?: ArrayLike<number>, batchSize?: number): Promise<LayerRerun> {
  const [project, model] = modelKey.split('.');
  const wf = project && model ? store.metadata.workflows.get(project, model) : undefined;
  if (!wf || wf.kind !== 'dnn') throw new MistiqueError('NOT_FOUND', `${modelKey} is not a logged network`);
  const spec = JSON.parse(wf.spec) as DnnSpec;
  const t0 = performance.now();
  const g = parseGraph(readCheckpoint(path.join(store.dir, 'checkpoints', spec.checkpoint)), 'nodes');
  const l: Layer | undefined = g.layers.find((x) => x.original === spec.layers.find((s) => s.name === layer)?.original);
  if (!l) throw new MistiqueError('NOT_FOUND', `${modelKey} has no layer ${layer}; layers: ${spec.layers.map((s) => s.name).join(', ')}`);
  const specs = spec.inputs ?? [{ name: spec.input, type: 'float32' as const, shape: spec.inputShape, key: spec.inputKey }];
  const reads = await Promise.all(specs.map((sp) => store.getIntermediates(`${sp.key}.*`, rows ? { rows: Array.from(rows) } : {})));
  const feeds = storedFeeds(specs, reads);
  const input = reads[0]!;
  // the layers logged with it stay outputs: the same kernels run as when it was logged (see truncateAt)
  const cut = truncateAt(g, l, spec.layers.map((s) => s.original));
  const session = await ort.InferenceSession.create(cut.bytes);
  try {
    const n = input.nrows;
    const B = batchSize ?? spec.batchSize;
    // batch by batch, as when logged: memory stays at one batch of activations plus the result
    let values: Float32Array | null = null;
    let shape: number[] = [];
    for (let s = 0; s < n; s += B) {
      const e = Math.min(n, s + B);
      // a truncated graph takes only the inputs its layer depends on
      const all = batchTensors(feeds, s, e);
      const used = Object.fromEntries(session.inputNames.map((name) => [name, all[name]!]));
      const out = await runSession(session, `${modelKey}.${layer}`, used, s, e);
      const t = out[l.original]!;
      if (!values) {
        shape = (t.dims as number[]).slice(1).map(Number);
        values = new Float32Array(n * shape.reduce((a, b) => a * b, 1));
      }
      values.set(t.data as Float32Array, s * (values.length / n));
    }
    return {
      values: values ?? new Float32Array(0), shape, rowIds: input.rowIds,
      nodes: cut.nodes, totalNodes: (g.model.graph?.node ?? []).length, ms: performance.now() - t0,
    };
  } finally {
    await session.release();
  }
}
