// Parquet codec: each segment a Parquet file written and read by parquet-wasm. Snappy by default: in
// parquet-wasm it decodes ~3.4× faster than zstd (measured: 507 vs 149 MB/s) for ~40% more bytes.
// A segment's rows are cut into row groups of about ROW_GROUP_BYTES of raw values, so that a read of a
// few rows (decodeRows) decodes their row groups alone: a tensor chunk is a fixed-size-list column, and
// Parquet decodes a repetition and a definition level for every value of every row it reads.
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { MistiqueError } from '../../errors.js';
import type { RowSpan, SegmentCodec } from './codec.js';
import { chunksToTable, TableSegment } from './arrowbatch.js';

export type ParquetCompression = 'snappy' | 'zstd' | 'lz4' | 'gzip' | 'none';
export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = ['snappy', 'zstd', 'lz4', 'gzip', 'none'];

/** `c` as a Parquet compression, or BAD_OPTION naming the choices. */
export function checkParquetCompression(c: unknown): ParquetCompression {
  if (!PARQUET_COMPRESSIONS.includes(c as ParquetCompression)) throw new MistiqueError('BAD_OPTION', `parquetCompression ${JSON.stringify(c)} is unknown: use ${PARQUET_COMPRESSIONS.join(', ')}`);
  return c as ParquetCompression;
}

/** Raw bytes of values per row group (at least one row): one row of a 128 KB fp32 tensor chunk of a wide layer. */
export const ROW_GROUP_BYTES = 16 * 1024;

/** Rows per row group of a segment of `nrows` rows and `rawLength` raw bytes. */
export function rowGroupRows(nrows: number, rawLength: number): number {
  return Math.max(1, Math.floor(ROW_GROUP_BYTES / Math.max(1, rawLength / Math.max(1, nrows))));
}

/**
 * The row groups of a Parquet file that hold rows span.first…first+count−1, and the first row of the
 * first of them; null when the file has one row group. From the footer (hyparquet reads it in ~0.2 ms;
 * parquet-wasm would skip the groups before `offset` only by decoding their levels, ~4× slower).
 */
export function rowGroupsOver(bytes: Uint8Array, span: RowSpan): { indices: number[]; first: number } | null {
  let groups: { num_rows: bigint }[];
  try {
    groups = parquetMetadata(bytes).row_groups;
  } catch (err) {
    throw new MistiqueError('CORRUPT', `a Parquet segment's footer does not parse (${(err as Error).message})`, { cause: err });
  }
  if (groups.length <= 1) return null;
  const indices: number[] = [];
  let start = 0, first = 0;
  for (let g = 0; g < groups.length && start < span.first + span.count; g++) {
    const end = start + Number(groups[g]!.num_rows);
    if (end > span.first) {
      if (indices.length === 0) first = start;
      indices.push(g);
    }
    start = end;
  }
  if (indices.length === 0) throw new MistiqueError('CORRUPT', `rows ${span.first}…${span.first + span.count - 1} of a Parquet segment were asked for, but it holds ${start}`);
  return { indices, first };
}

/** A decoder of a whole Parquet segment into one record batch, parquet-wasm loaded (~40 ms): the codec's
 * decode, and a scan's on a worker thread (reader/scatter.ts). */
export async function parquetSegmentDecoder(): Promise<(bytes: Uint8Array, rawLength: number) => TableSegment> {
  const pq = await import('parquet-wasm');
  // one record batch for the whole segment: parquet-wasm's default cuts batches of 1 024 rows, and a
  // RowBlock may hold more (the batch size is a bound: nothing is allocated for it)
  return (bytes, rawLength) => new TableSegment(tableFromIPC(pq.readParquet(bytes, { batchSize: ONE_BATCH }).intoIPCStream()), rawLength);
}

// Stryker disable next-line StringLiteral: the default is loadCodec's to give; this one is never taken
export async function parquetCodec(compression: ParquetCompression = 'snappy'): Promise<SegmentCodec> {
  const pq = await import('parquet-wasm');
  const decodeWhole = await parquetSegmentDecoder();
  const kind = {
    zstd: pq.Compression.ZSTD,
    lz4: pq.Compression.LZ4_RAW,
    snappy: pq.Compression.SNAPPY,
    gzip: pq.Compression.GZIP,
    none: pq.Compression.UNCOMPRESSED,
  }[compression];
  return {
    id: 'parquet',
    ext: 'parquet',
    inflate: 'parquet',
    async encode(chunks, rawLength) {
      const wasmTable = pq.Table.fromIPCStream(tableToIPC(chunksToTable(chunks), 'stream'));
      // no column statistics: nothing reads them (zone maps live in the MetadataDB), and computing them
      // per page took ~40% of an fp32 segment's encoding
      const props = new pq.WriterPropertiesBuilder().setCompression(kind).setDictionaryEnabled(false)
        .setStatisticsEnabled(pq.EnabledStatistics.None)
        .setMaxRowGroupSize(rowGroupRows(chunks[0]?.nrows ?? 0, rawLength)).build();
      return pq.writeParquet(wasmTable, props);
    },
    async decode(bytes, rawLength) {
      return decodeWhole(bytes, rawLength);
    },
    async decodeRows(bytes, rawLength, span: RowSpan) {
      const groups = rowGroupsOver(bytes, span);
      // a segment of one row group (written before row groups were cut): offset and limit at least skip decoding the values
      const table = tableFromIPC(pq.readParquet(bytes, groups
        ? { batchSize: ONE_BATCH, rowGroups: groups.indices }
        : { batchSize: ONE_BATCH, offset: span.first, limit: span.count }).intoIPCStream());
      return new TableSegment(table, rawLength, groups ? { first: groups.first, count: table.numRows } : span);
    },
  };
}

// Stryker disable next-line ArithmeticOperator: any bound past a RowBlock's rows reads one batch
const ONE_BATCH = 2 ** 31 - 1;
