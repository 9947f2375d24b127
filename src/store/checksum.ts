// The checksum of every stored segment: CRC-32 (IEEE, the polynomial of zlib and gzip). @node-rs/crc32
// computes it with SIMD at ~8 GB/s here, four times node:zlib's crc32; the values are the same, so
// node:zlib stands in wherever the native binding cannot load.
import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';

type Crc = (bytes: Uint8Array) => number;

function load(): Crc {
  try {
    const native = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (b: Buffer) => number }).crc32;
    return (b) => native(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  } catch {
    return (b) => zlibCrc32(b);
  }
}

export const checksum: Crc = load();

/** Whether checksums are written and checked (metadata/rowcrc.ts: off only to measure their cost). */
export { checksumsOn } from '../metadata/rowcrc.js';
