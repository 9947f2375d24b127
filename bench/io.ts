// bench:io — the tensor data path against the machine's floor (issue #16). In one run, on the same
// tensor (bench/tensor.ts: 2 000 × 16×28×28 float32, ReLU-like, 95.7 MB), with the median of 5 runs
// (min and max beside it), the runs of everything interleaved:
//   - the floor: the tensor written as one raw file with fsync, and read back cold (page cache dropped
//     where the machine lets us);
//   - each codec alone in memory on segments of the store's size: gzip (node:zlib, level 6), fflate
//     (level 6), LZ4 (lz4-napi), Arrow IPC, Parquet (parquet-wasm, snappy) — compress and decompress MB/s;
//   - mistique, per codec × scheme (fp32, lp, kbit8, pool2, written as logNetwork writes them): log
//     (batches of 128 examples, flushed and fsynced), a cold full read, a cold read of 10% of the rows
//     at random, cold one-row reads (the p50 of 9 random rows per run).
// Prints one JSON line: every figure, and the ratios — log ÷ min(raw write, codec compress),
// full read ÷ min(raw read, codec decompress), gzip against fflate — and writes bench/results/io.svg.
// Usage: npm run bench:io [-- --examples 2000 --runs 5 --codecs gzip,arrow,parquet --schemes fp32,lp,kbit8,pool2 --dir /tmp]
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as fflate from 'fflate';
import { mulberry32 } from '../datasets/random.js';
import { quantizeBatch, schemeName, type DnnScheme } from '../src/executor/onnx/dnn.js';
import { openStore, type CodecId } from '../src/index.js';
import { pool } from '../src/quantize/index.js';
import { nativeLz4 } from '../src/store/codecs/lz4native.js';
import { BLOCK_BYTES, tensorGeometry } from '../src/store/geometry.js';
import { DEFAULT_SEGMENT_BYTES } from '../src/store/manifest.js';
import { dropOsCache, syncAll } from './proc.js';
import { barChart } from './svg.js';
import { reluTensor, stat, TENSOR_PER, TENSOR_SHAPE } from './tensor.js';

const { values: args } = parseArgs({
  options: {
    examples: { type: 'string', default: '2000' }, runs: { type: 'string', default: '5' },
    codecs: { type: 'string', default: 'gzip,lz4,arrow,parquet' }, schemes: { type: 'string', default: 'fp32,lp,kbit8,pool2' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const N = Number(args.examples), RUNS = Number(args.runs);
const CODECS = args.codecs!.split(',') as CodecId[];
const SCHEMES = args.schemes!.split(',');
const MB = 1024 * 1024;
// the store's fp32 chunks of this tensor (store/geometry.ts), and its segments: as many whole chunks as
// fit the codec's segment size, at least one — the codecs alone compress pieces of the same size
const chunkOf = (c: CodecId): number => {
  const g = tensorGeometry(TENSOR_SHAPE, 'float32', 1024, BLOCK_BYTES[c]);
  return g.blockRows * g.chunkCols * 4;
};
const SEGMENT = Object.fromEntries(Object.entries(DEFAULT_SEGMENT_BYTES).map(([c, b]) => [c, chunkOf(c as CodecId) * Math.max(1, Math.floor(b / chunkOf(c as CodecId)))])) as Record<CodecId, number>;
const BATCH = 128;
/** Cold one-row reads per run, of random rows: the run's figure is their p50 (the target is a p50). */
const ONE_ROW_READS = 9;
const v = reluTensor(N);
const inMB = v.byteLength / MB;
const work = fs.mkdtempSync(path.join(args.dir!, 'mistique-bench-io-'));

syncAll();
const cold = dropOsCache();

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}
async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** The floor: one raw file, written with fsync and read back cold. */
function rawFile(): { writeMBs: number; readMBs: number } {
  const file = path.join(work, 'raw.f32');
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const [, w] = time(() => {
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  });
  dropOsCache();
  const [got, r] = time(() => fs.readFileSync(file));
  if (got.length !== bytes.length) throw new Error('raw read is short');
  fs.rmSync(file);
  return { writeMBs: inMB / (w / 1000), readMBs: inMB / (r / 1000) };
}

function pieces(size: number): Uint8Array[] {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(bytes.subarray(o, Math.min(bytes.length, o + size)));
  return out;
}

/** Each codec alone, in memory, on segments of the store's size: compress and decompress MB/s. */
async function codecsAlone(): Promise<Record<string, { compressMBs: number; decompressMBs: number }>> {
  const out: Record<string, { compressMBs: number; decompressMBs: number }> = {};
  const rate = (ms: number): number => inMB / (ms / 1000);
  const g = pieces(SEGMENT.gzip);
  const [gz, gc] = time(() => g.map((p) => zlib.gzipSync(p, { level: 6 })));
  const [, gd] = time(() => gz.map((p) => zlib.gunzipSync(p)));
  out.gzip = { compressMBs: rate(gc), decompressMBs: rate(gd) };
  const [ff, fc] = time(() => g.map((p) => fflate.gzipSync(p, { level: 6 })));
  const [, fd] = time(() => ff.map((p) => fflate.gunzipSync(p)));
  out.fflate = { compressMBs: rate(fc), decompressMBs: rate(fd) };
  const lz4 = createRequire(import.meta.url)('lz4-napi') as { compressSync(b: Buffer): Buffer; uncompressSync(b: Buffer): Buffer };
  const l = pieces(SEGMENT.lz4).map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  const [lz, lc] = time(() => l.map((p) => lz4.compressSync(p)));
  const [, ld] = time(() => lz.map((p) => lz4.uncompressSync(p)));
  // the store's lz4 codec runs liblz4 where the native addon was built: then that is its codec alone, and
  // lz4-napi's figures stand beside it
  const napi = { compressMBs: rate(lc), decompressMBs: rate(ld) };
  if (nativeLz4) {
    const lib = nativeLz4;
    const [nz, nc] = time(() => l.map((p) => lib.compress(p)));
    const [, nd] = time(() => nz.map((p, i) => lib.decompress(p, new Uint8Array(l[i]!.byteLength))));
    out.lz4 = { compressMBs: rate(nc), decompressMBs: rate(nd) };
    out['lz4-napi'] = napi;
  } else out.lz4 = napi;
  const f32 = (p: Uint8Array): Float32Array => new Float32Array(p.buffer, p.byteOffset, p.byteLength / 4);
  const a = pieces(SEGMENT.arrow);
  const [ipc, ac] = time(() => a.map((p) => tableToIPC(tableFromArrays({ v: f32(p) }))));
  const [, ad] = time(() => ipc.map((b) => (tableFromIPC(b).getChild('v')!.toArray() as Float32Array).length));
  out.arrow = { compressMBs: rate(ac), decompressMBs: rate(ad) };
  const pq = await import('parquet-wasm');
  const props = (): ReturnType<InstanceType<typeof pq.WriterPropertiesBuilder>['build']> => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.SNAPPY).setDictionaryEnabled(false).build();
  const q = pieces(SEGMENT.parquet);
  const [pqs, pc] = time(() => q.map((p) => pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(tableFromArrays({ v: f32(p) }), 'stream')), props())));
  const [, pd] = time(() => pqs.map((b) => tableFromIPC(pq.readParquet(b).intoIPCStream()).numRows));
  out.parquet = { compressMBs: rate(pc), decompressMBs: rate(pd) };
  return out;
}

function schemeOf(name: string): { scheme: DnnScheme; pooled: boolean } {
  if (name === 'fp32') return { scheme: {}, pooled: false };
  if (name === 'lp') return { scheme: { quantize: 'lp' }, pooled: false };
  if (name === 'kbit8') return { scheme: { quantize: { kbit: 8 } }, pooled: false };
  if (name === 'pool2') return { scheme: { pool: { sigma: 2 } }, pooled: true };
  throw new Error(`unknown scheme ${name}`);
}

interface StoreRun { logMBs: number; readMBs: number; rows10Ms: number; oneRowMs: number; storedMB: number }

/** mistique on one codec and scheme: log as logNetwork does, then cold reads by a fresh Store. */
async function storeRun(codec: CodecId, schemeKey: string, rep: number): Promise<StoreRun> {
  const dir = path.join(work, `${codec}-${schemeKey}-${rep}`);
  const { scheme, pooled } = schemeOf(schemeKey);
  const s = await openStore(dir, { codec, policy: 'store_all' });
  const state: { threshold?: number } = {};
  const [, logMs] = await timeAsync(async () => {
    let w: ReturnType<typeof s.writer> | null = null;
    for (let i = 0; i < N; i += BATCH) {
      const e = Math.min(N, i + BATCH);
      let values = v.subarray(i * TENSOR_PER, e * TENSOR_PER);
      let shape = TENSOR_SHAPE;
      if (pooled) ({ values, shape } = pool(values, shape, 2, 'avg'));
      const enc = quantizeBatch(values, shape, Int32Array.from({ length: e - i }, (_, k) => i + k), scheme.quantize, state);
      w ??= s.writer('b.m.t', { scheme: schemeName(scheme), approximate: false, logicalType: scheme.quantize ? 'float32' : undefined, kbit: enc.kbit });
      await w.append(enc.frame);
    }
    await w!.close();
    await s.flush();
  });
  // one untimed read calibrates the read model, so that the timed reads below time reading alone
  await s.getIntermediates('b.m.t.*', { rows: [0], path: 'read' });
  const storedMB = s.stats().bytesOnDisk / MB;
  await s.close();
  syncAll();
  const r = await openStore(dir);
  dropOsCache();
  const [m, readMs] = await timeAsync(() => r.getIntermediates('b.m.t.*', { path: 'read' }));
  const outMB = m.nrows * m.ncols * 4 / MB;
  const rnd = mulberry32(rep + 1);
  const ids = Int32Array.from({ length: Math.round(N / 10) }, () => Math.floor(rnd() * N)).sort();
  const few = [...new Set(ids)];
  r.dropCaches();
  dropOsCache();
  const [, rows10Ms] = await timeAsync(() => r.getIntermediates('b.m.t.*', { rows: few, path: 'read' }));
  // one-row reads: the p50 of ONE_ROW_READS, each of another random row, each cold
  const one: number[] = [];
  for (let k = 0; k < ONE_ROW_READS; k++) {
    r.dropCaches();
    dropOsCache();
    one.push((await timeAsync(() => r.getIntermediates('b.m.t.*', { rows: [Math.floor(rnd() * N)], path: 'read' })))[1]);
  }
  const oneRowMs = one.sort((a, b) => a - b)[ONE_ROW_READS >> 1]!;
  await r.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { logMBs: inMB / (logMs / 1000), readMBs: outMB / (readMs / 1000), rows10Ms, oneRowMs, storedMB };
}

const raw: { writeMBs: number; readMBs: number }[] = [];
const alone: Record<string, { compressMBs: number; decompressMBs: number }>[] = [];
const runs = new Map<string, StoreRun[]>();
try {
  for (let rep = 0; rep < RUNS; rep++) {
    raw.push(rawFile());
    alone.push(await codecsAlone());
    for (const codec of CODECS) {
      for (const sc of SCHEMES) {
        const k = `${codec}|${sc}`;
        const r = await storeRun(codec, sc, rep);
        runs.set(k, [...(runs.get(k) ?? []), r]);
        process.stderr.write(`rep ${rep + 1}/${RUNS} ${k}: log ${r.logMBs.toFixed(1)} MB/s, read ${r.readMBs.toFixed(1)} MB/s, 10% ${r.rows10Ms.toFixed(0)} ms, 1 row ${r.oneRowMs.toFixed(2)} ms\n`);
      }
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const refs = {
  raw: { write: stat(raw.map((r) => r.writeMBs)), read: stat(raw.map((r) => r.readMBs)) },
  codec: Object.fromEntries(Object.keys(alone[0]!).map((c) => [c, {
    compress: stat(alone.map((a) => a[c]!.compressMBs)), decompress: stat(alone.map((a) => a[c]!.decompressMBs)),
  }])) as Record<string, { compress: ReturnType<typeof stat>; decompress: ReturnType<typeof stat> }>,
};
const store: Record<string, unknown> = {};
const ratios: Record<string, { log: number; read: number; log_vs_fflate?: number; read_vs_fflate?: number }> = {};
for (const [k, rs] of runs) {
  const codec = k.split('|')[0]!;
  const log = stat(rs.map((r) => r.logMBs)), read = stat(rs.map((r) => r.readMBs));
  store[k] = { log_MBs: log, read_MBs: read, rows10_ms: stat(rs.map((r) => r.rows10Ms)), one_row_ms: stat(rs.map((r) => r.oneRowMs), 2), stored_MB: stat(rs.map((r) => r.storedMB)) };
  const c = refs.codec[codec]!;
  ratios[k] = {
    log: +(log.median / Math.min(refs.raw.write.median, c.compress.median)).toFixed(3),
    read: +(read.median / Math.min(refs.raw.read.median, c.decompress.median)).toFixed(3),
  };
  if (codec === 'gzip') {
    ratios[k]!.log_vs_fflate = +(log.median / refs.codec.fflate!.compress.median).toFixed(3);
    ratios[k]!.read_vs_fflate = +(read.median / refs.codec.fflate!.decompress.median).toFixed(3);
  }
}
const fp32 = CODECS.map((c) => ratios[`${c}|fp32`]).filter((r) => r);
const targets = {
  fp32_log_ge_60pct: fp32.every((r) => r!.log >= 0.6),
  fp32_read_ge_60pct: fp32.every((r) => r!.read >= 0.6),
  gzip_ge_70pct_of_fflate: ratios['gzip|fp32'] ? ratios['gzip|fp32'].log_vs_fflate! >= 0.7 && ratios['gzip|fp32'].read_vs_fflate! >= 0.7 : null,
  one_row_le_3ms: [...runs.keys()].every((k) => (store[k] as { one_row_ms: { median: number } }).one_row_ms.median <= 3),
};
process.stdout.write(JSON.stringify({ examples: N, mb: +inMB.toFixed(1), runs: RUNS, cold, refs, store, ratios, targets }) + '\n');

const groups = ['raw file', ...Object.keys(refs.codec).map((c) => `${c} alone`), ...[...runs.keys()].map((k) => k.replace('|', ' '))];
const out = path.join(import.meta.dirname, '..', '..', 'bench', 'results', 'io.svg');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, barChart({
  title: `bench:io — ${inMB.toFixed(0)} MB float32 tensor, median of ${RUNS}${cold ? ', cold reads' : ''}`,
  yLabel: 'MB/s (float32 in or out)', groups,
  bars: [
    { name: 'write', parts: [{ name: '/ compress / log', color: '#4477aa', values: [refs.raw.write.median, ...Object.values(refs.codec).map((c) => c.compress.median), ...[...runs.keys()].map((k) => (store[k] as { log_MBs: { median: number } }).log_MBs.median)] }] },
    { name: 'read', parts: [{ name: '/ decompress / full read', color: '#ee6677', values: [refs.raw.read.median, ...Object.values(refs.codec).map((c) => c.decompress.median), ...[...runs.keys()].map((k) => (store[k] as { read_MBs: { median: number } }).read_MBs.median)] }] },
  ],
}).replace('★ the cost model\'s choice', ''));
