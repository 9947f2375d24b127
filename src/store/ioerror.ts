// File-system errors as MistiqueErrors whose code says what to do (a full disk is not corruption).
import { MistiqueError, wrapError } from '../errors.js';
import { sqliteError } from '../metadata/metadatadb.js';

/** A file-system error as a MistiqueError whose code says what to do (a full disk is not corruption). */
export function ioError(where: string, err: unknown): MistiqueError {
  if (err instanceof MistiqueError) return wrapError(where, err);
  const code = (err as NodeJS.ErrnoException).code;
  if (code?.startsWith('SQLITE_')) return sqliteError(where, err);
  const msg = `${where}: ${(err as Error).message}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new MistiqueError('NO_SPACE', `${msg}: the disk is full; free space, then flush or log again (what was logged waits in memory)`, { cause: err });
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return new MistiqueError('READ_ONLY', `${msg}: the store cannot be written here`, { cause: err });
  if (code === 'EIO') return new MistiqueError('IO', `${msg}: an I/O error; check the disk`, { cause: err });
  return wrapError(where, err);
}
