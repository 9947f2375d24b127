// The tensor the I/O benchmarks log: N examples of a ReLU-like float32 activation (about half zeros, the
// rest uniform in [0, 3)), seeded, as issue #16 measured it (2 000 × 16×28×28 = 95.7 MB).
import { mulberry32 } from '../datasets/random.js';

export const TENSOR_SHAPE = [16, 28, 28];
export const TENSOR_PER = TENSOR_SHAPE.reduce((a, b) => a * b, 1);

export function reluTensor(examples: number, seed = 9): Float32Array {
  const r = mulberry32(seed);
  const v = new Float32Array(examples * TENSOR_PER);
  for (let i = 0; i < v.length; i++) { const x = r() * 2 - 1; v[i] = x > 0 ? x * 3 : 0; }
  return v;
}

/** Median, min and max of a list of numbers, rounded. */
export function stat(xs: readonly number[], digits = 1): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number): number => Number(x.toFixed(digits));
  return { median: r(s[Math.floor(s.length / 2)]!), min: r(s[0]!), max: r(s[s.length - 1]!) };
}
