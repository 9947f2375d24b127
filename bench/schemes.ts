// bench:schemes — issue #16 item 4: each storage scheme's encode and decode speed per core, on the I/O
// benchmarks' ReLU-like tensor (bench/tensor.ts, 16×28×28 per example), one thread, as logging cuts it:
//   lp         LP_QT: float32 → float16 bits per batch of 128 examples, and back;
//   kbit8      KBIT_QT(8): per RowBlock chunk (the store's tensor geometry) a codebook from a sample, then
//              the codes; back through the codebook;
//   threshold  THRESHOLD_QT(99.5): the percentile of a sample of the first batch, then bits per batch; back to 0/1;
//   pool2      POOL_QT(σ = 2, average) per batch (its values are stored as float32: nothing to decode).
// MB/s of float32 in (encode) or out (decode). Each run draws a new tensor (seeds 1…runs) and runs every
// scheme once, the schemes in turn; median of the runs with min and max. Target: every encode ≥ 300 MB/s
// per core, every decode at least as fast as its encode. Prints one JSON line; writes bench/results/schemes.json.
// Usage: npm run bench:schemes [-- --examples 1000 --runs 5]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fromFloat16, kbitBlock, kbitBlockDecode, percentile, pool, sampleValues, thresholdDecode, thresholdEncode, toFloat16 } from '../src/quantize/index.js';
import { BLOCK_BYTES, tensorGeometry } from '../src/store/geometry.js';
import { reluTensor, stat, TENSOR_PER, TENSOR_SHAPE } from './tensor.js';

const { values: args } = parseArgs({ options: { examples: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } } });
const N = Number(args.examples), RUNS = Number(args.runs);
const BATCH = 128;
const MB = (N * TENSOR_PER * 4) / 1e6;

interface Scheme { name: string; run(x: Float32Array): { encodeMs: number; decodeMs: number | null; check: number } }

function batches(x: Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let s = 0; s < N; s += BATCH) out.push(x.subarray(s * TENSOR_PER, Math.min(N, s + BATCH) * TENSOR_PER));
  return out;
}

// a RowBlock's chunks of the kbit layout: blockRows rows × chunkCols values, row-major (as the writer cuts them in an LZ4 store, the default)
const geo = tensorGeometry(TENSOR_SHAPE, 'kbit', 1024, BLOCK_BYTES.lz4);
function kbitChunks(x: Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let r0 = 0; r0 < N; r0 += geo.blockRows) {
    const rows = Math.min(geo.blockRows, N - r0);
    for (let c0 = 0; c0 < TENSOR_PER; c0 += geo.chunkCols) {
      const w = Math.min(geo.chunkCols, TENSOR_PER - c0);
      const chunk = new Float32Array(rows * w);
      for (let r = 0; r < rows; r++) chunk.set(x.subarray((r0 + r) * TENSOR_PER + c0, (r0 + r) * TENSOR_PER + c0 + w), r * w);
      out.push(chunk);
    }
  }
  return out;
}

const schemes: Scheme[] = [
  {
    name: 'lp', run(x) {
      const bs = batches(x);
      let t = performance.now();
      const enc = bs.map((b) => toFloat16(b));
      const encodeMs = performance.now() - t;
      t = performance.now();
      let check = 0;
      for (const e of enc) check += fromFloat16(e)[7] ?? 0;
      return { encodeMs, decodeMs: performance.now() - t, check };
    },
  },
  {
    name: 'kbit8', run(x) {
      // the chunks are cut first (the writer's copy, not the scheme's work)
      const chunks = kbitChunks(x);
      let t = performance.now();
      const enc = chunks.map((c) => kbitBlock(c, 8));
      const encodeMs = performance.now() - t;
      t = performance.now();
      let check = 0;
      for (const e of enc) check += kbitBlockDecode(e.codes, e.book)[7] ?? 0;
      return { encodeMs, decodeMs: performance.now() - t, check };
    },
  },
  {
    name: 'threshold99.5', run(x) {
      const bs = batches(x);
      let t = performance.now();
      const th = percentile(sampleValues(bs[0]!), 99.5);
      const enc = bs.map((b) => thresholdEncode(b, th));
      const encodeMs = performance.now() - t;
      t = performance.now();
      let check = 0;
      enc.forEach((e, i) => { check += thresholdDecode(e, bs[i]!.length)[7] ?? 0; });
      return { encodeMs, decodeMs: performance.now() - t, check };
    },
  },
  {
    name: 'pool2', run(x) {
      const bs = batches(x);
      const t = performance.now();
      let check = 0;
      for (const b of bs) check += pool(b, TENSOR_SHAPE, 2).values[7] ?? 0;
      return { encodeMs: performance.now() - t, decodeMs: null, check };
    },
  },
];

const enc = new Map<string, number[]>(schemes.map((s) => [s.name, []]));
const dec = new Map<string, number[]>(schemes.map((s) => [s.name, []]));
let sink = 0;
// one warm-up pass (JIT), not counted
for (const s of schemes) sink += s.run(reluTensor(Math.min(N, 256), 0).subarray(0, Math.min(N, 256) * TENSOR_PER)).check;
for (let r = 0; r < RUNS; r++) {
  const x = reluTensor(N, r + 1);
  // the schemes' order turns each run, so that none always runs right after the tensor is drawn
  for (let k = 0; k < schemes.length; k++) {
    const s = schemes[(k + r) % schemes.length]!;
    const m = s.run(x);
    sink += m.check;
    enc.get(s.name)!.push(MB / (m.encodeMs / 1000));
    if (m.decodeMs !== null) dec.get(s.name)!.push(MB / (m.decodeMs / 1000));
  }
  process.stderr.write(`run ${r + 1}/${RUNS}: ${schemes.map((s) => `${s.name} ${enc.get(s.name)!.at(-1)!.toFixed(0)}${dec.get(s.name)!.length ? `/${dec.get(s.name)!.at(-1)!.toFixed(0)}` : ''}`).join(', ')} MB/s (encode/decode)\n`);
}
const result = Object.fromEntries(schemes.map((s) => {
  const e = stat(enc.get(s.name)!), d = dec.get(s.name)!.length ? stat(dec.get(s.name)!) : null;
  return [s.name, { encodeMBs: e, decodeMBs: d, encode_ge_300: e.median >= 300, decode_ge_encode: d === null ? null : d.median >= e.median }];
}));
const json = {
  bench: 'schemes', node: process.version, examples: N, mb: Number(MB.toFixed(1)), runs: RUNS, seeds: Array.from({ length: RUNS }, (_, i) => i + 1), batch: BATCH,
  kbitChunk: { rows: geo.blockRows, values: geo.chunkCols }, schemes: result,
  targets: { encode_ge_300_every_scheme: Object.values(result).every((r) => r.encode_ge_300), decode_ge_encode_every_scheme: Object.values(result).every((r) => r.decode_ge_encode !== false) },
  // keeps the decoded values alive, so that no step is optimized away
  checksum: Number(sink.toFixed(3)),
};
fs.mkdirSync(path.resolve('bench/results'), { recursive: true });
fs.writeFileSync(path.resolve('bench/results/schemes.json'), JSON.stringify(json) + '\n');
console.log(JSON.stringify(json));
