// NETDISSECT (Bau et al. 2017; paper Alg. 2): which units of a convolutional layer detect which concept.
// Per unit k: T_k is the top-α (0.5%) quantile of all its activation-map values over all images; each
// image's map is upsampled (bilinear) to the input size and binarized at T_k; the unit's IoU with a
// concept is |M_k ∩ L_c| / |M_k ∪ L_c| summed over the dataset.
import { MistiqueError } from '../errors.js';
import type { Matrix } from '../model/matrix.js';
import { numeric } from './dense.js';
import { encodePng } from './png.js';

/** Pixel masks of named concepts for a set of examples, at the input resolution (size × size). */
export interface ConceptSet {
  names: string[];
  size: number;
  rowIds: Int32Array;
  /** Per concept: rows × size × size bytes, 1 where the concept is present. */
  masks: Uint8Array[];
}

export interface UnitResult {
  unit: number; threshold: number; concept: string; iou: number;
  /** The unit's mask is `value > threshold` (T_k fell in a large tie) rather than `value ≥ threshold`. */
  strict: boolean;
}

export interface Dissection {
  alpha: number;
  rows: number;
  /** Per unit, its best concept (highest IoU). */
  units: UnitResult[];
  /** units × concepts IoU, row-major. */
  iou: Float64Array;
  concepts: string[];
}

export function netdissect(acts: Matrix, concepts: ConceptSet, opts: { alpha?: number } = {}): Dissection {
  numeric(acts);
  const alpha = opts.alpha ?? 0.005;
  if (!(alpha > 0 && alpha < 1)) throw new MistiqueError('BAD_OPTION', `alpha must be in (0, 1), got ${alpha}`);
  if (!acts.shape || acts.shape.length !== 3) throw new MistiqueError('BAD_INPUT', `netdissect needs a convolutional layer with per-example shape [C, H, W]; this result has ${acts.shape ? `[${acts.shape.join(', ')}]` : 'no shape'}`);
  const [C, H, W] = acts.shape as [number, number, number];
  const S = concepts.size, HW = H * W, SS = S * S, d = acts.ncols;
  const ci = new Map<number, number>();
  concepts.rowIds.forEach((id, i) => ci.set(id, i));
  const rows: [number, number][] = [];
  for (let i = 0; i < acts.nrows; i++) {
    const j = ci.get(acts.rowIds[i]!);
    if (j !== undefined) rows.push([i, j]);
  }
  if (rows.length === 0) throw new MistiqueError('BAD_INPUT', 'no example of the layer has concept masks: build the concepts from the same rows');
  const K = concepts.names.length;
  const inter = new Float64Array(C * K), union = new Float64Array(C * K);
  const thresholds = new Float64Array(C), stricts = new Uint8Array(C);
  const up = upsampler(H, W, S);
  const map = new Float64Array(HW), big = new Float64Array(SS), bin = new Uint8Array(SS);
  const vals = new Float32Array(rows.length * HW);
  for (let c = 0; c < C; c++) {
    // T_k: the (1 − α) quantile of the unit's values over every image and position (NaN left out)
    let n = 0;
    for (const [i] of rows) for (let p = 0, q = i * d + c * HW; p < HW; p++, q++) { const v = acts.values[q]!; if (!Number.isNaN(v)) vals[n++] = v; }
    const sorted = vals.subarray(0, n).sort();
    const T = n ? sorted[Math.min(n - 1, Math.floor((1 - alpha) * n))]! : Infinity;
    thresholds[c] = T;
    // when T_k falls in a large tie (a dead ReLU's zeros, a conv's constant response to the blank
    // background), "≥ T_k" would select far more than the top α: select the values above it instead
    let lb = Math.min(n - 1, Math.floor((1 - alpha) * n));
    while (lb > 0 && sorted[lb - 1] === T) lb--;
    const strict = n > 0 && n - lb > 2 * alpha * n;
    stricts[c] = strict ? 1 : 0;
    for (const [i, j] of rows) {
      for (let p = 0, q = i * d + c * HW; p < HW; p++, q++) map[p] = acts.values[q]!;
      up(map, big);
      for (let p = 0; p < SS; p++) bin[p] = (strict ? big[p]! > T : big[p]! >= T) && T !== Infinity ? 1 : 0;
      for (let k = 0; k < K; k++) {
        const m = concepts.masks[k]!;
        let a = 0, u = 0;
        for (let p = 0, q = j * SS; p < SS; p++, q++) { const x = bin[p]!, y = m[q]!; a += x & y; u += x | y; }
        inter[c * K + k]! += a; union[c * K + k]! += u;
      }
    }
  }
  const iou = inter.map((x, i) => (union[i] ? x / union[i]! : 0));
  const units: UnitResult[] = [];
  for (let c = 0; c < C; c++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (iou[c * K + k]! > iou[c * K + best]!) best = k;
    units.push({ unit: c, threshold: thresholds[c]!, concept: concepts.names[best]!, iou: iou[c * K + best]!, strict: stricts[c] === 1 });
  }
  return { alpha, rows: rows.length, units, iou, concepts: concepts.names };
}

/** Bilinear upsampling of an H×W map to S×S (half-pixel centres, edges clamped); H = S is a copy. */
export function upsampler(H: number, W: number, S: number): (src: Float64Array, dst: Float64Array) => void {
  if (H === S && W === S) return (src, dst) => dst.set(src);
  const ys = coords(H, S), xs = coords(W, S);
  return (src, dst) => {
    for (let y = 0; y < S; y++) {
      const [y0, y1, fy] = ys[y]!;
      for (let x = 0; x < S; x++) {
        const [x0, x1, fx] = xs[x]!;
        const top = src[y0 * W + x0]! * (1 - fx) + src[y0 * W + x1]! * fx;
        const bot = src[y1 * W + x0]! * (1 - fx) + src[y1 * W + x1]! * fx;
        dst[y * S + x] = top * (1 - fy) + bot * fy;
      }
    }
  };
}

function coords(n: number, S: number): [number, number, number][] {
  return Array.from({ length: S }, (_, o) => {
    const s = Math.min(n - 1, Math.max(0, ((o + 0.5) * n) / S - 0.5));
    const i0 = Math.floor(s), i1 = Math.min(n - 1, i0 + 1);
    return [i0, i1, s - i0];
  });
}

/**
 * A picture of a dissection: one row per unit, its `perUnit` most excited images (greyscale, `scale`×)
 * with the unit's binarized, upsampled map tinted red — what the unit "sees".
 */
export function dissectionPng(acts: Matrix, images: Matrix, units: readonly UnitResult[], opts: { perUnit?: number; scale?: number; size?: number } = {}): Buffer {
  if (!acts.shape || acts.shape.length !== 3) throw new MistiqueError('BAD_INPUT', 'dissectionPng needs a layer with per-example shape [C, H, W]');
  const [, H, W] = acts.shape as [number, number, number];
  const S = opts.size ?? 28, per = opts.perUnit ?? 6, k = opts.scale ?? 3, gap = 2, HW = H * W, d = acts.ncols;
  const imgRow = images.rowIndex();
  const rows = Array.from({ length: acts.nrows }, (_, i) => i).filter((i) => imgRow.has(acts.rowIds[i]!));
  const tile = S * k;
  const width = per * (tile + gap) + gap, height = Math.max(1, units.length) * (tile + gap) + gap;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const up = upsampler(H, W, S);
  const map = new Float64Array(HW), big = new Float64Array(S * S);
  units.forEach((u, r) => {
    // the images where the unit's strongest response is largest
    const peak = rows.map((i) => {
      let m = -Infinity;
      for (let p = 0, q = i * d + u.unit * HW; p < HW; p++, q++) if (acts.values[q]! > m) m = acts.values[q]!;
      return { i, m };
    }).sort((a, b) => b.m - a.m).slice(0, per);
    peak.forEach(({ i }, c) => {
      for (let p = 0, q = i * d + u.unit * HW; p < HW; p++, q++) map[p] = acts.values[q]!;
      up(map, big);
      const img = images.row(imgRow.get(acts.rowIds[i]!)!);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
        const g = Math.round(255 * Math.min(1, Math.max(0, img[y * S + x]!)));
        const on = u.strict ? big[y * S + x]! > u.threshold : big[y * S + x]! >= u.threshold;
        const px = on ? [Math.round(0.45 * g + 140), Math.round(0.45 * g), Math.round(0.45 * g)] : [g, g, g];
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) {
          const X = gap + c * (tile + gap) + x * k + dx, Y = gap + r * (tile + gap) + y * k + dy;
          rgb.set(px, (Y * width + X) * 3);
        }
      }
    });
  });
  return encodePng(rgb, width, height);
}
