// Exact SVCCA (#21): with LAPACK (native/lapack, Debian's OpenBLAS) the reduction keeps exactly the
// directions an exact SVD keeps, at any width — checked against numpy computing the same SVCCA
// (python/reference/svcca.py) on sets wide enough that the fallback would have used subspace iteration.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { svccaDense } from '../src/diagnostics/svcca.js';
import { nativeLapack } from '../src/diagnostics/linalg.js';
import { npyHeader } from '../src/export/writers.js';
import { rng, tempDir } from './helpers.js';

/** n examples of d values: a shared latent part with a decaying spectrum, a private part, noise, ReLU. */
function activations(n: number, d: number, latent: Float64Array, L: number, seed: number): Float64Array {
  const r = rng(seed);
  const w = Float64Array.from({ length: L * d }, (_, i) => (r() - 0.5) * Math.pow(0.93, Math.floor(i / d)));
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let s = (r() - 0.5) * 0.05;
      for (let l = 0; l < L; l++) s += latent[i * L + l]! * w[l * d + j]!;
      x[i * d + j] = Math.max(0, s);
    }
  }
  return x;
}

function npy(file: string, v: Float64Array, shape: number[]): void {
  fs.writeFileSync(file, Buffer.concat([npyHeader('<f8', shape), Buffer.from(v.buffer, v.byteOffset, v.byteLength)]));
}

describe('exact SVCCA', () => {
  it('equals numpy within 1e-6 on sets too wide for an exact decomposition without LAPACK, keeping the same directions', async () => {
    expect(nativeLapack(), 'native/lapack is not built: install libopenblas-dev (apt) and run npm ci').not.toBeNull();
    const n = 2500, L = 150;
    const r = rng(11);
    const latent = Float64Array.from({ length: n * L }, () => r() - 0.5);
    const a = activations(n, 2200, latent, L, 1), b = activations(n, 1800, latent, L, 2);
    const dir = tempDir();
    npy(path.join(dir, 'a.npy'), a, [n, 2200]);
    npy(path.join(dir, 'b.npy'), b, [n, 1800]);
    const ref = JSON.parse(execFileSync('/usr/bin/python3', [path.resolve(__dirname, '../python/reference/svcca.py'), path.join(dir, 'a.npy'), path.join(dir, 'b.npy'), '0.99'], { encoding: 'utf8' })) as { mean: number; ka: number; kb: number };
    const got = await svccaDense({ rows: n, cols: 2200, values: a }, { rows: n, cols: 1800, values: b }, { variance: 0.99 });
    expect(got.a.method).toBe('exact');
    expect([got.a.kept, got.b.kept]).toEqual([ref.ka, ref.kb]);
    expect(ref.ka).toBeGreaterThan(100); // a reduction that matters: well past the first directions
    expect(Math.abs(got.mean - ref.mean) / ref.mean).toBeLessThan(1e-6);
  }, 120_000);
});
