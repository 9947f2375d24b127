// Reading quantized intermediates back as floats (paper §5.4.1: "pay a reconstruction cost"): a chunk
// whose physical type differs from its column's logical float32 type is decoded by the intermediate's
// storage scheme — float16 bits (LP_QT), k-bit codes through the intermediate's codebook (KBIT_QT), or
// threshold bits as 0/1 (THRESHOLD_QT).
import { MistiqueError } from '../errors.js';
import type { ChunkData } from '../model/dataframe.js';
import { fromFloat16 } from '../quantize/lowprecision.js';
import { kbitBlockDecode } from '../quantize/kbit.js';
import { idRange } from './rowspec.js';
import type { BlockRows } from './sink.js';

export type Reconstruct = (c: ChunkData) => ChunkData;

export const identity: Reconstruct = (c) => c;

/** Marks chunks as row-major (the byte codecs hand chunks back without knowing their order), then decodes them. */
export function rowMajor(decode: Reconstruct): Reconstruct {
  return (c) => decode(c.order === 'row' ? c : { ...c, order: 'row' });
}

/**
 * The asked rows of a row-major chunk, before it is decoded: a one-row read of a quantized layer then
 * converts one row of each chunk, not the chunk's 20–40 (float16 and k-bit chunks hold more rows than
 * float32 ones). Decoded chunks hold one element per value, so a row is `ncols` elements of any type.
 */
export function pickRows(c: ChunkData, rows: BlockRows): { chunk: ChunkData; rows: BlockRows } {
  const w = c.ncols, { offsets } = rows, n = offsets.length;
  const src = c.values;
  const out = new (src.constructor as new (n: number) => typeof src)(n * w);
  for (let i = 0; i < n; i++) out.set(src.subarray(offsets[i]! * w, (offsets[i]! + 1) * w) as never, i * w);
  return { chunk: { ...c, nrows: n, values: out }, rows: { offsets: idRange(0, n), outRows: rows.outRows, contiguous: rows.contiguous } };
}

/** The decoder for one intermediate, given its scheme string and (for KBIT_QT) its codebook. */
export function reconstructor(key: string, scheme: string, codebook: Float32Array | null): Reconstruct {
  return (c) => {
    switch (c.type) {
      case 'float16':
        return { ...c, type: 'float32', values: fromFloat16(c.values as Uint16Array) };
      case 'uint8': {
        if (!codebook) throw new MistiqueError('CORRUPT', `${key} is stored as ${scheme} codes but its codebook is missing from the MetadataDB`);
        const codes = c.values as Uint8Array, out = new Float32Array(codes.length);
        for (let i = 0; i < codes.length; i++) out[i] = codebook[codes[i]!]!;
        return { ...c, type: 'float32', values: out };
      }
      case 'kbit':
        if (!c.codebook) throw new MistiqueError('CORRUPT', `a chunk of ${key} holds ${scheme} codes without their codebook`);
        return { ...c, type: 'float32', values: kbitBlockDecode(c.values as Uint8Array, c.codebook) };
      case 'bool':
        return { ...c, type: 'float32', values: Float32Array.from(c.values as Uint8Array) };
      default:
        return c;
    }
  };
}
