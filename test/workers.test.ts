// Encode workers (src/workers/pool.ts): the same bytes as the main thread, buffers handed over (not
// copied, and never taken from under a caller's larger buffer), and a dead worker is an error, not a hang.
import { describe, expect, it } from 'vitest';
import { MistiqueError } from '../src/errors.js';
import { encodeLayer } from '../src/quantize/encode.js';
import { kbitBlock } from '../src/quantize/kbit.js';
import { encode, WorkerPool } from '../src/workers/pool.js';
import { rng } from './helpers.js';

const relu = (n: number, seed: number): Float32Array => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.max(0, r() * 4 - 1));
};

describe('encode workers', () => {
  it('KBIT_QT of a RowBlock on a worker gives the codes and codebooks of the main thread, and takes the buffers', async () => {
    const chunks = [relu(40_000, 1), relu(40_000, 2), relu(7, 3)];
    chunks[0]![5] = NaN; chunks[1]![9] = Infinity;
    const want = chunks.map((c) => kbitBlock(c, 8));
    const got = await encode({ op: 'kbit', chunks: chunks.map((c) => c.slice()), k: 8 });
    expect(got).toHaveLength(3);
    got.forEach((b, i) => { expect(b.codes).toEqual(want[i]!.codes); expect(b.book).toEqual(want[i]!.book); });
    const handed = relu(70_000, 4);
    await encode({ op: 'kbit', chunks: [handed], k: 4 });
    expect(handed.length).toBe(0); // transferred to the worker, not copied
  });

  it('pools and quantizes a batch as the main thread does; a view into a larger buffer is copied, the buffer left whole', async () => {
    const big = relu(2 * 16 * 28 * 28 + 100, 5);
    const view = big.subarray(100); // 2 examples of [16, 28, 28]
    const want = encodeLayer({ op: 'layer', values: view.slice(), shape: [16, 28, 28], pool: { sigma: 2, kind: 'avg' }, quantize: 'lp' });
    const got = await encode({ op: 'layer', values: view, shape: [16, 28, 28], pool: { sigma: 2, kind: 'avg' }, quantize: 'lp' });
    expect(got.shape).toEqual([16, 14, 14]);
    expect(got.values).toEqual(want.values);
    expect(big.length).toBe(2 * 16 * 28 * 28 + 100);
    expect(view[0]).toBe(big[100]);
  });

  it('a worker that dies fails its tasks with INTERNAL, and the next task gets a fresh worker', async () => {
    const pool = new WorkerPool(1);
    const task = pool.run({ op: 'kbit', chunks: [relu(2_000_000, 6)], k: 8 });
    await new Promise((r) => setTimeout(r, 20));
    await (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0]!.worker.terminate();
    const err = await task.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MistiqueError);
    expect((err as MistiqueError).code).toBe('INTERNAL');
    const again = await pool.run({ op: 'kbit', chunks: [relu(100_000, 7)], k: 8 });
    expect(again[0]!.codes).toHaveLength(100_000);
    await pool.close();
  });

  it('an error inside a task reaches the caller', async () => {
    const pool = new WorkerPool(1);
    const err = await pool.run({ op: 'layer', values: relu(100_001, 8), shape: [16, 28, 28], pool: { sigma: 2, kind: 'avg' } }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/not a whole number/);
    await pool.close();
  });
});
