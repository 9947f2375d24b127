// Encode workers: quantizing a logged layer (POOL_QT, LP_QT, THRESHOLD_QT, KBIT_QT) runs on worker
// threads, so that the main thread goes on with the next layer, the next forward pass and the writes
// meanwhile. Buffers move between threads by transfer, never by copy. Small tasks run inline (a
// thread hop costs more than they do); MISTIQUE_ENCODE_WORKERS sets the number of workers (0: none).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { MistiqueError } from '../errors.js';
import { buffersOf, runTask, type EncodeResult, type EncodeTask } from './encode.js';

/** Tasks with fewer float32 values than this run on the calling thread. */
const INLINE_BELOW = 64 * 1024;

interface Pending { resolve: (r: never) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; pending: Map<number, Pending> }

export class EncodePool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number) {}

  run<T extends EncodeTask>(task: T): Promise<EncodeResult<T>> {
    if (this.closed) return Promise.reject(new MistiqueError('CLOSED', 'the encode workers were shut down'));
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<EncodeResult<T>>((resolve, reject) => {
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
    // from source (tests, tsx) the worker is a .ts file and needs tsx's loader; from dist it is plain .js
    const worker = import.meta.url.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); })`, { eval: true })
      : new Worker(new URL('./worker.js', import.meta.url));
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
      for (const p of slot.pending.values()) p.reject(new MistiqueError('INTERNAL', `an encode worker failed (${err.message}); log again`, { cause: err }));
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

let shared: EncodePool | null | undefined;

/** Workers to use: MISTIQUE_ENCODE_WORKERS, else one per core (measured on 2 cores: one per core but one was slower, 1.4 s against 1.2 s for kbit8). */
export function encodeWorkers(): number {
  const env = process.env.MISTIQUE_ENCODE_WORKERS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) throw new MistiqueError('BAD_OPTION', `MISTIQUE_ENCODE_WORKERS must be a whole number ≥ 0, got ${JSON.stringify(env)}`);
    return n;
  }
  return os.availableParallelism();
}

function pool(): EncodePool | null {
  if (shared === undefined) {
    const n = encodeWorkers();
    shared = n > 0 ? new EncodePool(n) : null;
  }
  return shared;
}

function size(t: EncodeTask): number {
  return t.op === 'layer' ? t.values.length : t.chunks.reduce((a, c) => a + c.length, 0);
}

/**
 * Runs an encode task on a worker (inline when small or when there are none). The task's typed arrays
 * are handed over: the caller must not use them afterwards. Arrays that are views into a larger buffer
 * are copied first, so that nothing else sharing that buffer is taken away.
 */
export async function encode<T extends EncodeTask>(task: T): Promise<EncodeResult<T>> {
  const p = size(task) < INLINE_BELOW ? null : pool();
  if (!p) return runTask(task);
  const own = <A extends ArrayBufferView & { slice(): A }>(v: A): A => (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice());
  const t = (task.op === 'layer' ? { ...task, values: own(task.values) } : { ...task, chunks: task.chunks.map(own) }) as T;
  return p.run(t);
}
