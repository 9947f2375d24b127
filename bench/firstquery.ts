// bench:firstquery — #23's target: the first query on a fresh store costs ≤ 2× a later one. Per seed, a
// fresh store logs a network (the bundled small CNN over 500 Fashion-MNIST images) or a TRAD pipeline
// (P1_1 over 3 000 homes), is closed and opened again (a new process would see it so), and answers five
// queries of three rows each from different RowBlocks, the bufferpool's decoded segments dropped before
// each: the first against the median of the other four. Five seeds each (a different layer or stage).
// Usage: npm run bench:firstquery [-- --seeds 5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { generateZillow } from '../datasets/zillow/generate.js';
import { openStore, type Store } from '../src/index.js';
import { packageRoot } from '../src/paths.js';
import { saveResult, summary } from './proc.js';

const { values: args } = parseArgs({ options: { seeds: { type: 'string', default: '5' } } });
const SEEDS = Number(args.seeds);

/** Five queries, each of the first row id of a different RowBlock (from the MetadataDB: no query is spent finding them). */
async function timeQueries(s: Store, key: string): Promise<{ first: number; later: number }> {
  const [p, m, i] = key.split('.');
  const blocks = s.metadata.rowblocks(s.metadata.intermediateId(p!, m!, i!)!);
  const pick = Array.from({ length: 5 }, (_, q) => blocks[Math.floor((q * blocks.length) / 5)]!.min_row_id);
  const times: number[] = [];
  for (const id of pick) {
    s.dropCaches();
    const t0 = performance.now();
    await s.getIntermediates(`${key}.*`, { rows: [id] });
    times.push(performance.now() - t0);
  }
  return { first: times[0]!, later: summary(times.slice(1), 2).median };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-firstq-'));
  const fixture = fs.readFileSync(path.join(packageRoot(), 'datasets', 'fixtures', 'tiny_cnn.onnx'));
  const { x } = batches(loadSubset(), 500).next().value!;
  const data = path.join(tmp, 'zillow');
  generateZillow(data, 3000);
  const runs: Record<string, { key: string; first: number; later: number; ratio: number }[]> = { dnn: [], trad: [] };
  for (let seed = 0; seed < SEEDS; seed++) {
    for (const kind of ['dnn', 'trad'] as const) {
      const dir = path.join(tmp, `${kind}-${seed}`);
      let s = await openStore(dir);
      let key: string;
      if (kind === 'dnn') {
        const run = await s.logNetwork('fm.t', fixture, { x, shape: [1, 28, 28] });
        key = `fm.t.${run.layers[1 + (seed % (run.layers.length - 1))]!.name}`;
      } else {
        await s.logIntermediates(path.join(packageRoot(), 'datasets', 'zillow', 'pipelines', 'P1_1.yaml'), { data });
        const stages = s.list('zillow.P1_1.*').filter((i) => i.rows >= 3000 && i.bytesStored > 0);
        key = stages[seed % stages.length]!.key;
      }
      await s.close();
      s = await openStore(dir);
      const t = await timeQueries(s, key);
      runs[kind]!.push({ key, first: +t.first.toFixed(2), later: +t.later.toFixed(2), ratio: +(t.first / t.later).toFixed(2) });
      await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const all = [...runs.dnn!, ...runs.trad!].map((r) => r.ratio);
  saveResult('firstquery', {
    bench: 'firstquery', seeds: SEEDS, runs,
    ratio: { dnn: summary(runs.dnn!.map((r) => r.ratio), 2), trad: summary(runs.trad!.map((r) => r.ratio), 2), all: summary(all, 2) },
    target: 2, met: summary(all, 2).median <= 2,
  });
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
