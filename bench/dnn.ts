// bench:dnn — the DNN workload (paper Fig. 5-8b and §5.8.6): the 10 checkpoints of `cnn` and `vgg`
// (datasets/train.py) run over N Fashion-MNIST test images and logged layer by layer under each storage
// scheme; the peer baseline saves one zstd Parquet file per layer and checkpoint. Then the logging time
// of one checkpoint under each scheme against the bare onnxruntime run of the unmodified model, without
// compression (Arrow IPC store) as the paper measures it, and with gzip. Each configuration runs in its
// own child process (its peak RSS is its own).
// Usage: npm run bench:dnn [-- --examples 1000 --models datasets/models --budget-mb 256]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { makeVector, Table as ArrowTable, tableToIPC } from 'apache-arrow';
import { loadFashionMnist } from '../datasets/fashion-mnist/load.js';
import { parseScheme } from '../src/cli/commands.js';
import { progress } from '../src/cli/progress.js';
import { exposeLayers, parseGraph } from '../src/executor/onnx/graph.js';
import { openStore, type CodecId } from '../src/index.js';
import { packageRoot } from '../src/paths.js';

const MB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    examples: { type: 'string', default: '1000' }, models: { type: 'string' }, 'budget-mb': { type: 'string', default: '256' },
    out: { type: 'string', default: 'bench/out' }, child: { type: 'string' }, batch: { type: 'string', default: '128' },
    'row-block': { type: 'string', default: '256' },
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

function images(): Float32Array {
  const set = loadFashionMnist('t10k');
  const x = new Float32Array(N * 784);
  for (let i = 0; i < x.length; i++) x[i] = set.images[i]! / 255;
  return x;
}

function checkpoints(model: string): string[] {
  const files = fs.readdirSync(MODELS).filter((f) => f.startsWith(`${model}_e`) && f.endsWith('.onnx')).sort();
  if (files.length === 0) throw new Error(`no ${model}_eNN.onnx checkpoints in ${MODELS}: run npm run datasets:dnn first`);
  return files.map((f) => path.join(MODELS, f));
}

interface ChildResult { name: string; bytesRaw: number; bytesUnique: number; bytesOnDisk: number; ms: number; peakRssMb: number; perModel: Record<string, { raw: number; unique: number; disk: number }> }

async function storageChild(name: string): Promise<ChildResult> {
  const x = images();
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
  return { name, bytesRaw, bytesUnique, bytesOnDisk, ms: performance.now() - t0, perModel, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

interface TimingResult { scheme: string; codec: string; bareMs: number; logMs: number; storedBytes: number; rawWriteMBs: number; peakRssMb: number }

/** The disk's floor in this run: 64 MB written and fsynced as one file, MB/s. */
function rawWriteMBs(dir: string): number {
  const file = path.join(dir, 'raw-write.bin');
  const bytes = Buffer.alloc(64 * MB, 7);
  const t = performance.now();
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, bytes);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const ms = performance.now() - t;
  fs.rmSync(file);
  return 64 / (ms / 1000);
}

async function timingChild(spec: string): Promise<TimingResult> {
  const [scheme, codec] = spec.split('@') as [string, CodecId];
  const x = images();
  const cp = checkpoints('vgg').at(-1)!;
  // the bare run: the unmodified model, same batches, outputs discarded
  const bare = await ort.InferenceSession.create(cp);
  const input = bare.inputNames[0]!;
  const bareRun = async (): Promise<number> => {
    const t = performance.now();
    for (let b = 0; b < N; b += BATCH) { const e = Math.min(N, b + BATCH); await bare.run({ [input]: new ort.Tensor('float32', x.subarray(b * 784, e * 784), [e - b, 1, 28, 28]) }); }
    return performance.now() - t;
  };
  await bareRun();
  const bareMs = Math.min(await bareRun(), await bareRun());
  await bare.release();
  const dir = path.join(OUT, `dnn-time-${scheme.replace(/\W/g, '_')}-${codec}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const store = await openStore(dir, { codec, policy: 'store_all', bufferpoolBytes: BUDGET, rowBlockSize: ROW_BLOCK });
  const t0 = performance.now();
  await store.logNetwork('fmnist.t', cp, { x, shape: [1, 28, 28] }, { scheme: parseScheme(scheme), batchSize: BATCH });
  const logMs = performance.now() - t0;
  const storedBytes = store.stats().bytesOnDisk;
  await store.close();
  const raw = rawWriteMBs(OUT);
  fs.rmSync(dir, { recursive: true, force: true });
  return { scheme, codec, bareMs, logMs, storedBytes, rawWriteMBs: raw, peakRssMb: process.resourceUsage().maxRSS / 1024 };
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
    process.stdout.write(JSON.stringify(kind === 'storage' ? await storageChild(name) : await timingChild(name)) + '\n');
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  const configs = [...Object.keys(STORAGE), 'parquet'];
  const timings = [...TIMING.map((s) => `${s}@arrow`), ...TIMING.map((s) => `${s}@lz4`), ...TIMING.map((s) => `${s}@gzip`)];
  const bar = progress('bench:dnn', configs.length + timings.length);
  const storage: Record<string, ChildResult> = {};
  for (const c of configs) { storage[c] = child('storage', c) as ChildResult; bar.tick(); }
  const time: TimingResult[] = [];
  for (const t of timings) { time.push(child('timing', t) as TimingResult); bar.tick(); }
  bar.stop();
  const base = storage.store_all_fp32!;
  const size = (c: string): number => (c === 'parquet' ? storage[c]!.bytesOnDisk : storage[c]!.bytesUnique);
  const vggSize = (c: string): number => storage[c]!.perModel.vgg!.unique;
  const plot = path.join(OUT, 'dnn-storage.svg');
  fs.writeFileSync(plot, barChart(`DNN: 10 checkpoints × 2 models × ${N} images, bytes stored (uncompressed, after dedup)`, configs, configs.map((c) => (c === 'parquet' ? storage[c]!.bytesOnDisk : size(c)))));
  const t = (s: string, codec: string): TimingResult => time.find((x) => x.scheme === s && x.codec === codec)!;
  const json = {
    bench: 'dnn', node: process.version, examples: N, checkpoints: 20, budget_mb: BUDGET / MB, row_block: ROW_BLOCK, batch: BATCH,
    storage_mb: Object.fromEntries(configs.map((c) => [c, { stored_raw: round(size(c) / MB), on_disk_gzip: round(storage[c]!.bytesOnDisk / MB), logged: round(storage[c]!.bytesRaw / MB) }])),
    smaller_than_store_all: Object.fromEntries(configs.filter((c) => c !== 'store_all_fp32').map((c) => [c, round(size('store_all_fp32') / size(c), 2)])),
    vgg_pool2_dedup_vs_store_all: round(vggSize('store_all_fp32') / vggSize('pool2_dedup'), 1),
    vgg_pool2_lp_dedup_vs_store_all: round(vggSize('store_all_fp32') / vggSize('pool2_lp_dedup'), 1),
    per_model_unique_mb: Object.fromEntries(configs.filter((c) => c !== 'parquet').map((c) => [c, { cnn: round(storage[c]!.perModel.cnn!.unique / MB), vgg: round(storage[c]!.perModel.vgg!.unique / MB) }])),
    logging_vs_bare: Object.fromEntries(time.map((x) => [`${x.scheme}@${x.codec}`, round(x.logMs / x.bareMs, 2)])),
    // #16's target: logging ≤ 1.25 × (bare run + bytes stored ÷ raw write speed), both measured in the same child
    logging_vs_floor: Object.fromEntries(time.map((x) => [`${x.scheme}@${x.codec}`, round(x.logMs / (x.bareMs + (x.storedBytes / MB / x.rawWriteMBs) * 1000), 2)])),
    raw_write_mbs: Object.fromEntries(time.map((x) => [`${x.scheme}@${x.codec}`, round(x.rawWriteMBs)])),
    bare_ms: round(t('none', 'arrow').bareMs),
    mistique_peak_rss_mb: round(Math.max(...Object.values(storage).filter((s) => s.name !== 'parquet').map((s) => s.peakRssMb), ...time.map((x) => x.peakRssMb))),
    rss_mb: Object.fromEntries([...Object.values(storage).map((s) => [s.name, round(s.peakRssMb)]), ...time.map((x) => [`${x.scheme}@${x.codec}`, round(x.peakRssMb)])]),
    peak_rss_mb: round(Math.max(...Object.values(storage).map((s) => s.peakRssMb), ...time.map((x) => x.peakRssMb))),
    plot,
    targets: {
      lp_1_9x_met: size('store_all_fp32') / size('lp_qt') >= 1.9,
      kbit8_3_3x_met: size('store_all_fp32') / size('kbit8_qt') >= 3.3,
      pool2_6x_met: size('store_all_fp32') / size('pool2') >= 6,
      pool2_lp_6x_met: size('store_all_fp32') / size('pool2_lp') >= 6,
      vgg_pool2_dedup_60x_met: vggSize('store_all_fp32') / vggSize('pool2_dedup') >= 60,
      vgg_pool2_lp_dedup_60x_met: vggSize('store_all_fp32') / vggSize('pool2_lp_dedup') >= 60,
      pool2_log_2x_met: t('pool2', 'arrow').logMs / t('pool2', 'arrow').bareMs <= 2,
      kbit8_log_4x_met: t('kbit8', 'arrow').logMs / t('kbit8', 'arrow').bareMs <= 4,
      store_all_log_5x_met: t('none', 'arrow').logMs / t('none', 'arrow').bareMs <= 5,
      // #16: ≤ 1.25 × (bare + stored ÷ raw write) for every scheme, and below the paper's × bare (store_all 13, 8BIT 20, pool2 2.9)
      log_le_1_25x_floor_every_scheme_lz4: TIMING.every((s) => t(s, 'lz4').logMs / (t(s, 'lz4').bareMs + (t(s, 'lz4').storedBytes / MB / t(s, 'lz4').rawWriteMBs) * 1000) <= 1.25),
      beats_paper_x_bare_lz4: t('none', 'lz4').logMs / t('none', 'lz4').bareMs < 13 && t('kbit8', 'lz4').logMs / t('kbit8', 'lz4').bareMs < 20 && t('pool2', 'lz4').logMs / t('pool2', 'lz4').bareMs < 2.9,
      // mistique's own runs; the Parquet baseline's memory is its own business (reported in rss_mb)
      rss_met: Math.max(...Object.values(storage).filter((s) => s.name !== 'parquet').map((s) => s.peakRssMb), ...time.map((x) => x.peakRssMb)) <= BUDGET / MB + 500,
    },
  };
  void base;
  process.stdout.write(JSON.stringify(json) + '\n');
}

await main();
