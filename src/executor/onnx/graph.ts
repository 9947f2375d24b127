// ONNX graph rewriting (onnx-proto): expose every node output — or every layer boundary — as a model
// output, name them safely (conv1, relu1, pool1, dense1, …; the original names are kept), and cut a
// truncated graph that stops at one layer (for re-running up to layer i).
import onnxProto from 'onnx-proto';
import { MistiqueError } from '../../errors.js';

const { onnx } = onnxProto;
type ModelProto = InstanceType<typeof onnx.ModelProto>;
interface NodeP { opType: string; name: string; input: string[]; output: string[] }
interface GraphP { node: NodeP[]; initializer: { name: string }[]; input: { name: string }[]; output: { name: string }[] }
/** Decoded messages are class instances: their repeated fields are arrays, never null. */
const graphOf = (m: ModelProto): GraphP => m.graph as unknown as GraphP;

/** Ops whose outputs are layer boundaries (what `layers` mode exposes). */
// Flatten, Reshape, Dropout (at inference) and Identity only re-label the previous layer's values: storing
// them would store the same activations twice, so `layers` leaves them out (`nodes` keeps them).
const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
  'Gemm', 'MatMul', 'Softmax', 'BatchNormalization', 'Concat', 'Add']);
/** Ops that never produce float activations. */
const SKIP_OPS = new Set(['Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Cast', 'ConstantOfShape', 'Range', 'NonZero']);
const PREFIX: Record<string, string> = {
  Conv: 'conv', ConvTranspose: 'deconv', Relu: 'relu', LeakyRelu: 'relu', MaxPool: 'pool', AveragePool: 'avgpool', GlobalAveragePool: 'gap',
  Gemm: 'dense', MatMul: 'dense', Flatten: 'flatten', Softmax: 'softmax', BatchNormalization: 'bn', Sigmoid: 'sigmoid', Tanh: 'tanh',
};

export interface Layer {
  /** Safe intermediate name: conv1, relu1, … */
  name: string;
  /** The node output's name in the ONNX graph. */
  original: string;
  op: string;
  /** Position of the producing node in the graph. */
  node: number;
}

export interface OnnxGraph {
  model: ModelProto;
  input: string;
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
  if (inputs.length !== 1) throw new MistiqueError('UNSUPPORTED', `the model has ${inputs.length} data inputs (${inputs.map((i) => i.name).join(', ')}); mistique runs models with one input`);
  if (g.output.length < 1) throw new MistiqueError('BAD_INPUT', 'the ONNX model has no outputs');
  const counters = new Map<string, number>();
  const layers: Layer[] = [];
  g.node.forEach((n, k) => {
    const op = n.opType ?? '';
    if (SKIP_OPS.has(op) || (expose === 'layers' && !LAYER_OPS.has(op))) return;
    for (const out of n.output) {
      if (!out) continue;
      const prefix = PREFIX[op] ?? op.toLowerCase().replace(/[^a-z0-9]/g, '') ?? 'node';
      const c = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, c);
      layers.push({ name: `${prefix}${c}`, original: out, op, node: k });
    }
  });
  if (layers.length === 0) throw new MistiqueError('UNSUPPORTED', 'no layer outputs found in the ONNX graph');
  return { model, input: inputs[0]!.name, output: g.output[0]!.name, layers };
}

function floatOutput(name: string): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } });
}

/** The model with every given layer as a graph output (the original outputs kept). */
export function exposeLayers(g: OnnxGraph, layers: readonly Layer[] = g.layers): Uint8Array {
  const m = onnx.ModelProto.decode(onnx.ModelProto.encode(g.model).finish());
  const graph = graphOf(m);
  const have = new Set(graph.output.map((o) => o.name));
  for (const l of layers) if (!have.has(l.original)) graph.output.push(floatOutput(l.original));
  return onnx.ModelProto.encode(m).finish();
}

/** The model cut after `layer`: only the nodes it depends on, with that layer's output as the only output. */
export function truncateAt(g: OnnxGraph, layer: Layer): { bytes: Uint8Array; nodes: number } {
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
  graph.output = [floatOutput(layer.original)];
  return { bytes: onnx.ModelProto.encode(m).finish(), nodes: graph.node.length };
}
