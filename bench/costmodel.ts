// bench:costmodel — the cost model against measurements (paper Fig. 5-9, 5-10, 5-12):
//  1. re-run time of a network against batch size and layer; read time per storage scheme;
//  2. for 5 layers (first, middle, last included) and n_ex from 100 to all test images: measured read
//     vs measured re-run, and the model's predictions of both; does the planner pick the faster path?
//  3. adaptive materialization over a 25-query synthetic workload (four query categories) on three
//     Zillow pipelines: storage over time and per-query times for ADAPTIVE, STORE_ALL, DEDUP and RERUN.
// Prints one JSON line; writes plots to bench/out/costmodel-*.svg.
// Judged as #21 decided: (a) each point's estimate against the median of its 5 runs, the runs of
// different points interleaved, ≥ 13 of the 15 points of ≥ 1 000 rows within 30%; (b) adaptive
// materialization over 8 seeds of the workload generator: median ADAPTIVE storage ≤ 30% of DEDUP, ADAPTIVE
// time ≤ 50% of RERUN on ≥ 6 of 8 seeds.
// Usage: npm run bench:costmodel [-- --examples 10000 --model cnn --zillow-rows 20000 --gamma-min 30 --seeds 1,…,8 --parts dnn,adaptive]
//        (--parts dnn or --parts adaptive: one part alone; --seeds: the 25-query workload's draws)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { lastCheckpoint, testImages } from './fmnist.js';
import { generateZillow } from '../datasets/zillow/generate.js';
import { parseScheme } from '../src/quantize/scheme.js';
import { progress } from '../src/cli/progress.js';
import { openStore, type Store, type StorePolicy } from '../src/index.js';
import { bundledPipelines, packageRoot } from '../src/paths.js';
import { lineChart } from './svg.js';

const { values: args } = parseArgs({
  options: {
    examples: { type: 'string', default: '10000' }, model: { type: 'string', default: 'cnn' }, models: { type: 'string' },
    'scheme-examples': { type: 'string', default: '2000' }, 'zillow-rows': { type: 'string', default: '20000' },
    'gamma-min': { type: 'string', default: '30' }, parts: { type: 'string', default: 'dnn,adaptive' }, out: { type: 'string', default: 'bench/out' }, seeds: { type: 'string', default: '1,2,3,4,5,6,7,8' },
  },
});
const N = Number(args.examples), NS = Number(args['scheme-examples']);
const MODELS = path.resolve(args.models ?? path.join(packageRoot(), 'datasets', 'models'));
const OUT = path.resolve(args.out!);
const GAMMA_MIN = Number(args['gamma-min']);
const SEEDS = args.seeds!.split(',').map(Number);
const stat3 = (xs: number[]): { median: number; min: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)! };
};
const r1 = (x: number, d = 1): number => Number(x.toFixed(d));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-cm-'));
fs.mkdirSync(OUT, { recursive: true });

function checkpoint(): string {
  return lastCheckpoint(MODELS, args.model!);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** The smaller of two runs: the first of a pair pays warm-up costs the model does not describe. */
async function best(fn: () => Promise<unknown>, reps = 2): Promise<number> {
  let m = Infinity;
  for (let i = 0; i < reps; i++) m = Math.min(m, (await timed(fn)).ms);
  return m;
}

function pick5<T>(xs: T[]): T[] {
  const idx = [0, Math.round((xs.length - 1) / 4), Math.round((xs.length - 1) / 2), Math.round(((xs.length - 1) * 3) / 4), xs.length - 1];
  return [...new Set(idx)].map((i) => xs[i]!);
}

async function dnnPart(bar: { tick(): void }) {
  const ckpt = checkpoint();
  const x = testImages(N);
  const store = await openStore(path.join(tmp, 'dnn-none'), { policy: 'store_all' });
  const run = await store.logNetwork('fm.m', ckpt, { x, shape: [1, 28, 28] }, { batchSize: 128 });
  await store.flush();
  bar.tick();
  const layers = pick5(run.layers.map((l) => l.name));

  // Fig. 5-9a: re-run time against batch size and layer (2 000 rows)
  const batchSizes = [16, 64, 256, 1024];
  const rowsB = Array.from({ length: Math.min(2000, N) }, (_, i) => i);
  const rerunByBatch: Record<string, Record<string, number>> = {};
  for (const l of layers) {
    rerunByBatch[l] = {};
    for (const b of batchSizes) rerunByBatch[l]![b] = r1(await best(() => store.rerunLayer('fm.m', l, { rows: rowsB, batchSize: b })));
  }
  bar.tick();

  // Fig. 5-9b: read time per storage scheme (cold reads of all NS rows of each layer)
  const readByScheme: Record<string, Record<string, { ms: number; mbStored: number }>> = {};
  for (const scheme of ['none', 'lp', 'kbit8', 'pool2', 'pool2+lp']) {
    const s = await openStore(path.join(tmp, `dnn-scheme-${scheme.replace('+', '_')}`), { policy: 'store_all' });
    await s.logNetwork('fm.m', ckpt, { x: x.subarray(0, NS * 784), shape: [1, 28, 28] }, { scheme: parseScheme(scheme), profile: false });
    await s.flush();
    readByScheme[scheme] = {};
    const stored = new Map(s.list('fm.m.*').map((i) => [i.key, i.bytesStored]));
    for (const l of layers) {
      const ms = await best(async () => { s.dropCaches(); await s.getIntermediates(`fm.m.${l}.*`, { path: 'read' }); });
      readByScheme[scheme]![l] = { ms: r1(ms), mbStored: r1((stored.get(`fm.m.${l}`) ?? 0) / 2 ** 20, 2) };
    }
    await s.close();
    bar.tick();
  }

  // Fig. 5-10: measured vs predicted, read vs re-run, over layers and n_ex
  const sizes = [100, 300, 1000, 3000, 10000].filter((n) => n <= N);
  if (!sizes.includes(N)) sizes.push(N);
  const points: {
    layer: string; n: number; predRead: number; predRerun: number; read: number; rerun: number;
    readMin: number; rerunMin: number; readMax: number; rerunMax: number; plan: number; choice: string; faster: string; ratio: number;
  }[] = [];
  // #21's decision (a): the runs of different points interleaved — round r runs every point once, each
  // path cold — and each point judged against the median of its 5 runs. The estimate of a point is made
  // in round 0, right before its first runs (what the read model and re-run statistics know by then).
  const grid = layers.flatMap((l) => sizes.map((n) => ({ l, n })));
  const est: { read: number; rerun: number; choice: string }[] = [];
  const runs = grid.map(() => ({ read: [] as number[], rerun: [] as number[], plan: Infinity }));
  const once = async (k: number, p: 'read' | 'rerun'): Promise<void> => {
    const { l, n } = grid[k]!;
    store.dropCaches();
    const t0 = performance.now();
    const [x] = await store.explain(`fm.m.${l}.*`, { rows: { start: 0, end: n }, path: p, run: true });
    runs[k]![p].push(x!.measured!.ms);
    runs[k]!.plan = Math.min(runs[k]!.plan, performance.now() - t0 - x!.measured!.ms);
  };
  for (let rep = 0; rep < 5; rep++) {
    for (let k = 0; k < grid.length; k++) {
      if (rep === 0) {
        // everything cold: decoded segments dropped before the estimate and before each measured run
        store.dropCaches();
        const [e] = await store.explain(`fm.m.${grid[k]!.l}.*`, { rows: { start: 0, end: grid[k]!.n }, measure: true });
        est.push({ read: e!.read!.ms, rerun: e!.rerun!.ms, choice: e!.choice });
      }
      // alternate which path goes first, so neither always runs after the other's warm-up
      const order: ('read' | 'rerun')[] = rep % 2 === 0 ? ['read', 'rerun'] : ['rerun', 'read'];
      for (const p of order) await once(k, p);
    }
    bar.tick();
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  grid.forEach(({ l, n }, k) => {
    const r = runs[k]!, e = est[k]!;
    const readRuns = [...r.read].sort((a, b) => a - b), rerunRuns = [...r.rerun].sort((a, b) => a - b);
    const read = med(readRuns), rerun = med(rerunRuns);
    const faster = read <= rerun ? 'read' : 'rerun';
    const chosen = e.choice === 'read' ? read : rerun;
    // two decimals: the logits read in 0.2–0.5 ms, and rounding to 0.1 ms alone would make a 30% error
    points.push({
      layer: l, n, predRead: r1(e.read, 2), predRerun: r1(e.rerun, 2), read: r1(read, 2), rerun: r1(rerun, 2),
      readMin: r1(readRuns[0]!, 2), rerunMin: r1(rerunRuns[0]!, 2), readMax: r1(readRuns.at(-1)!, 2), rerunMax: r1(rerunRuns.at(-1)!, 2),
      plan: r1(r.plan, 2), choice: e.choice, faster, ratio: r1(chosen / Math.min(read, rerun), 2),
    });
  });
  const rates = await store.readRates();
  // the band of measured ÷ estimated over the last 32 runs of each path, as explain states it
  const [fin] = await store.explain(`fm.m.${layers[layers.length - 1]}.*`, { measure: true });
  const accuracy = { read: fin!.read?.accuracy ?? null, rerun: fin!.rerun?.accuracy ?? null };
  await store.close();
  return { ckpt: path.basename(ckpt), layers, batchSizes, rerunByBatch, readByScheme, sizes, points, rates, accuracy };
}

interface Query { cat: 'FCFR' | 'FCMR' | 'MCFR' | 'MCMR'; key: string; rows?: number[] }

/** 25 queries over the pipelines' intermediates: Zipf-skewed popularity, the four categories of the paper. */
function workload(items: { key: string; rows: number; cols: string[] }[], seed: number): Query[] {
  let s = seed >>> 0;
  const rand = (): number => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  const order = [...items].sort(() => rand() - 0.5);
  const w = order.map((_, i) => 1 / (i + 1) ** 2);
  const tot = w.reduce((a, b) => a + b, 0);
  const out: Query[] = [];
  const cats: Query['cat'][] = ['FCFR', 'FCMR', 'MCFR', 'MCMR'];
  for (let q = 0; q < 25; q++) {
    let u = rand() * tot, k = 0;
    while (u > w[k]! && k < w.length - 1) u -= w[k++]!;
    const it = order[k]!;
    const cat = cats[q % 4]!;
    const few = cat.endsWith('FR');
    const col = it.cols[Math.floor(rand() * it.cols.length)]!;
    out.push({ cat, key: cat.startsWith('FC') ? `${it.key}.${col}` : `${it.key}.*`, rows: few ? [0, 1, 2, 3, 4].map(() => Math.floor(rand() * it.rows)) : undefined });
  }
  return out;
}

async function adaptivePart(bar: { tick(): void }, seed: number) {
  const data = path.join(tmp, 'zillow');
  if (!fs.existsSync(path.join(data, 'properties.csv'))) generateZillow(data, Number(args['zillow-rows']));
  const specs = ['P1_1', 'P2_1', 'P3_1'].map((p) => path.join(bundledPipelines(), `${p}.yaml`));
  // DEDUP first: the workload's row ids are read from it
  const configs: { name: string; policy: StorePolicy; gammaMin?: number }[] = [
    { name: 'DEDUP', policy: 'dedup' },
    { name: 'ADAPTIVE', policy: 'adaptive', gammaMin: GAMMA_MIN },
    { name: 'STORE_ALL', policy: 'store_all' },
    { name: 'RERUN', policy: 'adaptive', gammaMin: Infinity },
  ];
  let queries: Query[] | null = null;
  const res: Record<string, { logMs: number; storage: number[]; queryMs: number[]; paths: string[]; materialized: string[] }> = {};
  for (const c of configs) {
    const dir = path.join(tmp, `zillow-${c.name}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const store = await openStore(dir, { policy: c.policy, gammaMin: c.gammaMin });
    const t0 = performance.now();
    for (const f of specs) await store.logIntermediates(f, { data });
    await store.flush();
    const logMs = performance.now() - t0;
    if (!queries) {
      // row positions → row ids of each intermediate (the rows of a split keep their parcel's row id)
      const items = store.list('zillow.*').map((i) => ({ key: i.key, rows: i.rows, cols: [] as string[] }));
      for (const it of items) it.cols = columnNames(store, it.key);
      queries = workload(items.filter((i) => i.cols.length > 0), seed);
      for (const q of queries) if (q.rows) q.rows = await rowIdsAt(store, q.key, q.rows);
    }
    const storage = [store.stats().bytesOnDisk];
    const queryMs: number[] = [], paths: string[] = [], materialized: string[] = [];
    for (const q of queries) {
      const { ms, value } = await timed(() => store.explain(q.key, { ...(q.rows ? { rows: q.rows } : {}), run: true }));
      const e = value[0]!;
      queryMs.push(r1(ms));
      paths.push(e.choice);
      if (e.materializedNow) materialized.push(e.key);
      await store.flush();
      storage.push(store.stats().bytesOnDisk);
    }
    res[c.name] = { logMs: r1(logMs), storage, queryMs, paths, materialized };
    await store.close();
    bar.tick();
  }
  return { pipelines: specs.map((f: string) => path.basename(f, '.yaml')), queries: queries!, res };
}

function columnNames(store: Store, key: string): string[] {
  const [p, m, i] = key.split('.');
  const id = store.metadata.intermediateId(p!, m!, i!);
  return id === undefined ? [] : store.metadata.columns(id).map((c) => c.name).filter((n): n is string => n !== null);
}

/** Row ids at the given positions of an intermediate (queries ask by row id); read from a store that holds it. */
async function rowIdsAt(store: Store, key: string, pos: number[]): Promise<number[]> {
  const base = key.split('.').slice(0, 3).join('.');
  const all = await store.getIntermediates(`${base}.${columnNames(store, base)[0]}`, { path: 'read' });
  return pos.map((p) => all.rowIds[Math.min(p, all.nrows - 1)]!);
}

async function main(): Promise<void> {
  const bar = progress('bench:costmodel', 1 + 1 + 5 + 5 + 4 * SEEDS.length);
  const parts = new Set(args.parts!.split(','));
  if (!parts.has('dnn')) {
    // the adaptive part alone (tuning γ_min): its figures only
    const ad = await adaptivePart(bar, SEEDS[0]!);
    bar.stop();
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    process.stdout.write(JSON.stringify({ bench: 'costmodel-adaptive', gamma_min: GAMMA_MIN, storage_mb: Object.fromEntries(Object.entries(ad.res).map(([k, v]) => [k, r1(v.storage.at(-1)! / 2 ** 20, 2)])), total_query_s: Object.fromEntries(Object.entries(ad.res).map(([k, v]) => [k, r1(sum(v.queryMs) / 1000, 2)])), paths: ad.res.ADAPTIVE!.paths.join(''), materialized: ad.res.ADAPTIVE!.materialized }) + '\n');
    fs.rmSync(tmp, { recursive: true, force: true });
    return;
  }
  const dnn = await dnnPart(bar);
  // --parts dnn: the DNN part alone (tuning the model); the adaptive figures and targets are then null
  const ads: { seed: number; ad: Awaited<ReturnType<typeof adaptivePart>> }[] = [];
  if (parts.has('adaptive')) for (const seed of SEEDS) ads.push({ seed, ad: await adaptivePart(bar, seed) });
  const ad = ads[0]?.ad ?? null;
  bar.stop();

  // targets
  const pts = dnn.points;
  const correct = pts.filter((p) => p.choice === p.faster).length / pts.length;
  const worstWrong = Math.max(1, ...pts.filter((p) => p.choice !== p.faster).map((p) => p.ratio));
  const big = pts.filter((p) => p.n >= 1000);
  const err = (pred: number, meas: number): number => Math.abs(pred - meas) / meas;
  // each point's median run against the estimate: #21's decision (a), ≥ 13 of the 15 large points within 30%
  const predErrRead = Math.max(...big.map((p) => err(p.predRead, p.read)));
  const predErrRerun = Math.max(...big.map((p) => err(p.predRerun, p.rerun)));
  const within30n = big.filter((p) => err(p.predRead, p.read) <= 0.3 && err(p.predRerun, p.rerun) <= 0.3).length;
  // how far apart the five runs of one point were (slowest ÷ fastest): the noise the model is judged in
  const spread = Math.max(...big.flatMap((p) => [p.readMax / p.readMin, p.rerunMax / p.rerunMin]));
  const lastL = dnn.layers[dnn.layers.length - 1]!;
  const lastAll = pts.find((p) => p.layer === lastL && p.n === dnn.sizes[dnn.sizes.length - 1])!;
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  // #21's decision (b): adaptive materialization over 8 seeds of the workload generator; the first seed's
  // run also gives the detailed figures and plots
  const perSeed = ads.map(({ seed, ad }) => {
    const A = ad.res.ADAPTIVE!, D = ad.res.DEDUP!, R = ad.res.RERUN!;
    const later = A.paths.map((p, i) => ({ p, i })).filter((x) => x.p === 'read' && x.i >= 5);
    return {
      seed, storage_frac_of_dedup: r1(A.storage.at(-1)! / D.storage.at(-1)!, 3), time_frac_of_rerun: r1(sum(A.queryMs) / sum(R.queryMs), 3),
      later_reads_vs_dedup: later.length ? r1(sum(later.map((x) => A.queryMs[x.i]!)) / sum(later.map((x) => D.queryMs[x.i]!)), 2) : null,
      storage_mb: Object.fromEntries(Object.entries(ad.res).map(([k, v]) => [k, r1(v.storage.at(-1)! / 2 ** 20, 2)])),
      total_query_s: Object.fromEntries(Object.entries(ad.res).map(([k, v]) => [k, r1(sum(v.queryMs) / 1000, 2)])),
      materialized: A.materialized.length,
    };
  });
  const medOf = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const adaptive = ads.length > 0 && (() => {
    const ad = ads[0]!.ad;
    const A = ad.res.ADAPTIVE!;
    const storeMed = medOf(perSeed.map((x) => x.storage_frac_of_dedup));
    const timeOk = perSeed.filter((x) => x.time_frac_of_rerun <= 0.5).length;
    return {
      figures: {
        zillow_rows: Number(args['zillow-rows']), pipelines: ad.pipelines, gamma_min_s_per_gb: GAMMA_MIN, seeds: perSeed,
        storage_frac_of_dedup: stat3(perSeed.map((x) => x.storage_frac_of_dedup)), time_frac_of_rerun: stat3(perSeed.map((x) => x.time_frac_of_rerun)),
        seeds_time_le_half_rerun: timeOk, seeds_storage_le_30pct_dedup: perSeed.filter((x) => x.storage_frac_of_dedup <= 0.3).length,
        first_seed: {
          seed: ads[0]!.seed, queries: ad.queries.map((q) => `${q.cat} ${q.key}${q.rows ? ` rows ${q.rows.length}` : ''}`),
          log_s: Object.fromEntries(Object.entries(ad.res).map(([k, v]) => [k, r1(v.logMs / 1000, 1)])),
          query_ms: Object.fromEntries(Object.entries(ad.res).map(([k, v]) => [k, v.queryMs])), adaptive_paths: A.paths, materialized: A.materialized,
        },
      },
      targets: { adaptive_median_storage_le_30pct_dedup: storeMed <= 0.3, adaptive_time_le_half_rerun_on_6_of_8_seeds: timeOk >= Math.ceil((6 / 8) * perSeed.length) },
    };
  })();

  const result = {
    bench: 'costmodel', examples: N, model: dnn.ckpt, layers: dnn.layers,
    rerun_ms_by_batch: dnn.rerunByBatch, read_by_scheme: dnn.readByScheme, read_model: dnn.rates,
    points: pts,
    choice_correct: r1(correct, 3), worst_wrong_ratio: worstWrong, pred_err_read_max_n1000: r1(predErrRead, 3), pred_err_rerun_max_n1000: r1(predErrRerun, 3),
    within30_of_median_n1000: `${within30n} of ${big.length}`, run_spread_max_n1000: r1(spread, 2), estimate_accuracy_last32: dnn.accuracy,
    last_layer_all: { read_ms: lastAll.read, rerun_ms: lastAll.rerun, speedup: r1(lastAll.rerun / lastAll.read) },
    adaptive: adaptive ? adaptive.figures : null,
    targets: {
      choice_correct_ge_0_95: correct >= 0.95, wrong_within_1_25x: worstWrong <= 1.25,
      predictions_within_30pct_of_median_13_of_15: within30n >= Math.ceil((13 / 15) * big.length),
      last_layer_read_ge_50x: lastAll.rerun / lastAll.read >= 50,
      adaptive_median_storage_le_30pct_dedup: adaptive ? adaptive.targets.adaptive_median_storage_le_30pct_dedup : null,
      adaptive_time_le_half_rerun_on_6_of_8_seeds: adaptive ? adaptive.targets.adaptive_time_le_half_rerun_on_6_of_8_seeds : null,
    },
  };

  // plots
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
  fs.writeFileSync(path.join(OUT, 'costmodel-rerun-batch.svg'), lineChart({
    title: `re-run time of ${N >= 2000 ? 2000 : N} rows by batch size (${dnn.ckpt})`, xLabel: 'batch size', yLabel: 'ms', logY: true,
    x: dnn.batchSizes.map(String), series: dnn.layers.map((l, k) => ({ name: l, color: colors[k]!, values: dnn.batchSizes.map((b) => dnn.rerunByBatch[l]![b]!) })),
  }));
  const schemes = Object.keys(dnn.readByScheme);
  fs.writeFileSync(path.join(OUT, 'costmodel-read-scheme.svg'), lineChart({
    title: `cold read of ${NS} rows per layer, by storage scheme`, xLabel: 'layer', yLabel: 'ms', logY: true,
    x: dnn.layers, series: schemes.map((s, k) => ({ name: s, color: colors[k]!, values: dnn.layers.map((l) => dnn.readByScheme[s]![l]!.ms) })),
  }));
  for (const [kind, f] of [['measured', (p: typeof pts[number]) => [p.read, p.rerun]], ['predicted', (p: typeof pts[number]) => [p.predRead, p.predRerun]]] as const) {
    const series = dnn.layers.flatMap((l, k) => [
      { name: `${l} read`, color: colors[k]!, values: dnn.sizes.map((n) => f(pts.find((p) => p.layer === l && p.n === n)!)[0]!) },
      { name: `${l} re-run`, color: colors[k]! + '88', values: dnn.sizes.map((n) => f(pts.find((p) => p.layer === l && p.n === n)!)[1]!) },
    ]);
    fs.writeFileSync(path.join(OUT, `costmodel-${kind}.svg`), lineChart({ title: `${kind} read vs re-run (ms) by n_ex`, xLabel: 'examples', yLabel: 'ms', logY: true, x: dnn.sizes.map(String), series }));
  }
  if (ad) {
    const qx = ad.queries.map((_, i) => String(i + 1));
    fs.writeFileSync(path.join(OUT, 'costmodel-adaptive-time.svg'), lineChart({
      title: 'per-query time (ms), 25-query workload on Zillow', xLabel: 'query', yLabel: 'ms', logY: true, x: qx,
      series: Object.entries(ad.res).map(([k, v], i) => ({ name: k, color: colors[i]!, values: v.queryMs })),
    }));
    fs.writeFileSync(path.join(OUT, 'costmodel-adaptive-storage.svg'), lineChart({
      title: 'storage over the workload (MB on disk)', xLabel: 'after query', yLabel: 'MB', x: ['log', ...qx],
      series: Object.entries(ad.res).map(([k, v], i) => ({ name: k, color: colors[i]!, values: v.storage.map((b) => b / 2 ** 20) })),
    }));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  fs.rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`bench:costmodel failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
