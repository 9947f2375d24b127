// The one error type of mistique: a stable code to branch on and a message that says what to do.

export type ErrorCode =
  | 'BAD_KEY'
  | 'BAD_NAME'
  | 'BAD_FRAME'
  | 'BAD_ROWS'
  | 'BAD_QUERY'
  | 'BAD_OPTION'
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'NOT_A_STORE'
  | 'CORRUPT'
  | 'CLOSED'
  | 'UNSUPPORTED'
  | 'BAD_SPEC'
  | 'BAD_INPUT'
  | 'NO_MEMORY'
  | 'NOT_STORED'
  | 'LOCKED'
  | 'READ_ONLY'
  | 'NO_SPACE'
  | 'IO'
  | 'BUSY'
  | 'IN_USE'
  | 'STALE'
  | 'INTERNAL';

export class MistiqueError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MistiqueError';
    this.code = code;
  }
}

/** Wraps whatever a step throws so the message says where it failed, keeping the original as cause. */
export function wrapError(where: string, err: unknown): MistiqueError {
  if (err instanceof MistiqueError) return new MistiqueError(err.code, `${where}: ${err.message}`, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new MistiqueError('CORRUPT', `${where}: ${msg}`, { cause: err });
}
