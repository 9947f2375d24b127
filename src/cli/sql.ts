// mistique sql "<query>": one SQL statement over the store (src/sql), printed as an aligned table or as
// data (csv, json, jsonl), or written to a file with --out (.parquet, .csv, .json).
import { withStore, type Io } from './commands.js';
import { formatTable, rowLimit } from './format.js';
import { csvCell, textFormat } from './files.js';
import { MistiqueError } from '../errors.js';
import type { SqlResult } from '../sql/sql.js';

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
    const took = (r: SqlResult): string => `${r.ms.toFixed(1)} ms; read ${r.reads.map((x) => `${x.key} (${x.rows} rows${x.narrowed ? ', narrowed by row_id' : ''}${x.columns === 0 ? ', row ids only' : x.columns !== undefined ? `, ${x.columns} ${x.columns === 1 ? 'column' : 'columns'}` : ''})`).join(', ') || 'the catalog only'}`;
    if (opts.out) {
      const r = await s.sql(pos[0]!, { out: opts.out });
      io.err(`wrote ${opts.out} — ${took(r)}`);
      return;
    }
    if (format === 'table') {
      // only the rows shown become JavaScript values; the rest are counted
      const r = await s.sql(pos[0]!, { limit });
      const rows = r.rows.map((row) => r.columns.map((c) => shown(row[c])));
      io.out(formatTable(r.columns, rows, r.columns.map((c) => typeof r.rows[0]?.[c] === 'number')));
      io.out(`${r.count} row${r.count === 1 ? '' : 's'}${r.count > limit ? ` (first ${limit} shown; --limit N, or --format csv|json for all)` : ''} — ${took(r)}`);
      return;
    }
    // data: written as DuckDB makes it, a few hundred rows at a time, waiting for the pipe (a result larger than memory)
    const held: string[] = [];
    const put = async (text: string): Promise<void> => { if (io.write) await io.write(Buffer.from(text, 'utf8')); else held.push(text); };
    let first = true;
    const r = await s.sql(pos[0]!, {
      each: async (rows, columns) => {
        if (format === 'jsonl') await put(rows.map((row) => JSON.stringify(row, jsonValue) + '\n').join(''));
        else if (format === 'json') await put((first ? '[' : ',') + rows.map((row) => JSON.stringify(row, jsonValue)).join(','));
        else await put((first ? `${columns.map(csvCell).join(',')}\n` : '') + rows.map((row) => columns.map((c) => (row[c] === null ? '' : csvCell(Array.isArray(row[c]) ? JSON.stringify(row[c], jsonValue) : shown(row[c])))).join(',') + '\n').join(''));
        first = false;
      },
    });
    // no rows: the header alone (CSV), an empty array (JSON), nothing (JSON lines)
    if (first && format === 'csv') await put(`${r.columns.map(csvCell).join(',')}\n`);
    if (format === 'json') await put(first ? '[]\n' : ']\n');
    if (held.length > 0) io.out(held.join('').replace(/\n$/, ''));
    io.err(took(r));
  });
}
