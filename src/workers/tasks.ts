// What a worker thread runs: the encode steps of logging (quantize/encode.ts) and the inflating of a
// scan's segments (store/inflate.ts), decoded straight into a shared result where the reader asks
// (reader/scatter.ts), each a pure function of its task.
import { buffersOf as encodeBuffers, runTask as runEncode, type EncodeResult, type EncodeTask, type LayerResult } from '../quantize/encode.js';
import type { KbitBlock } from '../quantize/kbit.js';
import { scatterPlan, scatterSegment } from '../reader/scatter.js';
import { inflateSegments, type InflateResult, type InflateTask } from '../store/inflate.js';

export type Task = EncodeTask | InflateTask;
export type TaskResult<T extends Task> = T extends InflateTask ? InflateResult : T extends EncodeTask ? EncodeResult<T> : never;

export function runTask<T extends Task>(t: T): TaskResult<T> {
  if (t.op === 'inflate') {
    const sc = t.scatter;
    if (!sc) return inflateSegments(t) as TaskResult<T>;
    const plan = scatterPlan(sc);
    return inflateSegments(t, (i, raw) => scatterSegment(i, raw, sc, plan, t.codec)) as TaskResult<T>;
  }
  return runEncode(t) as TaskResult<T>;
}

/** Typed arrays a task or its result moves between threads (their buffers are transferred, not copied). */
export function buffersOf(x: Task | LayerResult | KbitBlock[] | InflateResult): ArrayBuffer[] {
  if (Array.isArray(x)) return encodeBuffers(x);
  if ('op' in x && x.op === 'inflate') return [x.bytes.buffer as ArrayBuffer, x.segs.buffer as ArrayBuffer];
  if ('raw' in x) return [x.raw.buffer as ArrayBuffer, x.offsets.buffer as ArrayBuffer, ...(x.spent ? [x.spent.buffer as ArrayBuffer] : [])];
  return encodeBuffers(x);
}
