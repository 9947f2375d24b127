// KNN on stored layers and the vector indexes that answer it (#21): building, listing and dropping a
// layer's HNSW index, a KNN query by the index when one fits the layer as stored now (else exactly over
// every row), and policy adaptive's rule that indexes a layer once its exact searches have cost as much
// as building the index. What it needs of the store comes in as the NeighbourHost interface.
import fs from 'node:fs';
import { checkK } from '../diagnostics/queries.js';
import type { Metric, KnnResult } from '../diagnostics/knn.js';
import { MistiqueError } from '../errors.js';
import type { IntermediateRow, MetadataDB } from '../metadata/metadatadb.js';
import type { Matrix } from '../model/matrix.js';
import type { ChunkReader } from './chunkreader.js';
import type { RowSelection } from './rowspec.js';
import { intermediateByKey } from './resolve.js';
import {
  addExactSpend, buildIndex as buildAndRegister, buildNsPerValue, dropIndex as dropIndexSync, IndexCache, indexesOf, indexInfo, installIndex, recordBuild, searchIndex, shouldBuild, writeIndex,
  type BuiltIndex, type IndexInfo,
} from './vectorindex.js';

/** Rows a vector index is built from at a time: whole RowBlocks, as an export reads them. */
const INDEX_GROUP_BYTES = 8 * 1024 * 1024;

export interface NeighbourHost {
  readonly dir: string;
  readonly db: MetadataDB;
  readonly reader: ChunkReader;
  readonly adaptive: boolean;
  getIntermediates(keys: string, opts?: { rows?: RowSelection }): Promise<Matrix>;
  /** Takes the store's write lock for this handle (waiting as the store is configured), or throws LOCKED. */
  writable(): void;
  /** Whether this handle holds the write lock or could take it now (no other process writes). */
  canWrite(): boolean;
  /** Runs `fn` with the write lock if no other process holds it now (false: it did not run). */
  ifUnlocked(fn: () => Promise<void>): Promise<boolean>;
}

/** A KNN metric, checked. */
export function knnMetric(m: Metric | undefined): Metric {
  if (m === undefined) return 'euclidean';
  if (m !== 'euclidean' && m !== 'cosine') throw new MistiqueError('BAD_OPTION', `metric ${JSON.stringify(m)}: use 'euclidean' or 'cosine'`);
  return m;
}

export class Neighbours {
  /** Vector indexes loaded for KNN. */
  private readonly indexes = new IndexCache();

  constructor(private readonly host: NeighbourHost) {}

  /** Builds (or rebuilds) a layer's index from its stored rows; the write lock is taken. */
  async buildIndex(key: string, opts: { metric?: Metric; onProgress?: (done: number, total: number) => void } = {}): Promise<IndexInfo> {
    const metric = knnMetric(opts.metric);
    const row = intermediateByKey(this.host.db, key);
    if (row.materialized === 0) throw new MistiqueError('NOT_STORED', `${key} is not stored: an index is built from stored rows, and policy adaptive stores a layer only once querying it has cost more than storing it would (γ ≥ γ_min; until then KNN on it re-runs it and searches exactly) — to index it now, log the model into a store of policy dedup`);
    this.host.writable();
    return this.indexLayer(key, row, metric, opts.onProgress);
  }

  /** Builds a layer's index from its stored rows (the write lock held), records this machine's build rate. */
  private async indexLayer(key: string, row: IntermediateRow, metric: Metric, onProgress?: (done: number, total: number) => void): Promise<IndexInfo> {
    const info = await buildAndRegister(this.host.dir, this.host.db, key, row.id, metric, this.rowGroups(key, row, onProgress));
    this.registered(info);
    return info;
  }

  /** A layer's stored rows in groups of whole RowBlocks, as an export reads them. */
  private async *rowGroups(key: string, row: IntermediateRow, onProgress?: (done: number, total: number) => void): AsyncGenerator<Matrix> {
    let done = 0;
    for await (const m of this.host.reader.groups(key, INDEX_GROUP_BYTES)) { done += m.nrows; onProgress?.(done, row.n_rows); yield m; }
  }

  private registered(info: IndexInfo): void {
    recordBuild(this.host.db, info);
    this.indexes.forget(info.file);
  }

  /** The vector indexes of these intermediates, as registered. */
  list(keys: readonly string[]): IndexInfo[] {
    return keys.flatMap((k) => indexesOf(this.host.db, k));
  }

  /** Removes an intermediate's indexes (every metric, or one); the write lock is taken. */
  dropIndex(key: string, opts: { metric?: Metric } = {}): IndexInfo[] {
    const found = indexesOf(this.host.db, key).filter((x) => opts.metric === undefined || x.metric === opts.metric);
    if (found.length === 0) throw new MistiqueError('NOT_FOUND', `${key} has no vector index${opts.metric ? ` for ${opts.metric}` : ''}; \`mistique index --list\` lists them`);
    this.host.writable();
    this.drop(found);
    return found;
  }

  /** An intermediate is deleted or replaced: its indexes go with it (the write lock already held). */
  dropAllOf(keys: readonly string[]): void {
    this.drop(keys.flatMap((k) => indexesOf(this.host.db, k)));
  }

  private drop(found: readonly IndexInfo[]): void {
    for (const x of found) { dropIndexSync(this.host.dir, this.host.db, x); this.indexes.forget(x.file); }
  }

  /** KNN by the layer's index when one was built for the metric from the layer as stored now, else exactly. */
  async knn(key: string, row: number, opts: { k?: number; metric?: Metric; exact?: boolean; rows?: RowSelection } = {}): Promise<KnnResult & { path: 'index' | 'exact'; ms: number; matrix?: Matrix }> {
    const t0 = performance.now();
    if (!Number.isInteger(row)) throw new MistiqueError('BAD_ROWS', `knn(key, row, { k, metric }): row is the row id of the example to search from, a whole number; got ${row === null ? 'null' : typeof row === 'object' ? 'an object' : JSON.stringify(row) ?? typeof row}`);
    const metric = knnMetric(opts.metric);
    const k = opts.k ?? 10;
    checkK(k);
    const r = intermediateByKey(this.host.db, key);
    const info = !opts.exact && opts.rows === undefined ? indexInfo(this.host.db, key, metric) : undefined;
    if (info && info.intermediateId === r.id) {
      const q = await this.host.getIntermediates(`${key}.*`, { rows: [row] });
      const v = q.values;
      for (let j = 0; j < v.length; j++) if (!Number.isFinite(v[j]!)) throw new MistiqueError('BAD_INPUT', `row ${row} holds NaN or ±Infinity: it has no distance to any row; pick another query row`);
      const found = searchIndex(this.indexes.get(this.host.dir, info), Float32Array.from(v as ArrayLike<number>), row, k, metric);
      return { query: row, ...found, metric, skipped: info.skipped, path: 'index', ms: performance.now() - t0 };
    }
    const { knn } = await import('../diagnostics/knn.js');
    const m = await this.host.getIntermediates(`${key}.*`, opts.rows !== undefined ? { rows: opts.rows } : {});
    const res = { ...knn(m, row, { k, metric }), path: 'exact' as const, ms: performance.now() - t0, matrix: m };
    if (this.host.adaptive && opts.rows === undefined && !opts.exact && r.materialized !== 0) await this.maybeIndex(key, r, metric, res.ms);
    return res;
  }

  /**
   * Policy adaptive: what the store materializes by how it is queried, it also indexes — a layer whose
   * exact KNN searches have cost as much as building its index (vectorindex.shouldBuild) gets one. The
   * index is built without the write lock (it only reads stored rows) into a temporary file, and put in
   * place under it, for a moment, if no other process holds it then and the layer is still the one it
   * was built from; else it is thrown away: a query never keeps a writer waiting, however long a build.
   */
  private async maybeIndex(key: string, r: IntermediateRow, metric: Metric, ms: number): Promise<void> {
    const spend = addExactSpend(this.host.db, key, metric, ms);
    // while another process writes, the index could not be put in place: not built at all
    if (!shouldBuild(spend, r.n_rows, r.n_cols, buildNsPerValue(this.host.db)) || !this.host.canWrite()) return;
    const same = (): boolean => {
      try { return intermediateByKey(this.host.db, key).id === r.id; } catch { return false; }
    };
    let built: BuiltIndex;
    try {
      built = await writeIndex(this.host.dir, key, metric, this.rowGroups(key, r));
    } catch (err) {
      if (same()) throw err;
      return; // a writer replaced or removed the layer while it was read: the query was answered; no index
    }
    try {
      await this.host.ifUnlocked(async () => { if (same()) this.registered(installIndex(this.host.dir, this.host.db, key, r.id, metric, built)); });
    } finally {
      fs.rmSync(built.tmp, { force: true });
    }
  }
}
