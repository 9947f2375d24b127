// LP_QT (paper §5.4.1): float32 → float16 (IEEE 754 binary16, round to nearest even), float64 → float32.
// NaN, ±Infinity and signed zeros survive; values beyond ±65504 become ±Infinity, as binary16 does.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float32ToHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // NaN (quiet, payload kept) or Inf
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000; // subnormal half: shift in the implicit bit
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // round to nearest even; a carry into the exponent is the correct result (up to Inf)
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && (half & 1)) ? 1 : 0));
}

export function halfBitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i]!);
  return out;
}

export function fromFloat16(bits: Uint16Array): Float32Array {
  // a 65 536-entry table: decoding is one lookup per value
  const table = halfTable();
  const out = new Float32Array(bits.length);
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

let table: Float32Array | null = null;
function halfTable(): Float32Array {
  // Stryker disable next-line ConditionalExpression: building the table again gives the same table (it only costs time)
  if (!table) {
    table = new Float32Array(65536);
    // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
    for (let h = 0; h < 65536; h++) table[h] = halfBitsToFloat32(h);
  }
  return table;
}

export function toFloat32(values: Float64Array): Float32Array {
  return Float32Array.from(values);
}
