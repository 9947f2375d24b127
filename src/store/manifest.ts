// A store's manifest (mistique.json): its format version, codec and RowBlock size, fixed at creation;
// and the checks of the options a store is opened with.
import fs from 'node:fs';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import { CODEC_IDS, type CodecId } from './codecs/index.js';
import { BLOCK_BYTES } from './geometry.js';

export interface StoreManifest {
  format: 'mistique-store';
  version: 1;
  codec: CodecId;
  rowBlockSize: number;
  maxChunksPerBlock: number;
  createdAt: string;
  /** Not saved: the store was created by this open. */
  created?: boolean;
}

export const MANIFEST = 'mistique.json';
/**
 * Raw bytes a partition's segment holds at most, by codec. An Arrow or Parquet segment holds no more than
 * one of a tensor's RowBlocks (BLOCK_BYTES), so that a one-row read reads and checks one block: at 1 MB
 * and 256 KB they held two, and a one-row read took 0.4–0.8 ms longer (bench/README.md, "A segment holds
 * one RowBlock"). gzip and LZ4 segments hold one 128 KB chunk (at least one chunk, whatever the bound).
 */
export const DEFAULT_SEGMENT_BYTES: Record<CodecId, number> = { gzip: 64 * 1024, lz4: 64 * 1024, arrow: BLOCK_BYTES.arrow, parquet: BLOCK_BYTES.parquet };

/** What creating or opening a store needs to know of its options. */
export interface ManifestOptions { codec?: CodecId; rowBlockSize?: number; create?: boolean }

export function readOrCreateManifest(root: string, opts: ManifestOptions): StoreManifest {
  const file = path.join(root, MANIFEST);
  if (fs.existsSync(file)) return readManifest(root, file, opts);
  if (fs.existsSync(root)) {
    if (!fs.statSync(root).isDirectory()) throw new MistiqueError('NOT_A_STORE', `${root} is a file, not a store directory`);
    // another process creating this store at the same moment leaves its manifest's temporary file, nothing
    // else, until its manifest is in place — which may be by now
    const entries = fs.readdirSync(root);
    if (entries.includes(MANIFEST)) return readManifest(root, file, opts);
    if (entries.some((f) => !CREATING.test(f))) throw new MistiqueError('NOT_A_STORE', `${root} is not empty and is not a mistique store (no ${MANIFEST}): choose an empty or new directory`);
  }
  if (opts.create === false) throw new MistiqueError('NOT_A_STORE', `${root} is not a mistique store: create one with openStore() or \`mistique log\``);
  const codec = opts.codec ?? 'lz4';
  if (!CODEC_IDS.includes(codec)) throw new MistiqueError('BAD_OPTION', `unknown codec ${JSON.stringify(codec)}: choose one of ${CODEC_IDS.join(', ')}`);
  const manifest: StoreManifest = {
    format: 'mistique-store', version: 1, codec,
    rowBlockSize: positive('rowBlockSize', opts.rowBlockSize ?? 1024),
    maxChunksPerBlock: 1024,
    createdAt: new Date().toISOString(),
  };
  // Written whole under a name of its own, then linked into place: link(2) fails where the name exists,
  // so of two processes creating one store at once exactly one creates it, and the other opens it —
  // with the manifest the first wrote whole, checked against its own options (a different codec is an error)
  fs.mkdirSync(root, { recursive: true });
  const tmp = path.join(root, `.${MANIFEST}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readManifest(root, file, opts);
      throw err;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fs.mkdirSync(path.join(root, 'partitions'), { recursive: true });
  return { ...manifest, created: true };
}

/** A manifest's temporary name while its store is being created. */
const CREATING = /^\.mistique\.json\.\d+\.[0-9a-z]*\.tmp$/;

function readManifest(root: string, file: string, opts: ManifestOptions): StoreManifest {
  let m: StoreManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as StoreManifest;
  } catch (err) {
    throw new MistiqueError('NOT_A_STORE', `${file} is not valid JSON: the store's manifest is damaged`, { cause: err });
  }
  if (m.format !== 'mistique-store') throw new MistiqueError('NOT_A_STORE', `${root} is not a mistique store (${MANIFEST} has format ${JSON.stringify(m.format)})`);
  if (m.version !== 1) throw new MistiqueError('NOT_A_STORE', `${root} is a mistique store of version ${m.version}; this mistique reads version 1`);
  if (opts.codec && opts.codec !== m.codec) throw new MistiqueError('BAD_OPTION', `store ${root} was created with codec ${m.codec}; it cannot be opened as ${opts.codec} (leave codec out, or use a new directory)`);
  if (opts.rowBlockSize && opts.rowBlockSize !== m.rowBlockSize) throw new MistiqueError('BAD_OPTION', `store ${root} was created with RowBlocks of ${m.rowBlockSize} rows, not ${opts.rowBlockSize}`);
  return m;
}

export function fraction(name: string, v: number): number {
  if (typeof v !== 'number' || !(v > 0 && v <= 1)) throw new MistiqueError('BAD_OPTION', `${name} must be a number in (0, 1], got ${v}`);
  return v;
}

export function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new MistiqueError('BAD_OPTION', `${name} must be a positive integer, got ${v}`);
  return v;
}
