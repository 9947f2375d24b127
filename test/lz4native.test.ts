// liblz4 through native/lz4 (optional: built when Debian's liblz4-dev is there, as .ci/run installs it)
// against lz4-napi: the same framing, so a segment written by either reads with the other; a damaged or
// mis-sized block is −1, never a crash, and the codec then says what is wrong through lz4-napi.
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { nativeLz4 } from '../src/store/codecs/lz4native.js';
import { cutRuns, lz4Codec } from '../src/store/codecs/lz4.js';
import { rng, thrownErrorAsync } from './helpers.js';

const napi = createRequire(import.meta.url)('lz4-napi') as { compressSync(b: Buffer): Buffer; uncompressSync(b: Buffer): Buffer };

function samples(): Buffer[] {
  const r = rng(7);
  // empty, one byte, a few odd sizes, and 1 MB of ReLU-like float32 (half zeros)
  const relu = new Float32Array(1 << 18).map(() => Math.max(0, r() - 0.5));
  return [0, 1, 7, 1000, 65_537].map((n) => Buffer.from(Uint8Array.from({ length: n }, () => Math.floor(r() * 4))))
    .concat([Buffer.from(relu.buffer)]);
}

describe.skipIf(!nativeLz4 && !process.env.CI)('liblz4 (native/lz4)', () => {
  it('is built where CI runs (liblz4-dev installed), unless MISTIQUE_LZ4_NATIVE=0', () => {
    expect(nativeLz4).not.toBeNull();
  });

  it('writes what lz4-napi reads and reads what it writes, bit for bit, at every size', () => {
    const lib = nativeLz4!;
    for (const raw of samples()) {
      const mine = lib.compress(raw);
      expect(mine.readUInt32LE(0), `${raw.length} bytes`).toBe(raw.length);
      expect(napi.uncompressSync(mine).equals(raw), `${raw.length} bytes by lz4-napi`).toBe(true);
      const theirs = napi.compressSync(raw);
      const out = new Uint8Array(raw.length);
      expect(lib.decompress(theirs, out)).toBe(raw.length);
      expect(Buffer.from(out).equals(raw), `${raw.length} bytes from lz4-napi`).toBe(true);
    }
  });

  it('a block of another length than its buffer, a damaged block or a short one is −1', () => {
    const lib = nativeLz4!;
    const raw = samples()[5]!;
    const enc = lib.compress(raw);
    expect(lib.decompress(enc, new Uint8Array(raw.length - 1))).toBe(-1);
    expect(lib.decompress(enc, new Uint8Array(raw.length + 1))).toBe(-1);
    const damaged = Buffer.from(enc);
    damaged.fill(0xff, 4, 64);
    expect(lib.decompress(damaged, new Uint8Array(raw.length))).toBe(-1);
    expect(lib.decompress(enc.subarray(0, enc.length - 10), new Uint8Array(raw.length))).toBe(-1);
    expect(lib.decompress(enc.subarray(0, 3), new Uint8Array(0))).toBe(-1);
    expect(() => lib.decompress(new Float32Array(4) as never, new Uint8Array(4))).toThrow('lz4.decompress(src: Uint8Array, dst: Uint8Array)');
    expect(() => lib.compress('text' as never)).toThrow('lz4.compress(src: Uint8Array)');
  });

  it('compressBatch: the same blocks as compress, off the calling thread, in order; a bad input throws before any work', async () => {
    const lib = nativeLz4!;
    const raws = samples();
    const pending = lib.compressBatch(raws);
    expect(pending).toBeInstanceOf(Promise);
    const got = await pending;
    expect(got).toHaveLength(raws.length);
    got.forEach((b, i) => expect(b.equals(lib.compress(raws[i]!)), `${raws[i]!.length} bytes`).toBe(true));
    expect(await lib.compressBatch([])).toEqual([]);
    expect(() => lib.compressBatch([new Uint8Array(4), new Float32Array(1) as never])).toThrow('lz4.compressBatch(srcs: Uint8Array[])');
    expect(() => lib.compressBatch('text' as never)).toThrow('lz4.compressBatch(srcs: Uint8Array[])');
  });

  it('a partition\'s segments through encodeMany: the bytes encode writes for each, in order', async () => {
    const c = lz4Codec();
    const r = rng(3);
    const segs = [0, 8, 4000, 65_536, 1 << 17, 24].map((n) => {
      const values = new Float32Array(n / 4).map(() => Math.max(0, r() - 0.5));
      return { chunks: [{ type: 'float32' as const, nrows: n / 4, ncols: 1, values }], rawLength: n };
    });
    const many = await c.encodeMany!(segs);
    expect(many).toHaveLength(segs.length);
    for (const [i, s] of segs.entries()) {
      expect(Buffer.from(many[i]!).equals(Buffer.from(await c.encode(s.chunks, s.rawLength))), `segment ${i}`).toBe(true);
    }
  });

  it('is what the lz4 codec writes; a damaged segment is still CORRUPT with lz4-napi\'s account of it', async () => {
    const c = lz4Codec();
    const raw = samples()[5]!;
    const chunk = { type: 'float32' as const, nrows: raw.length / 4, ncols: 1, values: new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4) };
    const bytes = await c.encode([chunk], raw.length);
    expect(Buffer.from(bytes).equals(nativeLz4!.compress(raw))).toBe(true);
    const seg = await c.decode(bytes, raw.length);
    expect(seg.byteLength).toBe(raw.length);
    expect(await thrownErrorAsync(c.decode(bytes, raw.length - 8))).toBe(`CORRUPT: lz4 segment decompressed to ${raw.length} bytes but ${raw.length - 8} were written`);
  });
});

describe('MISTIQUE_LZ4_NATIVE=0', () => {
  it('leaves the lz4 codec on lz4-napi', async () => {
    vi.resetModules();
    vi.stubEnv('MISTIQUE_LZ4_NATIVE', '0');
    try {
      expect((await import('../src/store/codecs/lz4native.js')).nativeLz4).toBeNull();
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

describe('cutRuns (a partition\'s segments, one run per core)', () => {
  it('cuts consecutive runs of about equal bytes, at most k, none empty, covering every item once', () => {
    expect(cutRuns([1, 1, 1, 1], 2)).toEqual([[0, 2], [2, 4]]);
    expect(cutRuns([10, 1, 1, 1], 2)).toEqual([[0, 1], [1, 4]]);
    expect(cutRuns([5], 2)).toEqual([[0, 1]]);
    expect(cutRuns([], 2)).toEqual([]);
    expect(cutRuns([1, 1, 1], 4)).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(cutRuns([3, 3, 3, 3, 3, 3], 3)).toEqual([[0, 2], [2, 4], [4, 6]]);
    expect(cutRuns([0, 0, 0], 2)).toEqual([[0, 1], [1, 3]]);
    const r = rng(11);
    for (let t = 0; t < 200; t++) {
      const sizes = Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 1000));
      const k = 1 + Math.floor(r() * 6);
      const runs = cutRuns(sizes, k);
      expect(runs.length).toBeLessThanOrEqual(k);
      let at = 0;
      for (const [a, b] of runs) { expect(a).toBe(at); expect(b).toBeGreaterThan(a); at = b; }
      expect(at).toBe(sizes.length);
    }
  });
});
