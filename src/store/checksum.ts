// The checksum of every stored segment: CRC-32 (IEEE, the polynomial of zlib and gzip). @node-rs/crc32
// computes it with SIMD at ~8 GB/s here, four times node:zlib's crc32; the values are the same, so
// node:zlib stands in wherever the native binding cannot load.
import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { checksumsOn } from '../metadata/rowcrc.js';

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

/** Why a segment's bytes are not those written (their CRC-32 differs from the recorded one), or null. */
export function segmentMismatch(bytes: Uint8Array, recorded: number | null): string | null {
  if (recorded === null || !checksumsOn) return null;
  const got = checksum(bytes);
  return got === recorded ? null : `checksum mismatch: the bytes on disk (crc32 ${got.toString(16)}) are not those written (${recorded.toString(16)})`;
}
