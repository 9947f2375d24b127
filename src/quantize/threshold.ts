// THRESHOLD_QT (paper §5.4.1): one bit per value, set when the value is above a threshold — by default
// the 99.5th percentile of the layer's values, as Network Dissection binarizes activation maps.
// NaN is never above. Bits are packed 8 per byte, least significant first.
export function percentile(values: Float32Array, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0…100, got ${p}`);
  const s = values.filter((v) => !Number.isNaN(v)).sort();
  if (s.length === 0) return NaN;
  // Stryker disable next-line ArithmeticOperator: the index is below s.length already; the bound is a guard
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function thresholdEncode(values: Float32Array, threshold: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 8));
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
  for (let i = 0; i < values.length; i++) if (values[i]! > threshold) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

export function thresholdDecode(bits: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
  for (let i = 0; i < n; i++) out[i] = (bits[i >> 3]! >> (i & 7)) & 1;
  return out;
}

/** A deterministic strided sample of at most n values (pure). */
export function sampleValues(values: Float32Array, n = 100_000): Float32Array {
  // Stryker disable next-line EqualityOperator: at exactly n values the stride is 1: the same copy
  if (values.length <= n) return values.slice();
  const out = new Float32Array(n);
  const step = values.length / n;
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
  for (let i = 0; i < n; i++) out[i] = values[Math.floor(i * step)]!;
  return out;
}
