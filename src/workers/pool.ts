// Worker threads, one per core: quantizing a logged layer (POOL_QT, LP_QT, THRESHOLD_QT, KBIT_QT) runs
// on them so that the main thread goes on with the next layer, the next forward pass and the writes
// meanwhile, and a scan's segments are checked, inflated and copied straight into the shared result on
// them (store/inflate.ts, reader/scatter.ts). Buffers move between threads by transfer, never by copy. Small tasks run inline (a
// thread hop costs more than they do); MISTIQUE_WORKERS sets the number of workers (0: none).
import os from 'node:os';
import { MistiqueError } from '../errors.js';
import type { EncodeResult, EncodeTask } from '../quantize/encode.js';
import type { InflateResult, InflateTask } from '../store/inflate.js';
import { loadCodec } from '../reader/scatter.js';
import type { Worker } from 'node:worker_threads';
import { moduleWorker } from './spawn.js';
import { buffersOf, runTask, type Task, type TaskResult } from './tasks.js';

/** Encode tasks with fewer float32 values than this run on the calling thread. */
const INLINE_VALUES_BELOW = 64 * 1024;
/** Inflate tasks of fewer encoded bytes than this run on the calling thread. */
const INLINE_BYTES_BELOW = 64 * 1024;

interface Pending { resolve: (r: never) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; pending: Map<number, Pending> }

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number) {}

  run<T extends Task>(task: T): Promise<TaskResult<T>> {
    if (this.closed) return Promise.reject(new MistiqueError('CLOSED', 'the worker threads were shut down'));
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<TaskResult<T>>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (r: never) => void, reject });
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage({ id, task }, buffersOf(task));
    });
  }

  /** The least busy worker, started on first use. */
  private pick(): Slot {
    if (this.slots.length < this.size && this.slots.every((s) => s.pending.size > 0)) this.slots.push(this.spawn());
    return this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private spawn(): Slot {
    const worker = moduleWorker(import.meta.url, 'worker');
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (m: { id: number; result?: never; error?: { message: string; name: string } }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) worker.unref();
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
      else p.resolve(m.result!);
    });
    const fail = (err: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1); // the next task starts a fresh worker
      for (const p of slot.pending.values()) p.reject(new MistiqueError('INTERNAL', `a worker thread failed (${err.message}); try again`, { cause: err }));
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { if (slot.pending.size > 0) fail(new Error(`exited with code ${code}`)); });
    return slot;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}

let shared: WorkerPool | null | undefined;

/**
 * Workers to use: MISTIQUE_WORKERS, else one per core (measured on 2 cores: one per core, since one
 * worker was slower — 1.4 s against 1.2 s for logging kbit8).
 */
export function workerCount(): number {
  const env = process.env.MISTIQUE_WORKERS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) throw new MistiqueError('BAD_OPTION', `MISTIQUE_WORKERS must be a whole number ≥ 0, got ${JSON.stringify(env)}`);
    return n;
  }
  return os.availableParallelism();
}

function pool(): WorkerPool | null {
  if (shared === undefined) {
    const n = workerCount();
    shared = n > 0 ? new WorkerPool(n) : null;
  }
  return shared;
}

function encodeSize(t: EncodeTask): number {
  return t.op === 'layer' ? t.values.length : t.chunks.reduce((a, c) => a + c.length, 0);
}

/** A typed array that owns its whole buffer: itself, or a copy when it is a view into a larger one. */
function own<A extends ArrayBufferView & { slice(): A }>(v: A): A {
  return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice();
}

/**
 * Runs an encode task on a worker (inline when small or when there are none). The task's typed arrays
 * are handed over: the caller must not use them afterwards. Arrays that are views into a larger buffer
 * are copied first, so that nothing else sharing that buffer is taken away.
 */
export async function encode<T extends EncodeTask>(task: T): Promise<EncodeResult<T>> {
  const p = encodeSize(task) < INLINE_VALUES_BELOW ? null : pool();
  if (!p) return runTask(task) as EncodeResult<T>;
  const t = (task.op === 'layer' ? { ...task, values: own(task.values) } : { ...task, chunks: task.chunks.map(own) }) as T;
  return p.run(t) as Promise<EncodeResult<T>>;
}

/**
 * Checks and inflates a run of segments on a worker (inline when small or when there are none); `bytes`
 * is handed over. The codec's decoder is loaded on the calling thread too: it runs the small tasks, and
 * views the segments handed back undecoded (segmentView).
 */
export async function inflate(task: InflateTask, wholeBuffer = false): Promise<InflateResult> {
  await loadCodec(task.codec);
  const p = task.bytes.byteLength < INLINE_BYTES_BELOW ? null : pool();
  if (!p) return runTask(task);
  return p.run(wholeBuffer ? task : { ...task, bytes: own(task.bytes) });
}
