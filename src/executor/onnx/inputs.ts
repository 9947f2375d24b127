// A network's inputs: one tensor (images: float32, or uint8 as models exported from TensorFlow take
// them), or several named inputs of any element type — token ids and attention masks as int64, bool
// masks — each N examples of its own per-example shape, aligned by row. Each is stored once per project as
// an intermediate of its own (`<project>.inputs.…`, float32 as float32, doubles, integers and bools as
// exact float64) so that a re-run feeds the same examples.
import { createHash } from 'node:crypto';
import * as ort from './ort.js';
import { MistiqueError } from '../../errors.js';
import { DataFrame } from '../../model/dataframe.js';
import { unshared, type Matrix } from '../../model/matrix.js';
import type { OnnxGraph } from './graph.js';

export type InputType = 'float32' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint16' | 'uint8' | 'bool';

/**
 * One named input: N × shape values (row-major), fed as the graph's type. `type`: what the values are
 * (say so for integers: they are then never fed to a float input, where images would go unscaled).
 */
export interface NamedInput {
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | readonly number[];
  shape: readonly number[];
  type?: InputType;
}

/** How a network's input is stored and fed (in the workflow's spec). */
export interface InputSpec { name: string; type: InputType; shape: number[]; key: string }

/** Inputs ready to feed: values as float32 (float inputs) or float64 (exact integers, bools). */
export interface Feed { name: string; type: InputType; shape: number[]; per: number; values: Float32Array | Float64Array }

const ONNX_TYPE: Record<number, InputType> = { 1: 'float32', 11: 'float64', 7: 'int64', 6: 'int32', 5: 'int16', 3: 'int8', 4: 'uint16', 2: 'uint8', 9: 'bool' };
const isFloat = (t: InputType): boolean => t === 'float32' || t === 'float64';

/** The range of each integer input type (bool: 0 and 1). */
const INT_RANGE: Partial<Record<InputType, [number, number]>> = {
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], int32: [-2147483648, 2147483647], int16: [-32768, 32767], int8: [-128, 127],
  uint16: [0, 65535], uint8: [0, 255], bool: [0, 1],
};

/** The graph's data inputs with their types; an input of another type is UNSUPPORTED, named. */
export function graphInputs(g: OnnxGraph): { name: string; type: InputType }[] {
  return g.inputs.map((i) => {
    const type = ONNX_TYPE[i.elemType];
    if (!type) throw new MistiqueError('UNSUPPORTED', `input ${i.name} of the model has ONNX element type ${i.elemType}: mistique feeds ${[...new Set(Object.values(ONNX_TYPE))].join(', ')} inputs`);
    return { name: i.name, type };
  });
}

/** Checks named inputs against the graph: every input given, none unknown, whole examples, one N, exact values. */
export function namedFeeds(g: OnnxGraph, inputs: Record<string, NamedInput>): { feeds: Feed[]; n: number } {
  const want = graphInputs(g);
  const names = Object.keys(inputs);
  const unknown = names.filter((n) => !want.some((w) => w.name === n));
  const missing = want.filter((w) => !(w.name in inputs)).map((w) => w.name);
  if (unknown.length || missing.length) {
    throw new MistiqueError('BAD_INPUT', `the model takes inputs ${want.map((w) => `${w.name} (${w.type})`).join(', ')}${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; not inputs of the model: ${unknown.join(', ')}` : ''}`);
  }
  let n = -1;
  const feeds = want.map(({ name, type: graphType }) => {
    const inp = inputs[name]!;
    // values of one kind (integers and bools, or floats) are fed as the model's type of that kind, each
    // checked to fit it; integers are never fed as floats, which a model's images would be unscaled
    // (an integer typed array holds integers whatever `type` says; a Float32Array or a plain array may hold either)
    const given = inp.type ?? (ArrayBuffer.isView(inp.data) && !(inp.data instanceof Float32Array || inp.data instanceof Float64Array) ? inp.data.constructor.name : undefined);
    const givenFloat = given === undefined ? isFloat(graphType) : given === 'float32' || given === 'float64';
    if (givenFloat !== isFloat(graphType)) {
      throw new MistiqueError('BAD_INPUT', `input ${name} holds ${given} values but the model takes ${graphType}${isFloat(graphType) ? ': convert them to floats as the model expects (images are usually scaled, e.g. a / 255, and normalized)' : ''}`);
    }
    const type = graphType;
    const shape = [...inp.shape];
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) throw new MistiqueError('BAD_INPUT', `input ${name}: shape [${shape.join(', ')}] must be positive integers (the per-example shape, without the batch axis)`);
    // the graph's rank is the batch axis and the per-example shape
    const rank = g.inputs.find((i) => i.name === name)?.rank;
    if (rank === shape.length && rank > 0) {
      throw new MistiqueError('UNSUPPORTED', `input ${name} of the model takes one example of rank ${rank}, without a batch axis (as torchvision's detection models export: a list of images), and mistique runs examples in batches [N, ${shape.join(', ')}]: export the model with a batch axis, or capture it from PyTorch with python/mistique (mistique.capture), which takes any model`);
    }
    if (rank !== undefined && rank !== shape.length + 1) {
      throw new MistiqueError('BAD_INPUT', `input ${name} of the model has rank ${rank}: a batch axis and ${rank - 1} per-example dimension${rank === 2 ? '' : 's'}, but the examples given are [${shape.join(', ')}] each (${shape.length} dimension${shape.length === 1 ? '' : 's'}): give them as the model takes them`);
    }
    const per = shape.reduce((a, b) => a * b, 1);
    const len = inp.data.length;
    if (len % per !== 0) throw new MistiqueError('BAD_INPUT', `input ${name}: ${len} values are not a whole number of [${shape.join(', ')}] examples`);
    if (n >= 0 && len / per !== n) throw new MistiqueError('BAD_INPUT', `input ${name} has ${len / per} examples, the others ${n}: inputs are aligned by row`);
    n = len / per;
    return { name, type, shape, per, values: toValues(name, type, inp.data) };
  });
  return { feeds, n };
}

function toValues(name: string, type: InputType, data: NamedInput['data']): Float32Array | Float64Array {
  if (type === 'float32') return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  if (type === 'float64') return Float64Array.from(data as ArrayLike<number>);
  const [lo, hi] = INT_RANGE[type]!;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Number((data as ArrayLike<number | bigint>)[i]);
    if (!Number.isSafeInteger(v) || v < lo || v > hi) {
      throw new MistiqueError('BAD_INPUT', `input ${name}[${i}] = ${String((data as ArrayLike<unknown>)[i])} is not a ${type} value (a whole number in ${lo}…${hi}${type === 'int64' ? ', which mistique stores exactly' : ''}), and the model takes ${type}`);
    }
    out[i] = v;
  }
  return out;
}

/** One batch (rows s…e−1) of every input as onnxruntime tensors of the model's types. */
export function batchTensors(feeds: readonly Feed[], s: number, e: number): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const f of feeds) {
    const v = f.values.subarray(s * f.per, e * f.per);
    const dims = [e - s, ...f.shape];
    if (f.type === 'float32') out[f.name] = new ort.Tensor('float32', unshared(v as Float32Array), dims);
    else if (f.type === 'int64') out[f.name] = new ort.Tensor('int64', BigInt64Array.from(v, (x) => BigInt(x)), dims);
    else out[f.name] = new ort.Tensor(f.type, new TYPED[f.type](v), dims);
  }
  return out;
}

/** The typed array onnxruntime takes for each input type but float32 and int64 (bool: one byte each). */
const TYPED = { float64: Float64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint16: Uint16Array, uint8: Uint8Array, bool: Uint8Array } as const;

/**
 * Where each input is stored: `<project>.inputs.<name>_<hash of its values and row ids>` (`stem` in place
 * of the name: a single-input model's examples are `x_<hash>`, as in every store before named inputs).
 */
export function inputSpecs(project: string, feeds: readonly Feed[], rowIds: Int32Array, stem?: string): InputSpec[] {
  return feeds.map((f) => {
    const h = createHash('sha1').update(new Uint8Array(f.values.buffer, f.values.byteOffset, f.values.byteLength)).update(new Uint8Array(rowIds.buffer, rowIds.byteOffset, rowIds.byteLength)).digest('hex').slice(0, 16);
    return { name: f.name, type: f.type, shape: f.shape, key: `${project}.inputs.${stem ?? f.name.replace(/[^A-Za-z0-9_]/g, '_')}_${h}` };
  });
}

/** A batch of one input as the frame it is stored as. */
export function inputFrame(f: Feed, s: number, e: number, ids: Int32Array): DataFrame {
  return DataFrame.fromTensor(f.values.slice(s * f.per, e * f.per), f.shape, ids);
}

/** The inputs of a re-run, read back from the store (rows in the same order for every input). */
export function storedFeeds(specs: readonly InputSpec[], reads: readonly Matrix[]): Feed[] {
  return specs.map((sp, k) => {
    const m = reads[k]!;
    const values = sp.type === 'float32' ? (m.values instanceof Float32Array ? m.values : Float32Array.from(m.values)) : Float64Array.from(m.values);
    return { name: sp.name, type: sp.type, shape: sp.shape, per: sp.shape.reduce((a, b) => a * b, 1), values };
  });
}
