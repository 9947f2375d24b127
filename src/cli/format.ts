// Human-readable output for the CLI: byte sizes, aligned tables, a Matrix preview.
import type { Matrix } from '../model/matrix.js';
import { MistiqueError } from '../errors.js';

/** `--limit`: how many rows a command prints (default 20), a whole number ≥ 0 (else BAD_OPTION, naming it). */
export function rowLimit(v: string | undefined, dflt = 20): number {
  if (v === undefined) return dflt;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new MistiqueError('BAD_OPTION', `--limit ${v}: give a whole number of rows`);
  return n;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatTable(header: string[], rows: (string | number)[][], alignRight: boolean[] = []): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, j) => cells.reduce((m, r) => Math.max(m, (r[j] ?? '').length), 0));
  const line = (r: string[]): string => r.map((c, j) => (alignRight[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

export function formatValue(v: number | string | null): string {
  if (v === null) return '∅';
  if (typeof v === 'string') return v.length > 24 ? v.slice(0, 23) + '…' : v;
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e7) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}

const ROUNDED_NOTE = 'values rounded to 6 significant digits (--format csv or json for every digit)';

/** formatValue for the cells of one table, remembering whether any shown text is not its exact value. */
function cellFormatter(): { cell(v: number | string | null): string; note(): string } {
  let rounded = false;
  return {
    cell(v) {
      const s = formatValue(v);
      if (!rounded && typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) && Number(s) !== v) rounded = true;
      return s;
    },
    note: () => (rounded ? `; ${ROUNDED_NOTE}` : ''),
  };
}

/** The first rows and columns of a Matrix, with a line saying what was left out (and whether values were rounded). */
/** The first rows of a result as a table; `total`: the rows of the whole result when `m` holds its first ones only. */
export function formatMatrix(m: Matrix, maxRows = 20, maxCols = 8, width?: number, total = m.nrows): string {
  if (total <= 3 && m.ncols > maxCols) return formatVertical(m, maxCols * 4);
  const nr = Math.min(m.nrows, maxRows);
  const short = columnNames(m);
  const nc = width ? fitColumns(m, short, nr, width) : Math.min(m.ncols, maxCols);
  const header = ['row_id', ...short.slice(0, nc)];
  const f = cellFormatter();
  const rows = Array.from({ length: nr }, (_, i) => [String(m.rowIds[i]), ...Array.from({ length: nc }, (_, j) => f.cell(m.get(i, j)))]);
  const out = formatTable(header, rows, header.map((_, j) => j === 0 || m.columns[j - 1]?.type !== 'utf8'));
  const more: string[] = [];
  if (total > nr) more.push(`${total - nr} more rows`);
  if (m.ncols > nc) more.push(`${m.ncols - nc} more columns`);
  const size = `${total} rows × ${m.ncols} columns${m.shape ? ` (per-example shape [${m.shape.join(', ')}])` : ''}`;
  return `${out}\n${more.length ? `… ${more.join(', ')} (every one: --format csv, json or jsonl); ` : ''}${size}${f.note()}`;
}

/** How many columns fit a terminal `width` wide (at least one): a column is as wide as its widest cell, plus two spaces. */
function fitColumns(m: Matrix, names: string[], nr: number, width: number): number {
  let used = 6; // 'row_id'
  for (let i = 0; i < nr; i++) used = Math.max(used, String(m.rowIds[i]).length);
  let nc = 0;
  for (let j = 0; j < m.ncols; j++) {
    let w = names[j]!.length;
    for (let i = 0; i < nr; i++) w = Math.max(w, formatValue(m.get(i, j)).length);
    if (nc > 0 && used + 2 + w > width) break;
    used += 2 + w;
    nc++;
  }
  return nc;
}

/** Few rows, many columns: one line per column. */
function formatVertical(m: Matrix, maxCols: number): string {
  const nc = Math.min(m.ncols, maxCols);
  const names = columnNames(m);
  const header = ['column', ...Array.from(m.rowIds, (id) => `row ${id}`)];
  const f = cellFormatter();
  const rows = Array.from({ length: nc }, (_, j) => [names[j]!, ...Array.from({ length: m.nrows }, (_, i) => f.cell(m.get(i, j)))]);
  const more = m.ncols > nc ? `… ${m.ncols - nc} more columns (every one: --format csv, json or jsonl); ` : '';
  return `${formatTable(header, rows, header.map((_, j) => j > 0))}\n${more}${m.nrows} rows × ${m.ncols} columns${f.note()}`;
}

/** Column names when the result comes from one intermediate, full keys otherwise. */
export function columnNames(m: Matrix): string[] {
  const prefixes = new Set(m.columns.map((c) => c.key.slice(0, c.key.length - c.name.length)));
  return prefixes.size === 1 ? m.columns.map((c) => c.name) : m.columns.map((c) => c.key);
}
