// The checksum of every stored segment: CRC-32 (IEEE, the polynomial of zlib and gzip). @node-rs/crc32
// computes it with SIMD at ~8 GB/s here, four times node:zlib's crc32; the values are the same, so
// node:zlib stands in wherever the native binding cannot load.
import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { checksumsOn } from '../metadata/rowcrc.js';

/** The CRC-32 of `bytes`, continuing from `crc` (the CRC-32 of the bytes before them; 0 for none). */
type Crc = (bytes: Uint8Array, crc?: number) => number;

function load(): Crc {
  try {
    const native = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (b: Buffer, initial?: number) => number }).crc32;
    return (b, crc = 0) => native(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength), crc);
  } catch {
    return (b, crc = 0) => zlibCrc32(b, crc);
  }
}

export const checksum: Crc = load();

/** The CRC-32 of the concatenation of `parts` (a segment written as pieces), without concatenating them. */
export function checksumParts(parts: readonly Uint8Array[]): number {
  let crc = 0;
  for (const p of parts) crc = checksum(p, crc);
  return crc;
}

/** Whether checksums are written and checked (metadata/rowcrc.ts: off only to measure their cost). */
export { checksumsOn } from '../metadata/rowcrc.js';

/** Why a segment's bytes are not those written (their CRC-32 differs from the recorded one), or null. */
export function segmentMismatch(bytes: Uint8Array, recorded: number | null): string | null {
  if (recorded === null || !checksumsOn) return null;
  const got = checksum(bytes);
  return got === recorded ? null : `checksum mismatch: the bytes on disk (crc32 ${got.toString(16)}) are not those written (${recorded.toString(16)})`;
}
