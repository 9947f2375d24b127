// Storage schemes: known answers for float16, k-bit quantiles, threshold bits and pooling.
import { describe, expect, it } from 'vitest';
import { float32ToHalfBits, fromFloat16, halfBitsToFloat32, percentile, pool, sampleValues, thresholdDecode, thresholdEncode, toFloat16 } from '../src/quantize/index.js';
import fc from 'fast-check';
import { kbitBlock, kbitBlockDecode, roundWithin } from '../src/quantize/kbit.js';
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

describe('KBIT_QT per chunk (kbitBlock, the store\'s path since schema v6)', () => {
  /** Half the gap from |v| to the next float32 up: what storing a value as float32 may add. */
  const halfUlp = (v: number): number => {
    const a = Math.fround(Math.abs(v));
    const f = new Float32Array([a]), u = new Uint32Array(f.buffer);
    u[0] = u[0]! + 1;
    return (f[0]! - a) / 2;
  };

  /**
   * The largest |read − value| over finite values; the bound, one bin width of their range; and how
   * many values read back further than the bound plus the float32 rounding of what is read back.
   */
  function check(x: Float32Array, k: number): { maxErr: number; bound: number; rmse: number; over: number } {
    const { codes, book } = kbitBlock(x, k);
    expect(book).toHaveLength(2 ** k);
    const back = kbitBlockDecode(codes, book);
    let lo = Infinity, hi = -Infinity;
    for (const v of x) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    // k = 2 with both infinities: one bin for every finite value, read back from its middle (see kbit.ts)
    const half = k === 2 && x.includes(Infinity) && x.includes(-Infinity);
    const bound = hi < lo ? 0 : (hi - lo) / (half ? 2 : 2 ** k - 1);
    let maxErr = 0, sq = 0, n = 0, over = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (Number.isNaN(v)) { expect(codes[i]).toBe(2 ** k - 1); expect(Number.isNaN(back[i]!)).toBe(true); continue; }
      if (!Number.isFinite(v)) { if (k >= 2) expect(back[i]).toBe(v); continue; }
      const e = Math.abs(back[i]! - v);
      if (e > bound + halfUlp(back[i]!)) over++;
      maxErr = Math.max(maxErr, e); sq += e * e; n++;
    }
    return { maxErr, bound, rmse: n ? Math.sqrt(sq / n) : 0, over };
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

  it('half its bins are quantiles of the sorted sample: rmse ≤ 0.15 bin widths on ReLU-like values (3 seeds)', () => {
    // the range fixed at 0…31.1 by one outlier; measured 0.120–0.125, where uniform bins alone give ~0.22
    // and edges from an unsorted sample ~0.17–0.18
    for (const seed of [4, 5, 6]) {
      const r = rng(seed);
      const x = Float32Array.from({ length: 125_440 }, () => (r() < 0.5 ? 0 : -Math.log(r() || 1e-9) * 2));
      x[77] = 31.1;
      const { maxErr, bound, rmse } = check(x, 8);
      expect(maxErr).toBeLessThanOrEqual(bound);
      expect(rmse / bound, `seed ${seed}`).toBeLessThanOrEqual(0.15);
    }
  });

  it('holds its bound for any values and k (property, 300 cases)', () => {
    const value = fc.oneof(
      { weight: 20, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
      { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0, -0) },
    );
    // specials: none, −∞, +∞ or both, added to any values (fast-check's arrays are short by default)
    const specials = fc.constantFrom([], [-Infinity], [Infinity], [Infinity, -Infinity], [NaN, -Infinity, Infinity]);
    fc.assert(fc.property(fc.array(value, { minLength: 0, maxLength: 3000, size: 'large' }), specials, fc.integer({ min: 1, max: 8 }), (vals, extra, k) => {
      return check(Float32Array.from([...vals, ...extra]), k).over === 0;
    }), { seed: 16, numRuns: 300 });
  });

  it('moves a bin\'s mean to within one bin width of both its ends: a lone value beside a cluster', () => {
    // k = 3 over [1000, 1001]: uniform edges at .25, .5, .75 and quantile edges at the cluster (1000.7), so
    // the bin (1000.5, 1000.7] holds the cluster at its top and 1000.51 near its bottom; its mean
    // (≈ 1000.698) is 0.19 from 1000.51, more than E = 1/7: it must read back nearer
    const x = Float32Array.from([1000, 1001, 1000.51, ...new Array<number>(100).fill(1000.7)]);
    const { codes, book } = kbitBlock(x, 3);
    expect(codes[2]).toBe(codes[3]); // the lone value and the cluster share a bin
    const E = (x[1]! - x[0]!) / 7;
    for (const i of [2, 3]) expect(Math.abs(book[codes[i]!]! - x[i]!), `value ${x[i]}`).toBeLessThanOrEqual(E);
    expect(check(x, 3).over).toBe(0);
  });

  it('holds its bound far from zero too, where the range is a few float32 steps (property, 100 cases)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 1e-3, max: 10, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 2000, size: 'large' }), fc.integer({ min: 2, max: 8 }), (c, w, us, k) => {
        // skewed inside the range (u³), so that a bin's mean sits near one of its ends
        return check(Float32Array.from(us, (u) => c + w * u ** 3), k).over === 0;
      }), { seed: 23, numRuns: 100 });
  });

  it('codes keep the order of values, and equal values share a code (property, 200 cases)', () => {
    const value = fc.oneof(
      { weight: 20, arbitrary: fc.float({ noNaN: true, min: -1e4, max: 1e4 }) },
      { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity, 0) },
    );
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 2000 }), fc.integer({ min: 2, max: 8 }), (vals, k) => {
      const x = Float32Array.from(vals);
      const { codes, book } = kbitBlock(x, k);
      const order = [...x.keys()].sort((i, j) => x[i]! - x[j]! || i - j);
      for (let t = 1; t < order.length; t++) {
        const i = order[t - 1]!, j = order[t]!;
        if (x[i] === x[j]) expect(codes[i]).toBe(codes[j]);
        else expect(codes[i]!).toBeLessThanOrEqual(codes[j]!);
        expect(book[codes[i]!]!).toBeLessThanOrEqual(book[codes[j]!]!);
      }
      expect(Math.max(...codes)).toBeLessThan(2 ** k - 1); // the last code is NaN's alone
    }), { seed: 3, numRuns: 200 });
  });

  it('±Infinity get a bin each and read back exactly (k ≥ 2); with k = 1 everything shares one bin', () => {
    const x = Float32Array.from([Infinity, 1, 2, 3, -Infinity, 4, Infinity, NaN]);
    for (const k of [2, 3, 8]) {
      const back = kbitBlockDecode(...Object.values(kbitBlock(x, k)) as [Uint8Array, Float32Array]);
      expect(back[0]).toBe(Infinity); expect(back[6]).toBe(Infinity); expect(back[4]).toBe(-Infinity);
      expect(Number.isNaN(back[7]!)).toBe(true);
      for (const i of [1, 2, 3, 5]) expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(3 / (k === 2 ? 2 : 2 ** k - 1));
    }
    const one = kbitBlock(Float32Array.from([1, 2, 3, 4, NaN]), 1);
    expect([...one.codes]).toEqual([0, 0, 0, 0, 1]);
    expect(one.book[0]).toBe(2.5);
    // k = 1 with infinities: one bin for every number, read back as the mean of the finite ones
    const oneInf = kbitBlock(Float32Array.from([Infinity, 1, 3, -Infinity, NaN]), 1);
    expect([...oneInf.codes]).toEqual([0, 0, 0, 0, 1]);
    expect([...kbitBlockDecode(oneInf.codes, oneInf.book)]).toEqual([2, 2, 2, 2, NaN]);
    const onlyInf = kbitBlock(Float32Array.from([Infinity, -Infinity, Infinity]), 8);
    expect([...kbitBlockDecode(onlyInf.codes, onlyInf.book)]).toEqual([Infinity, -Infinity, Infinity]);
  });

  it('k must be an integer in 1…8', () => {
    for (const k of [0, 9, 1.5, -1, NaN]) expect(() => kbitBlock(Float32Array.from([1]), k), String(k)).toThrow(/k must be an integer in 1…8/);
    for (const k of [1, 8]) expect(kbitBlock(Float32Array.from([1]), k).book).toHaveLength(2 ** k);
  });

  it('decodes into a buffer it is given', () => {
    const { codes, book } = kbitBlock(Float32Array.from([1, 2, 3]), 8);
    const out = new Float32Array(5).fill(-7);
    expect(kbitBlockDecode(codes, book, out.subarray(1, 4))).toEqual(kbitBlockDecode(codes, book));
    expect(out[0]).toBe(-7); expect(out[4]).toBe(-7);
  });

  it('places 2^(k−1) uniform bins and the rest at quantiles of the values strictly inside the range (k = 3, by hand)', () => {
    // [0, 8]: uniform edges 2, 4, 6; the interior values 1 … 7.5 (8 of them; the zeros and the 8 are
    // not sampled) give quantile edges at their 2nd, 4th and 6th: 3, 5, 7. A value's code is the number
    // of edges below it.
    const x = Float32Array.from([0, 0, 0, 0, 1, 1.5, 3, 3.5, 5, 5.5, 7, 7.5, 8]);
    expect([...kbitBlock(x, 3).codes]).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 6]);
    // the maximum repeated is not sampled either: the same edges, and the 8s share the top code
    const top = Float32Array.from([0, 1, 1.5, 3, 3.5, 5, 5.5, 7, 7.5, 8, 8, 8, 8]);
    expect([...kbitBlock(top, 3).codes]).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6]);
  });

  it('rounds a bin\'s value to a float32 inside [hi − err, lo + err], the one nearest its middle when rounding leaves it', () => {
    const u = 2 ** -23; // one float32 step above 1
    // 1 + 1.6u rounds up to 1 + 2u, outside (lo + err = 1 + 1.7u): one step back to 1 + u, inside
    expect(roundWithin(1 + 1.6 * u, 1, 1 + 2.2 * u, 1.7 * u)).toBe(1 + u);
    // the same below zero, where a step toward zero is a step down in the float's bits
    expect(roundWithin(-1 - 1.6 * u, -1 - 2.2 * u, -1, 1.7 * u)).toBe(-1 - u);
    // 1 + 0.4u rounds down to 1, outside (hi − err = 1 + 0.5u): one step up
    expect(roundWithin(1 + 0.4 * u, 1, 1 + 2.2 * u, 1.7 * u)).toBe(1 + u);
    // rounding that stays inside is kept, even where the next float32 is nearer the middle
    expect(roundWithin(1 + 0.8 * u, 1, 1 + 3.2 * u, 2.5 * u)).toBe(1 + u);
    // no float32 inside (1 + 0.9u … 1 + 0.7u): the nearer to both ends of the two around x
    expect(roundWithin(1 + 0.8 * u, 1, 1 + 1.6 * u, 0.7 * u)).toBe(1 + u);
    expect(roundWithin(1 + 0.8 * u, 1 - 0.6 * u, 1 + u, 0.7 * u)).toBe(1); // 0.6u and u from the ends, where 1 + u is 1.6u from lo
    expect(roundWithin(0.1, 0, 0.2, 0.1)).toBe(Math.fround(0.1));
  });

  it('constant chunks and single values read back exactly', () => {
    for (const x of [new Float32Array(0), Float32Array.from([3.5]), new Float32Array(1000).fill(-2), Float32Array.from([NaN, NaN])]) {
      const { codes, book } = kbitBlock(x, 8);
      expect(Array.from(kbitBlockDecode(codes, book))).toEqual(Array.from(x));
    }
  });
});

describe('sampleValues', () => {
  it('a strided sample of at most n values, or a copy of all of them', () => {
    const x = Float32Array.from({ length: 10 }, (_, i) => i);
    const all = sampleValues(x, 10);
    expect([...all]).toEqual([...x]);
    all[0] = 99;
    expect(x[0]).toBe(0); // a copy, not the caller's array
    expect([...sampleValues(x, 11)]).toEqual([...x]);
    expect([...sampleValues(x, 4)]).toEqual([0, 2, 5, 7]);
    expect([...sampleValues(x, 1)]).toEqual([0]);
    expect(sampleValues(new Float32Array(250_000)).length).toBe(100_000);
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
