// A batch of a layer encoded by a DNN storage scheme: POOL_QT then LP_QT, THRESHOLD_QT or (left to the
// writer, chunk by chunk) KBIT_QT — the one path by which logNetwork, the stream logger and the
// benchmarks turn float32 activations into what the writer stores.
import { MistiqueError } from '../errors.js';
import { DataFrame } from '../model/dataframe.js';
import { encode } from '../workers/pool.js';
import { encodeLayer, type LayerResult, type LayerTask } from './encode.js';
import { percentile, sampleValues, type PoolKind } from './index.js';

export interface DnnScheme {
  pool?: { sigma: number | 'S'; op?: PoolKind };
  quantize?: 'lp' | { kbit: number } | { threshold: number };
}

export function schemeName(s: DnnScheme): string {
  const parts: string[] = [];
  if (s.pool) parts.push(`pool(${s.pool.sigma}${s.pool.op === 'max' ? ',max' : ''})`);
  const q = s.quantize;
  if (q === 'lp') parts.push('lp');
  else if (q && 'kbit' in q) parts.push(`kbit(${q.kbit})`);
  else if (q && 'threshold' in q) parts.push(`threshold(${q.threshold})`);
  return parts.length ? parts.join('+') : 'none';
}

/** A batch ready for its writer: `kbit` asks the writer to quantize it chunk by chunk (a codebook per chunk). */
export interface Encoded { frame: DataFrame; threshold?: number; kbit?: number; /** per-example shape after pooling ([] for one value) */ shape: number[] }

/** Applies the quantization step to one batch of a layer; `state` carries the threshold from the first batch. */
export function quantizeBatch(values: Float32Array, shape: number[], ids: Int32Array, q: DnnScheme['quantize'], state: { threshold?: number }): Encoded {
  checkKbit(q);
  if (q && typeof q === 'object' && 'threshold' in q) state.threshold ??= percentile(sampleValues(values), q.threshold);
  return encodedFrame(encodeLayer(layerTask(values, shape, undefined, q, state)), ids, q, state);
}

/**
 * One batch of a layer pooled and quantized as `scheme` says, on an encode worker (the values are handed
 * over). THRESHOLD_QT's first batch runs here: the threshold comes from its (pooled) values.
 */
export async function encodeBatch(values: Float32Array, shape: number[], ids: Int32Array, scheme: DnnScheme, state: { threshold?: number }): Promise<Encoded> {
  const q = scheme.quantize;
  checkKbit(q);
  // Stryker disable next-line ConditionalExpression,StringLiteral: encodeLayer pools only [C, H, W] layers itself, and any kind but 'max' averages
  const poolOp = scheme.pool && shape.length === 3 ? { sigma: scheme.pool.sigma, kind: scheme.pool.op ?? 'avg' } : undefined;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: this branch decides where a batch is encoded (here or on a worker), not what comes out: quantizeBatch keeps the first threshold
  if (q && typeof q === 'object' && 'threshold' in q && state.threshold === undefined) {
    // Stryker disable next-line StringLiteral: encodeLayer reads no op
    const pooled = encodeLayer({ op: 'layer', values, shape, pool: poolOp });
    return quantizeBatch(pooled.values as Float32Array, pooled.shape, ids, q, state);
  }
  const task = layerTask(values, shape, poolOp, q, state);
  // nothing to do before the writer (full precision, or KBIT_QT, which the writer does per chunk): no thread hop
  if (!task.pool && !task.quantize) return encodedFrame({ values, shape }, ids, q, state);
  return encodedFrame(await encode(task), ids, q, state);
}

/** A batch of a layer already in LP_QT's half floats (onnxruntime cast it): a frame for its writer as it is. */
export function halfBatch(bits: Uint16Array, shape: number[], ids: Int32Array): Encoded {
  return { frame: DataFrame.fromEncodedTensor(bits, 'float16', shape.length ? shape : [1], ids), shape };
}

function checkKbit(q: DnnScheme['quantize']): void {
  if (!q || typeof q !== 'object' || !('kbit' in q)) return;
  if (q.kbit > 8) throw new MistiqueError('BAD_OPTION', `KBIT_QT stores one byte per value: k must be 1…8, got ${q.kbit}`);
  if (!Number.isInteger(q.kbit) || q.kbit < 1) throw new MistiqueError('BAD_OPTION', `KBIT_QT needs k bits, an integer 1…8, got ${q.kbit}`);
}

/** KBIT_QT is left to the writer (a codebook per chunk); LP_QT and THRESHOLD_QT are done here. */
function layerTask(values: Float32Array, shape: number[], poolOp: LayerTask['pool'], q: DnnScheme['quantize'], state: { threshold?: number }): LayerTask {
  const quantize = q === 'lp' ? 'lp' : q && 'threshold' in q ? { threshold: state.threshold! } : undefined;
  return { op: 'layer', values, shape, pool: poolOp, quantize };
}

function encodedFrame(r: LayerResult, ids: Int32Array, q: DnnScheme['quantize'], state: { threshold?: number }): Encoded {
  const sh = r.shape.length ? r.shape : [1];
  const { shape } = r;
  if (!q) return { frame: DataFrame.fromTensor(r.values as Float32Array, sh, ids), shape };
  if (q === 'lp') return { frame: DataFrame.fromEncodedTensor(r.values as Uint16Array, 'float16', sh, ids), shape };
  if ('kbit' in q) return { frame: DataFrame.fromTensor(r.values as Float32Array, sh, ids), kbit: q.kbit, shape };
  return { frame: DataFrame.fromEncodedTensor(r.values as Uint8Array, 'bool', sh, ids), threshold: state.threshold, shape };
}

/** Parses a scheme such as `pool2+lp`, `kbit8`, `threshold99.5`, `poolS`, `none`. */
export function parseScheme(s: string): DnnScheme {
  const out: DnnScheme = {};
  for (const part of s.split('+').map((p) => p.trim().toLowerCase())) {
    let m: RegExpExecArray | null;
    if (part === 'none' || part === '') continue;
    if ((m = /^pool(\d+|s)(max)?$/.exec(part))) out.pool = { sigma: m[1] === 's' ? 'S' : Number(m[1]), op: m[2] ? 'max' : 'avg' };
    else if (part === 'lp' || part === 'fp16' || part === 'float16') out.quantize = 'lp';
    else if ((m = /^kbit(\d+)$/.exec(part))) out.quantize = { kbit: Number(m[1]) };
    else if ((m = /^threshold([\d.]+)$/.exec(part))) out.quantize = { threshold: Number(m[1]) };
    else throw new MistiqueError('BAD_OPTION', `unknown scheme ${JSON.stringify(part)}: use none, lp, kbit8, threshold99.5, pool2, poolS, pool2max, or a pool and a quantizer joined by + (pool2+lp)`);
  }
  return out;
}
