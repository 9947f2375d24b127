// The MetadataDB schema. `PRAGMA user_version` holds its version; migrations run in order on open.

export const SCHEMA_VERSION = 1;

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
];
