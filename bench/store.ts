// bench:store — logs synthetic 100 000 × 200 float64 frames (half the columns repeated across frames)
// under each codec, then measures full reads, POINTQ, and two references in the same run:
// plain gunzip of the very bytes the gzip store wrote, and reading one uncompressed Arrow IPC file.
// Usage: npm run bench:store [-- --frames 4 --rows 100000 --cols 200 --budget-mb 256]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { makeVector, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as fflate from 'fflate';
import { gaussian, mulberry32 } from '../datasets/random.js';
import { DataFrame, openStore, type CodecId } from '../src/index.js';
import { progress } from '../src/cli/progress.js';
import { peakRss as peakRssBytes } from './proc.js';

const MB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '4' }, rows: { type: 'string', default: '100000' }, cols: { type: 'string', default: '200' },
    'budget-mb': { type: 'string', default: '256' }, child: { type: 'string' }, dir: { type: 'string' }, queries: { type: 'string', default: '30' },
  },
});
const FRAMES = Number(args.frames), ROWS = Number(args.rows), COLS = Number(args.cols), BUDGET = Number(args['budget-mb']) * MB;
const BATCH = 10_000;

/** Column j of frame f over rows [r0, r1): the first half of the columns is the same in every frame. */
function column(f: number, j: number, r0: number, r1: number): Float64Array {
  const shared = j < COLS / 2;
  const seed = shared ? 1000 + j : 100_000 * (f + 1) + j;
  const base = 10 + (j % 17) * 50, scale = 1 + (j % 5) * 20;
  const out = new Float64Array(r1 - r0);
  for (let i = r0; i < r1; i++) {
    // Deterministic per (seed, row) so a batch can be regenerated without the rest of the column.
    const r = mulberry32(seed * 1_000_003 + i);
    out[i - r0] = Math.round((base + scale * gaussian(r)) * 100) / 100;
  }
  return out;
}

function batch(f: number, r0: number, r1: number): Record<string, Float64Array> {
  const cols: Record<string, Float64Array> = {};
  for (let j = 0; j < COLS; j++) cols[`c${j}`] = column(f, j, r0, r1);
  return cols;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}
const round = (x: number, d = 1): number => Number(x.toFixed(d));

/** One warm-up run, then REPS timed runs (each after `before`): the store and the references are timed alike. */
const REPS = 5;
async function timed(fn: () => unknown, before: () => void = () => {}): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k <= REPS; k++) {
    before();
    const t = performance.now();
    await fn();
    if (k > 0) out.push(performance.now() - t);
  }
  return out;
}

async function child(codec: CodecId, dir: string): Promise<void> {
  const store = await openStore(dir, { codec, policy: 'dedup', bufferpoolBytes: BUDGET });
  const bar = progress(`logging (${codec})`, FRAMES * ROWS);
  const t0 = performance.now();
  for (let f = 0; f < FRAMES; f++) {
    const w = store.writer(`bench.m.f${f}`);
    for (let r0 = 0; r0 < ROWS; r0 += BATCH) {
      const r1 = Math.min(ROWS, r0 + BATCH);
      await w.append(DataFrame.from(batch(f, r0, r1), { rowIds: Int32Array.from({ length: r1 - r0 }, (_, i) => r0 + i) }));
      bar.tick(r1 - r0);
    }
    await w.close();
  }
  await store.flush();
  const logMs = performance.now() - t0;
  bar.stop();
  const peakRss = peakRssBytes();
  const st = store.stats();

  // Full read of one frame (the first: it owns all its chunks), cold: decoded segments dropped.
  // As a dense row-major Matrix, and as an Arrow Table (column-major: no transpose).
  const fullMs = await timed(async () => {
    const m = await store.getIntermediates('bench.m.f0.*');
    if (m.nrows !== ROWS || m.ncols !== COLS || m.get(ROWS - 1, COLS - 1) !== column(0, COLS - 1, ROWS - 1, ROWS)[0]) throw new Error('full read returned wrong values');
  }, () => store.dropCaches());
  const tableMs = await timed(async () => {
    const t = await store.getTable('bench.m.f0.*');
    if (t.numRows !== ROWS || t.numCols !== COLS + 1) throw new Error('table read returned the wrong size');
  }, () => store.dropCaches());
  const frameBytes = ROWS * COLS * 8;
  // POINTQ: one row, all columns of one intermediate, cold each time.
  const r = mulberry32(99);
  const pq: number[] = [];
  for (let q = 0; q < Number(args.queries); q++) {
    store.dropCaches();
    const row = Math.floor(r() * ROWS);
    const t = performance.now();
    const m = await store.getIntermediates(`bench.m.f${q % FRAMES}.*`, { rows: [row] });
    pq.push(performance.now() - t);
    if (m.values[0] !== column(q % FRAMES, 0, row, row + 1)[0]) throw new Error('POINTQ returned a wrong value');
  }
  await store.close();
  process.stdout.write(JSON.stringify({
    codec, log_ms: logMs, mb_logged: st.bytesLogged / MB, mb_unique: st.bytesUnique / MB, mb_written: st.bytesOnDisk / MB,
    dedup_ratio: st.dedupRatio, log_mbps: st.bytesLogged / MB / (logMs / 1000), peak_rss_mb: peakRss / MB,
    full_read_mbps: frameBytes / MB / (median(fullMs) / 1000), table_read_mbps: frameBytes / MB / (median(tableMs) / 1000), pointq_ms_p50: median(pq), pointq_ms_p95: pct(pq, 0.95),
  }) + '\n');
}

/** Plain gunzip (node:zlib and fflate) of exactly the segments the gzip store wrote for frame 0. */
async function gunzipReference(dir: string): Promise<{ zlib_mbps: number; fflate_mbps: number }> {
  const db = new Database(path.join(dir, 'metadata.db'), { readonly: true });
  const segs = db.prepare(`
    SELECT DISTINCT p.file, s.offset, s.length, s.raw_length FROM chunks c JOIN intermediates i ON i.id = c.intermediate_id
    JOIN blobs b ON b.id = c.blob_id JOIN partitions p ON p.id = b.partition_id JOIN segments s ON s.partition_id = b.partition_id AND s.seg = b.segment
    WHERE i.name = 'f0'`).all() as { file: string; offset: number; length: number; raw_length: number }[];
  db.close();
  const files = new Map<string, Buffer>();
  const rawTotal = segs.reduce((a, s) => a + s.raw_length, 0);
  const time = async (fn: (b: Uint8Array) => Uint8Array): Promise<number> => {
    const ms = await timed(() => {
      files.clear(); // read the files each time, as the store does
      let raw = 0;
      for (const s of segs) {
        let buf = files.get(s.file);
        if (!buf) { buf = fs.readFileSync(path.join(dir, 'partitions', s.file)); files.set(s.file, buf); }
        raw += fn(buf.subarray(s.offset, s.offset + s.length)).length;
      }
      if (raw !== rawTotal) throw new Error('reference inflated a wrong size');
    });
    return rawTotal / MB / (median(ms) / 1000);
  };
  return { zlib_mbps: await time((b) => zlib.gunzipSync(b)), fflate_mbps: await time((b) => fflate.gunzipSync(b)) };
}

/** One uncompressed Arrow IPC file of frame 0: read it (file → Table), and read it into a dense row-major matrix. */
async function arrowReference(dir: string): Promise<{ file_mbps: number; dense_mbps: number }> {
  const cols: Record<string, ReturnType<typeof makeVector>> = {};
  for (let j = 0; j < COLS; j++) cols[`c${j}`] = makeVector(column(0, j, 0, ROWS));
  const file = path.join(dir, 'frame0.arrow');
  fs.writeFileSync(file, tableToIPC(new Table(cols), 'file'));
  const frameBytes = ROWS * COLS * 8;
  const fileMs = await timed(() => {
    const table = tableFromIPC(fs.readFileSync(file));
    let sum = 0;
    for (let j = 0; j < COLS; j++) sum += (table.getChildAt(j)!.data[0]!.values as Float64Array)[ROWS - 1]!;
    if (Number.isNaN(sum)) throw new Error('arrow reference read wrong values');
  });
  const denseMs = await timed(() => {
    const t2 = tableFromIPC(fs.readFileSync(file));
    const out = new Float64Array(ROWS * COLS);
    for (let j = 0; j < COLS; j++) {
      const v = t2.getChildAt(j)!.data[0]!.values as Float64Array;
      for (let i = 0, o = j; i < ROWS; i++, o += COLS) out[o] = v[i]!;
    }
    if (out[COLS] !== v0(1)) throw new Error('arrow reference read wrong values');
  });
  const [tFile, tDense] = [median(fileMs), median(denseMs)];
  return { file_mbps: frameBytes / MB / (tFile / 1000), dense_mbps: frameBytes / MB / (tDense / 1000) };
}
function v0(row: number): number { return column(0, 0, row, row + 1)[0]!; }


async function main(): Promise<void> {
  if (args.child) return child(args.child as CodecId, args.dir!);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-store-'));
  const results: Record<string, Record<string, number>> = {};
  try {
    for (const codec of ['gzip', 'arrow', 'parquet'] as const) {
      const dir = path.join(root, codec);
      const out = execFileSync(process.execPath, [process.argv[1]!, '--child', codec, '--dir', dir, '--frames', String(FRAMES), '--rows', String(ROWS), '--cols', String(COLS), '--budget-mb', String(BUDGET / MB), '--queries', args.queries!], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
      results[codec] = JSON.parse(out.toString().trim().split('\n').pop()!);
    }
    const gz = await gunzipReference(path.join(root, 'gzip'));
    const ar = await arrowReference(root);
    const peak = Math.max(...Object.values(results).map((r) => r.peak_rss_mb!));
    const line = {
      bench: 'store', node: process.version, cpus: os.availableParallelism(), frames: FRAMES, rows: ROWS, cols: COLS, budget_mb: BUDGET / MB,
      mb_logged: round(results.gzip!.mb_logged!), dedup_ratio: round(results.gzip!.dedup_ratio!, 3),
      codecs: Object.fromEntries(Object.entries(results).map(([c, r]) => [c, {
        mb_written: round(r.mb_written!), log_mbps: round(r.log_mbps!), full_read_mbps: round(r.full_read_mbps!), table_read_mbps: round(r.table_read_mbps!),
        pointq_ms_p50: round(r.pointq_ms_p50!, 2), pointq_ms_p95: round(r.pointq_ms_p95!, 2), peak_rss_mb: round(r.peak_rss_mb!),
      }])),
      ref: { gunzip_zlib_mbps: round(gz.zlib_mbps), gunzip_fflate_mbps: round(gz.fflate_mbps), arrow_file_mbps: round(ar.file_mbps), arrow_file_to_dense_mbps: round(ar.dense_mbps) },
      peak_rss_mb: round(peak),
      // Ratios against the references, for the Matrix (dense row-major) and the Arrow Table outputs.
      targets: {
        gzip_matrix_vs_gunzip: round(results.gzip!.full_read_mbps! / gz.zlib_mbps, 3),
        gzip_table_vs_gunzip: round(results.gzip!.table_read_mbps! / gz.zlib_mbps, 3),
        gzip_read_vs_gunzip_met: results.gzip!.full_read_mbps! >= 0.7 * gz.zlib_mbps,
        arrow_matrix_vs_file: round(results.arrow!.full_read_mbps! / ar.file_mbps, 3),
        arrow_table_vs_file: round(results.arrow!.table_read_mbps! / ar.file_mbps, 3),
        arrow_matrix_vs_file_to_dense: round(results.arrow!.full_read_mbps! / ar.dense_mbps, 3),
        arrow_read_vs_file_met: results.arrow!.table_read_mbps! >= 0.5 * ar.file_mbps,
        pointq_under_5ms_met: Object.values(results).every((r) => r.pointq_ms_p50! < 5),
        rss_under_budget_plus_200mb_met: peak < BUDGET / MB + 200,
      },
    };
    process.stdout.write(JSON.stringify(line) + '\n');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
