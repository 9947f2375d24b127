// liblz4 (Debian's, through the optional native/lz4 addon) for the lz4 codec: the same LZ4 block and the
// same framing as lz4-napi (the raw length as 4 bytes little-endian, then the block), so a segment written
// by either reads with the other. On bench:io's tensor in 64 KB pieces liblz4 compresses ~1.2× and
// decompresses ~1.3× faster than lz4-napi's lz4_flex at the same ratio (~470 / ~1 840 MB/s on one core
// here), and it decompresses into a buffer it is given instead of a fresh one. lz4-napi stays wherever the addon was not
// built (no liblz4-dev) or MISTIQUE_LZ4_NATIVE=0 says so (to compare the two).
import { createRequire } from 'node:module';

export interface NativeLz4 {
  /** The framed block of `src`. */
  compress(src: Uint8Array): Buffer;
  /** Decompresses a framed block into `dst`, which must be exactly its raw length: bytes written, or −1. */
  decompress(src: Uint8Array, dst: Uint8Array): number;
  /**
   * The framed blocks of `srcs`, compressed one after another on a libuv threadpool thread while the
   * caller's thread goes on; `srcs` must not change until it settles.
   */
  compressBatch(srcs: Uint8Array[]): Promise<Buffer[]>;
}

function load(): NativeLz4 | null {
  if (process.env.MISTIQUE_LZ4_NATIVE === '0') return null;
  try {
    return createRequire(import.meta.url)('mistique-lz4') as NativeLz4;
  } catch {
    return null;
  }
}

export const nativeLz4: NativeLz4 | null = load();
