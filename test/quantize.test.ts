// Storage schemes: known answers for float16, k-bit quantiles, threshold bits and pooling.
import { describe, expect, it } from 'vitest';
import { float32ToHalfBits, fromFloat16, halfBitsToFloat32, kbitCodebook, kbitDecode, kbitEncode, percentile, pool, thresholdDecode, thresholdEncode, toFloat16 } from '../src/quantize/index.js';
import fc from 'fast-check';
import { kbitBlock, kbitBlockDecode } from '../src/quantize/kbit.js';
import { rng } from './helpers.js';

describe('LP_QT float16', () => {
  it('encodes known values, specials and rounding exactly', () => {
    expect(float32ToHalfBits(1)).toBe(0x3c00);
    expect(float32ToHalfBits(-2)).toBe(0xc000);
    expect(float32ToHalfBits(65504)).toBe(0x7bff);
    expect(float32ToHalfBits(65520)).toBe(0x7c00); // rounds up to Inf
    expect(float32ToHalfBits(Infinity)).toBe(0x7c00);
    expect(float32ToHalfBits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(halfBitsToFloat32(float32ToHalfBits(NaN)))).toBe(true);
    expect(halfBitsToFloat32(float32ToHalfBits(2 ** -24))).toBe(2 ** -24); // smallest subnormal
    expect(Object.is(halfBitsToFloat32(float32ToHalfBits(-0)), -0)).toBe(true);
    expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(float32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
  it('round-trips every half value and keeps relative error under 2^-11', () => {
    for (let h = 0; h < 65536; h++) {
      const v = halfBitsToFloat32(h);
      if (!Number.isNaN(v)) expect(float32ToHalfBits(v)).toBe(h);
    }
    const r = rng(1);
    const x = Float32Array.from({ length: 10000 }, () => (r() - 0.5) * 1000);
    const back = fromFloat16(toFloat16(x));
    for (let i = 0; i < x.length; i++) expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -11 + 2 ** -24);
  });
});

describe('KBIT_QT', () => {
  it('8-bit quantiles: balanced bins, small error, NaN kept', () => {
    const r = rng(2);
    const x = Float32Array.from({ length: 50000 }, () => -Math.log(r() || 1e-9)); // skewed, like ReLU outputs
    x[5] = NaN;
    const cb = kbitCodebook(x, 8);
    const codes = kbitEncode(x, cb);
    expect(codes).toBeInstanceOf(Uint8Array);
    const counts = new Uint32Array(256);
    for (const c of codes) counts[c]!++;
    expect(counts[255]).toBe(1);
    expect(Math.max(...counts.slice(0, 255))).toBeLessThan((50000 / 255) * 1.5);
    const back = kbitDecode(codes, cb);
    expect(Number.isNaN(back[5]!)).toBe(true);
    let err = 0;
    for (let i = 0; i < x.length; i++) if (i !== 5) err += Math.abs(back[i]! - x[i]!);
    expect(err / x.length).toBeLessThan(0.01);
  });
  it('k bits give 2^k − 1 bins plus NaN: with k = 1 every number reads back as the mean', () => {
    const cb = kbitCodebook(Float32Array.from([1, 2, 3, 4]), 1);
    expect([...kbitDecode(kbitEncode(Float32Array.from([1, 4, NaN]), cb), cb)]).toEqual([2.5, 2.5, NaN]);
    const cb2 = kbitCodebook(Float32Array.from([1, 2, 3, 4, 5, 6]), 2);
    expect([...kbitDecode(kbitEncode(Float32Array.from([1, 3, 6]), cb2), cb2)]).toEqual([1.5, 3.5, 5.5]);
  });
});

describe('KBIT_QT per chunk (kbitBlock, the store\'s path since schema v6)', () => {
  /** The largest |read − value| over finite values, and the bound: one bin width of their range. */
  function check(x: Float32Array, k: number): { maxErr: number; bound: number; rmse: number } {
    const { codes, book } = kbitBlock(x, k);
    expect(book).toHaveLength(2 ** k);
    const back = kbitBlockDecode(codes, book);
    let lo = Infinity, hi = -Infinity, maxErr = 0, sq = 0, n = 0;
    for (const v of x) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (Number.isNaN(v)) { expect(codes[i]).toBe(2 ** k - 1); expect(Number.isNaN(back[i]!)).toBe(true); continue; }
      if (!Number.isFinite(v)) { if (k >= 2) expect(back[i]).toBe(v); continue; }
      const e = Math.abs(back[i]! - v);
      maxErr = Math.max(maxErr, e); sq += e * e; n++;
    }
    return { maxErr, bound: n ? (hi - lo) / (2 ** k - 1) : 0, rmse: n ? Math.sqrt(sq / n) : 0 };
  }

  it('never clips: a value far past the others reads back within one bin width of the range', () => {
    const r = rng(4);
    const x = Float32Array.from({ length: 125_440 }, () => (r() < 0.5 ? 0 : -Math.log(r() || 1e-9) * 2));
    x[77] = 31.1; // the dense1 case of #16: 31.10 read back as 23.12 under the first batch's codebook
    x[5] = NaN; x[9] = Infinity; x[10] = -Infinity;
    const { maxErr, bound, rmse } = check(x, 8);
    expect(maxErr).toBeLessThanOrEqual(bound);
    expect(bound).toBeCloseTo(31.1 / 255, 6);
    const { codes, book } = kbitBlock(x, 8);
    expect(Math.abs(book[codes[77]!]! - 31.1)).toBeLessThanOrEqual(bound);
    // quantile edges where values are dense: well under uniform 8-bit quantization's rmse (bound/√3)
    expect(rmse).toBeLessThan(bound / Math.sqrt(3) / 2);
  });

  it('holds its bound for any values and k (property, 300 cases)', () => {
    const value = fc.oneof(
      { weight: 20, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
      { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0, -0) },
    );
    fc.assert(fc.property(fc.array(value, { minLength: 0, maxLength: 3000 }), fc.integer({ min: 1, max: 8 }), (vals, k) => {
      const { maxErr, bound } = check(Float32Array.from(vals), k);
      return maxErr <= bound;
    }), { seed: 16, numRuns: 300 });
  });

  it('constant chunks and single values read back exactly', () => {
    for (const x of [new Float32Array(0), Float32Array.from([3.5]), new Float32Array(1000).fill(-2), Float32Array.from([NaN, NaN])]) {
      const { codes, book } = kbitBlock(x, 8);
      expect(Array.from(kbitBlockDecode(codes, book))).toEqual(Array.from(x));
    }
  });
});

describe('THRESHOLD_QT', () => {
  it('sets exactly the values above the 99.5th percentile', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => i);
    const t = percentile(x, 99.5);
    expect(t).toBe(994);
    const bits = thresholdDecode(thresholdEncode(x, t), x.length);
    expect(bits.reduce((a, b) => a + b, 0)).toBe(5);
    expect([...bits.slice(995)]).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('POOL_QT', () => {
  const x = Float32Array.from({ length: 2 * 1 * 3 * 3 }, (_, i) => i); // N=2, C=1, 3×3
  it('averages and maxes σ×σ windows, edges over the part inside', () => {
    const a = pool(x, [1, 3, 3], 2);
    expect(a.shape).toEqual([1, 2, 2]);
    expect([...a.values.slice(0, 4)]).toEqual([(0 + 1 + 3 + 4) / 4, (2 + 5) / 2, (6 + 7) / 2, 8]);
    expect([...pool(x, [1, 3, 3], 2, 'max').values.slice(4)]).toEqual([13, 14, 16, 17]);
  });
  it('σ = S keeps one value per channel; NaN propagates', () => {
    expect([...pool(x, [1, 3, 3], 3).values]).toEqual([4, 13]);
    const y = x.slice(); y[0] = NaN;
    expect(Number.isNaN(pool(y, [1, 3, 3], 3).values[0]!)).toBe(true);
    expect(Number.isNaN(pool(y, [1, 3, 3], 3, 'max').values[0]!)).toBe(true);
  });
});
