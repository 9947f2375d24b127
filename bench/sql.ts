// bench:sql — SQL over the bench:trad store (#17's targets), median of --runs, the compared things interleaved:
//  join   two pipelines' test predictions joined on row_id with a filter, by `store.sql` against
//         getIntermediates of both + the same join and filter in TypeScript (a Map on row_id)
//  rowid  a row_id-filtered query (1 000 rows) on the largest TRAD intermediate: stored bytes read
//         (the RowBlocks the narrowed rows fall in) ÷ its stored bytes, and the time beside the full read
// Uses bench/out/trad-dedup (bench:trad's dedup store); builds it (bench:trad's dedup phase) when missing.
// Usage: npm run bench:sql [-- --rows 100000 --pipelines 50 --runs 5]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateZillow } from '../datasets/zillow/generate.js';
import { openStore } from '../src/index.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, pipelines: { type: 'string', default: '50' }, runs: { type: 'string', default: '5' }, out: { type: 'string', default: 'bench/out' } } });
const OUT = path.resolve(args.out!);
const RUNS = Number(args.runs);
const DIR = path.join(OUT, 'trad-dedup');

function mmm(xs: number[], d = 3): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number): number => Number(x.toFixed(d));
  return { median: r(s[Math.floor(s.length / 2)]!), min: r(s[0]!), max: r(s.at(-1)!) };
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(DIR, 'metadata.db'))) {
    const data = path.join(OUT, `zillow-${args.rows}`);
    if (!fs.existsSync(path.join(data, 'properties.csv'))) generateZillow(data, Number(args.rows));
    process.stderr.write(`bench:sql: building ${DIR} with bench:trad's dedup phase\n`);
    execFileSync(process.execPath, [path.join(path.dirname(process.argv[1]!), 'trad.js'), '--phase', 'dedup', '--rows', args.rows!, '--pipelines', args.pipelines!, '--out', OUT], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const store = await openStore(DIR, { create: false });
  const preds = store.list('*.*.pred_test').map((i) => i.key);
  const [a, b] = [preds[0]!, preds.find((k) => k.split('.')[1]!.split('_')[0] !== preds[0]!.split('.')[1]!.split('_')[0])!];
  const largest = store.list().filter((i) => !i.shape && i.bytesStored > 0).sort((x, y) => y.bytesStored - x.bytesStored)[0]!;
  const col = (key: string): string => store.list(key)[0] ? store.metadata.columns(store.metadata.intermediates().find((r) => `${r.project}.${r.model}.${r.name}` === key)!.id)[0]!.name! : 'pred';
  const [ca, cb] = [col(a), col(b)];
  const sqlJoin = `SELECT x.row_id, x."${ca}" AS pa, y."${cb}" AS pb FROM "${a}" x JOIN "${b}" y USING (row_id) WHERE abs(x."${ca}" - y."${cb}") > 0.01`;
  const tsJoin = async (): Promise<number> => {
    const [ma, mb] = [await store.getIntermediates(`${a}.*`, { path: 'read' }), await store.getIntermediates(`${b}.*`, { path: 'read' })];
    const at = new Map<number, number>();
    for (let i = 0; i < mb.nrows; i++) at.set(mb.rowIds[i]!, i);
    const va = ma.column(0), vb = mb.column(0);
    // the same answer as the SQL's: a row object per joined row that passes the filter
    const rows: { row_id: number; pa: number; pb: number }[] = [];
    for (let i = 0; i < ma.nrows; i++) {
      const j = at.get(ma.rowIds[i]!);
      if (j !== undefined && Math.abs((va[i] as number) - (vb[j] as number)) > 0.01) rows.push({ row_id: ma.rowIds[i]!, pa: va[i] as number, pb: vb[j] as number });
    }
    return rows.length;
  };
  const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => { const t = performance.now(); const r = await f(); return [performance.now() - t, r]; };
  await store.sql(sqlJoin); await tsJoin(); // warm both (DuckDB's load, the page cache)
  const sqlMs: number[] = [], tsMs: number[] = [], ratio: number[] = [];
  let agree = true;
  for (let r = 0; r < RUNS; r++) {
    const [ts, n] = await timed(tsJoin);
    const [sq, res] = await timed(() => store.sql(sqlJoin));
    agree &&= res.rows.length === n;
    sqlMs.push(sq); tsMs.push(ts); ratio.push(sq / ts);
  }
  // the row_id-filtered query on the largest intermediate: which RowBlocks its rows fall in, their stored bytes
  const irow = store.metadata.intermediates().find((r) => `${r.project}.${r.model}.${r.name}` === largest.key)!;
  const blocks = store.metadata.rowblocks(irow.id);
  const mid = blocks[Math.floor(blocks.length / 2)]!.min_row_id;
  const q = `SELECT * FROM "${largest.key}" WHERE row_id BETWEEN ${mid} AND ${mid + 999}`;
  const hit = blocks.filter((bl) => bl.max_row_id >= mid && bl.min_row_id <= mid + 999).map((bl) => bl.block);
  const part = store.metadata.readFootprint(irow.id, hit).stored, whole = store.metadata.readFootprint(irow.id, null).stored;
  const filtMs: number[] = [], fullMs: number[] = [];
  let narrowed = false;
  for (let r = 0; r < RUNS; r++) {
    const [f, res] = await timed(() => store.sql(q));
    narrowed = res.reads[0]!.narrowed && res.rows.length === 1000;
    const [w] = await timed(() => store.sql(`SELECT count(*) FROM "${largest.key}"`));
    filtMs.push(f); fullMs.push(w);
  }
  await store.close();
  const json = {
    bench: 'sql', node: process.version, store: DIR, runs: RUNS,
    join: { a, b, sql_ms: mmm(sqlMs, 1), getIntermediates_plus_ts_join_ms: mmm(tsMs, 1), ratio: mmm(ratio), same_rows: agree },
    rowid: { key: largest.key, rows: largest.rows, columns: largest.columns, stored_bytes: whole, read_bytes: part, fraction: Number((part / whole).toFixed(4)), narrowed, filtered_ms: mmm(filtMs, 1), full_ms: mmm(fullMs, 1) },
    targets: { join_within_2x: mmm(ratio).median <= 2, rowid_reads_le_5pct: part / whole <= 0.05 && narrowed },
  };
  fs.mkdirSync(path.resolve('bench/results'), { recursive: true });
  fs.writeFileSync(path.resolve('bench/results/sql.json'), JSON.stringify(json) + '\n');
  process.stdout.write(JSON.stringify(json) + '\n');
}

await main();
