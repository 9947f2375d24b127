// Opening a store directory: its manifest and codec, the MetadataDB (a read-only copy of it where the
// directory cannot be written), the policy and γ_min the store keeps, and the DataStore — what a Store
// is built from. A directory with partition files but no metadata.db is refused, never emptied.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MistiqueError } from './errors.js';
import { MetadataDB } from './metadata/metadatadb.js';
import { openReadOnlyCopy, unwritable } from './metadata/readonlycopy.js';
import { loadCodec } from './store/codecs/index.js';
import { DataStore } from './store/datastore.js';
import { readOrCreateManifest, type StoreManifest } from './store/manifest.js';
import { checkStoreOptions, isStorePolicy } from './storeoptions.js';
import type { StoreOptions, StorePolicy } from './storetypes.js';

export interface StoreDir {
  root: string;
  settings: ReturnType<typeof checkStoreOptions>;
  manifest: StoreManifest;
  db: MetadataDB;
  ds: DataStore;
  policy: StorePolicy;
  gammaMin: number;
  /** Removes the scratch copy a read-only store's MetadataDB was opened on (null: opened in place). */
  scratch: (() => void) | null;
}

export async function openStoreDir(dir: string, opts: StoreOptions): Promise<StoreDir> {
  const root = path.resolve(dir);
  const settings = checkStoreOptions(opts);
  const manifest = readOrCreateManifest(root, opts);
  const codec = await loadCodec(manifest.codec, { gzipLevel: opts.gzipLevel, parquetCompression: opts.parquetCompression });
  const dbFile = path.join(root, 'metadata.db');
  const dbExists = fs.existsSync(dbFile);
  if (!manifest.created && !dbExists && fs.readdirSync(path.join(root, 'partitions'), { withFileTypes: true }).some((f) => f.isFile())) {
    // never an empty store in its place: the next log would overwrite the partition files
    throw new MistiqueError('CORRUPT', `store ${root} has no metadata.db: its partition files cannot be read without it. Restore it from a backup; nothing was changed`);
  }
  const writer = randomBytes(8).toString('hex');
  let db: MetadataDB;
  let scratch: (() => void) | null = null;
  try {
    db = new MetadataDB(dbFile, { create: !dbExists || manifest.created === true, writer });
  } catch (err) {
    if (!unwritable(root) || !dbExists) throw err;
    ({ db, remove: scratch } = openReadOnlyCopy(dbFile, writer));
  }
  // the policy (and γ_min) a store was last opened with is kept: the CLI and later opens follow it
  // (a kept setting a damaged file changed is not followed: the default, until an open sets it again)
  const kept = db.getMeta('policy');
  const keptGamma = Number(db.getMeta('gamma_min') ?? NaN);
  const policy = settings.policy ?? (isStorePolicy(kept) ? kept : 'dedup');
  const gammaMin = settings.gammaMin ?? (keptGamma >= 0 ? keptGamma : 100_000);
  if (settings.policy !== undefined) db.setMeta('policy', policy);
  if (settings.gammaMin !== undefined) db.setMeta('gamma_min', String(gammaMin));
  const ds = new DataStore(root, db, codec, settings.dataStore(manifest.codec, policy));
  return { root, settings, manifest, db, ds, policy, gammaMin, scratch };
}
