// `mistique log p.m.i x.npy` takes the arrays numpy users have: float16, integers (numpy's default int64:
// labels, class ids), booleans, and Fortran-order arrays — each exactly, as a float tensor in C order.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { npyHeader } from '../src/export/writers.js';
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
  });
});
