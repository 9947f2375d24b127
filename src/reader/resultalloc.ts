// The dense result of a read: one value type for its columns (strings as dictionary codes), in a
// SharedArrayBuffer when large and worker threads will write into it.
import { schemaColumnType } from '../model/dataframe.js';
import type { MatrixValues } from '../model/matrix.js';
import type { ColumnType } from '../model/types.js';
import type { Selection } from './resolve.js';

/** Results of at least this many bytes live in a SharedArrayBuffer (when there are worker threads), so that a scan's workers write into them. */
const SHARED_RESULT_BYTES = 8 * 1024 * 1024;

/** The one value type of a dense result of columns of these types (utf8 as int32 dictionary codes). */
export function matrixKind(types: Iterable<ColumnType>): 'float32' | 'int32' | 'bool' | 'float64' {
  const kinds = new Set<ColumnType>();
  for (const t of types) kinds.add(t === 'utf8' ? 'int32' : t);
  const [t] = kinds;
  return kinds.size === 1 && (t === 'float32' || t === 'int32' || t === 'bool') ? t : 'float64';
}

/** The types of the selected columns: a tensor's one type once, not once per column. */
export function* selectionTypes(sels: readonly Selection[]): Generator<ColumnType> {
  for (const s of sels) {
    if (!s.schema.names) { yield s.schema.types[0]!; continue; }
    for (const j of s.cols) yield schemaColumnType(s.schema, j);
  }
}

export function allocMatrix(types: Iterable<ColumnType>, n: number, workers: boolean): MatrixValues {
  const kind = matrixKind(types);
  const width = kind === 'float64' ? 8 : kind === 'bool' ? 1 : 4;
  const buf = workers && n * width >= SHARED_RESULT_BYTES ? new SharedArrayBuffer(n * width) : new ArrayBuffer(n * width);
  if (kind === 'float32') return new Float32Array(buf);
  if (kind === 'int32') return new Int32Array(buf);
  if (kind === 'bool') return new Uint8Array(buf);
  return new Float64Array(buf);
}
