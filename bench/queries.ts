// bench:queries — the diagnostics end to end (paper Fig. 5-7, Tables 5.5 and 5.6, Fig. 5-11):
//  1. e2e: two queries of each category (POINTQ, TOPK; COL_DIFF, COL_DIST; KNN, ROW_DIFF; SVCCA, VIS)
//     on TRAD (Zillow, pipelines P1_1 and P3_1) and on DNN (vgg at its first, a middle and the last
//     layer), each answered by reading and by re-running, split into fetch and compute time, with the
//     cost model's choice marked;
//  2. accuracy: SVCCA between the logits and 4 layers, and KNN@50 overlap with the full-precision
//     neighbours, under fp32, fp16 (LP_QT), 8BIT_QT and pool(2); VIS heatmaps under fp32, fp16, 8BIT_QT,
//     pool(S), 3BIT_QT and THRESHOLD_QT side by side;
//  3. svcca: SVCCA over all test images between the logits and every layer of up to 4 096 columns
//     (cnn and vgg), fetch and compute time with each step's time; ml-matrix's full eigendecomposition
//     of the largest Gram matrix for comparison.
// Prints one JSON line; writes plots to bench/out/queries-*.svg.
// Usage: npm run bench:queries [-- --examples 2000 --all-examples 10000 --zillow-rows 20000 --parts e2e,accuracy,svcca
//        --widest 1 (also SVCCA on each network's widest layer) --mlmatrix-full 1 (time ml-matrix's full eigendecomposition)]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLASSES, loadFashionMnist } from '../datasets/fashion-mnist/load.js';
import { testImages } from './fmnist.js';
import { generateZillow } from '../datasets/zillow/generate.js';
import { parseScheme } from '../src/quantize/scheme.js';
import { progress } from '../src/cli/progress.js';
import { colDiff, colDist, heatmap, heatmapPng, knn, knnMany, lookup, overlap, pointq, rowDiff, svcca, topk } from '../src/diagnostics/index.js';
import { matmulAtB, symEig } from '../src/diagnostics/linalg.js';
import { openStore, type Matrix, type Store } from '../src/index.js';
import { bundledPipelines, packageRoot } from '../src/paths.js';
import { barChart, imageGrid } from './svg.js';

const { values: args } = parseArgs({
  options: {
    examples: { type: 'string', default: '2000' }, 'all-examples': { type: 'string', default: '10000' },
    'zillow-rows': { type: 'string', default: '20000' }, parts: { type: 'string', default: 'e2e,accuracy,svcca' },
    'mlmatrix-full': { type: 'string', default: '1' }, widest: { type: 'string', default: '1' }, models: { type: 'string' }, out: { type: 'string', default: 'bench/out' },
  },
});
const N = Number(args.examples), NALL = Number(args['all-examples']);
const PARTS = new Set(args.parts!.split(','));
const MODELS = path.resolve(args.models ?? path.join(packageRoot(), 'datasets', 'models'));
const OUT = path.resolve(args.out!);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-q-'));
fs.mkdirSync(OUT, { recursive: true });
const r1 = (x: number, d = 1): number => Number(x.toFixed(d));

function images(n: number): { x: Float32Array; labels: Float64Array } {
  return { x: testImages(n), labels: Float64Array.from(loadFashionMnist('t10k').labels.subarray(0, n)) };
}

function checkpoint(name: string): string {
  const f = path.join(MODELS, `${name}.onnx`);
  if (!fs.existsSync(f)) throw new Error(`${f} is missing: run npm run datasets:dnn first`);
  return f;
}

async function networkStore(dir: string, n: number, nets: string[], scheme = 'none'): Promise<Store> {
  const store = await openStore(path.join(tmp, dir));
  const { x, labels } = images(n);
  await store.log('fm.data.labels', { label: labels });
  for (const net of nets) await store.logNetwork(`fm.${net}`, checkpoint(net), { x, shape: [1, 28, 28] }, { batchSize: 128, scheme: parseScheme(scheme) });
  await store.flush();
  return store;
}

// ---------------------------------------------------------------- 1. end to end
interface Fetch { keys: string[]; rows?: number[]; /** data, not an intermediate: always read */ data?: boolean }
interface Query { name: string; category: string; fetch: Fetch[]; compute: (m: Matrix[]) => unknown }
interface Timing { fetch: number; compute: number; total: number }
interface QueryResult {
  name: string; category: string; read: Timing; rerun: Timing;
  /** What mistique does by itself: the cost model's choice per intermediate (path auto). */
  auto: Timing;
  choice: 'read' | 'rerun' | 'mixed'; faster: 'read' | 'rerun'; speedup: number;
  /** auto's time over the faster forced path's. */
  auto_vs_best: number;
}

async function once(store: Store, q: Query, p: 'read' | 'rerun' | 'auto'): Promise<Timing> {
  store.dropCaches();
  const t0 = performance.now();
  const ms: Matrix[] = [];
  for (const f of q.fetch) ms.push(await store.getIntermediates(f.keys, { ...(f.rows ? { rows: f.rows } : {}), path: f.data ? 'read' : p }));
  const t1 = performance.now();
  await q.compute(ms);
  const t2 = performance.now();
  return { fetch: r1(t1 - t0), compute: r1(t2 - t1), total: r1(t2 - t0) };
}

async function runQuery(store: Store, q: Query): Promise<QueryResult> {
  const choices: string[] = [];
  for (const f of q.fetch) if (!f.data) for (const e of await store.explain(f.keys, { ...(f.rows ? { rows: f.rows } : {}), measure: true })) choices.push(e.choice);
  const best = async (p: 'read' | 'rerun' | 'auto') => {
    let b: Timing | null = null;
    for (let i = 0; i < 2; i++) { const t = await once(store, q, p); if (!b || t.total < b.total) b = t; }
    return b!;
  };
  const read = await best('read');
  const rerun = await best('rerun');
  const auto = await best('auto');
  const choice: QueryResult['choice'] = choices.every((c) => c === 'read') ? 'read' : choices.every((c) => c === 'rerun') ? 'rerun' : 'mixed';
  const faster = read.total <= rerun.total ? 'read' : 'rerun';
  return { name: q.name, category: q.category, read, rerun, auto, choice, faster, speedup: r1(rerun.total / read.total, 2), auto_vs_best: r1(auto.total / Math.min(read.total, rerun.total), 2) };
}

function tradQueries(dense: string[], knnRow: number): Query[] {
  const P1 = 'zillow.P1_1', P3 = 'zillow.P3_1';
  return [
    { name: 'lot size of home 135', category: 'POINTQ', fetch: [{ keys: [`${P1}.test_set.lotsizesquarefeet`], rows: [135] }], compute: ([m]) => pointq(m!, 135) },
    { name: 'predictions for the 10 newest homes', category: 'TOPK', fetch: [{ keys: [`${P1}.test_set.yearbuilt`, `${P1}.pred_test.pred`] }], compute: ([m]) => topk(m!, 0, 10) },
    { name: 'homes whose predictions differ P1 vs P3', category: 'COL_DIFF', fetch: [{ keys: [`${P1}.pred_test.pred`, `${P3}.pred_test.pred`] }], compute: ([m]) => colDiff(m!, 0, m!, 1, 0.01) },
    { name: 'distribution of P1 predictions', category: 'COL_DIST', fetch: [{ keys: [`${P1}.pred_test.pred`] }], compute: ([m]) => colDist(m!, 0) },
    { name: `homes most similar to home ${knnRow}`, category: 'KNN', fetch: [{ keys: dense.map((c) => `${P1}.test_set.${c}`) }, { keys: [`${P1}.pred_test.pred`] }], compute: ([m, p]) => { const r = knn(m!, knnRow, { k: 10 }); return lookup(p!, r.rowIds); } },
    { name: 'homes 135 and 136 side by side', category: 'ROW_DIFF', fetch: [{ keys: [`${P1}.test_set.*`], rows: [135, 136] }], compute: ([m]) => rowDiff(m!, 135, 136) },
    { name: 'P1 raw features vs P3 imputed features', category: 'SVCCA', fetch: [{ keys: dense.map((c) => `${P1}.test_set.${c}`) }, { keys: [`${P3}.test_set.*`] }], compute: ([a, b]) => svcca(a!, b!) },
    { name: 'P3 features per land-use type', category: 'VIS', fetch: [{ keys: [`${P3}.test_set.*`] }, { keys: [`${P1}.test_set.propertylandusetypeid`] }], compute: ([m, g]) => heatmapPng(heatmap(m!, g!)) },
  ];
}

function dnnQueries(layer: string, col: string, shape: number[] | null): Query[] {
  const K = `fm.vgg_e10.${layer}`, L = 'fm.data.labels.label';
  const svccaFetch: Fetch[] = layer === 'dense2' ? [{ keys: ['fm.vgg_e09.dense2.*'] }, { keys: [`${K}.*`] }] : [{ keys: [`${K}.*`] }, { keys: ['fm.vgg_e10.dense2.*'] }];
  return [
    { name: `${layer}: image 345`, category: 'POINTQ', fetch: [{ keys: [`${K}.*`], rows: [345] }], compute: ([m]) => pointq(m!, 345) },
    { name: `${layer}: top-10 images of neuron ${col}`, category: 'TOPK', fetch: [{ keys: [`${K}.${col}`] }], compute: ([m]) => topk(m!, 0, 10) },
    { name: `${layer}: neuron ${col} e10 vs e09`, category: 'COL_DIFF', fetch: [{ keys: [`${K}.${col}`, `fm.vgg_e09.${layer}.${col}`] }], compute: ([m]) => colDiff(m!, 0, m!, 1, 1e-6) },
    { name: `${layer}: distribution of neuron ${col}`, category: 'COL_DIST', fetch: [{ keys: [`${K}.${col}`] }], compute: ([m]) => colDist(m!, 0) },
    { name: `${layer}: 50 images nearest image 51`, category: 'KNN', fetch: [{ keys: [`${K}.*`] }, { keys: [L], data: true }], compute: ([m, l]) => { const r = knn(m!, 51, { k: 50 }); return lookup(l!, r.rowIds); } },
    { name: `${layer}: images 345 vs 346`, category: 'ROW_DIFF', fetch: [{ keys: [`${K}.*`], rows: [345, 346] }], compute: ([m]) => rowDiff(m!, 345, 346, 20) },
    { name: layer === 'dense2' ? 'logits e09 vs e10' : `${layer} vs logits`, category: 'SVCCA', fetch: svccaFetch, compute: ([a, b]) => svcca(a!, b!) },
    { name: `${layer}: mean per class`, category: 'VIS', fetch: [{ keys: [`${K}.*`] }, { keys: [L], data: true }], compute: ([m, l]) => heatmapPng(heatmap(m!, l!, { perChannel: (shape?.length ?? 0) === 3 })) },
  ];
}

function chart(title: string, rs: QueryResult[]): string {
  return barChart({
    title, yLabel: 'time (ms, log scale)', groups: rs.map((r) => `${r.category} ${r.name}`),
    bars: [
      { name: 'read', parts: [{ name: 'fetch', values: rs.map((r) => r.read.fetch), color: '#1f77b4' }, { name: 'compute', values: rs.map((r) => r.read.compute), color: '#aec7e8' }] },
      { name: 're-run', parts: [{ name: 'fetch', values: rs.map((r) => r.rerun.fetch), color: '#d62728' }, { name: 'compute', values: rs.map((r) => r.rerun.compute), color: '#ff9896' }] },
      { name: 'auto', parts: [{ name: 'fetch', values: rs.map((r) => r.auto.fetch), color: '#2ca02c' }, { name: 'compute', values: rs.map((r) => r.auto.compute), color: '#98df8a' }] },
    ],
    marked: rs.map((r) => (r.choice === 'read' ? 0 : r.choice === 'rerun' ? 1 : null)),
  });
}

async function e2e(tick: (s: string) => void) {
  // TRAD
  const data = path.join(tmp, 'zillow');
  generateZillow(data, Number(args['zillow-rows']));
  const trad = await openStore(path.join(tmp, 'trad'));
  for (const p of ['P1_1', 'P3_1']) await trad.logIntermediates(path.join(bundledPipelines(), `${p}.yaml`), { data });
  await trad.flush();
  tick('trad logged');
  const dense = ['latitude', 'longitude', 'bathroomcnt', 'bedroomcnt', 'roomcnt', 'taxvaluedollarcnt', 'structuretaxvaluedollarcnt', 'landtaxvaluedollarcnt', 'taxamount', 'regionidzip'];
  const probe = await trad.getIntermediates(dense.map((c) => `zillow.P1_1.test_set.${c}`), { path: 'read' });
  let knnRow = 51;
  for (let i = probe.rowIndex().get(51) ?? 0; i < probe.nrows; i++) if (Array.from(probe.row(i)).every(Number.isFinite)) { knnRow = probe.rowIds[i]!; break; }
  const tradResults: QueryResult[] = [];
  for (const q of tradQueries(dense, knnRow)) { tradResults.push(await runQuery(trad, q)); tick(`trad ${q.category}`); }
  await trad.close();
  // DNN
  const dnn = await networkStore('dnn', N, ['vgg_e09', 'vgg_e10']);
  tick('dnn logged');
  const layers = ['conv1', 'relu5', 'dense2'];
  const dnnResults: Record<string, QueryResult[]> = {};
  for (const layer of layers) {
    const one = await dnn.getIntermediates(`fm.vgg_e10.${layer}.*`, { rows: [0], path: 'read' });
    const col = one.columns[Math.min(35, one.ncols - 1)]!.name;
    dnnResults[layer] = [];
    for (const q of dnnQueries(layer, col, one.shape)) { dnnResults[layer].push(await runQuery(dnn, q)); tick(`dnn ${layer} ${q.category}`); }
  }
  await dnn.close();
  fs.writeFileSync(path.join(OUT, 'queries-trad.svg'), chart(`TRAD (Zillow, ${args['zillow-rows']} homes): read vs re-run`, tradResults));
  fs.writeFileSync(path.join(OUT, 'queries-dnn.svg'), chart(`DNN (vgg_e10, ${N} images; first, middle, last layer): read vs re-run`, layers.flatMap((l) => dnnResults[l]!)));
  return { trad: tradResults, dnn: dnnResults };
}

// ---------------------------------------------------------------- 2. accuracy of the storage schemes
async function accuracy(tick: (s: string) => void) {
  const layers = ['relu2', 'relu4', 'relu7', 'relu8'];
  const svccaSchemes = ['none', 'lp', 'kbit8', 'pool2'];
  const visSchemes = ['none', 'lp', 'kbit8', 'poolS', 'kbit3', 'threshold99.5'];
  const queries = Array.from({ length: 50 }, (_, i) => i * Math.floor(N / 50));
  const sv: Record<string, Record<string, number>> = {}, kn: Record<string, Record<string, number>> = {};
  const visPanels: { caption: string; png: Uint8Array; width: number; height: number }[] = [];
  const visCorr: Record<string, number> = {};
  const fullKnn: Record<string, Int32Array[]> = {};
  let fullVis: Float64Array | null = null;
  for (const scheme of [...new Set([...svccaSchemes, ...visSchemes])]) {
    const store = await networkStore(`acc-${scheme}`, N, ['vgg_e10'], scheme);
    tick(`accuracy ${scheme} logged`);
    if (svccaSchemes.includes(scheme)) {
      sv[scheme] = {}; kn[scheme] = {};
      const logits = await store.getIntermediates('fm.vgg_e10.dense2.*', { path: 'read' });
      for (const layer of layers) {
        const m = await store.getIntermediates(`fm.vgg_e10.${layer}.*`, { path: 'read' });
        sv[scheme]![layer] = r1((await svcca(logits, m)).mean, 4);
        const nn = (await knnMany(m, queries, { k: 50 })).map((r) => r.rowIds);
        if (scheme === 'none') fullKnn[layer] = nn;
        kn[scheme]![layer] = r1(nn.reduce((s, ids, i) => s + overlap(fullKnn[layer]![i]!, ids), 0) / nn.length, 3);
      }
    }
    if (visSchemes.includes(scheme)) {
      const m = await store.getIntermediates('fm.vgg_e10.relu7.*', { path: 'read' });
      const labels = await store.getIntermediates('fm.data.labels.label', { path: 'read' });
      const h = heatmap(m, labels, { perChannel: true });
      if (scheme === 'none') fullVis = h.values;
      visCorr[scheme] = r1(pearson(fullVis!, h.values), 4);
      const png = heatmapPng(h, { cell: [8, 14] });
      fs.writeFileSync(path.join(OUT, `queries-vis-${scheme}.png`), png);
      visPanels.push({ caption: `${label(scheme)} (r = ${visCorr[scheme]} with fp32)`, png, width: h.units.length * 8, height: h.classes.length * 14 });
    }
    await store.close();
    fs.rmSync(path.join(tmp, `acc-${scheme}`), { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(OUT, 'queries-vis.svg'), imageGrid(`VIS: vgg_e10 relu7, mean activation of 64 channels (x) per class (y: ${CLASSES.join(', ')}), by storage scheme`, visPanels, 2));
  return { layers, svcca: sv, knn50: kn, vis_corr_with_fp32: visCorr };
}

function label(s: string): string {
  return ({ none: 'fp32', lp: 'fp16 (LP_QT)', kbit8: '8BIT_QT', poolS: 'pool(S)', kbit3: '3BIT_QT', 'threshold99.5': 'THRESHOLD_QT (99.5%)', pool2: 'pool(2)' } as Record<string, string>)[s] ?? s;
}

function pearson(a: Float64Array, b: Float64Array): number {
  let ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) { ma += a[i]!; mb += b[i]!; }
  ma /= a.length; mb /= b.length;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) { sab += (a[i]! - ma) * (b[i]! - mb); saa += (a[i]! - ma) ** 2; sbb += (b[i]! - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

// ---------------------------------------------------------------- 3. SVCCA over all test images
/** A cold read of a layer, then SVCCA against the logits: both timed, with each step's time. */
async function timedSvcca(store: Store, logits: Matrix, key: string): Promise<{ row: Record<string, unknown>; m: Matrix; kept: number }> {
  store.dropCaches();
  const t0 = performance.now();
  const m = await store.getIntermediates(`${key}.*`, { path: 'read' });
  const t1 = performance.now();
  const r = await svcca(logits, m);
  const t2 = performance.now();
  const row = { layer: key, columns: m.ncols, rows: m.nrows, fetch_ms: r1(t1 - t0), svcca_ms: r1(t2 - t1), total_s: r1((t2 - t0) / 1000, 2), svcca: r1(r.mean, 4), kept: r.b.kept, method: r.b.method, route: r.b.route, l: r.b.l, steps_ms: r.ms };
  return { row, m, kept: r.b.kept };
}

async function svccaAll(tick: (s: string) => void) {
  const out: Record<string, unknown>[] = [], wide: Record<string, unknown>[] = [];
  // the hardest case for the eigen step: the layer whose 99% subspace is widest
  let largest: { key: string; kept: number; m: Matrix } | null = null;
  for (const net of ['cnn_e10', 'vgg_e10']) {
    const store = await networkStore(`all-${net}`, NALL, [net]);
    tick(`svcca ${net} logged`);
    const logits = await store.getIntermediates(`fm.${net}.dense2.*`, { path: 'read' });
    const layers = store.list(`fm.${net}.*`).filter((i) => i.columns <= 4096 && !i.key.endsWith('.dense2'));
    for (const l of layers) {
      const { row, m, kept } = await timedSvcca(store, logits, l.key);
      out.push(row);
      if (!largest || kept > largest.kept) largest = { key: l.key, kept, m };
      tick(`svcca ${l.key}`);
    }
    // the widest layer (over 4 096 columns: more columns than examples, so the Gram of the rows)
    const widest = store.list(`fm.${net}.*`).filter((i) => i.columns > 4096 && !i.key.includes('.inputs.')).sort((a, b) => b.columns - a.columns)[0];
    if (widest && args.widest === '1') {
      wide.push((await timedSvcca(store, logits, widest.key)).row);
      tick(`svcca ${widest.key}`);
    }
    await store.close();
  }
  let mlmatrix: Record<string, number> | null = null;
  if (args['mlmatrix-full'] === '1' && largest) {
    // the route a plain ml-matrix implementation would take: a full eigendecomposition of the Gram matrix
    const m = largest.m, n = m.nrows, d = m.ncols;
    const x = Float64Array.from(m.values as Float32Array);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j]! -= mean[j]!;
    const t0 = performance.now();
    const g = await matmulAtB(x, x, n, d, d);
    const t1 = performance.now();
    symEig(g, d);
    const t2 = performance.now();
    mlmatrix = { layer: largest.key, columns: d, gram_ms: r1(t1 - t0), full_eig_ms: r1(t2 - t1) } as unknown as Record<string, number>;
    tick('ml-matrix full eigendecomposition');
  }
  return { layers: out, widest: wide, largest: largest?.key ?? null, mlmatrix_full_eig: mlmatrix };
}

async function main() {
  const steps = (PARTS.has('e2e') ? 2 + 8 + 24 : 0) + (PARTS.has('accuracy') ? 7 : 0) + (PARTS.has('svcca') ? 2 + 22 + 1 : 0);
  const bar = progress('bench:queries', steps);
  const tick = (_: string) => bar.tick();
  const res: Record<string, unknown> = { bench: 'queries', node: process.version, cpus: os.cpus().length, examples: N, all_examples: NALL, zillow_rows: Number(args['zillow-rows']) };
  try {
    if (PARTS.has('e2e')) res.e2e = await e2e(tick);
    if (PARTS.has('accuracy')) res.accuracy = await accuracy(tick);
    if (PARTS.has('svcca')) res.svcca_all = await svccaAll(tick);
  } finally {
    bar.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const targets: Record<string, unknown> = {};
  const e = res.e2e as Awaited<ReturnType<typeof e2e>> | undefined;
  if (e) {
    targets.trad_read_beats_rerun_every_query = e.trad.every((q) => q.faster === 'read');
    targets.trad_speedup_min = Math.min(...e.trad.map((q) => q.speedup));
    targets.trad_speedup_max = Math.max(...e.trad.map((q) => q.speedup));
    targets.last_layer_read_beats_rerun_every_query = e.dnn.dense2!.every((q) => q.faster === 'read');
    targets.last_layer_speedup_min = Math.min(...e.dnn.dense2!.map((q) => q.speedup));
    targets.last_layer_speedup_max = Math.max(...e.dnn.dense2!.map((q) => q.speedup));
    const all = [...e.trad, ...Object.values(e.dnn).flat()];
    targets.cost_model_choice_right = r1(all.filter((q) => q.choice === q.faster).length / all.filter((q) => q.choice !== 'mixed').length, 3);
    targets.auto_vs_best_median = r1([...all.map((q) => q.auto_vs_best)].sort((x, y) => x - y)[Math.floor(all.length / 2)]!, 2);
    targets.auto_vs_best_max = Math.max(...all.map((q) => q.auto_vs_best));
  }
  const a = res.accuracy as Awaited<ReturnType<typeof accuracy>> | undefined;
  if (a) {
    targets.kbit8_svcca_max_abs_diff = r1(Math.max(...a.layers.map((l) => Math.abs(a.svcca.kbit8![l]! - a.svcca.none![l]!))), 4);
    targets.kbit8_svcca_within_0_005 = (targets.kbit8_svcca_max_abs_diff as number) <= 0.005;
    targets.kbit8_knn50_min = Math.min(...a.layers.map((l) => a.knn50.kbit8![l]!));
    targets.kbit8_knn50_ge_0_95 = (targets.kbit8_knn50_min as number) >= 0.95;
  }
  const s = res.svcca_all as Awaited<ReturnType<typeof svccaAll>> | undefined;
  if (s) {
    targets.svcca_all_max_total_s = Math.max(...s.layers.map((l) => l.total_s as number));
    targets.svcca_all_under_60s = (targets.svcca_all_max_total_s as number) < 60;
  }
  res.targets = targets;
  res.plots = fs.readdirSync(OUT).filter((f) => f.startsWith('queries-')).map((f) => path.join(OUT, f));
  console.log(JSON.stringify(res));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
