// The MetadataDB schema. `PRAGMA user_version` holds its version; migrations run in order on open.
import { addCrcSql, rehashIntermediatesV6Sql } from './rowcrc.js';

export const SCHEMA_VERSION = 9;

/** An intermediate's row with its project's and model's names. */
export const INTERMEDIATE_SELECT = `
  SELECT i.*, p.name AS project, m.name AS model FROM intermediates i
  JOIN models m ON m.id = i.model_id JOIN projects p ON p.id = m.project_id`;

export const MIGRATIONS: readonly string[] = [
  // v1: the data model of paper Fig. 5-6 plus per-intermediate statistics.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'external',
    source TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (project_id, name)
  );
  CREATE TABLE intermediates (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id),
    name TEXT NOT NULL,
    original_name TEXT,
    n_rows INTEGER NOT NULL,
    n_cols INTEGER NOT NULL,
    shape TEXT,
    scheme TEXT NOT NULL DEFAULT 'none',
    row_block_size INTEGER NOT NULL,
    tile_cols INTEGER NOT NULL,
    row_id_start INTEGER,            -- not NULL when row ids are start, start+1, …: no index lookup needed
    policy TEXT NOT NULL,
    bytes_raw INTEGER NOT NULL,      -- uncompressed bytes of all its chunks, row ids included
    bytes_new INTEGER NOT NULL,      -- uncompressed bytes of the chunks it added (not de-duplicated)
    n_chunks INTEGER NOT NULL,
    n_chunks_dedup INTEGER NOT NULL,
    t_log_ms REAL NOT NULL,
    n_query INTEGER NOT NULL DEFAULT 0,
    t_query_ms REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (model_id, name)
  );
  -- One row per named column; a tensor frame (names from its shape) has one row for all its columns.
  CREATE TABLE columns (
    intermediate_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    name TEXT,
    type TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (intermediate_id, idx)
  ) WITHOUT ROWID;
  CREATE TABLE rowblocks (
    intermediate_id INTEGER NOT NULL,
    block INTEGER NOT NULL,
    n_rows INTEGER NOT NULL,
    min_row_id INTEGER NOT NULL,
    max_row_id INTEGER NOT NULL,
    sorted INTEGER NOT NULL,
    rowid_blob INTEGER NOT NULL,
    PRIMARY KEY (intermediate_id, block)
  ) WITHOUT ROWID;
  CREATE TABLE chunks (
    intermediate_id INTEGER NOT NULL,
    block INTEGER NOT NULL,
    col_start INTEGER NOT NULL,
    n_cols INTEGER NOT NULL,
    blob_id INTEGER NOT NULL,
    PRIMARY KEY (intermediate_id, block, col_start)
  ) WITHOUT ROWID;
  -- A blob is a stored ColumnChunk's content; de-duplicated chunks share one. Blobs are registered
  -- with their partition, when it is written.
  CREATE TABLE blobs (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    partition_id INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    type TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    n_cols INTEGER NOT NULL,
    col_start INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    byte_length INTEGER NOT NULL
  );
  CREATE INDEX blobs_hash ON blobs (hash);
  CREATE TABLE partitions (
    id INTEGER PRIMARY KEY,
    codec TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    n_segments INTEGER NOT NULL,
    written_at TEXT NOT NULL
  );
  CREATE TABLE segments (
    partition_id INTEGER NOT NULL,
    seg INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    raw_length INTEGER NOT NULL,
    PRIMARY KEY (partition_id, seg)
  ) WITHOUT ROWID;
  `,
  // v2: workflows (TRAD pipelines, DNN checkpoints), their stages and lineage, stored trained operators,
  // KBIT_QT codebooks, and the MinHash signatures of stored chunks for approximate de-duplication.
  `
  CREATE TABLE workflows (
    model_id INTEGER PRIMARY KEY REFERENCES models(id),
    kind TEXT NOT NULL,              -- 'trad'
    spec TEXT NOT NULL,              -- the pipeline spec as given (YAML)
    data_dir TEXT,                   -- where its ReadCSV stages read from
    t_total_ms REAL NOT NULL,
    created_at TEXT NOT NULL
  );
  -- One row per stage; inputs (JSON list of stage names) is the lineage.
  CREATE TABLE stages (
    model_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    ord INTEGER NOT NULL,
    op TEXT NOT NULL,
    params TEXT NOT NULL,
    inputs TEXT NOT NULL,
    output TEXT NOT NULL,            -- 'table' or 'model'
    n_rows INTEGER,
    t_read_op_ms REAL NOT NULL,      -- loading its stored trained operator (model stages)
    t_read_input_ms REAL NOT NULL,   -- fetching its inputs
    t_exec_ms REAL NOT NULL,         -- running the operator
    t_log_ms REAL NOT NULL,          -- handing its output to the DataStore
    PRIMARY KEY (model_id, name)
  ) WITHOUT ROWID;
  CREATE TABLE operators (
    model_id INTEGER NOT NULL,
    stage TEXT NOT NULL,
    op TEXT NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (model_id, stage)
  ) WITHOUT ROWID;
  -- KBIT_QT: the value read back for each code of an intermediate (float32 little-endian).
  CREATE TABLE codebooks (
    intermediate_id INTEGER PRIMARY KEY,
    codes BLOB NOT NULL
  );
  CREATE TABLE minhashes (
    blob_id INTEGER PRIMARY KEY,
    cluster INTEGER NOT NULL,        -- the blob whose partition group this chunk joined (itself if none)
    sig BLOB NOT NULL
  );
  `,
  // v3: adaptive materialization. An intermediate may be registered with its schema and statistics but
  // no chunks (materialized = 0): queries re-run it until its γ (Eq. 5.5) passes γ_min. bytes_est is
  // the stored size it is expected to take (bytes_raw ÷ the store's compression ratio when registered).
  `
  ALTER TABLE intermediates ADD COLUMN materialized INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE intermediates ADD COLUMN bytes_est INTEGER;
  `,
  // v4: trust. `writer` is the token of the Store handle that logged a row and has not made it durable
  // yet (NULL: durable). Other handles neither see such rows nor, while that writer lives, remove them;
  // the next writer removes those of a dead one. A workflow's intermediates become durable with it.
  // Every segment carries the CRC-32 of its encoded bytes, checked on read. Stores of v3 have no
  // writer token: intermediates whose chunks point at blobs never written (v3's sign of a crash before a
  // flush) are handed to the recovery of the next writer.
  `
  ALTER TABLE intermediates ADD COLUMN writer TEXT;
  ALTER TABLE workflows ADD COLUMN writer TEXT;
  ALTER TABLE segments ADD COLUMN crc32 INTEGER;
  UPDATE intermediates SET writer = 'v3-unflushed' WHERE id IN (
    SELECT c.intermediate_id FROM chunks c LEFT JOIN blobs b ON b.id = c.blob_id WHERE b.id IS NULL
    UNION SELECT r.intermediate_id FROM rowblocks r LEFT JOIN blobs b ON b.id = r.rowid_blob WHERE b.id IS NULL);
  CREATE INDEX intermediates_writer ON intermediates (writer) WHERE writer IS NOT NULL;
  `,
  // v5: row checksums (metadata/rowcrc.ts): every row whose fields decide what a read or a re-run
  // returns carries a hash of those fields, filled here for the rows a v4 store holds.
  (['intermediates', 'columns', 'rowblocks', 'chunks', 'blobs', 'segments', 'partitions', 'codebooks', 'workflows', 'stages', 'operators'] as const)
    .map(addCrcSql).join('\n'),
  // v6: the order of values inside an intermediate's chunks. 'col' (every store before v6, and tables):
  // column-major, a column's values of the RowBlock one after another. 'row' (tensors from v6 on):
  // row-major, an example's values of the chunk's column range one after another, so that a dense read
  // is one copy per row run (src/store/geometry.ts).
  `
  ALTER TABLE intermediates ADD COLUMN chunk_order TEXT NOT NULL DEFAULT 'col';
  ${rehashIntermediatesV6Sql()}
  `,
  // v7: zone maps (src/store/zonemap.ts): a stored chunk's least and greatest number and its NaN count,
  // for chunks of plain numbers in column order; NULL where unknown (other chunks, blobs before v7).
  `
  ALTER TABLE blobs ADD COLUMN zmin REAL;
  ALTER TABLE blobs ADD COLUMN zmax REAL;
  ALTER TABLE blobs ADD COLUMN nnan INTEGER;
  `,
  // v8: no new column, a new meaning. A network's spec (workflows.spec) may hold `groups`: examples of
  // several input shapes logged in one run, with layers stored per group as `<layer>-<shape>`
  // (src/executor/onnx/dnnspec.ts). A mistique of v7 would re-run such a layer from the first group's
  // inputs, so a store this version opened is one it refuses ("newer than this mistique").
  `
  SELECT 1;
  `,
  // v9: no new column, new meanings in a network's spec. A recurrent layer (LSTM, GRU, RNN) is stored
  // batch-major, transposed from the op's time-major output, and a layer may hold `block` rows of the
  // output per example (an attention block's heads; src/executor/onnx/blocks.ts). A mistique of v8 would
  // re-run such a layer without the transpose or the block and return other values, so it refuses a store
  // this version opened.
  `
  SELECT 1;
  `,
];
