// bench:dnn --only zoo (#19 item 4) — the model zoo of datasets/train.py --zoo: torchvision's ResNet-18 and
// MobileNetV2 over Fashion-MNIST test images, and a 4-layer Transformer encoder text classifier over synthetic
// token ids with an attention mask. Per model and scheme, in its own child process and interleaved round by
// round: the bare forward pass of the unmodified model, the forward pass with every layer exposed, logging
// (LZ4 store), the bytes stored, raw write+fsync speed (the floor of #16: bare + stored ÷ raw write), a read of
// the last layer for all examples against re-running it, and how far the logged last layer is from the
// unmodified model's output (exposing layers changes which kernels onnxruntime fuses).
import fs from 'node:fs';
import path from 'node:path';
import * as ort from '../src/executor/onnx/ort.js';
import { testImages } from './fmnist.js';
import { parseScheme } from '../src/quantize/scheme.js';
import { exposeLayers, parseGraph } from '../src/executor/onnx/graph.js';
import { SESSION_OPTIONS, type DnnInput } from '../src/executor/onnx/dnn.js';
import { openStore } from '../src/index.js';
import { peakRss } from './proc.js';

const MB = 1024 * 1024;
export const ZOO: Record<string, { file: string; schemes: string[]; text?: boolean }> = {
  resnet18: { file: 'resnet18.onnx', schemes: ['none', 'lp', 'kbit8', 'pool2+lp'] },
  mobilenet_v2: { file: 'mobilenet_v2.onnx', schemes: ['none', 'lp', 'kbit8', 'pool2+lp'] },
  // a transformer's activations are [tokens, features]: pooling them mixes tokens, so no pool scheme
  text_transformer: { file: 'text_transformer.onnx', schemes: ['none', 'lp', 'kbit8'], text: true },
};
const SEQ = 64, VOCAB = 1000;

export interface ZooResult {
  model: string; scheme: string; examples: number; layers: number; bareMs: number; exposedMs: number; logMs: number; storedBytes: number; rawBytes: number;
  rawWriteMBs: number; readLastMs: number; rerunLastMs: number; readWidestMs: number; rerunWidestMs: number; widest: string; lastRelErr: number; peakRssMb: number;
}

/** The inputs of `model` for n examples: images, or token ids with sentences of 8…64 tokens and their mask. */
function inputsOf(model: string, n: number): { feeds: (s: number, e: number) => Record<string, ort.Tensor>; input: DnnInput } {
  if (ZOO[model]!.text) {
    const ids = new BigInt64Array(n * SEQ), mask = new BigInt64Array(n * SEQ);
    for (let i = 0; i < n; i++) {
      const len = 8 + ((i * 37) % (SEQ - 7));
      for (let t = 0; t < len; t++) { ids[i * SEQ + t] = BigInt(1 + ((i * 131 + t * 17) % (VOCAB - 1))); mask[i * SEQ + t] = 1n; }
    }
    return {
      feeds: (s, e) => ({ input_ids: new ort.Tensor('int64', ids.subarray(s * SEQ, e * SEQ), [e - s, SEQ]), attention_mask: new ort.Tensor('int64', mask.subarray(s * SEQ, e * SEQ), [e - s, SEQ]) }),
      input: { inputs: { input_ids: { data: ids, shape: [SEQ] }, attention_mask: { data: mask, shape: [SEQ] } } },
    };
  }
  const x = testImages(n);
  return { feeds: (s, e) => ({ image: new ort.Tensor('float32', x.subarray(s * 784, e * 784), [e - s, 1, 28, 28]) }), input: { x, shape: [1, 28, 28] } };
}

/** Write + fsync speed of 64 MB in `dir` (MB/s): the floor's disk term. */
export function rawWriteMBs(dir: string): number {
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

/** One child's run: model and scheme as `model@scheme`. */
export async function zooChild(spec: string, opts: { models: string; out: string; examples: number; batch: number; budget: number; rowBlock: number }): Promise<ZooResult> {
  const [model, scheme] = spec.split('@') as [string, string];
  const file = path.join(opts.models, ZOO[model]!.file);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run datasets:dnn -- --zoo first`);
  const n = opts.examples, B = opts.batch;
  const { feeds, input } = inputsOf(model, n);
  /** Best of 2 runs (after a warm-up) over the examples in batches; the last run's `logits` kept. */
  let logits: Float32Array | null = null;
  const forwardMs = async (bytes: string | Uint8Array, sessionOpts: ort.InferenceSession.SessionOptions = {}): Promise<number> => {
    const session = await ort.InferenceSession.create(bytes as string, sessionOpts);
    const out = session.outputNames[0]!;
    const run = async (): Promise<number> => {
      const t = performance.now();
      const keep: Float32Array[] = [];
      for (let s = 0; s < n; s += B) keep.push((await session.run(feeds(s, Math.min(n, s + B))))[out]!.data as Float32Array);
      const ms = performance.now() - t;
      logits = Float32Array.from(keep.flatMap((k) => Array.from(k)));
      return ms;
    };
    await run();
    const ms = Math.min(await run(), await run());
    await session.release();
    return ms;
  };
  const exposedMs = await forwardMs(exposeLayers(parseGraph(fs.readFileSync(file), 'layers')), SESSION_OPTIONS); // as logNetwork runs it
  const bareMs = await forwardMs(file); // last: `logits` is the unmodified model's output
  const ref = logits! as Float32Array;
  const dir = path.join(opts.out, `zoo-${model}-${scheme.replace(/\W/g, '_')}`);
  fs.rmSync(dir, { recursive: true, force: true });
  let store = await openStore(dir, { codec: 'lz4', policy: 'store_all', bufferpoolBytes: opts.budget, rowBlockSize: opts.rowBlock });
  const t0 = performance.now();
  const run = await store.logNetwork('zoo.m', file, input, { scheme: parseScheme(scheme), batchSize: B });
  const logMs = performance.now() - t0;
  const stats = store.stats();
  await store.close();
  // reads and re-runs on a reopened store (its bufferpool empty), the widest layer and the last
  store = await openStore(dir);
  const last = run.layers.at(-1)!.name;
  const size = (l: { shape: number[] }): number => l.shape.reduce((a, b) => a * b, 1);
  const widest = run.layers.reduce((a, l) => (size(l) > size(a) ? l : a)).name;
  const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => { const t = performance.now(); const r = await f(); return [performance.now() - t, r]; };
  // the store's first query opens its SQLite pages and starts the decode workers: not part of either path
  await store.getIntermediates(`zoo.m.${run.layers[0]!.name}.*`, { rows: [0], path: 'read' });
  const [readLastMs, read] = await timed(() => store.getIntermediates(`zoo.m.${last}.*`, { path: 'read' }));
  const [rerunLastMs] = await timed(() => store.rerunLayer('zoo.m', last));
  const [readWidestMs] = await timed(() => store.getIntermediates(`zoo.m.${widest}.*`, { path: 'read' }));
  const [rerunWidestMs] = await timed(() => store.rerunLayer('zoo.m', widest));
  let lastRelErr = 0;
  for (let i = 0; i < ref.length; i++) lastRelErr = Math.max(lastRelErr, Math.abs(read.values[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
  await store.close();
  const raw = rawWriteMBs(opts.out);
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    model, scheme, examples: n, layers: run.layers.length, bareMs, exposedMs, logMs, storedBytes: stats.bytesOnDisk, rawBytes: run.layers.reduce((a, l) => a + size(l) * 4 * n, 0),
    rawWriteMBs: raw, readLastMs, rerunLastMs, readWidestMs, rerunWidestMs, widest, lastRelErr, peakRssMb: peakRss() / 2 ** 20,
  };
}

/** Child specs, `model@scheme`, of the zoo. */
export function zooSpecs(): string[] {
  return Object.entries(ZOO).flatMap(([m, z]) => z.schemes.map((s) => `${m}@${s}`));
}

/** Per model and scheme: medians (min–max) over the rounds of each figure, and the targets. */
export function zooSummary(specs: string[], runs: ZooResult[][], mmm: (xs: number[], d?: number) => { median: number; min: number; max: number }): Record<string, unknown> {
  const models: Record<string, Record<string, unknown>> = {};
  specs.forEach((_, i) => {
    const rs = runs[i]!;
    const r0 = rs[0]!;
    const fp32 = runs[specs.indexOf(`${r0.model}@none`)]![0]!;
    const m = (models[r0.model] ??= { layers: r0.layers, examples: r0.examples, widest: r0.widest, raw_mb: Number((r0.rawBytes / MB).toFixed(1)) });
    m[r0.scheme] = {
      stored_mb: Number((r0.storedBytes / MB).toFixed(2)),
      smaller_than_fp32: Number((fp32.storedBytes / r0.storedBytes).toFixed(2)),
      logging_vs_bare: mmm(rs.map((x) => x.logMs / x.bareMs)),
      logging_vs_exposed: mmm(rs.map((x) => x.logMs / x.exposedMs)),
      logging_vs_floor: mmm(rs.map((x) => x.logMs / (x.bareMs + (x.storedBytes / MB / x.rawWriteMBs) * 1000))),
      read_last_ms: mmm(rs.map((x) => x.readLastMs), 1), rerun_last_ms: mmm(rs.map((x) => x.rerunLastMs), 1),
      rerun_over_read_last: mmm(rs.map((x) => x.rerunLastMs / x.readLastMs), 1),
      read_widest_ms: mmm(rs.map((x) => x.readWidestMs), 1), rerun_widest_ms: mmm(rs.map((x) => x.rerunWidestMs), 1),
      ...(r0.scheme === 'none' ? { last_rel_err_vs_unmodified: Math.max(...rs.map((x) => x.lastRelErr)) } : {}),
      bare_ms: mmm(rs.map((x) => x.bareMs), 1), exposed_ms: mmm(rs.map((x) => x.exposedMs), 1), peak_rss_mb: Math.round(Math.max(...rs.map((x) => x.peakRssMb))),
    };
  });
  const t = models.text_transformer?.none as { rerun_over_read_last: { median: number } } | undefined;
  return { zoo: models, targets: { transformer_read_last_50x_faster_than_rerun: t ? t.rerun_over_read_last.median >= 50 : null } };
}
