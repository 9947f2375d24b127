// The encode steps of a logged layer as one pure function each, run alike on the main thread or on an
// encode worker (workers.ts): a batch's POOL_QT then LP_QT / THRESHOLD_QT, and KBIT_QT of a RowBlock's
// chunks (a codebook per chunk).
import { kbitBlock, type KbitBlock } from './kbit.js';
import { toFloat16 } from './lowprecision.js';
import { pool, type PoolKind } from './pool.js';

/** One batch of a layer: N × shape float32 values, pooled (shape [C, H, W] only), then quantized. */
export interface LayerTask {
  op: 'layer';
  values: Float32Array;
  shape: number[];
  pool?: { sigma: number | 'S'; kind: PoolKind };
  quantize?: 'lp' | { threshold: number };
}
export interface LayerResult { values: Float32Array | Uint16Array | Uint8Array; shape: number[] }

/** The float32 chunks of one RowBlock, each quantized with its own k-bit codebook. */
export interface KbitTask { op: 'kbit'; chunks: Float32Array[]; k: number }

export type EncodeTask = LayerTask | KbitTask;
export type EncodeResult<T extends EncodeTask> = T extends LayerTask ? LayerResult : KbitBlock[];

export function encodeLayer(t: LayerTask): LayerResult {
  let values = t.values;
  let shape = t.shape;
  if (t.pool && shape.length === 3) {
    const p = pool(values, shape, t.pool.sigma === 'S' ? Math.max(shape[1]!, shape[2]!) : t.pool.sigma, t.pool.kind);
    values = p.values; shape = p.shape;
  }
  const q = t.quantize;
  if (q === undefined) return { values, shape };
  if (q === 'lp') return { values: toFloat16(values), shape };
  const bits = new Uint8Array(values.length);
  const th = q.threshold;
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
  for (let i = 0; i < values.length; i++) bits[i] = values[i]! > th ? 1 : 0;
  return { values: bits, shape };
}

export function runTask<T extends EncodeTask>(t: T): EncodeResult<T> {
  if (t.op === 'layer') return encodeLayer(t) as EncodeResult<T>;
  return t.chunks.map((c) => kbitBlock(c, t.k)) as EncodeResult<T>;
}

/** Typed arrays a task or its result moves between threads (their buffers are transferred, not copied). */
export function buffersOf(x: EncodeTask | LayerResult | KbitBlock[]): ArrayBuffer[] {
  const views: ArrayBufferView[] = Array.isArray(x) ? x.flatMap((b) => [b.codes, b.book]) : 'chunks' in x ? x.chunks : [x.values];
  return [...new Set(views.map((v) => v.buffer as ArrayBuffer))];
}
