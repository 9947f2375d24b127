// `mistique log p.m.i x.npy` takes the arrays numpy users have: float16, integers (numpy's default int64:
// labels, class ids), booleans, and Fortran-order arrays — each exactly, as a float tensor in C order.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { npyHeader } from '../src/export/writers.js';
import { npyFirst, npyFrames } from '../src/cli/npy.js';
import { openStore } from '../src/index.js';
import { tempDir } from './helpers.js';

const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

describe('mistique log of a .npy file', () => {
  it('logs float16, int64, int8, uint32 and bool arrays exactly, and Fortran order as C order', async () => {
    const dir = tempDir(), store = path.join(dir, 'store');
    const files: Record<string, Buffer> = {
      i64: Buffer.concat([npyHeader('<i8', [2, 3]), bytes(BigInt64Array.from([0n, -1n, 2n ** 40n, 3n, 4n, -(2n ** 53n)]))]),
      i8: Buffer.concat([npyHeader('|i1', [2, 2]), bytes(Int8Array.from([-128, 127, 0, 5]))]),
      u4: Buffer.concat([npyHeader('<u4', [1, 2]), bytes(Uint32Array.from([4294967295, 7]))]),
      b: Buffer.concat([npyHeader('|b1', [2, 2]), bytes(Uint8Array.from([1, 0, 0, 1]))]),
      // 1.0, −2.0, 65504 (float16's largest), 2^−24 (its smallest subnormal)
      f16: Buffer.concat([npyHeader('<f2', [2, 2]), bytes(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]))]),
      // a 2 × 3 array [[1, 2, 3], [4, 5, 6]] as numpy writes it with order='F'
      fortran: Buffer.concat([Buffer.from(Buffer.from(npyHeader('<f8', [2, 3])).toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1'), bytes(Float64Array.from([1, 4, 2, 5, 3, 6]))]),
      // big-endian (numpy's dtype('>f4'), …): each value's bytes swapped
      bef4: Buffer.concat([npyHeader('>f4', [1, 3]), Buffer.from(bytes(Float32Array.from([1.5, -0, Infinity]))).swap32()]),
      bei8: Buffer.concat([npyHeader('>i8', [2, 1]), Buffer.from(bytes(BigInt64Array.from([-(2n ** 40n), 9n]))).swap64()]),
      bef2: Buffer.concat([npyHeader('>f2', [1, 2]), Buffer.from(bytes(Uint16Array.from([0x3c00, 0xc000]))).swap16()]),
    };
    const want: Record<string, number[]> = {
      i64: [0, -1, 2 ** 40, 3, 4, -(2 ** 53)], i8: [-128, 127, 0, 5], u4: [4294967295, 7], b: [1, 0, 0, 1],
      f16: [1, -2, 65504, 2 ** -24], fortran: [1, 2, 3, 4, 5, 6], bef4: [1.5, -0, Infinity], bei8: [-(2 ** 40), 9], bef2: [1, -2],
    };
    for (const [name, b] of Object.entries(files)) {
      const f = path.join(dir, `${name}.npy`);
      fs.writeFileSync(f, b);
      const err: string[] = [];
      expect(await run(['log', `p.m.${name}`, f, '--store', store], { out: () => undefined, err: (x) => err.push(x) }), err.join('\n')).toBe(0);
    }
    const s = await openStore(store);
    try {
      for (const [name, v] of Object.entries(want)) expect(Array.from((await s.getIntermediates(`p.m.${name}.*`)).values), name).toEqual(v);
    } finally {
      await s.close();
    }
    // an int64 beyond ±2^53 would be rounded: one clear error, nothing logged
    const big = path.join(dir, 'big.npy');
    fs.writeFileSync(big, Buffer.concat([npyHeader('<i8', [1, 1]), bytes(BigInt64Array.from([2n ** 53n + 1n]))]));
    const err: string[] = [];
    expect(await run(['log', 'p.m.big', big, '--store', store], { out: () => undefined, err: (x) => err.push(x) })).toBe(1);
    expect(err.join('\n')).toMatch(/value 9007199254740993 \(int64\) is beyond ±2\^53/);
    // a single value (shape ()) has no examples axis: said so, not 'mistique reads .npy arrays of <f4…'
    const one = path.join(dir, 'one.npy');
    fs.writeFileSync(one, Buffer.concat([npyHeader('<f4', []), bytes(Float32Array.of(3))]));
    err.length = 0;
    expect(await run(['log', 'p.m.one', one, '--store', store], { out: () => undefined, err: (x) => err.push(x) })).toBe(1);
    expect(err.join('\n')).toMatch(/one\.npy holds one value \(shape \(\)\): an intermediate needs an examples axis first/);
    // no examples at all: said so (it was "nothing was appended to p.m.none: an intermediate needs at least one batch")
    const none = path.join(dir, 'none.npy');
    fs.writeFileSync(none, npyHeader('<f4', [0, 10]));
    err.length = 0;
    expect(await run(['log', 'p.m.none', none, '--store', store], { out: () => undefined, err: (x) => err.push(x) })).toBe(1);
    expect(err.join('\n')).toBe(`mistique log: ${none} holds no examples (shape (0, 10)): there is nothing in it to log`);
  });

  it('streams a .npy batch by batch from the file: values and row ids as one read, Fortran order whole, big-endian swapped', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'x.npy');
    const x = Float32Array.from({ length: 37 * 6 }, (_, i) => (i % 5) - 1.5);
    fs.writeFileSync(f, Buffer.concat([npyHeader('<f4', [37, 2, 3]), bytes(x)]));
    // batches of 5 rows (24 bytes a row, 128 bytes a batch): 8 batches, the last of 2
    const npy = npyFrames(f, 128);
    expect(npy.examples).toBe(37);
    const frames = [];
    for await (const fr of npy.frames()) frames.push(fr);
    expect(frames.map((fr) => fr.nrows)).toEqual([5, 5, 5, 5, 5, 5, 5, 2]);
    expect(frames.flatMap((fr) => Array.from(fr.rowIds))).toEqual(Array.from({ length: 37 }, (_, i) => i));
    expect(frames.flatMap((fr) => Array.from((fr as unknown as { values: Float32Array }).values))).toEqual(Array.from(x));
    // logged through the CLI the same, over several batches of the store's writer
    const store = path.join(dir, 'store');
    expect(await run(['log', 'p.m.x', f, '--store', store], { out: () => undefined, err: () => undefined })).toBe(0);
    const s = await openStore(store);
    try {
      const m = await s.getIntermediates('p.m.x.*');
      expect(m.shape).toEqual([2, 3]);
      expect(Array.from(m.values)).toEqual(Array.from(x));
    } finally {
      await s.close();
    }
  });

  it('reads the first examples of a file without the rest (--input --examples), and a file too large to read whole is one clear error', async () => {
    const dir = tempDir();
    // a 3 GiB float32 array, sparse on disk: its first 4 examples are read alone
    const huge = path.join(dir, 'huge.npy');
    const head = npyHeader('<f4', [3 * 2 ** 20, 256]);
    const fd = fs.openSync(huge, 'w');
    fs.writeSync(fd, head);
    fs.writeSync(fd, bytes(Float32Array.from({ length: 4 * 256 }, (_, i) => i)), 0, 4 * 256 * 4, head.length);
    fs.ftruncateSync(fd, head.length + 3 * 2 ** 20 * 256 * 4);
    fs.closeSync(fd);
    const first = npyFirst(huge, 4);
    expect(first.shape).toEqual([4, 256]);
    expect(Array.from(first.values.subarray(0, 3) as Float32Array)).toEqual([0, 1, 2]);
    expect(() => npyFirst(huge, Infinity)).toThrow(/3145728 examples are 3\.0 GiB, past the 2 GiB a buffer holds; give fewer \(--examples N\)/);
    // a CSV past 2 GiB: said so, with the ways out (it was an internal error with a stack trace)
    const csv = path.join(dir, 'big.csv');
    fs.writeFileSync(csv, 'a,b\n');
    fs.truncateSync(csv, 2 ** 31 + 10);
    const err: string[] = [];
    expect(await run(['log', 'p.m.big', csv, '--store', path.join(dir, 's')], { out: () => undefined, err: (e) => err.push(e) })).toBe(1);
    expect(err.join('\n')).toMatch(/big\.csv is 2\.0 GiB: a \.csv file is read whole, .* save the values as \.npy, which is logged batch by batch/);
    expect(err.join('\n')).not.toMatch(/internal error|    at /);
  });
});
