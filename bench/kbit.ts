// bench:kbit — KBIT_QT(8)'s worst case on real activations (issue #16, item 4): the last checkpoint of
// `cnn` and `vgg` logged over N Fashion-MNIST test images under kbit8 (a codebook per chunk), every layer
// read back and compared with its full-precision re-run. Per layer: the layer's full value range, one
// bin width of it ((max − min) / 255, the target's bound), the largest absolute error and how many rows
// exceed the bound; beside it, in the same run, what the codebook of the first batch's sample (the path
// before schema v6) gives on the same values.
// Usage: npm run bench:kbit [-- --examples 10000 --models datasets/models]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { lastCheckpoint, testImages } from './fmnist.js';
import { openStore } from '../src/index.js';
import { packageRoot } from '../src/paths.js';
import { sampleValues } from '../src/quantize/index.js';
import { kbitCodebook, kbitDecode, kbitEncode } from './kbitsample.js';

const { values: args } = parseArgs({ options: { examples: { type: 'string', default: '10000' }, models: { type: 'string' }, batch: { type: 'string', default: '128' } } });
const N = Number(args.examples), BATCH = Number(args.batch);
const MODELS = path.resolve(args.models ?? path.join(packageRoot(), 'datasets', 'models'));
const SLICE = 1000; // rows compared at a time: memory stays bounded on the widest layer

const x = testImages(N);

interface LayerResult { layer: string; shape: number[]; min: number; max: number; bound: number; max_err: number; rows_over: number; first_batch_max_err: number; first_batch_rows_over: number }
const out: Record<string, LayerResult[]> = {};
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-kbit-'));
try {
  for (const model of ['cnn', 'vgg']) {
    const cp = lastCheckpoint(MODELS, model);
    const store = await openStore(path.join(work, model), { codec: 'lz4', policy: 'store_all' });
    const key = `fmnist.${path.basename(cp, '.onnx')}`;
    const run = await store.logNetwork(key, cp, { x, shape: [1, 28, 28] }, { scheme: { quantize: { kbit: 8 } }, batchSize: BATCH });
    out[model] = [];
    for (const l of run.layers) {
      // full precision by re-running, read back from the store: slice by slice
      const ref: Float32Array[] = [], got: Float32Array[] = [];
      let min = Infinity, max = -Infinity;
      for (let r0 = 0; r0 < N; r0 += SLICE) {
        const rows = { start: r0, end: Math.min(N, r0 + SLICE) };
        const a = await store.getIntermediates(`${key}.${l.name}.*`, { rows, path: 'rerun' });
        const b = await store.getIntermediates(`${key}.${l.name}.*`, { rows, path: 'read' });
        ref.push(a.values as Float32Array); got.push(b.values as Float32Array);
        for (const v of a.values) if (Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
      }
      const bound = (max - min) / 255;
      const per = l.shape.reduce((p, d) => p * d, 1);
      const firstBatch = kbitCodebook(sampleValues(ref[0]!.subarray(0, Math.min(BATCH, N) * per)), 8);
      let maxErr = 0, over = 0, oldMax = 0, oldOver = 0;
      ref.forEach((a, s) => {
        const b = got[s]!;
        const old = kbitDecode(kbitEncode(a, firstBatch), firstBatch);
        for (let r = 0; r < a.length / per; r++) {
          let rowOver = false, oldRowOver = false;
          for (let j = r * per; j < (r + 1) * per; j++) {
            const e = Math.abs(a[j]! - b[j]!), eo = Math.abs(a[j]! - old[j]!);
            if (e > maxErr) maxErr = e;
            if (eo > oldMax) oldMax = eo;
            if (e > bound) rowOver = true;
            if (eo > bound) oldRowOver = true;
          }
          if (rowOver) over++;
          if (oldRowOver) oldOver++;
        }
      });
      const r6 = (v: number): number => Number(v.toPrecision(6));
      out[model]!.push({ layer: l.name, shape: l.shape, min: r6(min), max: r6(max), bound: r6(bound), max_err: r6(maxErr), rows_over: over, first_batch_max_err: r6(oldMax), first_batch_rows_over: oldOver });
      process.stderr.write(`${model} ${l.name}: range ${min.toFixed(3)}…${max.toFixed(3)}, bound ${bound.toFixed(4)}, max error ${maxErr.toFixed(4)} (${over} rows over); first batch's codebook: ${oldMax.toFixed(4)} (${oldOver} rows over)\n`);
    }
    await store.close();
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
const all = Object.values(out).flat();
process.stdout.write(JSON.stringify({
  bench: 'kbit', examples: N, layers: out,
  targets: { max_err_le_one_bin_every_layer: all.every((l) => l.max_err <= l.bound) },
}) + '\n');
