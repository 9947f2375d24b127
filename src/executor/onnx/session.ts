// Running onnxruntime sessions for the network executor: the options of every session that exposes
// layers, one batch through a session (a model of a fixed batch size padded to it), and the ranks of a
// session's outputs as onnxruntime's shape inference gives them.
import * as ort from './ort.js';
import { MistiqueError } from '../../errors.js';

/**
 * Options of every session that exposes layers (logging, re-running): onnxruntime's intra-op threads do
 * not spin while waiting. Spinning keeps the second core busy through the exposed outputs' copies, which
 * run on one thread; measured on vgg (500 images, 2 cores) the exposed pass took 129–144 ms and 250–284 ms
 * of CPU spinning, 93–119 ms and 161–187 ms not — and logging needs that core for its encode workers and writes.
 * Its logger says only what is fatal: a kernel's failure is thrown, and reported with onnxruntime's message
 * and what to check; the logger had printed it twice more, in red, before that.
 */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4, extra: { session: { intra_op: { allow_spinning: '0' } } } };

/** The rank of each output of a session, as onnxruntime's shape inference gives it (undefined: unknown). */
export function outputRanks(session: ort.InferenceSession): Map<string, number | undefined> {
  return new Map(session.outputMetadata.map((m) => [m.name, m.isTensor && m.shape.length > 0 ? m.shape.length : undefined]));
}

/**
 * One batch through onnxruntime; its failure (a node's type or shape error) as a MistiqueError naming the
 * model and the examples. A model of a fixed batch size `fixedB` gets a short batch padded with copies of
 * its last example, and its outputs of one row per example back without them.
 */
export async function runSession(session: ort.InferenceSession, model: string, feeds: Record<string, ort.Tensor>, s: number, e: number, fixedB: number | null = null): Promise<ort.InferenceSession.OnnxValueMapType> {
  const m = e - s;
  const pad = fixedB !== null && m < fixedB;
  try {
    const out = await session.run(pad ? Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, padRows(t, fixedB)])) : feeds);
    if (!pad) return out;
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t instanceof ort.Tensor && Number(t.dims[0]) === fixedB ? firstRows(t, m) : t]));
  } catch (err) {
    const shapes = Object.entries(feeds).map(([k, t]) => `${k} [${t.dims.join(', ')}] ${t.type}`).join(', ');
    throw new MistiqueError('BAD_INPUT', `onnxruntime failed running ${model} on examples ${s}…${e - 1} (${shapes}): ${(err as Error).message}; check that the input shape and type are what the model expects`, { cause: err });
  }
}

/** A batch of `t.dims[0]` examples filled up to `n` with copies of its last example. */
function padRows(t: ort.Tensor, n: number): ort.Tensor {
  const m = Number(t.dims[0]), per = t.size / Math.max(1, m);
  const src = t.data as Float32Array | Int32Array | Uint8Array | BigInt64Array;
  const out = new (src.constructor as new (len: number) => typeof src)(n * per);
  out.set(src as never);
  const last = src.subarray((m - 1) * per, m * per);
  for (let i = m; i < n; i++) out.set(last as never, i * per);
  return new ort.Tensor(t.type as 'float32', out as Float32Array, [n, ...t.dims.slice(1)]);
}

/** The first `m` examples of a batch's output. */
function firstRows(t: ort.Tensor, m: number): ort.Tensor {
  const per = t.size / Math.max(1, Number(t.dims[0]));
  return new ort.Tensor(t.type as 'float32', (t.data as Float32Array).subarray(0, m * per), [m, ...t.dims.slice(1)]);
}

/** The bytes a run's outputs hold together (what the exposed layers of its examples cost in memory). */
export function outputBytes(outputs: ort.InferenceSession.OnnxValueMapType): number {
  let n = 0;
  for (const t of Object.values(outputs)) if (ArrayBuffer.isView(t.data)) n += t.data.byteLength;
  return n;
}
