// bench:kbit's point of comparison: KBIT_QT as the paper has it and the store had it before schema v6 —
// 2^k quantile bins from a sample of a layer's values; each value is stored as
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

