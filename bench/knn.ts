// bench:knn — #21's vector-index targets on a 10 000 × 3 136 layer (cnn_e10 pool1 over the Fashion-MNIST
// test images): KNN@50 by the layer's HNSW index against the exact search, both through `store.knn` (the
// exact search reads the layer and ranks every row, as a query does; the index reads the query row and
// searches the graph). Each round: the index rebuilt (timed), then 20 query rows drawn with the round's
// seed, each asked exactly and by the index, interleaved; recall@50 = the share of the exact 50 the index
// returns. Median of --runs rounds, min and max beside.
// Usage: npm run bench:knn [-- --runs 5 --examples 10000 --layer pool1]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { testImages } from './fmnist.js';
import { mulberry32 } from '../datasets/random.js';
import { openStore } from '../src/index.js';
import { packageRoot } from '../src/paths.js';
import { stat } from './tensor.js';
import { saveResult } from './proc.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, examples: { type: 'string', default: '10000' }, layer: { type: 'string', default: 'pool1' }, k: { type: 'string', default: '50' } } });
const N = Number(args.examples), K = Number(args.k), QUERIES = 20;

async function main(): Promise<void> {
  const ckpt = path.join(packageRoot(), 'datasets', 'models', 'cnn_e10.onnx');
  if (!fs.existsSync(ckpt)) throw new Error(`${ckpt} is missing: run npm run datasets:dnn first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-knn-'));
  try {
    const x = testImages(N);
    const store = await openStore(dir);
    await store.logNetwork('fm.cnn', ckpt, { x, shape: [1, 28, 28] });
    await store.flush();
    const key = `fm.cnn.${args.layer}`;
    const dims = store.list(key)[0]!.columns;
    const rounds: { buildMs: number; exactMs: number; indexMs: number; recall: number; bytes: number }[] = [];
    for (let r = 0; r < Number(args.runs); r++) {
      const info = await store.buildIndex(key);
      const rand = mulberry32(100 + r);
      const rows = Array.from({ length: QUERIES }, () => Math.floor(rand() * N));
      let exactMs = 0, indexMs = 0, recall = 0;
      for (const row of rows) {
        let t = performance.now();
        const e = await store.knn(key, row, { k: K, exact: true });
        exactMs += performance.now() - t;
        t = performance.now();
        const h = await store.knn(key, row, { k: K });
        indexMs += performance.now() - t;
        if (h.path !== 'index') throw new Error('the index did not answer');
        const want = new Set(e.rowIds);
        recall += Array.from(h.rowIds).filter((id) => want.has(id)).length / K;
      }
      rounds.push({ buildMs: info.buildMs, exactMs: exactMs / QUERIES, indexMs: indexMs / QUERIES, recall: recall / QUERIES, bytes: info.bytes });
      process.stderr.write(`round ${r + 1}: build ${info.buildMs.toFixed(0)} ms, exact ${(exactMs / QUERIES).toFixed(1)} ms/query, index ${(indexMs / QUERIES).toFixed(2)} ms/query, recall@${K} ${(recall / QUERIES).toFixed(3)}\n`);
    }
    await store.close();
    const result = {
      bench: 'knn', layer: key, rows: N, dims, k: K, queriesPerRound: QUERIES, runs: rounds.length, seeds: rounds.map((_, r) => 100 + r),
      recall: stat(rounds.map((x) => x.recall), 3), exactMsPerQuery: stat(rounds.map((x) => x.exactMs), 1), indexMsPerQuery: stat(rounds.map((x) => x.indexMs), 2),
      speedup: stat(rounds.map((x) => x.exactMs / x.indexMs), 1), buildMs: stat(rounds.map((x) => x.buildMs), 0),
      buildOver20Exact: stat(rounds.map((x) => x.buildMs / (20 * x.exactMs)), 2), indexMB: Number((rounds[0]!.bytes / 2 ** 20).toFixed(1)),
      targets: { recall: '>= 0.95', speedup: '>= 20', buildOver20Exact: '<= 1' },
    };
    saveResult('knn', result);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
