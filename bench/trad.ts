// bench:trad — the Zillow workload (50 pipelines = 10 templates × 5 variants, paper Table 5.3 and
// Fig. 5-8a): runs all pipelines without logging, logs them under store_all and under dedup, and saves
// their intermediates the way a user would without mistique (one zstd Parquet file per intermediate).
// Each phase runs in its own child process, so that its peak RSS is its own.
// Usage: npm run bench:trad [-- --rows 100000 --pipelines 50 --budget-mb 256]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { Dictionary, Int32, makeVector, Table as ArrowTable, tableToIPC, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { generateZillow } from '../datasets/zillow/generate.js';
import { runPipeline } from '../src/executor/pipeline.js';
import { loadPipelineSpec } from '../src/executor/spec.js';
import { toFrame, type StageTable } from '../src/executor/table.js';
import { openStore } from '../src/index.js';
import { progress } from '../src/cli/progress.js';
import { bundledPipelines } from '../src/paths.js';
import { lineChart } from './svg.js';
import { peakRss } from './proc.js';

const MB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' }, pipelines: { type: 'string', default: '50' }, 'budget-mb': { type: 'string', default: '256' },
    phase: { type: 'string' }, out: { type: 'string', default: 'bench/out' },
  },
});
const ROWS = Number(args.rows), BUDGET = Number(args['budget-mb']) * MB;
const SPECS = bundledPipelines();
const OUT = path.resolve(args.out!);
const DATA = path.join(OUT, `zillow-${ROWS}`);
const round = (x: number, d = 1): number => Number(x.toFixed(d));

function specFiles(): string[] {
  const order = (f: string): number[] => f.replace('.yaml', '').slice(1).split('_').map(Number);
  const all = fs.readdirSync(SPECS).filter((f) => f.endsWith('.yaml'))
    .sort((a, b) => { const x = order(a), y = order(b); return x[0]! - y[0]! || x[1]! - y[1]!; });
  // P1_1, P1_2, … P10_5: templates in order, as the paper's cumulative curve
  return all.slice(0, Number(args.pipelines)).map((f) => path.join(SPECS, f));
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

interface PhaseResult { phase: string; perPipelineMs: number[]; cumulativeBytes: number[]; totalMs: number; peakRssMb: number; extra?: Record<string, number> }

async function phase(name: string): Promise<PhaseResult> {
  const files = specFiles();
  const bar = progress(name, files.length);
  const perPipelineMs: number[] = [], cumulativeBytes: number[] = [];
  const t0 = performance.now();
  let extra: Record<string, number> | undefined;
  if (name === 'run' || name === 'parquet') {
    const pq = name === 'parquet' ? await import('parquet-wasm') : null;
    const dir = path.join(OUT, 'trad-parquet');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    let bytes = 0;
    for (const f of files) {
      const spec = loadPipelineSpec(f);
      const save = pq ? async (stage: string, t: StageTable): Promise<number> => {
        const s = performance.now();
        const ipc = tableToIPC(arrowTable(t), 'stream');
        const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build();
        const file = path.join(dir, `${spec.name}.${stage}.parquet`);
        const buf = pq.writeParquet(pq.Table.fromIPCStream(ipc), props);
        fs.writeFileSync(file, buf);
        bytes += buf.length;
        return performance.now() - s;
      } : undefined;
      const r = await runPipeline(spec, { data: DATA }, save);
      perPipelineMs.push(r.totalMs);
      cumulativeBytes.push(bytes);
      bar.tick();
    }
  } else {
    const dir = path.join(OUT, `trad-${name}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const store = await openStore(dir, { policy: name === 'dedup' ? 'dedup' : 'store_all', bufferpoolBytes: BUDGET });
    for (const f of files) {
      const r = await store.logIntermediates(f, { data: DATA });
      perPipelineMs.push(r.totalMs);
      cumulativeBytes.push(store.stats().bytesOnDisk);
      bar.tick();
    }
    const st = store.stats();
    extra = { bytes_logged: st.bytesLogged, bytes_unique: st.bytesUnique, chunks: st.chunks, approx_signed: st.approximate.signed, approx_matched: st.approximate.matched, approx_colocated: st.approximate.colocated };
    await store.close();
    extra.dir_bytes = dirBytes(dir);
  }
  bar.stop();
  return { phase: name, perPipelineMs, cumulativeBytes, totalMs: performance.now() - t0, peakRssMb: peakRss() / 2 ** 20, extra };
}

/** row_id first, numbers as float64, strings dictionary-encoded: what a user would save with pyarrow. */
function arrowTable(t: StageTable): ArrowTable {
  const cols: Record<string, Vector> = { row_id: makeVector(t.rowIds) };
  const frame = toFrame(t);
  for (const [k, v] of Object.entries(frame)) {
    cols[k] = v instanceof Float64Array ? makeVector(v) : vectorFromArray(v, new Dictionary(new Utf8(), new Int32()));
  }
  return new ArrowTable(cols);
}

async function main(): Promise<void> {
  if (args.phase) {
    process.stdout.write(JSON.stringify(await phase(args.phase)) + '\n');
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  if (!fs.existsSync(path.join(DATA, 'properties.csv'))) generateZillow(DATA, ROWS);
  const rawFiles = ['properties.csv', 'train.csv', 'test.csv'].map((f) => path.join(DATA, f));
  const rawBytes = rawFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  const rawGz = rawFiles.reduce((a, f) => a + zlib.gzipSync(fs.readFileSync(f)).length, 0);
  const results: Record<string, PhaseResult> = {};
  for (const ph of ['run', 'store_all', 'dedup', 'parquet']) {
    const out = execFileSync(process.execPath, [process.argv[1]!, '--phase', ph, '--rows', String(ROWS), '--pipelines', args.pipelines!, '--budget-mb', String(BUDGET / MB), '--out', OUT],
      { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    results[ph] = JSON.parse(out.toString().trim().split('\n').pop()!) as PhaseResult;
  }
  const last = (p: string): number => results[p]!.cumulativeBytes.at(-1)!;
  const n = results.run!.perPipelineMs.length;
  const svg = lineChart({
    title: `Zillow: cumulative bytes stored over ${n} pipelines (${ROWS} properties)`, xLabel: 'pipelines logged', yLabel: 'bytes on disk (log scale)', logY: true,
    x: specFiles().map((f) => path.basename(f, '.yaml')),
    series: [
      { name: 'STORE_ALL (gzip)', values: results.store_all!.cumulativeBytes, color: '#d62728' },
      { name: 'Parquet per intermediate (zstd)', values: results.parquet!.cumulativeBytes, color: '#ff7f0e' },
      { name: 'DEDUP (exact + MinHash, gzip)', values: results.dedup!.cumulativeBytes, color: '#1f77b4' },
    ],
  });
  const plot = path.join(OUT, 'trad-storage.svg');
  fs.writeFileSync(plot, svg);
  const json = {
    bench: 'trad', node: process.version, rows: ROWS, pipelines: n, budget_mb: BUDGET / MB,
    raw_input_mb: round(rawBytes / MB, 2), raw_input_gz_mb: round(rawGz / MB, 2),
    store_all_mb: round(last('store_all') / MB, 2), dedup_mb: round(last('dedup') / MB, 2), parquet_mb: round(last('parquet') / MB, 2),
    logged_mb: round(results.store_all!.extra!.bytes_logged! / MB, 1),
    dedup_unique_mb: round(results.dedup!.extra!.bytes_unique! / MB, 1),
    minhash: { signed: results.dedup!.extra!.approx_signed, similar_found: results.dedup!.extra!.approx_matched, colocated: results.dedup!.extra!.approx_colocated },
    store_all_vs_dedup: round(last('store_all') / last('dedup'), 1),
    parquet_vs_dedup: round(last('parquet') / last('dedup'), 1),
    store_all_vs_raw_gz: round(last('store_all') / rawGz, 1),
    run_s: round(results.run!.totalMs / 1000), store_all_s: round(results.store_all!.totalMs / 1000), dedup_s: round(results.dedup!.totalMs / 1000), parquet_s: round(results.parquet!.totalMs / 1000),
    dedup_overhead: round(results.dedup!.totalMs / results.run!.totalMs, 2),
    store_all_overhead: round(results.store_all!.totalMs / results.run!.totalMs, 2),
    peak_rss_mb: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, round(v.peakRssMb)])),
    plot,
    targets: {
      dedup_110x_smaller_than_store_all_met: last('store_all') / last('dedup') >= 110,
      dedup_20x_smaller_than_parquet_met: last('parquet') / last('dedup') >= 20,
      dedup_logging_within_1_5x_met: results.dedup!.totalMs / results.run!.totalMs <= 1.5,
    },
    cumulative_mb: {
      store_all: results.store_all!.cumulativeBytes.map((b) => round(b / MB, 2)),
      dedup: results.dedup!.cumulativeBytes.map((b) => round(b / MB, 2)),
      parquet: results.parquet!.cumulativeBytes.map((b) => round(b / MB, 2)),
    },
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}

await main();
