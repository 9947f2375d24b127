// ReadCSV's parser: one pass over the file's bytes into typed columns. A column is numeric when every
// non-empty cell parses as a number (empty → NaN), otherwise categorical (empty → null). Quoted cells
// with commas, doubled quotes and newlines are handled.
import fs from 'node:fs';
import { MistiqueError } from '../errors.js';
import { checksum } from '../store/checksum.js';
import { makeTable, type StageTable, type TableColumn } from './table.js';

/**
 * Whether a cell that Number() parsed is kept as that number: not a hex, octal or binary literal (an id
 * such as 0x1A is text in a CSV), nor an integer beyond ±2^53, which a double would round (a 19-digit id).
 * A column with such a cell is text, kept exactly.
 */
export function keptAsNumber(s: string, v: number): boolean {
  const c1 = s.charCodeAt(1) | 32;
  if (s.length > 2 && s.charCodeAt(0) === 48 && (c1 === 120 || c1 === 111 || c1 === 98)) return false;
  return !(s.length > 15 && Number.isInteger(v) && !Number.isSafeInteger(v) && /^\s*[+-]?\d+\s*$/.test(s));
}

export function parseCSV(text: string, source = 'CSV'): { names: string[]; cells: string[][] } {
  // a byte-order mark (Excel writes one) is no part of the first column's name
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    let cell: string;
    if (text.charCodeAt(i) === 34) { // quoted
      let j = i + 1;
      let s = '';
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new MistiqueError('BAD_INPUT', `${source}: unterminated quote in row ${rows.length + 1}`);
        s += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 34) { s += '"'; j = q + 2; } else { j = q + 1; break; }
      }
      cell = s;
      i = j;
    } else {
      let j = i;
      while (j < n) {
        const ch = text.charCodeAt(j);
        if (ch === 44 || ch === 10 || ch === 13) break;
        j++;
      }
      cell = text.slice(i, j);
      i = j;
    }
    row.push(cell);
    const ch = text.charCodeAt(i);
    if (ch === 44) { i++; if (i === n) row.push(''); continue; }
    if (ch === 13) i++;
    if (text.charCodeAt(i) === 10) i++;
    rows.push(row);
    row = [];
  }
  if (row.length > 0) rows.push(row);
  const names = rows.shift();
  if (!names || names.length === 0 || (names.length === 1 && names[0] === '')) throw new MistiqueError('BAD_INPUT', `${source} is empty: a header row is needed`);
  // a file separated by ';' or tabs reads as one column named "a;b" of text cells: said, not stored so
  const sep = names.length === 1 ? /[;\t|]/.exec(names[0]!)?.[0] : undefined;
  if (sep) throw new MistiqueError('BAD_INPUT', `${source}: its header is one column named ${JSON.stringify(names[0])}, as if separated by ${sep === '\t' ? 'tabs' : `'${sep}'`}: mistique reads comma-separated values; convert it first (DuckDB detects the separator: mistique sql "SELECT * FROM read_csv('${source}')" --out out.csv)`);
  // a column the header does not name, or names twice, would be lost or overwritten by the other
  const seen = new Map<string, number>();
  names.forEach((name, j) => {
    if (name === '') throw new MistiqueError('BAD_INPUT', `${source}: column ${j + 1} has no name in the header${j === 0 ? ' (pandas writes its index so: DataFrame.to_csv(…, index=False) leaves it out)' : ''}; name it`);
    const k = seen.get(name);
    if (k !== undefined) throw new MistiqueError('BAD_INPUT', `${source}: columns ${k + 1} and ${j + 1} are both named ${JSON.stringify(name)}; rename one`);
    seen.set(name, j);
  });
  rows.forEach((r, k) => {
    if (r.length !== names.length) throw new MistiqueError('BAD_INPUT', `${source}: row ${k + 2} has ${r.length} cells, the header has ${names.length}`);
  });
  return { names, cells: rows };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A CSV file's bytes as text: UTF-8, strictly — a file in another encoding (Latin-1, Windows-1252) would
 * otherwise read with its non-ASCII characters replaced by U+FFFD, silently.
 */
export function utf8Text(bytes: Uint8Array, file: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    let at = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) { at = i; break; }
    throw new MistiqueError('BAD_INPUT', `${file} is not UTF-8 (byte ${at} is 0x${bytes[at]!.toString(16)}): convert it first, e.g. iconv -f latin1 -t utf-8 ${file} > ${file.replace(/\.csv$/i, '')}.utf8.csv`);
  }
}

/**
 * Reads a CSV file into a StageTable; row ids are the data rows' positions 0…N−1. The table says which
 * bytes it came from (`source`), so that a re-run can tell the file changed since logging.
 */
export function readCSV(file: string): StageTable {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new MistiqueError('NOT_FOUND', `cannot read ${file}: ${(err as Error).message}; check the file name and the data directory (the bundled Zillow data: npm run datasets:zillow)`, { cause: err });
  }
  const text = utf8Text(bytes, file);
  const { names, cells } = parseCSV(text, file);
  const n = cells.length;
  const columns: TableColumn[] = names.map((_, j) => {
    const num = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = cells[i]![j]!;
      if (s === '') { num[i] = NaN; continue; }
      const v = Number(s);
      if ((Number.isNaN(v) && s !== 'NaN') || !keptAsNumber(s, v)) return cells.map((r) => (r[j] === '' ? null : r[j]!));
      num[i] = v;
    }
    return num;
  });
  const rowIds = new Int32Array(n);
  for (let i = 0; i < n; i++) rowIds[i] = i;
  return { ...makeTable(rowIds, names, columns), source: { file, bytes: bytes.length, crc32: checksum(bytes) } };
}
