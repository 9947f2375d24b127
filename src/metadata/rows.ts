// The MetadataDB's rows as the rest of mistique sees them (what its getters return and inserts take).
import type { ColumnType } from '../model/types.js';

export interface IntermediateRow {
  id: number;
  project: string;
  model: string;
  name: string;
  original_name: string | null;
  n_rows: number;
  n_cols: number;
  shape: string | null;
  scheme: string;
  row_block_size: number;
  tile_cols: number;
  row_id_start: number | null;
  policy: string;
  bytes_raw: number;
  bytes_new: number;
  n_chunks: number;
  n_chunks_dedup: number;
  t_log_ms: number;
  n_query: number;
  t_query_ms: number;
  /** 0: registered (schema, statistics, how to re-create it) but its chunks are not stored. */
  materialized: number;
  bytes_est: number | null;
  /** How values lie inside its chunks: 'col' column-major (tables, stores before v6), 'row' row-major (tensors). */
  chunk_order: ChunkOrder;
}

export type ChunkOrder = 'col' | 'row';

export interface ColumnRow { idx: number; name: string | null; type: ColumnType; count: number }
export interface RowBlockRow { block: number; n_rows: number; min_row_id: number; max_row_id: number; sorted: number; rowid_blob: number }
export interface ChunkRow { block: number; col_start: number; n_cols: number; blob_id: number }
export interface BlobRow {
  id: number;
  hash: Buffer;
  partition_id: number;
  segment: number;
  type: ColumnType;
  n_rows: number;
  n_cols: number;
  col_start: number;
  byte_offset: number;
  byte_length: number;
  /** The zone map (v7): least / greatest number and NaN count; null or absent where unknown. */
  zmin?: number | null;
  zmax?: number | null;
  nnan?: number | null;
}
/** A chunk of a RowBlock with its blob's location; blob fields are null while the blob waits in memory. */
export interface BlockChunkRow extends ChunkRow { blob: BlobRow | null }

/** `crc32`: of the segment's encoded bytes (null in partitions written before checksums). */
export interface SegmentRow { partition_id: number; seg: number; offset: number; length: number; raw_length: number; crc32: number | null }
export interface PartitionRow { id: number; codec: string; file: string; bytes: number; raw_bytes: number; n_segments: number }

export interface NewIntermediate {
  project: string;
  model: string;
  name: string;
  originalName: string | null;
  nRows: number;
  nCols: number;
  shape: number[] | null;
  scheme: string;
  rowBlockSize: number;
  tileCols: number;
  chunkOrder: ChunkOrder;
  rowIdStart: number | null;
  policy: string;
  bytesRaw: number;
  bytesNew: number;
  nChunksDedup: number;
  tLogMs: number;
  columns: ColumnRow[];
  rowblocks: RowBlockRow[];
  chunks: ChunkRow[];
  /** KBIT_QT: the value of each code. */
  codebook?: Float32Array | null;
  /** false: register schema and statistics only (policy adaptive); default true. */
  materialized?: boolean;
  bytesEst?: number | null;
  /** Not durable yet: the writer token of the handle logging it (see schema v4); null: durable now. */
  writer?: string | null;
}

export interface StageRow {
  name: string;
  ord: number;
  op: string;
  params: string;
  inputs: string;
  output: 'table' | 'model';
  n_rows: number | null;
  t_read_op_ms: number;
  t_read_input_ms: number;
  t_exec_ms: number;
  t_log_ms: number;
}

export interface OperatorRow { stage: string; op: string; bytes: Uint8Array }

export interface WorkflowRow { model_id: number; kind: string; spec: string; data_dir: string | null; t_total_ms: number }
