// WriteLock: one writer per store at a time, any number of readers (LMDB's rule). The lock is an
// exclusive SQLite transaction on `writer.lock`: an OS file lock, so a writer that dies (kill -9, OOM)
// releases it with its process, and no pid file can go stale. Who holds it is kept beside it for messages.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import { unwritable } from '../metadata/readonlycopy.js';

export const LOCK_FILE = 'writer.lock';
const HOLDER_FILE = 'writer.lock.json';

interface Holder { pid: number; host: string; since: string; probe?: boolean }

/**
 * How long a writer waits out a probe: a reader that takes the lock for a moment when nobody writes — to
 * recover what a dead writer left, or (policy adaptive) to index or materialize what its queries asked
 * for. Without it, a training job whose first write met a `mistique ls` opening the store failed LOCKED,
 * and two processes starting to log at once could both fail, each meeting the other's probe.
 */
const PROBE_GRACE_MS = 5000;

export class WriteLock {
  private db: Database.Database | null = null;

  constructor(private readonly dir: string) {}

  get held(): boolean { return this.db !== null; }

  /**
   * Takes the lock, waiting up to `timeoutMs` for another writer to finish. Returns false when it is
   * held elsewhere and `orFail` is false; otherwise that is a LOCKED error naming the holder.
   */
  acquire(timeoutMs: number, orFail = true): boolean {
    if (this.db) return true;
    let db: Database.Database;
    try {
      // a rollback journal (SQLite's default for a new file): BEGIN EXCLUSIVE then locks the file itself
      // SQLite quietly opens read-only where it cannot write, and such a lock locks nothing: ask first
      if (unwritable(this.dir)) throw new Error('its directory is not writable (a read-only file system or no permission)');
      db = new Database(path.join(this.dir, LOCK_FILE), { timeout: Math.max(0, timeoutMs) });
    } catch (err) {
      if (!orFail) return false;
      throw new MistiqueError('READ_ONLY', `store ${this.dir} cannot be written: ${(err as Error).message} (it can still be read)`, { cause: err });
    }
    try {
      try {
        db.exec('BEGIN EXCLUSIVE');
      } catch (err) {
        // a writer (orFail) waits out a probe holding the lock for a moment; a probe never waits
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || !orFail || timeoutMs >= PROBE_GRACE_MS || !this.heldByProbe()) throw err;
        db.pragma(`busy_timeout = ${PROBE_GRACE_MS}`);
        db.exec('BEGIN EXCLUSIVE');
      }
    } catch (err) {
      db.close();
      if (!fs.existsSync(path.join(this.dir, LOCK_FILE))) return this.removed(orFail, err);
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw new MistiqueError('IO', `taking the write lock of ${this.dir}: ${(err as Error).message}`, { cause: err });
      if (!orFail) return false;
      const waited = timeoutMs > 0 ? `; waited ${timeoutMs} ms` : '';
      throw new MistiqueError('LOCKED', `store ${this.dir} is being written by ${this.describeHolder()}: one writer at a time (readers are fine)${waited}. Wait until it closes the store (\`--wait <seconds>\` on the command line, { lockTimeoutMs } in the API, wait= in Python), or write into a store of its own`);
    }
    // the store removed while this handle waited (a failed first command removes the store it created):
    // the lock taken is on a file no longer there, and what it would write would vanish with it
    if (!fs.existsSync(path.join(this.dir, LOCK_FILE))) {
      db.close();
      return this.removed(orFail);
    }
    this.db = db;
    const me: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), ...(orFail ? {} : { probe: true }) };
    try { fs.writeFileSync(path.join(this.dir, HOLDER_FILE), JSON.stringify(me) + '\n'); } catch { /* informational only */ }
    return true;
  }

  /** The store went while this handle waited (SQLite refuses the removed file, or its lock is on it): never a lock on removed files. */
  private removed(orFail: boolean, cause?: unknown): false {
    if (!orFail) return false;
    throw new MistiqueError('NOT_FOUND', `store ${this.dir} was removed while this handle waited for its write lock: open it again`, { cause });
  }

  /** Whether the lock could be taken now: it is, as a probe, for an instant (a writer arriving then waits it out). */
  free(): boolean {
    if (this.db) return true;
    try {
      if (!this.acquire(0, false)) return false;
    } catch {
      return false; // an I/O error taking it: not free, as far as the asker can tell
    }
    this.release();
    return true;
  }

  release(): void {
    if (!this.db) return;
    try { fs.rmSync(path.join(this.dir, HOLDER_FILE), { force: true }); } catch { /* informational only */ }
    try { this.db.exec('ROLLBACK'); } finally { this.db.close(); this.db = null; }
  }

  /** Whether a probe holds the lock — or nobody says who does yet (its holder between taking it and saying so). */
  private heldByProbe(): boolean {
    const h = this.holder();
    return h === null || h.probe === true;
  }

  private describeHolder(): string {
    const h = this.holder();
    if (!h) return 'another process';
    const self = h.pid === process.pid && h.host === os.hostname() ? ' (this process: another open Store)' : '';
    return `process ${h.pid} on ${h.host} since ${h.since}${self}`;
  }

  /** Who holds the lock, as its holder said (null: nobody says, or not readably). */
  private holder(): Holder | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir, HOLDER_FILE), 'utf8')) as Holder;
    } catch {
      return null;
    }
  }
}
