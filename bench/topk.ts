// bench:topk — #21's zone-map target: TOPK of one column of the Zillow predictions reads ≤ 20% of the
// column's chunks, with the same answer as a full scan. Logs one variant of each of the 10 pipeline
// templates (100 000 properties; the bench:trad data) into a fresh store — their pred_test and pred_valid
// columns — then for every prediction column, k ∈ {10, 100}, largest and smallest: `store.topk` (zone
// maps) against getIntermediates of the whole column + diagnostics.topk (the full scan), interleaved,
// median of --runs; the fraction of chunks read per query, its median and its maximum.
// Usage: npm run bench:topk [-- --rows 100000 --runs 5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateZillow } from '../datasets/zillow/generate.js';
import { diagnostics, openStore } from '../src/index.js';
import { bundledPipelines } from '../src/paths.js';
import { progress } from '../src/cli/progress.js';
import { stat } from './tensor.js';
import { saveResult } from './proc.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, runs: { type: 'string', default: '5' }, out: { type: 'string', default: 'bench/out' } } });
const DATA = path.join(path.resolve(args.out!), `zillow-${args.rows}`);

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(DATA, 'properties.csv'))) generateZillow(DATA, Number(args.rows));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-topk-'));
  try {
    const store = await openStore(dir);
    const specs = fs.readdirSync(bundledPipelines()).filter((f) => /^P\d+_1\.yaml$/.test(f)).sort();
    const bar = progress('log pipelines', specs.length);
    for (const f of specs) { await store.logIntermediates(path.join(bundledPipelines(), f), { data: DATA }); bar.tick(); }
    bar.stop();
    await store.flush();
    const columns = store.list('zillow.*.pred_*').filter((i) => i.materialized && i.rows > 1000).map((i) => `${i.key}.${store.metadata.columns(store.metadata.intermediates().find((r) => `${r.project}.${r.model}.${r.name}` === i.key)!.id)[0]!.name}`);
    const queries = columns.flatMap((c) => [10, 100].flatMap((k) => (['desc', 'asc'] as const).map((order) => ({ c, k, order }))));
    const zoneMs = queries.map(() => [] as number[]), scanMs = queries.map(() => [] as number[]);
    const fraction: number[] = [];
    let same = true;
    for (let r = 0; r < Number(args.runs); r++) {
      for (const [q, { c, k, order }] of queries.entries()) {
        const t0 = performance.now();
        const z = await store.topk(c, k, { order });
        const t1 = performance.now();
        const full = diagnostics.topk(await store.getIntermediates(c, { path: 'read' }), 0, k, order);
        const t2 = performance.now();
        zoneMs[q]!.push(t1 - t0); scanMs[q]!.push(t2 - t1);
        same &&= z.chunks !== undefined && z.rowIds.join() === full.rowIds.join() && z.values.join() === full.values.join();
        if (r === 0) fraction.push(z.chunks!.read / z.chunks!.total);
      }
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const total = new Map<string, number>();
    for (const c of columns) total.set(c, (await store.topk(c, 1)).chunks!.total);
    // per k, over the test-set predictions (100 000 rows) and the validation ones (a fifth of the training rows)
    const group = (k: number, big: boolean) => {
      const idx = queries.map((_, i) => i).filter((i) => queries[i]!.k === k && (total.get(queries[i]!.c)! >= 50) === big);
      const B = Math.round(idx.reduce((a, i) => a + total.get(queries[i]!.c)!, 0) / Math.max(1, idx.length));
      return {
        queries: idx.length, chunksPerColumn: B, fractionRead: stat(idx.map((i) => fraction[i]!), 3),
        // the chunks a top k spread at random over B chunks falls in: what no block-skipping scan can beat on unordered data
        randomSpread: Number((1 - (1 - 1 / B) ** k).toFixed(3)),
        zoneMs: stat(idx.map((i) => med(zoneMs[i]!)), 2), scanMs: stat(idx.map((i) => med(scanMs[i]!)), 2),
      };
    };
    const result = {
      bench: 'topk', rows: Number(args.rows), columns: columns.length, queries: queries.length, runs: Number(args.runs),
      predTest: { k10: group(10, true), k100: group(100, true) }, predValid: { k10: group(10, false), k100: group(100, false) },
      sameAnswers: same, targets: { fractionRead: '<= 0.2 (TOPK of one column)', sameAnswers: true },
    };
    await store.close();
    saveResult('topk', result);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
