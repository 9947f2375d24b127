// VIS (paper Table 5.1, MCMR): the average activation of every neuron (or channel) of a layer per
// class, as a classes × units matrix and as a heatmap image.
import { MistiqueError } from '../errors.js';
import { Matrix } from '../model/matrix.js';
import { numeric } from './dense.js';
import { colour, encodePng } from './png.js';

export interface Heatmap {
  /** Class values (labels or predicted classes), sorted. */
  classes: (number | string)[];
  /** Examples per class. */
  counts: number[];
  /** Unit names: column names, or `c<k>` per channel. */
  units: string[];
  /** classes × units, row-major: the mean over the class's examples (NaN values left out). */
  values: Float64Array;
}

/**
 * Each row's predicted class from scores (logits, probabilities): the index of its largest column —
 * NaN where a row holds no number. One column, `argmax`. Pure.
 */
export function predictedClass(scores: Matrix): Matrix {
  numeric(scores);
  const n = scores.nrows, d = scores.ncols;
  const out = new Float64Array(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let j = 0; j < d; j++) {
      const v = scores.values[i * d + j]!;
      if (v > best) { best = v; out[i] = j; }
    }
  }
  const key = scores.columns[0]!.key;
  return new Matrix(scores.rowIds, [{ key: `${key.slice(0, key.lastIndexOf('.'))}.argmax`, name: 'argmax', type: 'float64' }], out);
}

/**
 * Mean activation per class. `by` holds the class of each example (joined on row id, its first column
 * unless `byColumn`); rows without a class are left out. `perChannel` averages each channel's whole map
 * too (needs the layer's per-example shape [C, …]).
 */
export function heatmap(acts: Matrix, by: Matrix, opts: { byColumn?: number | string; perChannel?: boolean } = {}): Heatmap {
  numeric(acts);
  const bj = opts.byColumn === undefined ? 0 : typeof opts.byColumn === 'number' ? opts.byColumn : by.columnIndex(opts.byColumn);
  let units: string[], unitOf: (j: number) => number;
  if (opts.perChannel) {
    if (!acts.shape || acts.shape.length < 2) throw new MistiqueError('BAD_INPUT', 'perChannel needs a tensor layer with a per-example shape [C, H, W]; this result has none (drop perChannel)');
    const per = acts.shape.slice(1).reduce((a, b) => a * b, 1);
    units = Array.from({ length: acts.shape[0]! }, (_, c) => `c${c}`);
    unitOf = (j) => Math.floor(j / per);
  } else {
    units = acts.columns.map((c) => c.name);
    unitOf = (j) => j;
  }
  const bi = by.rowIndex();
  const classOf = new Map<number | string, number>();
  const rowClass = new Int32Array(acts.nrows).fill(-1);
  for (let i = 0; i < acts.nrows; i++) {
    const r = bi.get(acts.rowIds[i]!);
    if (r === undefined) continue;
    const g = by.get(r, bj);
    if (g === null || (typeof g === 'number' && Number.isNaN(g))) continue;
    if (typeof g === 'number' && !Number.isInteger(g)) {
      throw new MistiqueError('BAD_INPUT', `heatmap averages a layer per class, and \`by\` holds ${g} (row ${acts.rowIds[i]}), which is no class: give labels or predicted classes (whole numbers or text), e.g. the argmax of the logits`);
    }
    if (!classOf.has(g)) classOf.set(g, classOf.size);
    rowClass[i] = classOf.get(g)!;
  }
  if (classOf.size === 0) throw new MistiqueError('BAD_INPUT', 'no example of the layer has a class in `by`: query both over the same rows');
  const classes = [...classOf.keys()].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
  const order = new Int32Array(classOf.size);
  classes.forEach((g, k) => { order[classOf.get(g)!] = k; });
  const U = units.length, K = classes.length, d = acts.ncols;
  const sum = new Float64Array(K * U), cnt = new Float64Array(K * U), counts = new Array<number>(K).fill(0);
  const unit = Int32Array.from({ length: d }, (_, j) => unitOf(j));
  for (let i = 0; i < acts.nrows; i++) {
    if (rowClass[i]! < 0) continue;
    const k = order[rowClass[i]!]!;
    counts[k]!++;
    for (let j = 0, p = i * d; j < d; j++, p++) {
      const v = acts.values[p]!;
      if (Number.isNaN(v)) continue;
      sum[k * U + unit[j]!]! += v;
      cnt[k * U + unit[j]!]!++;
    }
  }
  const values = sum.map((s, i) => (cnt[i] ? s / cnt[i]! : NaN));
  return { classes, counts, units, values };
}

/**
 * A heatmap as a PNG: one row of cells per class, one column per unit; each unit's column scaled to its
 * own range across classes (`scale: 'unit'`, which class excites it most) or one range for all ('global').
 */
export function heatmapPng(h: Pick<Heatmap, 'classes' | 'units' | 'values'>, opts: { cell?: [number, number]; scale?: 'unit' | 'global' } = {}): Buffer {
  const K = h.classes.length, U = h.units.length;
  const [cw, ch] = opts.cell ?? [Math.max(1, Math.min(24, Math.floor(1600 / U))), 16];
  const norm = normalize(h.values, K, U, opts.scale ?? 'unit');
  const w = U * cw, hgt = K * ch;
  const rgb = new Uint8Array(w * hgt * 3);
  for (let k = 0; k < K; k++) for (let u = 0; u < U; u++) {
    const [r, g, b] = colour(norm[k * U + u]!);
    for (let y = k * ch; y < (k + 1) * ch; y++) for (let x = u * cw; x < (u + 1) * cw; x++) {
      const p = (y * w + x) * 3;
      rgb[p] = r; rgb[p + 1] = g; rgb[p + 2] = b;
    }
  }
  return encodePng(rgb, w, hgt);
}

function normalize(v: Float64Array, K: number, U: number, scale: 'unit' | 'global'): Float64Array {
  const out = new Float64Array(v.length);
  const range = (idx: number[]) => {
    let lo = Infinity, hi = -Infinity;
    for (const i of idx) if (Number.isFinite(v[i]!)) { lo = Math.min(lo, v[i]!); hi = Math.max(hi, v[i]!); }
    for (const i of idx) out[i] = Number.isNaN(v[i]!) ? NaN : hi > lo ? (Math.min(hi, Math.max(lo, v[i]!)) - lo) / (hi - lo) : 0.5;
  };
  if (scale === 'global') range(Array.from({ length: v.length }, (_, i) => i));
  else for (let u = 0; u < U; u++) range(Array.from({ length: K }, (_, k) => k * U + u));
  return out;
}
