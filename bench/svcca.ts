// bench:svcca — #21's SVCCA target: cnn_e10 pool1 × vgg_e10 pool1 (3 136 values each) over the first 5 000
// and all 10 000 Fashion-MNIST test images, mistique's SVCCA (svccaDense on the two layers as read) against
// numpy computing the same SVCCA (python/reference/svcca.py: SVD to 99% of the variance, then CCA) on the
// same values, side by side: the runs of the two interleaved, median of --runs, min and max beside; the
// time of the computation alone on both sides (not reading, not loading the .npy files).
// Usage: npm run bench:svcca [-- --runs 5]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { testImages } from './fmnist.js';
import { svccaDense } from '../src/diagnostics/svcca.js';
import { nativeLapack } from '../src/diagnostics/linalg.js';
import { npyHeader } from '../src/export/writers.js';
import { openStore } from '../src/index.js';
import { packageRoot } from '../src/paths.js';
import { stat } from './tensor.js';
import { saveResult } from './proc.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, layer: { type: 'string', default: 'pool1' } } });
const REF = path.join(packageRoot(), 'python', 'reference', 'svcca.py');

async function main(): Promise<void> {
  const models = path.join(packageRoot(), 'datasets', 'models');
  for (const m of ['cnn_e10', 'vgg_e10']) if (!fs.existsSync(path.join(models, `${m}.onnx`))) throw new Error(`${m}.onnx is missing: run npm run datasets:dnn first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-svcca-'));
  try {
    const x = testImages(10000);
    const store = await openStore(path.join(dir, 's'));
    for (const m of ['cnn_e10', 'vgg_e10']) await store.logNetwork(`fm.${m}`, path.join(models, `${m}.onnx`), { x, shape: [1, 28, 28] });
    const rows: Record<string, unknown>[] = [];
    for (const n of [5000, 10000]) {
      const [a, b] = await Promise.all(['cnn_e10', 'vgg_e10'].map((m) => store.getIntermediates(`fm.${m}.${args.layer}.*`, { rows: { start: 0, end: n }, path: 'read' })));
      const files = [a!, b!].map((m, i) => {
        const f = path.join(dir, `${i}-${n}.npy`);
        const v = Float64Array.from(m.values as ArrayLike<number>);
        fs.writeFileSync(f, Buffer.concat([npyHeader('<f8', [m.nrows, m.ncols]), Buffer.from(v.buffer)]));
        return f;
      });
      const ours: number[] = [], theirs: number[] = [];
      let mean = 0, ref = { mean: 0, ka: 0, kb: 0 }, kept: number[] = [];
      for (let r = 0; r < Number(args.runs); r++) {
        const t = performance.now();
        const s = await svccaDense({ rows: n, cols: a!.ncols, values: a!.values }, { rows: n, cols: b!.ncols, values: b!.values });
        ours.push(performance.now() - t);
        mean = s.mean; kept = [s.a.kept, s.b.kept];
        const np = JSON.parse(execFileSync('/usr/bin/python3', [REF, files[0]!, files[1]!, '0.99', '1'], { encoding: 'utf8' })) as { mean: number; ka: number; kb: number; ms: number[] };
        theirs.push(np.ms[0]!);
        ref = np;
        process.stderr.write(`${n} rows, run ${r + 1}: mistique ${ours.at(-1)!.toFixed(0)} ms, numpy ${np.ms[0]!.toFixed(0)} ms\n`);
      }
      rows.push({
        rows: n, mistique: mean, numpy: ref.mean, relErr: Number((Math.abs(mean - ref.mean) / ref.mean).toExponential(2)), kept, keptNumpy: [ref.ka, ref.kb],
        mistiqueMs: stat(ours, 0), numpyMs: stat(theirs, 0), timeOverNumpy: stat(ours.map((o, i) => o / theirs[i]!), 2),
      });
    }
    await store.close();
    const result = { bench: 'svcca', layers: [`cnn_e10.${args.layer}`, `vgg_e10.${args.layer}`], lapack: nativeLapack() !== null, runs: Number(args.runs), results: rows, targets: { relErr: '<= 1e-6', timeOverNumpy: '<= 1.5' } };
    saveResult('svcca', result);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
