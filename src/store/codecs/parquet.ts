// Parquet codec: each segment a Parquet file (zstd by default) written and read by parquet-wasm.
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import type { SegmentCodec } from './codec.js';
import { chunksToTable, TableSegment } from './arrowbatch.js';

export type ParquetCompression = 'zstd' | 'snappy' | 'gzip' | 'none';

export async function parquetCodec(compression: ParquetCompression = 'zstd'): Promise<SegmentCodec> {
  const pq = await import('parquet-wasm');
  const kind = {
    zstd: pq.Compression.ZSTD,
    snappy: pq.Compression.SNAPPY,
    gzip: pq.Compression.GZIP,
    none: pq.Compression.UNCOMPRESSED,
  }[compression];
  return {
    id: 'parquet',
    ext: 'parquet',
    async encode(chunks) {
      const wasmTable = pq.Table.fromIPCStream(tableToIPC(chunksToTable(chunks), 'stream'));
      const props = new pq.WriterPropertiesBuilder().setCompression(kind).setDictionaryEnabled(false).build();
      return pq.writeParquet(wasmTable, props);
    },
    async decode(bytes, rawLength) {
      const table = tableFromIPC(pq.readParquet(bytes).intoIPCStream());
      return new TableSegment(table, rawLength);
    },
  };
}
