// SQLite's errors as MistiqueErrors whose code says what happened: a full disk, a read-only store, a
// damaged file, an I/O error — for every call of the MetadataDB.
import { MistiqueError } from '../errors.js';

/** An error of SQLite as a MistiqueError whose code says what happened (full disk, read-only, corrupt, I/O). */
export function sqliteError(where: string, err: unknown): MistiqueError {
  const code = String((err as { code?: string }).code ?? '');
  const msg = `${where}: ${(err as Error).message} (${code || 'no code'})`;
  if (code.startsWith('SQLITE_FULL')) return new MistiqueError('NO_SPACE', `${msg}: the disk is full; free space and try again`, { cause: err });
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM') return new MistiqueError('READ_ONLY', `${msg}: the store is read-only here`, { cause: err });
  const schemaDamage = code === 'SQLITE_ERROR' && /no such (table|column|index)|has no column|malformed|unrecognized token|syntax error|foreign key mismatch/.test((err as Error).message);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || schemaDamage) return new MistiqueError('CORRUPT', `${msg}: the metadata database is damaged; run \`mistique verify\` and restore it from a backup`, { cause: err });
  if (code.startsWith('SQLITE_CANTOPEN')) return new MistiqueError('NOT_A_STORE', `${msg}`, { cause: err });
  if (code.startsWith('SQLITE_IOERR')) return new MistiqueError('IO', `${msg}: an I/O error; check the disk`, { cause: err });
  return new MistiqueError('INTERNAL', msg, { cause: err });
}

/** Runs a registration; SQLite's errors become MistiqueErrors that say what happened (NO_SPACE, READ_ONLY, …). */
export function sqliteWrite<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MistiqueError) throw err;
    throw sqliteError(where, err);
  }
}

/** A statistics write that must not fail the query it describes: full disk, read-only, busy or I/O errors skip it. */
export function sqliteBestEffort(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!/^SQLITE_(FULL|READONLY|BUSY|IOERR|LOCKED)/.test(String((err as { code?: string }).code))) throw err;
  }
}

/** The object with every method's SQLite errors turned into MistiqueErrors (sqliteError). */
export function guardSqlite<T extends object>(target: T, file: string): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        try {
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        } catch (err) {
          if (err instanceof MistiqueError || !String((err as { code?: string }).code).startsWith('SQLITE_')) throw err;
          throw sqliteError(`metadata database ${file}`, err);
        }
      };
    },
  });
}
