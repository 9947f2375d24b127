// Row selections as people write them — on the command line (--rows), in the viewer's URLs: "5", "1,7,9",
// "100-200" (inclusive), "1,5-8". One grammar for every place that takes one.
import { MistiqueError } from '../errors.js';
import { rowIdRange } from './chunkreader.js';

/** "5", "1,7,9", "100-200" (inclusive), or mixes: "1,5-8". */
export function parseRows(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?$/.exec(part);
    if (!m) throw new MistiqueError('BAD_ROWS', `--rows ${JSON.stringify(s)}: write row ids as 5, 1,7,9 or 100-200`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new MistiqueError('BAD_ROWS', `--rows range ${part} ends before it starts`);
    if (b - a > 50_000_000) throw new MistiqueError('BAD_ROWS', `--rows range ${part} is too large`);
    if (a < -2147483648 || b > 2147483647) throw rowIdRange(`--rows ${part}`);
    for (let r = a; r <= b; r++) out.push(r);
  }
  return out;
}
