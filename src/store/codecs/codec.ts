// A Partition is a run of segments; a segment is a group of ColumnChunks with the same row count,
// encoded together by one codec. A codec turns chunks into bytes and bytes back into chunks.
import type { ChunkData } from '../../model/dataframe.js';
import type { ColumnType } from '../../model/types.js';

export type CodecId = 'gzip' | 'lz4' | 'arrow' | 'parquet';
/** The codecs whose segments a scan checks and decodes on the worker threads (`SegmentCodec.inflate`). */
export type InflateCodec = 'gzip' | 'lz4' | 'arrow' | 'parquet';
/** Whether a scan hands a segment's bytes on as they are, to be decoded where they are viewed (reader/scatter.ts's
 * segmentView): Arrow IPC and Parquet; gzip and LZ4 segments are inflated first. */
export function keptEncoded(codec: InflateCodec): boolean {
  return codec === 'arrow' || codec === 'parquet';
}
export const CODEC_IDS: readonly CodecId[] = ['gzip', 'lz4', 'arrow', 'parquet'];

/** Where one chunk sits inside its segment: column slots (arrow, parquet) and raw byte range (gzip). */
export interface Slot {
  type: ColumnType;
  nrows: number;
  ncols: number;
  colStart: number;
  byteOffset: number;
  byteLength: number;
}

/** Rows first…first+count−1 of a segment's chunks. */
export interface RowSpan { first: number; count: number }

export interface DecodedSegment {
  chunk(slot: Slot): ChunkData;
  /** Bytes this decoded segment holds in memory, for the bufferpool's budget. */
  readonly byteLength: number;
}

export interface SegmentCodec {
  readonly id: CodecId;
  /** File name extension of partitions written with this codec. */
  readonly ext: string;
  encode(chunks: readonly ChunkData[], rawLength: number): Promise<Uint8Array>;
  /**
   * Encodes many segments at once (a partition's), as `encode` would each, where the codec does that
   * faster than one call per segment (LZ4 on liblz4: a batch per core on the threadpool).
   */
  encodeMany?(segments: readonly { chunks: readonly ChunkData[]; rawLength: number }[]): Promise<Uint8Array[]>;
  /**
   * The segment's bytes as pieces, their concatenation what `encode` returns, where the codec's output is
   * mostly the chunks' own values (Arrow IPC): a partition's writev writes them where they lie, not after
   * a copy. The pieces share memory with the chunks: they live only until written.
   */
  encodeParts?(chunks: readonly ChunkData[], rawLength: number): Uint8Array[];
  decode(bytes: Uint8Array, rawLength: number): Promise<DecodedSegment>;
  /**
   * Rows `span.first`…`first+count−1` of every chunk only, each chunk carrying `firstRow`: where a codec
   * can skip the rest (Parquet's row groups), a read of a few rows of a segment decodes those alone.
   */
  decodeRows?(bytes: Uint8Array, rawLength: number, span: RowSpan): Promise<DecodedSegment>;
  /**
   * The decoded form of chunks just encoded, without decoding them (write-through into the
   * bufferpool); absent where building it would cost as much as a decode.
   */
  decodedFrom?(chunks: readonly ChunkData[], rawLength: number): DecodedSegment;
  /**
   * Set by codecs whose segments a scan checks and decodes on worker threads (store/inflate.ts), a run of
   * segments at a time: those of the raw segment layout (raw.ts) inflate with this decompressor and are
   * viewed as a RawSegment; Arrow IPC's bytes are already the decoded form, viewed as a TableSegment, and
   * a Parquet file is decoded by parquet-wasm on the worker into one.
   */
  readonly inflate?: InflateCodec;
}
