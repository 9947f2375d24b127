// mistique sql "<query>": one SQL statement over the store (src/sql), printed as an aligned table or as
// data (csv, json, jsonl), or written to a file with --out (.parquet, .csv, .json).
import { withStore, type Io } from './commands.js';
import { formatTable, rowLimit } from './format.js';
import { csvCell, textFormat } from './files.js';
import { MistiqueError } from '../errors.js';

const shown = (v: unknown): string => {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return v.length > 6 ? `[${v.slice(0, 6).map(shown).join(', ')}, … ${v.length} values]` : `[${v.map(shown).join(', ')}]`;
  if (typeof v === 'number') return String(v); // every digit: 34132007, not 34132000
  if (typeof v === 'object') return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
};
const jsonValue = (_: string, x: unknown): unknown => (typeof x === 'bigint' ? x.toString() : typeof x === 'number' && !Number.isFinite(x) ? null : x);

export async function sqlCmd(dir: string, pos: readonly string[], opts: { format?: string; out?: string; limit?: string }, io: Io): Promise<void> {
  if (pos.length !== 1) throw new MistiqueError('BAD_OPTION', `give the query as one argument, quoted: mistique sql 'SELECT * FROM "zillow.P1_1.pred_test" LIMIT 5'${pos.length ? ` (got ${pos.length} arguments)` : ''}`);
  const format = textFormat(opts.format, 'table');
  const limit = rowLimit(opts.limit);
  await withStore(dir, async (s) => {
    const r = await s.sql(pos[0]!, { out: opts.out });
    const took = `${r.ms.toFixed(1)} ms; read ${r.reads.map((x) => `${x.key} (${x.rows} rows${x.narrowed ? ', narrowed by row_id' : ''}${x.columns !== undefined ? `, ${x.columns} ${x.columns === 1 ? 'column' : 'columns'}` : ''})`).join(', ') || 'the catalog only'}`;
    if (opts.out) { io.err(`wrote ${opts.out} — ${took}`); return; }
    if (format === 'json') io.out(JSON.stringify(r.rows, jsonValue));
    else if (format === 'jsonl') for (const row of r.rows) io.out(JSON.stringify(row, jsonValue));
    else if (format === 'csv') {
      io.out(r.columns.map(csvCell).join(','));
      for (const row of r.rows) io.out(r.columns.map((c) => (row[c] === null ? '' : csvCell(Array.isArray(row[c]) ? JSON.stringify(row[c], jsonValue) : shown(row[c])))).join(','));
    } else {
      const rows = r.rows.slice(0, limit).map((row) => r.columns.map((c) => shown(row[c])));
      io.out(formatTable(r.columns, rows, r.columns.map((c) => typeof r.rows[0]?.[c] === 'number')));
      io.out(`${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${r.rows.length > limit ? ` (first ${limit} shown; --limit N, or --format csv|json for all)` : ''} — ${took}`);
      return;
    }
    io.err(took);
  });
}
