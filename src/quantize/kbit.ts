// KBIT_QT (paper §5.4.1): 2^k quantile bins from a sample of a layer's values; each value is stored as
// its bin's code (k = 8: one byte) and read back as the bin's representative (the mean of the sample
// values in it). The last code is kept for NaN, so k bits give 2^k − 1 bins. ±Infinity fall in the
// outermost bins and read back as ±Infinity when the sample holds them.
export interface Codebook {
  k: number;
  /** Upper edges of bins 0 … B−2 (bin B−1 is open above). */
  edges: Float32Array;
  /** Value read back for each code; the last is NaN. */
  values: Float32Array;
}

/** Builds a codebook from a sample (pure; the sample is not modified). */
export function kbitCodebook(sample: Float32Array, k = 8): Codebook {
  if (!Number.isInteger(k) || k < 1 || k > 16) throw new RangeError(`k must be an integer in 1…16, got ${k}`);
  const bins = 2 ** k - 1;
  const s = sample.filter((v) => !Number.isNaN(v)).sort();
  const edges = new Float32Array(Math.max(0, bins - 1));
  const values = new Float32Array(bins + 1);
  values[bins] = NaN;
  if (s.length === 0) return { k, edges, values };
  for (let b = 0; b < bins - 1; b++) edges[b] = s[Math.min(s.length - 1, Math.max(0, Math.floor(((b + 1) * s.length) / bins) - 1))]!;
  // representative: mean of the sample values that fall in the bin (an empty bin takes its edge)
  const sum = new Float64Array(bins), cnt = new Float64Array(bins);
  for (const v of s) { const b = binOf(edges, v); sum[b]! += v; cnt[b]! += 1; }
  for (let b = 0; b < bins; b++) values[b] = cnt[b]! > 0 ? sum[b]! / cnt[b]! : (edges[Math.min(b, edges.length - 1)] ?? 0);
  return { k, edges, values };
}

function binOf(edges: Float32Array, v: number): number {
  let lo = 0, hi = edges.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (edges[m]! < v) lo = m + 1; else hi = m; }
  return lo;
}

/** Codes (Uint8Array for k ≤ 8, else Uint16Array). */
export function kbitEncode(values: Float32Array, cb: Codebook): Uint8Array | Uint16Array {
  const nan = 2 ** cb.k - 1;
  const out = cb.k <= 8 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = Number.isNaN(v) ? nan : binOf(cb.edges, v);
  }
  return out;
}

export function kbitDecode(codes: Uint8Array | Uint16Array, cb: Codebook): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = cb.values[codes[i]!]!;
  return out;
}

/** A deterministic strided sample of at most n values (pure). */
export function sampleValues(values: Float32Array, n = 100_000): Float32Array {
  if (values.length <= n) return values.slice();
  const out = new Float32Array(n);
  const step = values.length / n;
  for (let i = 0; i < n; i++) out[i] = values[Math.floor(i * step)]!;
  return out;
}

/**
 * KBIT_QT of one chunk (the store's path since schema v6): a codebook of its own per chunk, so no value
 * is clipped to a sample's range. Bins are the union of 2^(k−1) uniform bins over the chunk's finite
 * [min, max] and quantile edges of a strided sample of it (the paper's quantile bins, where values are
 * dense); each bin reads back as the mean of the chunk's values in it, moved at most to within E of
 * both its ends, E = (max − min) / (2^k − 1). Uniform bins are at most 2E wide, so every finite value
 * reads back within E — one bin width of the chunk's range, hence of the layer's. NaN has the last
 * code; −Infinity and +Infinity get a bin of their own each and read back exactly (k ≥ 2; with k = 1
 * they share the one bin and read back as its value).
 */
export interface KbitBlock {
  codes: Uint8Array;
  /** Value read back for each code (2^k of them; the last is NaN). */
  book: Float32Array;
}

const SAMPLE = 4096;
const GRID = 4096;

export function kbitBlock(values: Float32Array, k = 8): KbitBlock {
  if (!Number.isInteger(k) || k < 1 || k > 8) throw new RangeError(`k must be an integer in 1…8, got ${k}`);
  const n = values.length;
  const nan = 2 ** k - 1;
  const book = new Float32Array(nan + 1);
  book[nan] = NaN;
  const codes = new Uint8Array(n);
  let lo = Infinity, hi = -Infinity, negInf = false, posInf = false;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < lo) { if (v === -Infinity) negInf = true; else lo = v; }
    if (v > hi) { if (v === Infinity) posInf = true; else hi = v; }
  }
  if (lo > hi) { lo = 0; hi = 0; } // no finite value
  // edges: code of v = number of edges < v (as binOf)
  const bins = nan;
  const specials = k >= 2 ? (negInf ? 1 : 0) + (posInf ? 1 : 0) : 0;
  const uniform = 2 ** (k - 1);
  const edgeSet: number[] = [];
  if (k >= 2 && negInf) edgeSet.push(-Infinity);
  const width = (hi - lo) / uniform;
  if (width > 0) for (let u = 1; u < uniform; u++) edgeSet.push(lo + u * width);
  const quantiles = Math.max(0, bins - 1 - (uniform - 1) - specials);
  if (quantiles > 0 && hi > lo) {
    const step = Math.max(1, Math.floor(n / SAMPLE));
    const s: number[] = [];
    for (let i = 0; i < n; i += step) { const v = values[i]!; if (v > lo && v < hi) s.push(v); }
    s.sort((a, b) => a - b);
    for (let q = 1; q <= quantiles && s.length > 0; q++) edgeSet.push(s[Math.min(s.length - 1, Math.floor((q * s.length) / (quantiles + 1)))]!);
  }
  if (k >= 2 && posInf) edgeSet.push(hi);
  const edges = Float64Array.from(new Set(edgeSet)).sort();
  const E = edges.length;
  // a grid over [lo, hi] gives each value a first guess of its code, corrected by at most a step or two
  const scale = hi > lo ? GRID / (hi - lo) : 0;
  const start = new Uint8Array(GRID + 1);
  for (let g = 0, c = 0; g <= GRID; g++) {
    const x = lo + g / (scale || 1);
    while (c < E && edges[c]! < x) c++;
    start[g] = c;
  }
  const sum = new Float64Array(bins), cnt = new Float64Array(bins), inf = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== v) { codes[i] = nan; continue; }
    let g = ((v - lo) * scale) | 0;
    g = g < 0 ? 0 : g > GRID ? GRID : g;
    let c = v === -Infinity ? 0 : start[g]!;
    while (c < E && edges[c]! < v) c++;
    while (c > 0 && edges[c - 1]! >= v) c--;
    codes[i] = c;
    if (v === Infinity || v === -Infinity) { inf[c] = v; continue; }
    sum[c]! += v;
    cnt[c]! += 1;
  }
  const err = (hi - lo) / bins;
  for (let b = 0; b < bins; b++) {
    const bLo = b === 0 ? lo : Math.max(lo, edges[b - 1]!);
    const bHi = b < E ? Math.min(hi, edges[b]!) : hi;
    if (cnt[b]! === 0) { book[b] = inf[b] !== 0 ? inf[b]! : (bLo + bHi) / 2; continue; } // a bin of ±Infinity, or empty
    const mean = sum[b]! / cnt[b]!;
    book[b] = within(Math.min(Math.max(mean, bHi - err), bLo + err), bLo, bHi, err);
  }
  return { codes, book };
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** x rounded to float32 without leaving [hi − err, lo + err] by the rounding (a step of one ulp back). */
function within(x: number, lo: number, hi: number, err: number): number {
  f32[0] = x;
  if (f32[0]! - lo > err) step(-1);
  else if (hi - f32[0]! > err) step(1);
  return f32[0]!;
}

/** f32[0] to the next float32 up (+1) or down (−1). */
function step(dir: 1 | -1): void {
  const v = f32[0]!;
  if (v === 0) f32[0] = dir * 1.4e-45;
  else i32[0] = i32[0]! + (v > 0 ? dir : -dir);
}

/** Values of a chunk's codes through its codebook. */
export function kbitBlockDecode(codes: Uint8Array, book: Float32Array, out = new Float32Array(codes.length)): Float32Array {
  for (let i = 0; i < codes.length; i++) out[i] = book[codes[i]!]!;
  return out;
}
