// What `mistique ls` and `stats` show: the intermediates of a store with their sizes, and the store's
// totals — read from the MetadataDB (and, for what waits unflushed, the DataStore's bufferpool).
import { globToRegExp } from './model/key.js';
import type { MetadataDB } from './metadata/metadatadb.js';
import type { DataStore } from './store/datastore.js';
import type { IntermediateSummary, StoreStats } from './storetypes.js';

/** Intermediates whose `project.model.intermediate` matches the pattern (a four-part one by its first three parts). */
export function listIntermediates(db: MetadataDB, pattern: string): IntermediateSummary[] {
  const re = globToRegExp(pattern.split('.').length === 4 ? pattern.split('.').slice(0, 3).join('.') : pattern);
  const stored = db.storedBytesByIntermediate();
  return db.intermediates()
    .map((r) => ({
      key: `${r.project}.${r.model}.${r.name}`,
      rows: r.n_rows,
      columns: r.n_cols,
      shape: r.shape ? (JSON.parse(r.shape) as number[]) : null,
      scheme: r.scheme,
      bytesRaw: r.bytes_raw,
      bytesStored: stored.get(r.id) ?? 0,
      queries: r.n_query,
      materialized: r.materialized !== 0,
    }))
    .filter((s) => re.test(s.key));
}

/** The store's totals: what was logged, what is unique (on disk or waiting in the bufferpool), what it takes on disk. */
export function storeStats(db: MetadataDB, ds: DataStore, store: Pick<StoreStats, 'dir' | 'codec' | 'policy'>): StoreStats {
  const items = listIntermediates(db, '*');
  const t = db.totals();
  const bytesLogged = items.reduce((a, s) => a + s.bytesRaw, 0);
  const pendingRaw = [...ds.pool.open.values()].reduce((a, p) => a + p.rawBytes, 0);
  const bytesUnique = t.rawBytesOnDisk + pendingRaw;
  return {
    ...store, intermediates: items.length,
    bytesLogged, bytesUnique, bytesOnDisk: t.bytesOnDisk,
    dedupRatio: bytesUnique > 0 ? bytesLogged / bytesUnique : 1,
    compressionRatio: t.bytesOnDisk > 0 ? t.rawBytesOnDisk / t.bytesOnDisk : 1,
    partitions: t.partitions, chunks: t.blobs, approximate: { ...ds.approx }, items,
  };
}
