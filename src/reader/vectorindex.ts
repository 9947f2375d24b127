// Vector indexes for KNN (#21): an HNSW graph (usearch) over a stored layer's rows, built on request,
// persisted beside the partitions (indexes/<key>.<metric>.usearch) and registered in the MetadataDB's
// meta table with the id of the intermediate it was built from — a replaced or deleted intermediate's
// index is never used (and is removed with it). Exact KNN stays the default until an index exists.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { MistiqueError } from '../errors.js';
import type { MetadataDB } from '../metadata/metadatadb.js';
import type { Matrix } from '../model/matrix.js';
import type { Metric } from '../diagnostics/knn.js';

type Usearch = typeof import('usearch');
type UIndex = InstanceType<Usearch['Index']>;
const require = createRequire(import.meta.url);
let lib: Usearch | null = null;
const usearch = (): Usearch => (lib ??= require('usearch') as Usearch);

/** HNSW parameters: measured on cnn pool1 over 10 000 test images (3 136 values): recall@50 ≥ 0.998. */
export const HNSW = { connectivity: 16, expansionAdd: 64, expansionSearch: 128 } as const;

/** What the meta table records of an index. */
export interface IndexInfo {
  key: string;
  metric: Metric;
  /** The intermediate's id when the index was built: another id means it was replaced. */
  intermediateId: number;
  file: string;
  rows: number;
  /** Rows left out: they hold NaN or ±Infinity. */
  skipped: number;
  dims: number;
  bytes: number;
  buildMs: number;
  builtAt: string;
}

const metaKey = (key: string, metric: Metric): string => `vector_index:${key}:${metric}`;
const usearchMetric = (m: Metric): Usearch['MetricKind'][keyof Usearch['MetricKind']] => (m === 'euclidean' ? usearch().MetricKind.L2sq : usearch().MetricKind.Cos);
/** Row ids are int32; usearch keys are uint64. */
const toKey = (rowId: number): bigint => BigInt(rowId >>> 0);
const fromKey = (k: bigint): number => Number(k) | 0;

export function indexInfo(db: MetadataDB, key: string, metric: Metric): IndexInfo | undefined {
  const raw = db.getMeta(metaKey(key, metric));
  if (!raw) return undefined;
  let info: IndexInfo;
  try { info = JSON.parse(raw) as IndexInfo; } catch { return undefined; }
  // a registration a damaged file changed is no index (exact KNN answers; a build registers anew): above
  // all, its file is never a path other than the one this key and metric are built to
  const count = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const ok = typeof info === 'object' && info !== null && info.key === key && info.metric === metric && info.file === indexFile(key, metric)
    && count(info.intermediateId) && count(info.rows) && count(info.skipped) && count(info.dims) && count(info.bytes)
    && typeof info.buildMs === 'number' && Number.isFinite(info.buildMs) && typeof info.builtAt === 'string';
  return ok ? info : undefined;
}

/** Where the index of `key` under `metric` lives, relative to the store's directory. */
const indexFile = (key: string, metric: Metric): string => path.join('indexes', `${key}.${metric}.usearch`);

/** Every index registered for this intermediate key (any metric). */
export function indexesOf(db: MetadataDB, key: string): IndexInfo[] {
  return (['euclidean', 'cosine'] as const).map((m) => indexInfo(db, key, m)).filter((x): x is IndexInfo => x !== undefined);
}

/** An index built and saved under a temporary name in indexes/, not yet in place nor registered. */
export interface BuiltIndex { tmp: string; rows: number; skipped: number; dims: number; buildMs: number }

/**
 * Builds the index of a layer from its rows, given in groups (the caller streams them), and saves it
 * under a temporary name (`tmpIndexName`): no lock is needed for this, and nothing else sees it until
 * installIndex puts it in place. On an error the temporary file is removed.
 */
export async function writeIndex(dir: string, key: string, metric: Metric, groups: AsyncIterable<Matrix>): Promise<BuiltIndex> {
  const t0 = performance.now();
  let index: UIndex | null = null;
  let rows = 0, skipped = 0, dims = 0;
  for await (const m of groups) {
    if (m.columns.some((c) => c.type === 'utf8' || c.type === 'bool')) throw new MistiqueError('BAD_INPUT', `${key} has columns that are not numbers: a vector index needs a numeric intermediate (a layer)`);
    dims = m.ncols;
    index ??= new (usearch().Index)({ metric: usearchMetric(metric), connectivity: HNSW.connectivity, dimensions: dims, quantization: usearch().ScalarKind.F32, expansion_add: HNSW.expansionAdd, expansion_search: HNSW.expansionSearch, multi: false });
    const keep: number[] = [];
    for (let i = 0; i < m.nrows; i++) {
      let ok = true;
      for (let j = i * dims, e = j + dims; j < e && ok; j++) ok = Number.isFinite(m.values[j]!);
      if (ok) keep.push(i); else skipped++;
    }
    const vec = new Float32Array(keep.length * dims);
    keep.forEach((i, r) => vec.set(m.values.subarray(i * dims, (i + 1) * dims) as ArrayLike<number>, r * dims));
    if (keep.length > 0) index.add(BigUint64Array.from(keep, (i) => toKey(m.rowIds[i]!)), vec, 0);
    rows += keep.length;
  }
  if (!index || rows === 0) throw new MistiqueError('BAD_INPUT', `${key} has no row with finite values to index`);
  fs.mkdirSync(path.join(dir, 'indexes'), { recursive: true });
  const tmp = path.join(dir, tmpIndexName(key, metric));
  try {
    index.save(tmp);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { tmp, rows, skipped, dims, buildMs: performance.now() - t0 };
}

/**
 * Puts a built index in place (a rename: a reader that has the old one mapped keeps it) and registers it
 * for the intermediate it was built from. The caller holds the write lock. Returns what was registered.
 */
export function installIndex(dir: string, db: MetadataDB, key: string, intermediateId: number, metric: Metric, built: BuiltIndex): IndexInfo {
  const file = indexFile(key, metric);
  fs.renameSync(built.tmp, path.join(dir, file));
  const info: IndexInfo = { key, metric, intermediateId, file, rows: built.rows, skipped: built.skipped, dims: built.dims, bytes: fs.statSync(path.join(dir, file)).size, buildMs: built.buildMs, builtAt: new Date().toISOString() };
  try {
    db.putMeta(metaKey(key, metric), JSON.stringify(info));
  } catch (err) {
    fs.rmSync(path.join(dir, file), { force: true });
    throw err;
  }
  return info;
}

/** Builds, saves and registers a layer's index (the caller holds the write lock throughout). */
export async function buildIndex(dir: string, db: MetadataDB, key: string, intermediateId: number, metric: Metric, groups: AsyncIterable<Matrix>): Promise<IndexInfo> {
  const built = await writeIndex(dir, key, metric, groups);
  try {
    return installIndex(dir, db, key, intermediateId, metric, built);
  } finally {
    fs.rmSync(built.tmp, { force: true });
  }
}

/** A temporary index file's name: it says which process (on which host) is building it. */
const tmpIndexName = (key: string, metric: Metric): string => `${indexFile(key, metric)}.tmp-${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
const TMP_INDEX = /\.tmp-(.+)-(\d+)-[0-9a-f]{8}$/;

/**
 * Files in indexes/ that no registration names and no live build will put in place (left by a build
 * killed half-way, or by a crash between rename and registration), relative to the store's directory.
 * A temporary file of a process alive on this host is a build under way; one of another host counts as
 * left once it is a day old.
 */
export function strayIndexFiles(dir: string, db: MetadataDB, now = Date.now()): string[] {
  let names: string[];
  try { names = fs.readdirSync(path.join(dir, 'indexes')); } catch { return []; }
  const registered = (f: string): boolean => {
    const m = /^(.+)\.(euclidean|cosine)\.usearch$/.exec(f);
    return m !== null && indexInfo(db, m[1]!, m[2] as Metric) !== undefined;
  };
  return names.filter((f) => {
    if (registered(f)) return false;
    const t = TMP_INDEX.exec(f);
    if (!t) return true;
    if (t[1] === os.hostname()) return !processAlive(Number(t[2]));
    try { return now - fs.statSync(path.join(dir, 'indexes', f)).mtimeMs > 24 * 3600_000; } catch { return false; }
  }).sort().map((f) => path.join('indexes', f));
}

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Removes an index: its registration, then its file. */
export function dropIndex(dir: string, db: MetadataDB, info: IndexInfo): void {
  db.deleteMeta(metaKey(info.key, info.metric));
  fs.rmSync(path.join(dir, info.file), { force: true });
}

/** Loaded indexes, by file (an index is immutable once saved: a rebuild writes a new registration). */
export class IndexCache {
  private readonly loaded = new Map<string, { builtAt: string; index: UIndex }>();

  get(dir: string, info: IndexInfo): UIndex {
    const hit = this.loaded.get(info.file);
    if (hit && hit.builtAt === info.builtAt) return hit.index;
    const index = new (usearch().Index)({ metric: usearchMetric(info.metric), connectivity: HNSW.connectivity, dimensions: info.dims, quantization: usearch().ScalarKind.F32, expansion_add: HNSW.expansionAdd, expansion_search: HNSW.expansionSearch, multi: false });
    try {
      index.view(path.join(dir, info.file)); // memory-mapped: a query does not load 100 MB first
    } catch (err) {
      throw new MistiqueError('CORRUPT', `the vector index of ${info.key} (${info.file}) cannot be loaded: ${(err as Error).message}; rebuild it with \`mistique index ${info.key}\``, { cause: err });
    }
    this.loaded.set(info.file, { builtAt: info.builtAt, index });
    return index;
  }

  forget(file?: string): void {
    if (file) this.loaded.delete(file); else this.loaded.clear();
  }
}

/**
 * The k rows nearest to `query` (row id `self`, left out unless `includeSelf`) from the index: row ids
 * nearest first, distances as the index computes them (float32; Euclidean = √ of its squared L2, cosine
 * = 1 − cos).
 */
export function searchIndex(index: UIndex, query: Float32Array, self: number, k: number, metric: Metric, includeSelf = false): { rowIds: Int32Array; distances: Float64Array } {
  const found = index.search(query, k + 1, 0);
  const ids: number[] = [], dist: number[] = [];
  for (let i = 0; i < found.keys.length && ids.length < k; i++) {
    const id = fromKey(found.keys[i]!);
    if (id === self && !includeSelf) continue;
    ids.push(id);
    const d = found.distances[i]!;
    dist.push(metric === 'euclidean' ? Math.sqrt(Math.max(0, d)) : d);
  }
  return { rowIds: Int32Array.from(ids), distances: Float64Array.from(dist) };
}

/** What exact KNN on a layer has cost so far (meta `knn_exact:<key>:<metric>`), for the automatic build. */
export interface ExactKnnSpend { queries: number; ms: number }

/** Build time per indexed value on this machine: measured by every build (meta), else bench:knn's 92 ns. */
export function buildNsPerValue(db: MetadataDB): number {
  const v = Number(db.getMeta('vector_index_ns_per_value'));
  return Number.isFinite(v) && v > 0 ? v : 92;
}

export function recordBuild(db: MetadataDB, info: IndexInfo): void {
  db.setMeta('vector_index_ns_per_value', String((info.buildMs * 1e6) / Math.max(1, info.rows * info.dims)));
}

/** Adds an exact KNN query's time to the layer's spend and returns the total. */
export function addExactSpend(db: MetadataDB, key: string, metric: Metric, ms: number): ExactKnnSpend {
  const k = `knn_exact:${key}:${metric}`;
  let s: ExactKnnSpend = { queries: 0, ms: 0 };
  try { s = { ...s, ...(JSON.parse(db.getMeta(k) ?? '{}') as Partial<ExactKnnSpend>) }; } catch { /* a damaged entry starts afresh */ }
  s = { queries: s.queries + 1, ms: s.ms + ms };
  db.setMeta(k, JSON.stringify(s));
  return s;
}

/**
 * Whether to build an index now (pure): the ski-rental rule — once exact searches of a layer have cost
 * as much as building its index would, build it (never more than twice what the best choice in
 * hindsight costs). At least 3 queries: one slow search is not a pattern.
 */
export function shouldBuild(spend: ExactKnnSpend, rows: number, dims: number, nsPerValue: number): boolean {
  return spend.queries >= 3 && spend.ms >= (rows * dims * nsPerValue) / 1e6;
}
