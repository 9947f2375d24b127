// bench:export — #17's export target: a 100 MB tensor layer (bench/tensor.ts: 2 000 × 16×28×28 ReLU-like
// float32, logged with the store's default codec) exported to Parquet, against DuckDB's own
// `COPY … TO 'x.parquet'` of the same values held in a DuckDB table (both snappy, DuckDB's default), and
// against parquet-wasm writing the same values from memory in one call (the encoder alone: the floor of
// what export can reach without a faster Parquet writer). Each round uses its own seed (its own store);
// the three are interleaved within a round. The export runs in a child process that reports its peak RSS
// (VmHWM, the whole process) beside the bufferpool budget; .npy and Arrow exports are timed there too.
// Usage: npm run bench:export [-- --runs 5 --examples 2000]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { DataFrame, openStore } from '../src/index.js';
import { exportBatch, exportSchema } from '../src/export/writers.js';
import { Matrix } from '../src/model/matrix.js';
import { Table, tableToIPC } from 'apache-arrow';
import { reluTensor, stat, TENSOR_PER, TENSOR_SHAPE } from './tensor.js';
import { peakRss, saveResult } from './proc.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, examples: { type: 'string', default: '2000' }, child: { type: 'string' }, out: { type: 'string' } } });
const KEY = 'b.m.relu';
const BUDGET_MB = 256; // the store's default bufferpool
const MB = 1e6;

/** In the child: export the layer to Parquet, .npy and Arrow; report the times and the peak RSS. */
async function child(dir: string, out: string): Promise<void> {
  const rssStart = process.memoryUsage().rss;
  const s = await openStore(dir, { create: false });
  const time = async (file: string): Promise<number> => { const t = performance.now(); await s.export(KEY, { out: path.join(out, file) }); return performance.now() - t; };
  const parquet = await time('x.parquet');
  const peakParquet = peakRss();
  const npy = await time('x.npy');
  const arrow = await time('x.arrow');
  await s.close();
  process.stdout.write(JSON.stringify({ parquet, npy, arrow, peakParquet, peak: peakRss(), rssStart }) + '\n');
}

async function main(): Promise<void> {
  const n = Number(args.examples), runs = Number(args.runs);
  const bytes = n * TENSOR_PER * 4;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-export-'));
  const duck = await DuckDBInstance.create(':memory:', { threads: String(os.availableParallelism()) });
  const c = await duck.connect();
  const pq = await import('parquet-wasm');
  const rows: { exportMs: number; duckMs: number; wasmMs: number; npyMs: number; arrowMs: number; peak: number; peakParquet: number; rssStart: number; fileMB: number; duckFileMB: number }[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      const dir = path.join(tmp, `s${r}`), out = path.join(tmp, `o${r}`);
      fs.mkdirSync(out);
      const values = reluTensor(n, 100 + r);
      const s = await openStore(dir);
      await s.log(KEY, DataFrame.fromTensor(values, TENSOR_SHAPE));
      await s.close();
      // 1. mistique export (child process: its own peak RSS)
      const res = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, '--out', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { parquet: number; npy: number; arrow: number; peak: number; peakParquet: number; rssStart: number };
      // 2. DuckDB's COPY of the same values, from a table it holds (loaded from the export, not timed)
      await c.run(`CREATE OR REPLACE TABLE t AS SELECT * FROM read_parquet('${path.join(out, 'x.parquet')}')`);
      const d0 = performance.now();
      await c.run(`COPY t TO '${path.join(out, 'duck.parquet')}' (FORMAT parquet)`);
      const duckMs = performance.now() - d0;
      // 3. parquet-wasm alone: the same values from memory, the same writer settings, one call
      const m = new Matrix(Int32Array.from({ length: n }, (_, i) => i), Array.from({ length: TENSOR_PER }, (_, j) => ({ key: `${KEY}.${j}`, name: String(j), type: 'float32' as const })), values, TENSOR_SHAPE);
      const schema = exportSchema(m, { tensorName: KEY });
      const w0 = performance.now();
      const t = pq.Table.fromIPCStream(tableToIPC(new Table(schema, [exportBatch(m, schema)]), 'stream'));
      const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.SNAPPY).setDictionaryEnabled(false).setStatisticsEnabled(pq.EnabledStatistics.Chunk).build();
      fs.writeFileSync(path.join(out, 'wasm.parquet'), pq.writeParquet(t, props));
      const wasmMs = performance.now() - w0;
      rows.push({
        exportMs: res.parquet, duckMs, wasmMs, npyMs: res.npy, arrowMs: res.arrow, peak: res.peak, peakParquet: res.peakParquet, rssStart: res.rssStart,
        fileMB: fs.statSync(path.join(out, 'x.parquet')).size / MB, duckFileMB: fs.statSync(path.join(out, 'duck.parquet')).size / MB,
      });
      // the DuckDB file holds the same values
      const same = (await c.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${path.join(out, 'x.parquet')}') a JOIN read_parquet('${path.join(out, 'duck.parquet')}') b USING (row_id) WHERE a."${KEY}" <> b."${KEY}"`)).getRowObjectsJS()[0]!.n;
      if (Number(same) !== 0) throw new Error(`round ${r}: DuckDB's file and the export differ in ${same} rows`);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
      process.stderr.write(`round ${r + 1}/${runs}: export ${res.parquet.toFixed(0)} ms, DuckDB COPY ${duckMs.toFixed(0)} ms, parquet-wasm alone ${wasmMs.toFixed(0)} ms, peak RSS ${(res.peakParquet / 2 ** 20).toFixed(0)} MiB\n`);
    }
  } finally {
    c.closeSync();
    duck.closeSync();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const mbs = (ms: number): number => bytes / MB / (ms / 1000);
  const result = {
    bench: 'export', examples: n, shape: TENSOR_SHAPE, mb: Number((bytes / MB).toFixed(1)), runs, seeds: rows.map((_, r) => 100 + r),
    parquetMBs: stat(rows.map((x) => mbs(x.exportMs))), duckCopyMBs: stat(rows.map((x) => mbs(x.duckMs))), wasmAloneMBs: stat(rows.map((x) => mbs(x.wasmMs))),
    exportOverDuck: stat(rows.map((x) => x.duckMs / x.exportMs), 2), exportOverWasmAlone: stat(rows.map((x) => x.wasmMs / x.exportMs), 2),
    npyMBs: stat(rows.map((x) => mbs(x.npyMs))), arrowMBs: stat(rows.map((x) => mbs(x.arrowMs))),
    fileMB: stat(rows.map((x) => x.fileMB)), duckFileMB: stat(rows.map((x) => x.duckFileMB)),
    peakRssMiB: stat(rows.map((x) => x.peakParquet / 2 ** 20), 0), peakRssAllMiB: stat(rows.map((x) => x.peak / 2 ** 20), 0), rssStartMiB: stat(rows.map((x) => x.rssStart / 2 ** 20), 0),
    budgetMiB: BUDGET_MB + 256,
    targets: { exportOverDuck: '>= 0.5', peakRssMiB: `<= ${BUDGET_MB} + 256` },
  };
  saveResult('export', result);
}

if (args.child) await child(args.child, args.out!);
else await main();
