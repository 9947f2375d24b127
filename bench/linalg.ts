// bench:linalg — where linalg.ts runs a float64 product: BLAS's dgemm (native/lapack, OpenBLAS) against
// onnxruntime's MatMul (MLAS) on the shapes SVCCA and KNN produce, the two interleaved, median of --runs
// with min and max, and the backend productBackend() picks for each. The products are random normal
// matrices (the time of a dense product does not depend on the values).
// Usage: npm run bench:linalg [-- --runs 5]
import { parseArgs } from 'node:util';
import { gaussian, matmulOnnx, nativeLapack, productBackend } from '../src/diagnostics/linalg.js';
import { saveResult } from './proc.js';
import { stat } from './tensor.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });

// [what it is, m, k, n, transA]: op(A) m×k, B k×n
const SHAPES: [string, number, number, number, boolean][] = [
  ['SVCCA Gram XᵀX, 5 000 × 3 136', 3136, 5000, 3136, true],
  ['SVCCA Gram XᵀX, 10 000 × 1 568', 1568, 10000, 1568, true],
  ['SVCCA Q_aᵀQ_b, 10 000 rows, 670 × 522', 670, 10000, 522, true],
  ['SVCCA projection X·V, 10 000 × 3 136 · 670', 10000, 3136, 670, false],
  ['KNN, 10 000 × 3 136, 1 000 queries', 10000, 3136, 1000, false],
  ['KNN, 10 000 × 3 136, 100 queries', 10000, 3136, 100, false],
  ['KNN, 2 000 × 12 544, 10 queries', 2000, 12544, 10, false],
  ['subspace iteration C·Q, 3 136² · 512', 3136, 3136, 512, false],
  ['square, 700 × 10 000 · 700', 700, 10000, 700, false],
];

async function main(): Promise<void> {
  const blas = nativeLapack();
  if (!blas) throw new Error('native/lapack is not built: install libopenblas-dev (apt) and run npm ci');
  const rows = [];
  for (const [what, m, k, n, transA] of SHAPES) {
    const a = gaussian(transA ? k : m, transA ? m : k, 1), b = gaussian(k, n, 2);
    const t = { blas: [] as number[], onnx: [] as number[] };
    for (let r = 0; r < Number(args.runs); r++) {
      for (const which of r % 2 ? (['blas', 'onnx'] as const) : (['onnx', 'blas'] as const)) {
        const s = performance.now();
        await (which === 'blas' ? blas.gemm(a, b, m, k, n, transA) : matmulOnnx(a, b, m, k, n, transA));
        t[which].push(performance.now() - s);
      }
    }
    const row = { what, m, k, n, transA, gflops: +((2 * m * k * n) / 1e9).toFixed(2), blasMs: stat(t.blas), onnxMs: stat(t.onnx), picked: productBackend(m, k, n, transA, true) };
    process.stderr.write(`${what}: BLAS ${row.blasMs.median} ms, onnxruntime ${row.onnxMs.median} ms → ${row.picked}\n`);
    rows.push(row);
  }
  const picked = rows.map((r) => (r.picked === 'blas' ? r.blasMs.median : r.onnxMs.median));
  const best = rows.map((r) => Math.min(r.blasMs.median, r.onnxMs.median));
  saveResult('linalg', { bench: 'linalg', runs: Number(args.runs), results: rows, picked_over_best: +(picked.reduce((s, x) => s + x, 0) / best.reduce((s, x) => s + x, 0)).toFixed(3) });
}

main().catch((e) => { console.error(e); process.exit(1); });
