// ONNX graph rewriting (onnx-proto): expose every node output — or every layer boundary — as a model
// output, name them safely (conv1, relu1, pool1, dense1, …; the original names are kept), and cut a
// truncated graph that stops at one layer (for re-running up to layer i).
import onnxProto from 'onnx-proto';
import { MistiqueError } from '../../errors.js';

const { onnx } = onnxProto;
type ModelProto = InstanceType<typeof onnx.ModelProto>;
interface AttrP { name: string; i?: number | { toNumber(): number } | null; t?: { dataType?: number | null } | null; f?: number; ints?: unknown[]; floats?: unknown[] }
interface NodeP { opType: string; name: string; input: string[]; output: string[]; attribute: AttrP[] }
interface DimP { dimValue?: AttrP['i']; dimParam?: string | null }
interface ValueP { name: string; type?: { tensorType?: { elemType?: number | null; shape?: { dim?: DimP[] | null } | null } | null } | null }
interface GraphP { node: NodeP[]; initializer: { name: string; dataType?: number | null }[]; input: ValueP[]; output: ValueP[]; valueInfo: ValueP[] }
/** Decoded messages are class instances: their repeated fields are arrays, never null. */
const graphOf = (m: ModelProto): GraphP => m.graph as unknown as GraphP;

/** Ops whose outputs are layer boundaries (what `layers` mode exposes). */
// Flatten, Reshape, Dropout (at inference) and Identity only re-label the previous layer's values: storing
// them would store the same activations twice, so `layers` leaves them out (`nodes` keeps them).
const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Softplus', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish',
  'Clip', 'Gelu', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Resize', 'Upsample', 'Gemm', 'MatMul', 'Softmax',
  'BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'Concat', 'Add',
  // a Gather of float values is an embedding lookup (a Gather of shapes is int64, never a layer)
  'Gather',
  // recurrent layers: every step's hidden state, and the last hidden (and cell) state, batch-major (RECURRENT)
  'LSTM', 'GRU', 'RNN',
  'LogSoftmax', 'Mish', 'Softsign', 'Celu', 'ThresholdedRelu', 'LRN', 'GroupNormalization', 'Einsum']);
// (a node whose output is a graph output — the model's predictions — is a layer whatever its op)
/** Ops that never produce activations (their outputs are constants or shapes even when float). */
const SKIP_OPS = new Set(['Constant', 'Shape', 'Size', 'ConstantOfShape', 'Range', 'NonZero']);
/** A Mul gated by one of these is an activation (swish, hard-swish): a layer. */
const GATES: Record<string, string> = { HardSigmoid: 'hswish', Sigmoid: 'swish' };
const PREFIX: Record<string, string> = {
  Conv: 'conv', ConvTranspose: 'deconv', Relu: 'relu', LeakyRelu: 'relu', Clip: 'clip', MaxPool: 'pool', AveragePool: 'avgpool', GlobalAveragePool: 'gap',
  GlobalMaxPool: 'gmp', Gemm: 'dense', MatMul: 'dense', Flatten: 'flatten', Softmax: 'softmax', BatchNormalization: 'bn', LayerNormalization: 'ln',
  InstanceNormalization: 'in', Gather: 'embed', LSTM: 'lstm', GRU: 'gru', RNN: 'rnn', LogSoftmax: 'logsoftmax', ThresholdedRelu: 'relu', GroupNormalization: 'gn', Sigmoid: 'sigmoid', Tanh: 'tanh', HardSigmoid: 'hsigmoid', HardSwish: 'hswish', Resize: 'resize', Upsample: 'resize',
};

/**
 * Recurrent ops, whose outputs are not batch-major in their default layout (0): Y is [seq, directions,
 * batch, hidden], Y_h and Y_c [directions, batch, hidden]. Each output is logged transposed to the op's
 * layout-1 form — [batch, seq, directions, hidden] and [batch, directions, hidden] — by a Transpose the
 * rewrite appends (Layer.batchPerm), so a row is one example's; a re-run appends the same. Names: lstm1
 * (Y), lstm1_h (Y_h), lstm1_c (Y_c).
 */
const RECURRENT: Record<string, { perm: number[][]; suffix: string[] }> = Object.fromEntries(['LSTM', 'GRU', 'RNN'].map((op) => [op, { perm: [[2, 0, 1, 3], [1, 0, 2], [1, 0, 2]], suffix: ['', '_h', '_c'] }]));

/** ONNX element types (TensorProto.DataType) the rewriter needs by name. */
const FLOAT = 1, INT64 = 7, BOOL = 9, FLOAT16 = 10, DOUBLE = 11;
/** The element types of layers: float32, and float64 (a model in double precision; stored as float32). */
const LAYER_TYPES = new Set([FLOAT, DOUBLE]);
/** Other float element types, by ONNX number: a graph of them has no layers mistique logs. */
const OTHER_FLOATS: Record<number, string> = { 10: 'float16', 16: 'bfloat16' };
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);
const BOOL_OUT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);

const num = (v: AttrP['i']): number => (typeof v === 'object' && v !== null ? v.toNumber() : Number(v ?? 0));

/**
 * Values whose declared leading dimension is a fixed number while a graph input's is symbolic (a dynamic
 * batch): not one row per example (e.g. a [tokens, batch, features] tensor inside an exported attention block).
 */
export function fixedLeadingDims(graph: OnnxGraph): Set<string> {
  const g = graphOf(graph.model);
  const lead = (v: ValueP): DimP | undefined => v.type?.tensorType?.shape?.dim?.[0];
  const dynamic = g.input.some((v) => !!lead(v)?.dimParam);
  const out = new Set<string>();
  if (!dynamic) return out;
  for (const v of g.valueInfo) { const d = lead(v); if (d && !d.dimParam && num(d.dimValue) > 0) out.add(v.name); }
  return out;
}

/**
 * The batch size a model was exported for, when every data input's first dimension is one fixed number
 * (an export without a dynamic batch axis, as torch.onnx.export gives by default: 1), else null — such a
 * model runs only on batches of exactly that many examples.
 */
export function fixedBatch(graph: OnnxGraph): number | null {
  const g = graphOf(graph.model);
  const names = new Set(graph.inputs.map((i) => i.name));
  const lead = g.input.filter((v) => names.has(v.name)).map((v) => v.type?.tensorType?.shape?.dim?.[0]);
  if (lead.length === 0 || lead.some((d) => !d || d.dimParam || !(num(d.dimValue) > 0))) return null;
  const n = num(lead[0]!.dimValue);
  return lead.every((d) => num(d!.dimValue) === n) ? n : null;
}

/**
 * A data input whose examples are not on its first axis, as its export names them: the first dimension a
 * fixed number and a later one symbolic under a batch's name (`batch`, `batch_size`, `N`, `bs`): a
 * time-major model (nn.LSTM without batch_first, exported with `dynamic_axes={'x': {1: 'batch'}}`).
 * mistique feeds examples on the first axis, so such a model would run on the wrong axis: a message saying
 * so, or null.
 */
export function examplesNotFirst(graph: OnnxGraph): string | null {
  const g = graphOf(graph.model);
  const names = new Set(graph.inputs.map((i) => i.name));
  for (const v of g.input) {
    if (!names.has(v.name)) continue;
    const dims = v.type?.tensorType?.shape?.dim ?? [];
    const axis = dims.findIndex((d, i) => i > 0 && /^(batch(_?size)?|n|bs|b)$/i.test(d.dimParam ?? ''));
    if (axis > 0 && dims[0] && !dims[0].dimParam && num(dims[0].dimValue) > 0) {
      return `${v.name}'s examples are on axis ${axis} ('${dims[axis]!.dimParam}'), its first dimension is fixed at ${num(dims[0].dimValue)}: a time-major model (e.g. nn.LSTM without batch_first). mistique feeds examples on the first axis — export the model with its batch first (batch_first=True, or transpose the input inside the model)`;
    }
  }
  return null;
}

/**
 * The element type of every value of the graph: declared ones (inputs, initializers, value_info,
 * outputs) first, then each node's outputs from its op and inputs — enough to tell float activations
 * from the int64 and bool values exporters compute shapes and masks with.
 */
export function elementTypes(g: GraphP): Map<string, number> {
  const t = new Map<string, number>();
  for (const v of [...g.input, ...g.valueInfo, ...g.output]) {
    const e = v.type?.tensorType?.elemType;
    if (e) t.set(v.name, e);
  }
  for (const i of g.initializer) if (i.dataType) t.set(i.name, i.dataType);
  for (const n of g.node) {
    const attr = (name: string): AttrP | undefined => n.attribute.find((a) => a.name === name);
    const first = n.input.map((i) => t.get(i)).find((e) => e !== undefined) ?? FLOAT;
    n.output.forEach((out, k) => {
      if (!out || t.has(out)) return;
      let e: number;
      if (INT64_OUT.has(n.opType) || (k === 1 && (n.opType === 'TopK' || n.opType === 'MaxPool'))) e = INT64;
      else if (BOOL_OUT.has(n.opType) || (k === 1 && n.opType === 'Dropout')) e = BOOL;
      else if (n.opType === 'Cast') e = num(attr('to')?.i) || FLOAT;
      else if (n.opType === 'CastLike') e = t.get(n.input[1]!) ?? FLOAT;
      else if (n.opType === 'Constant' || n.opType === 'ConstantOfShape') {
        const v = attr('value');
        e = v?.t?.dataType ?? (attr('value_int') || attr('value_ints') ? INT64 : FLOAT);
      } else if (n.opType === 'Where') e = t.get(n.input[1]!) ?? FLOAT;
      else if (n.opType === 'DequantizeLinear') e = FLOAT;
      else e = first;
      t.set(out, e);
    });
  }
  return t;
}

export interface Layer {
  /** Safe intermediate name: conv1, relu1, … */
  name: string;
  /** The node output's name in the ONNX graph. */
  original: string;
  op: string;
  /** Position of the producing node in the graph. */
  node: number;
  /** Its ONNX element type: float32 (1), or float64 (11), whose values are stored as float32. */
  elemType: number;
  /** The Transpose that makes it batch-major (a recurrent op's output, RECURRENT); absent: it is. */
  batchPerm?: number[];
}

/** The graph output a layer leaves onnxruntime as, before any reduction: its batch-major form. */
export function exposedName(l: Layer): string {
  return l.batchPerm ? `${REDUCE_PREFIX}batch/${l.original}` : l.original;
}

/** Appends the Transpose that makes `l` batch-major, if it needs one; returns the batch-major value's name. */
function appendBatchMajor(graph: GraphP, l: Layer): string {
  if (!l.batchPerm) return l.original;
  const out = exposedName(l);
  graph.node.push(onnx.NodeProto.create({ opType: 'Transpose', name: out, input: [l.original], output: [out], attribute: [attrInts('perm', l.batchPerm)] }) as unknown as NodeP);
  return out;
}

export interface OnnxGraph {
  model: ModelProto;
  /** The first data input (the one of a single-input model). */
  input: string;
  /** Every data input (graph inputs that are not initializers): its ONNX element type, and its rank where the graph states its shape. */
  inputs: { name: string; elemType: number; rank?: number }[];
  output: string;
  layers: Layer[];
}

export type Expose = 'layers' | 'nodes';

/** Node names in graph order (what onnxruntime's profiler reports times for). */
export function nodeNames(g: OnnxGraph): string[] {
  return graphOf(g.model).node.map((n) => n.name);
}

export function parseGraph(bytes: Uint8Array, expose: Expose = 'layers'): OnnxGraph {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new MistiqueError('BAD_INPUT', `not an ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const g = model.graph ? graphOf(model) : null;
  if (!g || g.node.length === 0) throw new MistiqueError('BAD_INPUT', 'the ONNX model has no graph nodes');
  const inits = new Set(g.initializer.map((t) => t.name));
  const inputs = g.input.filter((i) => !inits.has(i.name));
  if (inputs.length === 0) throw new MistiqueError('BAD_INPUT', 'the ONNX model has no data input');
  if (g.output.length < 1) throw new MistiqueError('BAD_INPUT', 'the ONNX model has no outputs');
  const counters = new Map<string, number>();
  const layers: Layer[] = [];
  const types = elementTypes(g);
  const producer = new Map<string, string>();
  for (const n of g.node) for (const o of n.output) producer.set(o, n.opType);
  const predictions = new Set(g.output.map((o) => o.name));
  g.node.forEach((n, k) => {
    const op = n.opType ?? '';
    // a Mul gated by a (hard) sigmoid computes an activation: swish, hard-swish
    const gate = op === 'Mul' ? n.input.map((i) => GATES[producer.get(i) ?? '']).find((x) => x) : undefined;
    // the model's own outputs are layers whatever computes them (a Reshape, a Squeeze, a Concat of a detector's heads)
    const only = expose === 'layers' && !LAYER_OPS.has(op) && !gate ? n.output.filter((o) => predictions.has(o)) : null;
    if (SKIP_OPS.has(op) || only?.length === 0) return;
    const prefix = gate ?? PREFIX[op] ?? op.toLowerCase().replace(/[^a-z0-9]/g, '') ?? 'node';
    // a recurrent node is one layer of up to three outputs (lstm1, lstm1_h, lstm1_c), batch-major unless its layout is already
    const rec = RECURRENT[op];
    const batchFirst = rec && num(n.attribute.find((a) => a.name === 'layout')?.i) === 1;
    let c = 0;
    n.output.forEach((out, i) => {
      // float activations only: int64 shapes, bool masks and a MaxPool's indices are not layers
      const elemType = types.get(out) ?? FLOAT;
      if (!out || !LAYER_TYPES.has(elemType) || (only && !only.includes(out))) return;
      if (!rec || c === 0) counters.set(prefix, (c = (counters.get(prefix) ?? 0) + 1));
      const name = rec ? `${prefix}${c}${rec.suffix[i] ?? `_${i}`}` : `${prefix}${c}`;
      layers.push({ name, original: out, op, node: k, elemType, ...(rec && !batchFirst && rec.perm[i] ? { batchPerm: rec.perm[i] } : {}) });
    });
  });
  if (layers.length === 0) {
    // a graph that computes in another float type (a model exported in double or half precision) has its
    // layers, but not in the float32 mistique logs
    const other = [...types.values()].find((e) => OTHER_FLOATS[e] !== undefined);
    if (other !== undefined) throw new MistiqueError('UNSUPPORTED', `the ONNX graph computes in ${OTHER_FLOATS[other]}: mistique logs float32 layers — export the model in float32 (PyTorch: model.float() before torch.onnx.export)`);
    throw new MistiqueError('UNSUPPORTED', 'no layer outputs found in the ONNX graph');
  }
  return {
    model, input: inputs[0]!.name, output: g.output[0]!.name, layers,
    inputs: inputs.map((i) => ({ name: i.name, elemType: i.type?.tensorType?.elemType ?? FLOAT, rank: i.type?.tensorType?.shape?.dim?.length ?? undefined })),
  };
}

/**
 * The graph with only the layers `patterns` name: each a layer's name (`relu3`) or its ONNX output name,
 * `*` matching any run of characters (`relu*`, `softmax*`). A pattern that matches no layer is an error
 * naming the layers there are. Pure.
 */
export function selectLayers(g: OnnxGraph, patterns: readonly string[] | undefined): OnnxGraph {
  if (patterns === undefined) return g;
  if (patterns.length === 0) throw new MistiqueError('BAD_OPTION', 'layers: give at least one layer name or pattern (e.g. relu*), or leave it out for every layer');
  const re = patterns.map((p) => new RegExp(`^${p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  const none = patterns.filter((_, i) => !g.layers.some((l) => re[i]!.test(l.name) || re[i]!.test(l.original)));
  if (none.length > 0) {
    const names = g.layers.map((l) => l.name);
    throw new MistiqueError('BAD_OPTION', `layers: ${none.join(', ')} match${none.length === 1 ? 'es' : ''} no layer; the layers are ${names.slice(0, 40).join(', ')}${names.length > 40 ? `, … (${names.length})` : ''}`);
  }
  return { ...g, layers: g.layers.filter((l) => re.some((r) => r.test(l.name) || r.test(l.original))) };
}

/**
 * The lineage of each layer: the nearest layers among `layers` (by name) and graph data inputs (as
 * `input:<name>`) its value is computed from, through the nodes in between that are not layers (shape
 * arithmetic, reshapes, a BatchNorm between a Conv and its ReLU when only the ReLU is logged).
 */
export function layerInputs(g: OnnxGraph, layers: readonly Layer[] = g.layers): Map<string, string[]> {
  const graph = graphOf(g.model);
  const producer = new Map<string, number>();
  graph.node.forEach((n, k) => n.output.forEach((o) => producer.set(o, k)));
  const layerOf = new Map(layers.map((l) => [l.original, l.name]));
  const dataInputs = new Set(g.inputs.map((i) => i.name));
  const memo = new Map<string, string[]>();
  // what a value comes from: a layer, a data input, or (through its producer's inputs) those of others
  const sources = (v: string): string[] => {
    const l = layerOf.get(v);
    if (l) return [l];
    if (dataInputs.has(v)) return [`input:${v}`];
    const cached = memo.get(v);
    if (cached) return cached;
    memo.set(v, []); // a cycle (none in a valid graph) ends here
    const k = producer.get(v);
    const out = k === undefined ? [] : [...new Set(graph.node[k]!.input.filter(Boolean).flatMap(sources))];
    memo.set(v, out);
    return out;
  };
  return new Map(layers.map((l) => [l.name, [...new Set(graph.node[l.node]!.input.filter(Boolean).flatMap(sources))]]));
}

function floatOutput(name: string, elemType: number = FLOAT): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } });
}

/** The model with every given layer as a graph output, batch-major (the original outputs kept): exposeReduced with nothing to reduce. */
export function exposeLayers(g: OnnxGraph, layers: readonly Layer[] = g.layers): Uint8Array {
  return exposeReduced(g, {}, new Map(), layers).bytes;
}

/**
 * What onnxruntime does to an exposed layer before it leaves the graph: the steps of a storage scheme it
 * computes where the activations are, instead of copying them out whole for JavaScript to reduce. `pool`:
 * POOL_QT's average over σ×σ windows (edge windows over the part inside; 'S': over the whole map), on
 * layers of [N, C, H, W] only; `half`: LP_QT's float32 → float16, round to nearest even (Cast: the same
 * bits as quantize/lowprecision.ts, NaN and ±Infinity included). Max pooling is not among them:
 * onnxruntime's MaxPool drops a NaN that POOL_QT keeps.
 */
export interface GraphReduce { pool?: number | 'S'; half?: boolean }
/** Nodes the rewrite adds are named under this prefix (the profiler's layer times leave them out). */
export const REDUCE_PREFIX = 'mistique.reduce/';
/** An exposed layer's graph output: its name, and which steps of the scheme onnxruntime applied. */
export interface ReducedOutput { name: string; pooled: boolean; half: boolean }

const attrInts = (name: string, ints: number[]): InstanceType<typeof onnx.AttributeProto> => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });
const attrInt = (name: string, i: number): InstanceType<typeof onnx.AttributeProto> => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });

/** Appends POOL_QT's average pooling of `value` to `graph`; returns the pooled value's name. */
function appendPool(graph: GraphP, value: string, sigma: number | 'S'): string {
  const out = `${REDUCE_PREFIX}pool/${value}`;
  // ceil_mode keeps the edge windows that stick out, count_include_pad = 0 averages them over the part inside
  const node = sigma === 'S'
    ? onnx.NodeProto.create({ opType: 'GlobalAveragePool', name: out, input: [value], output: [out] })
    : onnx.NodeProto.create({
      opType: 'AveragePool', name: out, input: [value], output: [out],
      attribute: [attrInts('kernel_shape', [sigma, sigma]), attrInts('strides', [sigma, sigma]), attrInt('ceil_mode', 1), attrInt('count_include_pad', 0)],
    });
  graph.node.push(node as unknown as NodeP);
  return out;
}

/** The opset version of the default domain the model imports (AveragePool's ceil_mode needs ≥ 10). */
function opsetOf(m: ModelProto): number {
  const o = (m.opsetImport ?? []).find((x) => !x.domain || x.domain === 'ai.onnx');
  return num(o?.version as AttrP['i']);
}

/**
 * The model with every given layer as a graph output, reduced by onnxruntime as `reduce` says where it
 * can: float32 layers only (a float64 one leaves the graph as it is), pooled where its rank (`ranks`, as
 * onnxruntime infers it; unknown: not pooled) is 4. Returns each layer's output; the caller reduces in
 * JavaScript what the graph did not.
 */
export function exposeReduced(g: OnnxGraph, reduce: GraphReduce, ranks: ReadonlyMap<string, number | undefined>, layers: readonly Layer[] = g.layers): { bytes: Uint8Array; outputs: Map<string, ReducedOutput> } {
  const m = onnx.ModelProto.decode(onnx.ModelProto.encode(g.model).finish());
  const graph = graphOf(m);
  const canPool = reduce.pool !== undefined && opsetOf(m) >= 10;
  const have = new Set(graph.output.map((o) => o.name));
  const outputs = new Map<string, ReducedOutput>();
  for (const l of layers) {
    if (outputs.has(l.original)) continue;
    const float = l.elemType === FLOAT;
    const rank = ranks.get(exposedName(l));
    const pooled = float && canPool && rank === 4;
    // float16 comes after the pooling: cast here only if nothing is left to pool in JavaScript
    const half = float && !!reduce.half && (reduce.pool === undefined || pooled || (rank !== undefined && rank !== 4));
    let name = appendBatchMajor(graph, l);
    if (pooled) name = appendPool(graph, name, reduce.pool!);
    if (half) {
      const out = `${REDUCE_PREFIX}half/${l.original}`;
      graph.node.push(onnx.NodeProto.create({ opType: 'Cast', name: out, input: [name], output: [out], attribute: [attrInt('to', FLOAT16)] }) as unknown as NodeP);
      name = out;
    }
    outputs.set(l.original, { name, pooled, half });
    if (!have.has(name)) { graph.output.push(floatOutput(name, half ? FLOAT16 : l.elemType)); have.add(name); }
  }
  return { bytes: onnx.ModelProto.encode(m).finish(), outputs };
}

/**
 * The model cut after `layer`: only the nodes it depends on, with that layer's output as its output.
 * `exposed` names the values that were graph outputs when the layer was logged: those the cut keeps are
 * outputs here too, so onnxruntime makes the same fusion choices (a Conv whose output is a graph output is
 * not fused with the Add or activation after it) and the re-run gives the logged values bit for bit.
 */
export function truncateAt(g: OnnxGraph, layer: Layer, exposed: readonly string[] = [], pool?: number | 'S'): { bytes: Uint8Array; nodes: number; output: string } {
  const m = onnx.ModelProto.decode(onnx.ModelProto.encode(g.model).finish());
  const graph = graphOf(m);
  const producer = new Map<string, number>();
  graph.node.forEach((n, k) => n.output.forEach((o) => producer.set(o, k)));
  const keep = new Set<number>();
  const stack = [layer.original];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const k = producer.get(t);
    if (k === undefined || keep.has(k)) continue;
    keep.add(k);
    for (const i of graph.node[k]!.input) if (i) stack.push(i);
  }
  graph.node = graph.node.filter((_, k) => keep.has(k));
  const used = new Set(graph.node.flatMap((n) => n.input));
  graph.initializer = graph.initializer.filter((t) => used.has(t.name));
  graph.input = graph.input.filter((i) => used.has(i.name) || i.name === g.input);
  const made = new Set(graph.node.flatMap((n) => n.output));
  const typeOf = new Map(g.layers.map((x) => [x.original, x.elemType]));
  const nodes = graph.node.length;
  // batch-major as logged; a layer onnxruntime pooled when it was logged is pooled by the same kernel here: a re-run gives what was stored
  const major = appendBatchMajor(graph, layer);
  const output = pool === undefined ? major : appendPool(graph, major, pool);
  graph.output = [floatOutput(output, layer.elemType), ...exposed.filter((o) => o !== layer.original && made.has(o)).map((o) => floatOutput(o, typeOf.get(o)))];
  return { bytes: onnx.ModelProto.encode(m).finish(), nodes, output };
}
