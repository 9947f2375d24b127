// What the trust suites log: each intermediate is a pure function of its key, so a process that did not
// log it (the parent of a killed writer, a reader) knows exactly what reading it must return.
import { createHash } from 'node:crypto';
import { mulberry32 } from '../../datasets/random.js';
import { DataFrame, type Store } from '../../src/index.js';

const ZONES = ['LAR1', 'LAR3', 'LARS', 'LCA21', 'PSR6'];

function seedOf(key: string): number {
  return createHash('sha1').update(key).digest().readUInt32LE(0);
}

/** i even: a table (float64 with NaN/±Infinity, int32, utf8 with nulls); odd: a float32 tensor of shape [4, 8, 8]. */
export function frameFor(key: string, i: number): DataFrame {
  const r = mulberry32(seedOf(key));
  const n = 300 + (seedOf(key) % 1500);
  const rowIds = Int32Array.from({ length: n }, (_, k) => 10 * k + (i % 7));
  if (i % 2 === 1) {
    const v = new Float32Array(n * 256);
    for (let k = 0; k < v.length; k++) v[k] = r() < 0.5 ? 0 : r() * 4; // ReLU-like
    return DataFrame.fromTensor(v, [4, 8, 8], rowIds);
  }
  const x = Float64Array.from({ length: n }, () => r() * 1000 - 500);
  x[0] = NaN; x[1] = Infinity; x[2] = -Infinity;
  const k = Int32Array.from({ length: n }, () => Math.floor(r() * 1e6));
  const z = Array.from({ length: n }, () => (r() < 0.1 ? null : ZONES[Math.floor(r() * ZONES.length)]!));
  return DataFrame.from({ x, k, z }, { rowIds });
}

/** Feeds one column into the digest: numbers as float64 bits (NaN, ±Infinity and -0 kept), strings as text. */
function digestColumn(h: ReturnType<typeof createHash>, name: string, n: number, get: (i: number) => number | string | null, utf8: boolean): void {
  h.update(name);
  if (utf8) {
    for (let i = 0; i < n; i++) { const v = get(i); h.update(v === null ? '\u0000null' : `${String(v)}\u0000`); }
    return;
  }
  const col = new Float64Array(n);
  for (let i = 0; i < n; i++) col[i] = get(i) as number;
  h.update(new Uint8Array(col.buffer));
}

/** A digest of everything a read returns (row ids, column names, every value's bits). */
export async function digestStored(store: Store, key: string): Promise<string> {
  const m = await store.getIntermediates(`${key}.*`, { path: 'read' });
  const h = createHash('sha1');
  h.update(new Uint8Array(m.rowIds.buffer, m.rowIds.byteOffset, m.rowIds.byteLength));
  for (let j = 0; j < m.ncols; j++) digestColumn(h, m.columns[j]!.name, m.nrows, (i) => m.get(i, j), m.columns[j]!.type === 'utf8');
  return h.digest('hex');
}

/** The same digest computed from the frame a key logs. */
export function expectedDigest(key: string, i: number): string {
  const f = frameFor(key, i);
  const h = createHash('sha1');
  h.update(new Uint8Array(f.rowIds.buffer, f.rowIds.byteOffset, f.rowIds.byteLength));
  for (let j = 0; j < f.ncols; j++) {
    const c = f.extract(0, f.nrows, j, 1);
    digestColumn(h, f.columnName(j), f.nrows, (r) => (c.type === 'utf8' ? (c.values[r]! < 0 ? null : c.dictionary![c.values[r]!]!) : c.values[r]!), c.type === 'utf8');
  }
  return h.digest('hex');
}
