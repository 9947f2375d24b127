// The DNN storage schemes end to end on one batch (src/quantize/scheme.ts, encode.ts): a scheme's name
// and its parser agree, a batch is pooled then quantized exactly as the pure functions say, on the main
// thread or an encode worker, and bad options are one clear error. Also the edges of POOL_QT, LP_QT and
// THRESHOLD_QT that the known-answer tests in quantize.test.ts do not reach.
import { describe, expect, it } from 'vitest';
import { TensorFrame, type DataFrame } from '../src/model/dataframe.js';
import { buffersOf, encodeLayer, runTask } from '../src/quantize/encode.js';
import { float32ToHalfBits, halfBitsToFloat32, percentile, pool, thresholdDecode, thresholdEncode, toFloat16, toFloat32 } from '../src/quantize/index.js';
import { kbitBlock } from '../src/quantize/kbit.js';
import { encodeBatch, parseScheme, quantizeBatch, schemeName, type DnnScheme } from '../src/quantize/scheme.js';
import { rng, thrownCode } from './helpers.js';


/** The values a frame holds as stored: float32, float16 bits or one 0/1 byte per value. */
function held(f: DataFrame): Float32Array | Uint16Array | Uint8Array | Float64Array {
  expect(f).toBeInstanceOf(TensorFrame);
  return (f as TensorFrame).values;
}

const relu = (n: number, seed: number): Float32Array => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.max(0, r() * 4 - 1));
};

describe('scheme names', () => {
  it('parse and print each other', () => {
    const cases: [string, DnnScheme, string][] = [
      ['none', {}, 'none'],
      ['', {}, 'none'],
      ['lp', { quantize: 'lp' }, 'lp'],
      ['fp16', { quantize: 'lp' }, 'lp'],
      ['Float16', { quantize: 'lp' }, 'lp'],
      ['kbit8', { quantize: { kbit: 8 } }, 'kbit(8)'],
      ['threshold99.5', { quantize: { threshold: 99.5 } }, 'threshold(99.5)'],
      ['pool2', { pool: { sigma: 2, op: 'avg' } }, 'pool(2)'],
      ['poolS', { pool: { sigma: 'S', op: 'avg' } }, 'pool(S)'],
      ['pool3max', { pool: { sigma: 3, op: 'max' } }, 'pool(3,max)'],
      [' pool2 + LP ', { pool: { sigma: 2, op: 'avg' }, quantize: 'lp' }, 'pool(2)+lp'],
      ['poolsmax+kbit4', { pool: { sigma: 'S', op: 'max' }, quantize: { kbit: 4 } }, 'pool(S,max)+kbit(4)'],
      ['pool2+threshold90', { pool: { sigma: 2, op: 'avg' }, quantize: { threshold: 90 } }, 'pool(2)+threshold(90)'],
    ];
    for (const [text, scheme, name] of cases) {
      expect(parseScheme(text), text).toEqual(scheme);
      expect(schemeName(scheme), text).toBe(name);
    }
    expect(schemeName({ pool: { sigma: 2 } })).toBe('pool(2)');
  });

  it('an unknown part is one BAD_OPTION error that lists the forms', () => {
    expect(parseScheme('pool12')).toEqual({ pool: { sigma: 12, op: 'avg' } });
    expect(parseScheme('kbit12')).toEqual({ quantize: { kbit: 12 } }); // parsed; refused where it is used (k ≤ 8)
    expect(parseScheme('threshold99.75')).toEqual({ quantize: { threshold: 99.75 } });
    for (const bad of ['lp16', 'kbit', 'pool', 'poolx', 'threshold', 'pool2+', 'gzip', 'pool2 lp', 'kbit8x', 'xpool2', 'akbit8', 'athreshold9', 'threshold9x', 'pool2maxx']) {
      if (bad === 'pool2+') { expect(parseScheme(bad)).toEqual({ pool: { sigma: 2, op: 'avg' } }); continue; }
      expect(thrownCode(() => parseScheme(bad)), bad).toBe('BAD_OPTION');
    }
    expect(() => parseScheme('gzip')).toThrow('unknown scheme "gzip": use none, lp, kbit8, threshold99.5, pool2, poolS, pool2max, or a pool and a quantizer joined by + (pool2+lp)');
  });
});

describe('a batch through its scheme', () => {
  const shape = [3, 5, 5];
  const ids = Int32Array.from([10, 11, 12, 13]);
  const x = relu(4 * 75, 1);

  it('no scheme: the float32 values as they are', async () => {
    const e = await encodeBatch(x.slice(), shape, ids, {}, {});
    expect(e.shape).toEqual(shape);
    expect(e.frame.nrows).toBe(4);
    expect(held(e.frame)).toEqual(x);
    expect([...(e.frame as TensorFrame).rowIds]).toEqual([...ids]);
    expect(e.kbit).toBeUndefined(); expect(e.threshold).toBeUndefined();
  });

  it('no scheme and KBIT_QT (the writer quantizes): a batch of any size is taken as it is, not copied to an encode worker and back', async () => {
    const big = relu(70_000 * 2, 7); // above the bound under which encode tasks run inline
    for (const scheme of [{}, { quantize: { kbit: 8 } }] as DnnScheme[]) {
      const e = await encodeBatch(big, [70_000], Int32Array.from([0, 1]), scheme, {});
      expect(held(e.frame), schemeName(scheme)).toBe(big);
      expect(big.byteLength, 'not handed over to a worker').toBe(70_000 * 2 * 4);
    }
  });

  it('pool then lp: the bits of toFloat16 of pool, on a worker or not', async () => {
    const want = toFloat16(pool(x, shape, 2).values);
    const e = await encodeBatch(x.slice(), shape, ids, { pool: { sigma: 2 }, quantize: 'lp' }, {});
    expect(e.shape).toEqual([3, 3, 3]);
    expect(held(e.frame)).toEqual(want);
    const q = quantizeBatch(pool(x, shape, 2).values, [3, 3, 3], ids, 'lp', {});
    expect(held(q.frame)).toEqual(want);
  });

  it('poolS keeps one value per channel, with max when asked', async () => {
    const e = await encodeBatch(x.slice(), shape, ids, { pool: { sigma: 'S', op: 'max' } }, {});
    expect(e.shape).toEqual([3, 1, 1]);
    expect(held(e.frame)).toEqual(pool(x, shape, 5, 'max').values);
    // a wide map: S is its longer side
    const wide = relu(2 * 2 * 3 * 7, 2);
    const w = await encodeBatch(wide.slice(), [2, 3, 7], ids.subarray(0, 2), { pool: { sigma: 'S' } }, {});
    expect(w.shape).toEqual([2, 1, 1]);
    expect(held(w.frame)).toEqual(pool(wide, [2, 3, 7], 7).values);
  });

  it('a layer that is not [C, H, W] is not pooled', async () => {
    const flat = relu(4 * 6, 3);
    const e = await encodeBatch(flat.slice(), [6], ids, { pool: { sigma: 2 }, quantize: 'lp' }, {});
    expect(e.shape).toEqual([6]);
    expect(held(e.frame)).toEqual(toFloat16(flat));
    expect(encodeLayer({ op: 'layer', values: flat, shape: [6], pool: { sigma: 2, kind: 'avg' } })).toEqual({ values: flat, shape: [6] });
    // one value per example: stored as shape [1]
    const one = quantizeBatch(Float32Array.from([1, 2, 3, 4]), [], ids, undefined, {});
    expect(one.shape).toEqual([]);
    expect(one.frame.ncols).toBe(1);
  });

  it('threshold: the percentile of the first (pooled) batch, kept for every later batch', async () => {
    const state: { threshold?: number } = {};
    const scheme: DnnScheme = { pool: { sigma: 2 }, quantize: { threshold: 90 } };
    const first = await encodeBatch(x.slice(), shape, ids, scheme, state);
    const pooled = pool(x, shape, 2).values;
    expect(state.threshold).toBe(percentile(pooled, 90));
    expect(first.threshold).toBe(state.threshold);
    expect(held(first.frame)).toEqual(Uint8Array.from(pooled, (v) => (v > state.threshold! ? 1 : 0)));
    const later = relu(4 * 75, 9).map((v) => v * 10);
    const second = await encodeBatch(later.slice(), shape, ids, scheme, state);
    expect(second.threshold).toBe(first.threshold);
    expect(held(second.frame)).toEqual(Uint8Array.from(pool(later, shape, 2).values, (v) => (v > first.threshold! ? 1 : 0)));
    // quantizeBatch takes the threshold of its first batch too, and not again
    const st: { threshold?: number } = {};
    quantizeBatch(x, [75], ids, { threshold: 50 }, st);
    expect(st.threshold).toBe(percentile(x, 50));
    quantizeBatch(later, [75], ids, { threshold: 50 }, st);
    expect(st.threshold).toBe(percentile(x, 50));
  });

  it('kbit is left to the writer: the float32 values and k', async () => {
    const e = await encodeBatch(x.slice(), shape, ids, { pool: { sigma: 2 }, quantize: { kbit: 6 } }, {});
    expect(e.kbit).toBe(6);
    expect(held(e.frame)).toEqual(pool(x, shape, 2).values);
  });

  it('k outside 1…8 is BAD_OPTION, before any work', async () => {
    for (const k of [0, 9, 16, 2.5, -1]) {
      await expect(encodeBatch(x.slice(), shape, ids, { quantize: { kbit: k } }, {}), String(k)).rejects.toMatchObject({ code: 'BAD_OPTION' });
      expect(thrownCode(() => quantizeBatch(x, shape, ids, { kbit: k }, {})), String(k)).toBe('BAD_OPTION');
    }
    await expect(encodeBatch(x.slice(), shape, ids, { quantize: { kbit: 9 } }, {})).rejects.toThrow('KBIT_QT stores one byte per value: k must be 1…8, got 9');
    await expect(encodeBatch(x.slice(), shape, ids, { quantize: { kbit: 0 } }, {})).rejects.toThrow('KBIT_QT needs k bits, an integer 1…8, got 0');
    for (const k of [1, 8]) expect((await encodeBatch(x.slice(), shape, ids, { quantize: { kbit: k } }, {})).kbit).toBe(k);
  });
});

describe('encode steps', () => {
  it('threshold bits: 1 exactly where a value is above the threshold (not at it; never NaN)', () => {
    const v = Float32Array.from([0, 1, 2, 2.5, NaN, 3, -Infinity, Infinity]);
    expect([...encodeLayer({ op: 'layer', values: v, shape: [8], quantize: { threshold: 2 } }).values]).toEqual([0, 0, 0, 1, 0, 1, 0, 1]);
    const bits = thresholdEncode(v, 2);
    expect(bits.length).toBe(1);
    expect([...thresholdDecode(bits, 8)]).toEqual([0, 0, 0, 1, 0, 1, 0, 1]);
    expect(thresholdEncode(new Float32Array(17), 0).length).toBe(3);
  });

  it('runTask runs a layer task as encodeLayer and a k-bit task as kbitBlock per chunk', () => {
    const v = relu(64, 7);
    expect(runTask({ op: 'layer', values: v, shape: [64], quantize: 'lp' })).toEqual(encodeLayer({ op: 'layer', values: v, shape: [64], quantize: 'lp' }));
    const blocks = runTask({ op: 'kbit', chunks: [v, v.subarray(0, 10)], k: 4 });
    expect(blocks).toEqual([kbitBlock(v, 4), kbitBlock(v.subarray(0, 10), 4)]);
  });

  it('buffersOf names each buffer a task or result moves, once', () => {
    const a = new Float32Array(8), b = new Float32Array(8);
    expect(buffersOf({ op: 'layer', values: a, shape: [8] })).toEqual([a.buffer]);
    expect(buffersOf({ op: 'kbit', chunks: [a, b, a.subarray(2)], k: 8 })).toEqual([a.buffer, b.buffer]);
    const blocks = [kbitBlock(a, 8), kbitBlock(b, 8)];
    expect(buffersOf(blocks)).toEqual([blocks[0]!.codes.buffer, blocks[0]!.book.buffer, blocks[1]!.codes.buffer, blocks[1]!.book.buffer]);
  });
});

describe('POOL_QT edges', () => {
  it('several channels and examples, each window over its own map', () => {
    // N = 2, C = 3, 2×2 maps: channel c of example n holds 100n + 10c + (0…3)
    const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => 100 * Math.floor(i / 12) + 10 * Math.floor((i % 12) / 4) + (i % 4));
    const p = pool(x, [3, 2, 2], 2);
    expect(p.shape).toEqual([3, 1, 1]);
    expect([...p.values]).toEqual([1.5, 11.5, 21.5, 101.5, 111.5, 121.5]);
    expect([...pool(x, [3, 2, 2], 2, 'max').values]).toEqual([3, 13, 23, 103, 113, 123]);
  });

  it('max of negative values is the largest of them, not 0', () => {
    expect([...pool(Float32Array.from([-5, -3, -4, -9]), [1, 2, 2], 2, 'max').values]).toEqual([-3]);
    expect([...pool(Float32Array.from([-5, NaN, -4, -9]), [1, 2, 2], 2, 'max').values]).toEqual([NaN]);
  });

  it('bad shapes and σ are RangeErrors that say what was given', () => {
    const x = new Float32Array(8);
    expect(() => pool(x, [2, 4], 2)).toThrow('pooling needs a per-example shape [C, H, W], got [2, 4]');
    for (const s of [0, -1, 1.5]) expect(() => pool(x, [2, 2, 2], s)).toThrow(`σ must be a positive integer, got ${s}`);
    expect(() => pool(new Float32Array(9), [2, 2, 2], 2)).toThrow('9 values are not a whole number of [2, 2, 2] examples');
    expect(pool(x, [2, 2, 2], 1).values).toEqual(x);
  });
});

describe('LP_QT edges', () => {
  it('every float32 halfway between two halves rounds to the even one; just off it, to the nearer', () => {
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    /** The next float32 away from zero (+1) or towards it (−1). */
    const next = (v: number, dir: 1 | -1): number => { f[0] = v; u[0] = u[0]! + dir; return f[0]!; };
    for (let h = 0; h < 0x7bff; h++) {
      const lo = halfBitsToFloat32(h), hi = halfBitsToFloat32(h + 1);
      const mid = (lo + hi) / 2; // exact in float32: one bit more than a half holds
      const even = h % 2 === 0 ? h : h + 1;
      for (const sign of [0, 0x8000]) {
        const s = sign ? -1 : 1;
        if (float32ToHalfBits(s * mid) !== (sign | even)) throw new Error(`mid of ${h}: got ${float32ToHalfBits(s * mid)}`);
        if (float32ToHalfBits(next(s * mid, 1)) !== (sign | (h + 1))) throw new Error(`above mid of ${h}`);
        if (mid > 0 && float32ToHalfBits(next(s * mid, -1)) !== (sign | h)) throw new Error(`below mid of ${h}`);
      }
    }
  });

  it('overflow is ±Infinity and underflow ±0, as binary16 rounds', () => {
    expect(float32ToHalfBits(65504)).toBe(0x7bff);
    expect(float32ToHalfBits(65519.99)).toBe(0x7bff);
    expect(float32ToHalfBits(65520)).toBe(0x7c00); // halfway to 65536: rounds to even, which is Inf
    for (const v of [1e5, 3e38]) { expect(float32ToHalfBits(v)).toBe(0x7c00); expect(float32ToHalfBits(-v)).toBe(0xfc00); }
    expect(float32ToHalfBits(2 ** -25)).toBe(0); // halfway to the smallest subnormal: even is 0
    expect(float32ToHalfBits(2 ** -25 * 1.0001)).toBe(1);
    for (const v of [1e-10, 2 ** -26, 1e-30]) { expect(float32ToHalfBits(v)).toBe(0); expect(float32ToHalfBits(-v)).toBe(0x8000); }
  });

  it('toFloat32 narrows float64 to the nearest float32', () => {
    expect([...toFloat32(Float64Array.from([0.1, 1e300, -0, NaN]))]).toEqual([Math.fround(0.1), Infinity, -0, NaN]);
  });
});

describe('THRESHOLD_QT percentile', () => {
  it('of unsorted values, ignoring NaN; NaN when there is nothing; p outside 0…100 a RangeError', () => {
    const x = Float32Array.from([5, NaN, 1, 4, 2, 3]);
    expect(percentile(x, 0)).toBe(1);
    expect(percentile(x, 40)).toBe(2);
    expect(percentile(x, 50)).toBe(3);
    expect(percentile(x, 100)).toBe(5);
    expect(percentile(Float32Array.from([NaN, NaN]), 50)).toBeNaN();
    expect(percentile(new Float32Array(0), 50)).toBeNaN();
    expect(x[0]).toBe(5); // the caller's array untouched
    for (const p of [-1, 100.5, NaN]) expect(() => percentile(x, p), String(p)).toThrow(`percentile must be in 0…100, got ${p}`);
  });
});
