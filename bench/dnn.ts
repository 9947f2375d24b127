// bench:dnn — the DNN workload (paper Fig. 5-8b and §5.8.6): the 10 checkpoints of `cnn` and `vgg`
// (datasets/train.py) run over N Fashion-MNIST test images and logged layer by layer under each storage
// scheme; the peer baseline saves one zstd Parquet file per layer and checkpoint. Then the logging time
// of one checkpoint under each scheme against the bare onnxruntime run of the unmodified model, without
// compression (Arrow IPC store) as the paper measures it, and with gzip. Each configuration runs in its
// own child process (its peak RSS is its own).
// Usage: npm run bench:dnn [-- --examples 1000 --models datasets/models --budget-mb 256 --rounds 5 --only storage|timing|zoo]
// (zoo: bench/zoo.ts, the models of datasets/train.py --zoo; not part of a run without --only)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from '../src/executor/onnx/ort.js';
import { makeVector, Table as ArrowTable, tableToIPC } from 'apache-arrow';
import { testImages } from './fmnist.js';
import { parseScheme } from '../src/quantize/scheme.js';
import { progress } from '../src/cli/progress.js';
import { exposeLayers, exposeReduced, parseGraph } from '../src/executor/onnx/graph.js';
import { graphReduce, outputRanks, SESSION_OPTIONS } from '../src/executor/onnx/dnn.js';
import { openStore, type CodecId } from '../src/index.js';
import { packageRoot } from '../src/paths.js';
import { rawWriteMBs, zooChild, zooSpecs, zooSummary, type ZooResult } from './zoo.js';
import { peakRss } from './proc.js';

const MB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    examples: { type: 'string', default: '1000' }, models: { type: 'string' }, 'budget-mb': { type: 'string', default: '256' },
    out: { type: 'string', default: 'bench/out' }, child: { type: 'string' }, batch: { type: 'string', default: '128' },
    'row-block': { type: 'string', default: '256' },
    // timing: runs of each configuration, interleaved (round by round); only: storage | timing
    rounds: { type: 'string', default: '5' }, only: { type: 'string' },
  },
});
// RowBlocks of 256 rows: a writer holds at most one RowBlock of each layer before it is cut into chunks
const N = Number(args.examples), BUDGET = Number(args['budget-mb']) * MB, BATCH = Number(args.batch), ROW_BLOCK = Number(args['row-block']);
const MODELS = path.resolve(args.models ?? path.join(packageRoot(), 'datasets', 'models'));
const OUT = path.resolve(args.out!);
const round = (x: number, d = 1): number => Number(x.toFixed(d));

/** Storage configurations of Fig. 5-8b: scheme and policy. */
const STORAGE: Record<string, { scheme: string; policy: 'store_all' | 'dedup' }> = {
  store_all_fp32: { scheme: 'none', policy: 'store_all' },
  lp_qt: { scheme: 'lp', policy: 'store_all' },
  kbit8_qt: { scheme: 'kbit8', policy: 'store_all' },
  pool2: { scheme: 'pool2', policy: 'store_all' },
  poolS: { scheme: 'poolS', policy: 'store_all' },
  pool2_dedup: { scheme: 'pool2', policy: 'dedup' },
  // the paper's default scheme is pool(2) on top of LP_QT
  pool2_lp: { scheme: 'pool2+lp', policy: 'store_all' },
  pool2_lp_dedup: { scheme: 'pool2+lp', policy: 'dedup' },
};
/** Logging-time configurations (one checkpoint). */
const TIMING = ['none', 'lp', 'kbit8', 'pool2', 'pool2+lp', 'poolS'];

function checkpoints(model: string): string[] {
  const files = fs.readdirSync(MODELS).filter((f) => f.startsWith(`${model}_e`) && f.endsWith('.onnx')).sort();
  if (files.length === 0) throw new Error(`no ${model}_eNN.onnx checkpoints in ${MODELS}: run npm run datasets:dnn first`);
  return files.map((f) => path.join(MODELS, f));
}

interface ChildResult { name: string; bytesRaw: number; bytesUnique: number; bytesOnDisk: number; ms: number; peakRssMb: number; perModel: Record<string, { raw: number; unique: number; disk: number }> }

async function storageChild(name: string): Promise<ChildResult> {
  const x = testImages(N);
  const cfg = STORAGE[name];
  const t0 = performance.now();
  const perModel: ChildResult['perModel'] = {};
  let bytesRaw = 0, bytesUnique = 0, bytesOnDisk = 0;
  if (name === 'parquet') {
    const pq = await import('parquet-wasm');
    const dir = path.join(OUT, 'dnn-parquet');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const model of ['cnn', 'vgg']) {
      let disk = 0;
      for (const cp of checkpoints(model)) {
        const g = parseGraph(fs.readFileSync(cp));
        const s = await ort.InferenceSession.create(exposeLayers(g));
        for (const l of g.layers) {
          // one file per layer and checkpoint, written batch by batch as one row group each
          const parts: Uint8Array[] = [];
          for (let b = 0; b < N; b += BATCH) {
            const e = Math.min(N, b + BATCH);
            const out = await s.run({ [g.input]: new ort.Tensor('float32', x.subarray(b * 784, e * 784), [e - b, 1, 28, 28]) });
            const t = out[l.original]!;
            const per = (t.data as Float32Array).length / (e - b);
            const cols: Record<string, ReturnType<typeof makeVector>> = { row_id: makeVector(Int32Array.from({ length: e - b }, (_, i) => b + i)) };
            const v = t.data as Float32Array;
            for (let j = 0; j < per; j++) cols[`c${j}`] = makeVector(Float32Array.from({ length: e - b }, (_, i) => v[i * per + j]!));
            const buf = pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(new ArrowTable(cols), 'stream')), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build());
            parts.push(buf);
          }
          for (const [k, p] of parts.entries()) fs.writeFileSync(path.join(dir, `${path.basename(cp, '.onnx')}.${l.name}.${k}.parquet`), p);
          disk += parts.reduce((a, p) => a + p.length, 0);
        }
        await s.release();
      }
      perModel[model] = { raw: 0, unique: 0, disk };
      bytesOnDisk += disk;
    }
  } else {
    const dir = path.join(OUT, `dnn-${name}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const store = await openStore(dir, { codec: 'gzip', policy: cfg!.policy, bufferpoolBytes: BUDGET, rowBlockSize: ROW_BLOCK });
    const scheme = parseScheme(cfg!.scheme);
    for (const model of ['cnn', 'vgg']) {
      const before = store.stats();
      for (const cp of checkpoints(model)) await store.logNetwork(`fmnist.${path.basename(cp, '.onnx')}`, cp, { x, shape: [1, 28, 28] }, { scheme, batchSize: BATCH });
      const after = store.stats();
      perModel[model] = { raw: after.bytesLogged - before.bytesLogged, unique: after.bytesUnique - before.bytesUnique, disk: after.bytesOnDisk - before.bytesOnDisk };
    }
    const st = store.stats();
    bytesRaw = st.bytesLogged; bytesUnique = st.bytesUnique; bytesOnDisk = st.bytesOnDisk;
    await store.close();
  }
  return { name, bytesRaw, bytesUnique, bytesOnDisk, ms: performance.now() - t0, perModel, peakRssMb: peakRss() / 2 ** 20 };
}

interface TimingResult { scheme: string; codec: string; bareMs: number; exposedMs: number; passMs: number; logMs: number; cpuMs: number; warmMs: number; warmCpuMs: number; storedBytes: number; rawWriteMBs: number; peakRssMb: number }

/** The disk's floor in this run: 64 MB written and fsynced as one file, MB/s. */
async function timingChild(spec: string): Promise<TimingResult> {
  const [scheme, codec] = spec.split('@') as [string, CodecId];
  const x = testImages(N);
  const cp = checkpoints('vgg').at(-1)!;
  /** Best of 2 runs (after a warm-up) of a session over the images in batches, outputs discarded. */
  const forwardMs = async (model: string | Uint8Array, opts: ort.InferenceSession.SessionOptions = {}): Promise<number> => {
    const session = await ort.InferenceSession.create(model as string, opts);
    const input = session.inputNames[0]!;
    const run = async (): Promise<number> => {
      const t = performance.now();
      for (let b = 0; b < N; b += BATCH) { const e = Math.min(N, b + BATCH); await session.run({ [input]: new ort.Tensor('float32', x.subarray(b * 784, e * 784), [e - b, 1, 28, 28]) }); }
      return performance.now() - t;
    };
    await run();
    const ms = Math.min(await run(), await run());
    await session.release();
    return ms;
  };
  // the bare run: the unmodified model; the exposed run: every layer an output (onnxruntime-node copies
  // each output into a fresh JavaScript buffer), the forward pass fp32 logging cannot do without
  const bareMs = await forwardMs(cp);
  const graph = parseGraph(fs.readFileSync(cp), 'layers');
  const exposedMs = await forwardMs(exposeLayers(graph), SESSION_OPTIONS);
  // the pass logNetwork runs for this scheme: the exposed one, or the one onnxruntime pools / casts in (graphReduce)
  const reduce = graphReduce(parseScheme(scheme));
  let passMs = exposedMs;
  if (reduce) {
    const probe = await ort.InferenceSession.create(exposeLayers(graph), { graphOptimizationLevel: 'disabled' });
    const ranks = outputRanks(probe);
    await probe.release();
    passMs = await forwardMs(exposeReduced(graph, reduce, ranks).bytes, SESSION_OPTIONS);
  }
  const dir = path.join(OUT, `dnn-time-${scheme.replace(/\W/g, '_')}-${codec}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const store = await openStore(dir, { codec, policy: 'store_all', bufferpoolBytes: BUDGET, rowBlockSize: ROW_BLOCK });
  const logOnce = async (model: string): Promise<{ ms: number; cpuMs: number }> => {
    const t0 = performance.now();
    const c0 = process.cpuUsage(); // every thread of the process: main, encode workers, threadpool, onnxruntime's
    await store.logNetwork(model, cp, { x, shape: [1, 28, 28] }, { scheme: parseScheme(scheme), batchSize: BATCH });
    const cu = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpuMs: (cu.user + cu.system) / 1000 };
  };
  // the first checkpoint logged in the process (its start-up — workers, JIT, onnxruntime's first runs —
  // included), then the same checkpoint again as the next one of a run logs, warm as the bare pass is timed
  const { ms: logMs, cpuMs } = await logOnce('fmnist.t');
  const storedBytes = store.stats().bytesOnDisk;
  const { ms: warmMs, cpuMs: warmCpuMs } = await logOnce('fmnist.t2');
  await store.close();
  const raw = rawWriteMBs(OUT);
  fs.rmSync(dir, { recursive: true, force: true });
  return { scheme, codec, bareMs, exposedMs, passMs, logMs, cpuMs, warmMs, warmCpuMs, storedBytes, rawWriteMBs: raw, peakRssMb: peakRss() / 2 ** 20 };
}

function child(kind: string, name: string): unknown {
  const out = execFileSync(process.execPath, [process.argv[1]!, '--child', `${kind}:${name}`, '--examples', String(N), '--models', MODELS, '--budget-mb', String(BUDGET / MB), '--out', OUT, '--batch', String(BATCH), '--row-block', String(ROW_BLOCK)],
    { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return JSON.parse(out.toString().trim().split('\n').pop()!);
}

function barChart(title: string, labels: string[], values: number[]): string {
  const W = 760, H = 380, L = 150, R = 30, T = 40, rowH = (H - T - 30) / labels.length;
  const max = Math.max(...values.map((v) => Math.log10(Math.max(v, 1))));
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${title}</text>`];
  labels.forEach((lab, i) => {
    const w = (Math.log10(Math.max(values[i]!, 1)) / max) * (W - L - R - 60);
    const y = T + i * rowH;
    out.push(`<text x="${L - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${lab}</text>`, `<rect x="${L}" y="${y + 4}" width="${w}" height="${rowH - 8}" fill="#1f77b4"/>`,
      `<text x="${L + w + 6}" y="${y + rowH / 2 + 4}">${(values[i]! / MB).toFixed(1)} MB</text>`);
  });
  out.push(`<text x="${W / 2}" y="${H - 8}" text-anchor="middle">bytes stored (log scale)</text>`, '</svg>');
  return out.join('\n');
}

async function main(): Promise<void> {
  if (args.child) {
    const [kind, name] = args.child.split(':') as [string, string];
    const zoo = () => zooChild(name, { models: MODELS, out: OUT, examples: N, batch: BATCH, budget: BUDGET, rowBlock: ROW_BLOCK });
    process.stdout.write(JSON.stringify(kind === 'storage' ? await storageChild(name) : kind === 'zoo' ? await zoo() : await timingChild(name)) + '\n');
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  const ROUNDS = Number(args.rounds);
  if (args.only === 'zoo') return zoo(ROUNDS);
  const configs = args.only === 'timing' ? [] : [...Object.keys(STORAGE), 'parquet'];
  const timings = args.only === 'storage' ? [] : [...TIMING.map((s) => `${s}@arrow`), ...TIMING.map((s) => `${s}@lz4`), ...TIMING.map((s) => `${s}@gzip`)];
  const bar = progress('bench:dnn', configs.length + timings.length * ROUNDS);
  const storage: Record<string, ChildResult> = {};
  for (const c of configs) { storage[c] = child('storage', c) as ChildResult; bar.tick(); }
  // every configuration once per round, rounds one after another: the machine's drift falls on all alike
  const runs: TimingResult[][] = timings.map(() => []);
  for (let r = 0; r < ROUNDS; r++) timings.forEach((t, i) => { runs[i]!.push(child('timing', t) as TimingResult); bar.tick(); });
  bar.stop();
  const json = { bench: 'dnn', node: process.version, examples: N, budget_mb: BUDGET / MB, row_block: ROW_BLOCK, batch: BATCH, ...(configs.length ? storageSummary(storage) : {}), ...(timings.length ? timingSummary(timings, runs) : {}) };
  process.stdout.write(JSON.stringify(json) + '\n');
}

/** The zoo: every model × scheme once per round, rounds one after another. */
async function zoo(rounds: number): Promise<void> {
  const specs = zooSpecs();
  const bar = progress('bench:dnn zoo', specs.length * rounds);
  const runs: ZooResult[][] = specs.map(() => []);
  for (let r = 0; r < rounds; r++) specs.forEach((s, i) => { runs[i]!.push(child('zoo', s) as ZooResult); bar.tick(); });
  bar.stop();
  const json = { bench: 'dnn', only: 'zoo', node: process.version, examples: N, rounds, budget_mb: BUDGET / MB, row_block: ROW_BLOCK, batch: BATCH, codec: 'lz4', ...zooSummary(specs, runs, mmm) };
  fs.writeFileSync(path.join(OUT, 'dnn-zoo.json'), JSON.stringify(json) + '\n');
  process.stdout.write(JSON.stringify(json) + '\n');
}

/** Median, min and max of xs, rounded. */
function mmm(xs: number[], d = 2): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median: round(m, d), min: round(s[0]!, d), max: round(s.at(-1)!, d) };
}

function storageSummary(storage: Record<string, ChildResult>): Record<string, unknown> {
  const configs = Object.keys(storage);
  const size = (c: string): number => (c === 'parquet' ? storage[c]!.bytesOnDisk : storage[c]!.bytesUnique);
  const vggSize = (c: string): number => storage[c]!.perModel.vgg!.unique;
  const plot = path.join(OUT, 'dnn-storage.svg');
  fs.writeFileSync(plot, barChart(`DNN: 10 checkpoints × 2 models × ${N} images, bytes stored (uncompressed, after dedup)`, configs, configs.map((c) => (c === 'parquet' ? storage[c]!.bytesOnDisk : size(c)))));
  const mine = Object.values(storage).filter((s) => s.name !== 'parquet').map((s) => s.peakRssMb);
  return {
    checkpoints: 20,
    storage_mb: Object.fromEntries(configs.map((c) => [c, { stored_raw: round(size(c) / MB), on_disk: round(storage[c]!.bytesOnDisk / MB), logged: round(storage[c]!.bytesRaw / MB) }])),
    smaller_than_store_all: Object.fromEntries(configs.filter((c) => c !== 'store_all_fp32').map((c) => [c, round(size('store_all_fp32') / size(c), 2)])),
    vgg_pool2_dedup_vs_store_all: round(vggSize('store_all_fp32') / vggSize('pool2_dedup'), 1),
    vgg_pool2_lp_dedup_vs_store_all: round(vggSize('store_all_fp32') / vggSize('pool2_lp_dedup'), 1),
    per_model_unique_mb: Object.fromEntries(configs.filter((c) => c !== 'parquet').map((c) => [c, { cnn: round(storage[c]!.perModel.cnn!.unique / MB), vgg: round(storage[c]!.perModel.vgg!.unique / MB) }])),
    storage_rss_mb: Object.fromEntries(Object.values(storage).map((s) => [s.name, round(s.peakRssMb)])),
    plot,
    storage_targets: {
      lp_1_9x_met: size('store_all_fp32') / size('lp_qt') >= 1.9,
      lp_2x_met: size('store_all_fp32') / size('lp_qt') >= 2,
      kbit8_4x_met: size('store_all_fp32') / size('kbit8_qt') >= 4,
      pool2_6x_met: size('store_all_fp32') / size('pool2') >= 6,
      pool2_lp_6x_met: size('store_all_fp32') / size('pool2_lp') >= 6,
      vgg_pool2_dedup_60x_met: vggSize('store_all_fp32') / vggSize('pool2_dedup') >= 60,
      vgg_pool2_lp_dedup_60x_met: vggSize('store_all_fp32') / vggSize('pool2_lp_dedup') >= 60,
      rss_met: Math.max(...mine) <= BUDGET / MB + 500, // with an onnxruntime session in the process; #16's bound is bench:rss's
    },
  };
}

/**
 * Logging one checkpoint (vgg, the last) under each scheme and codec, each run against the bare forward
 * pass of the same child: ratios per run, then their median, min and max over the rounds. The floor of
 * #16's target is the bare pass plus the stored bytes at the raw write speed measured in the same child;
 * `exposed` is the forward pass with every layer an output; `pass` the one logNetwork runs for the scheme
 * (the exposed one, or for average pooling and LP_QT the one onnxruntime reduces the layers in).
 */
function timingSummary(timings: string[], runs: TimingResult[][]): Record<string, unknown> {
  const per = (f: (x: TimingResult) => number): Record<string, ReturnType<typeof mmm>> => Object.fromEntries(timings.map((t, i) => [t, mmm(runs[i]!.map(f))]));
  const floorMs = (x: TimingResult): number => x.bareMs + (x.storedBytes / MB / x.rawWriteMBs) * 1000;
  const med = (t: string, f: (x: TimingResult) => number): number => mmm(runs[timings.indexOf(t)]!.map(f), 4).median;
  const vsBare = (x: TimingResult): number => x.logMs / x.bareMs;
  const warmVsBare = (x: TimingResult): number => x.warmMs / x.bareMs;
  const warmVsFloor = (x: TimingResult): number => x.warmMs / floorMs(x);
  const all = runs.flat();
  return {
    rounds: runs[0]!.length,
    timed_checkpoint: 'vgg_e10',
    logging_vs_bare: per(vsBare),
    logging_vs_floor: per((x) => x.logMs / floorMs(x)),
    logging_vs_exposed: per((x) => x.logMs / x.exposedMs),
    log_ms: per((x) => x.logMs),
    // CPU time of all the process's threads while logging ÷ wall time: how many of the cores logging kept busy;
    // and wall time ÷ (CPU time ÷ cores), how far from a perfect spread of the same work over every core
    cores_busy: per((x) => x.cpuMs / x.logMs),
    logging_vs_cpu_floor: per((x) => x.logMs / (x.cpuMs / os.availableParallelism())),
    // the second checkpoint logged in the same process, warm as the bare and exposed passes are timed
    warm_vs_bare: per(warmVsBare),
    warm_vs_floor: per(warmVsFloor),
    warm_vs_exposed: per((x) => x.warmMs / x.exposedMs),
    // against the pass logNetwork runs for the scheme (for pooled and half-float schemes, reduced in the graph)
    warm_vs_pass: per((x) => x.warmMs / x.passMs),
    pass_ms: per((x) => x.passMs),
    warm_ms: per((x) => x.warmMs),
    warm_vs_cpu_floor: per((x) => x.warmMs / (x.warmCpuMs / os.availableParallelism())),
    bare_ms: mmm(all.map((x) => x.bareMs), 1),
    exposed_ms: mmm(all.map((x) => x.exposedMs), 1),
    raw_write_mbs: mmm(all.map((x) => x.rawWriteMBs), 0),
    stored_mb: Object.fromEntries(timings.map((t, i) => [t, round(runs[i]![0]!.storedBytes / MB)])),
    timing_rss_mb: mmm(all.map((x) => x.peakRssMb), 0),
    timing_targets: {
      // #16: ≤ 1.25 × (bare + stored ÷ raw write) for every scheme, and below the paper's × bare (store_all 13, 8BIT 20, pool2 2.9)
      log_le_1_25x_floor_every_scheme_lz4: TIMING.every((s) => med(`${s}@lz4`, (x) => x.logMs / floorMs(x)) <= 1.25),
      beats_paper_x_bare_lz4: med('none@lz4', vsBare) < 13 && med('kbit8@lz4', vsBare) < 20 && med('pool2@lz4', vsBare) < 2.9,
      store_all_13x_bare_lz4: med('none@lz4', vsBare) < 13,
      kbit8_20x_bare_lz4: med('kbit8@lz4', vsBare) < 20,
      pool2_2_9x_bare_lz4: med('pool2@lz4', vsBare) < 2.9,
      warm_log_le_1_25x_floor_every_scheme_lz4: TIMING.every((s) => med(`${s}@lz4`, warmVsFloor) <= 1.25),
      warm_store_all_13x_bare_lz4: med('none@lz4', warmVsBare) < 13,
      warm_kbit8_20x_bare_lz4: med('kbit8@lz4', warmVsBare) < 20,
      warm_pool2_2_9x_bare_lz4: med('pool2@lz4', warmVsBare) < 2.9,
      // with three onnxruntime sessions in the process (bare, exposed, logging); #16's bound is bench:rss's
      rss_met: Math.max(...all.map((x) => x.peakRssMb)) <= BUDGET / MB + 500,
    },
  };
}

await main();
