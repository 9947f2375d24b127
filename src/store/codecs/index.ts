// Codec registry keyed by on-disk id; parquet-wasm (heavy) is loaded only when a store uses it.
import { MistiqueError } from '../../errors.js';
import { arrowCodec } from './arrow.js';
import { CODEC_IDS, type CodecId, type SegmentCodec } from './codec.js';
import { gzipCodec } from './gzip.js';
import { lz4Codec } from './lz4.js';
import type { ParquetCompression } from './parquet.js';

export type { CodecId, DecodedSegment, InflateCodec, RowSpan, SegmentCodec, Slot } from './codec.js';
export { CODEC_IDS, keptEncoded } from './codec.js';

export interface CodecOptions {
  gzipLevel?: number;
  parquetCompression?: ParquetCompression;
}

export async function loadCodec(id: string, opts: CodecOptions = {}): Promise<SegmentCodec> {
  switch (id as CodecId) {
    case 'gzip': return gzipCodec(opts.gzipLevel ?? 6);
    case 'lz4': return lz4Codec();
    case 'arrow': return arrowCodec();
    case 'parquet': {
      const { parquetCodec, checkParquetCompression } = await import('./parquet.js');
      return parquetCodec(checkParquetCompression(opts.parquetCompression ?? 'snappy'));
    }
    default: throw new MistiqueError('BAD_OPTION', `unknown codec ${JSON.stringify(id)}: choose one of ${CODEC_IDS.join(', ')}`);
  }
}
