// A store on a read-only file system (a mounted snapshot, a shared read-only volume) is still readable:
// SQLite's WAL mode needs to create files beside the database, so the MetadataDB is opened on a copy in
// the temporary directory. Queries' statistics go to the copy and are dropped with it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetadataDB } from './metadatadb.js';

/** Whether `dir` cannot be written (a read-only file system or no permission). */
export function unwritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return false;
  } catch {
    return true;
  }
}

/** The MetadataDB of a read-only store, on a scratch copy; `remove` deletes the copy. */
export function openReadOnlyCopy(file: string, writer: string): { db: MetadataDB; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-ro-'));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const copy = path.join(dir, path.basename(file));
    fs.copyFileSync(file, copy);
    // a WAL left by a writer that did not close holds committed transactions: SQLite replays it on the copy
    if (fs.existsSync(file + '-wal')) fs.copyFileSync(file + '-wal', copy + '-wal');
    return { db: new MetadataDB(copy, { create: false, writer }), remove };
  } catch (err) {
    remove();
    throw err;
  }
}
