// Column types of the data model (paper Fig. 5-6) and the typed arrays that hold them.

// float16, uint8 and kbit are physical types of quantized tensors (LP_QT half floats; KBIT_QT bin codes
// through the intermediate's codebook (uint8, stores before schema v6) or through the chunk's own
// (kbit)): readers get float32 back (see src/reader/reconstruct.ts).
export type ColumnType = 'float64' | 'float32' | 'int32' | 'bool' | 'utf8' | 'float16' | 'uint8' | 'kbit';

export const COLUMN_TYPES: readonly ColumnType[] = ['float64', 'float32', 'int32', 'bool', 'utf8', 'float16', 'uint8', 'kbit'];

/** The array that holds one column's values; utf8 holds dictionary codes (−1 = null). */
export type ColumnValues = Float64Array | Float32Array | Int32Array | Uint8Array | Uint16Array;

export type NumericArray = Float64Array | Float32Array | Int32Array | Uint8Array | Uint16Array;

/** Bytes per value as stored uncompressed (utf8: the code; its dictionary is extra). */
export const BYTES_PER_VALUE: Record<ColumnType, number> = {
  float64: 8,
  float32: 4,
  int32: 4,
  bool: 1,
  utf8: 4,
  float16: 2,
  uint8: 1,
  kbit: 1,
};

export function allocValues(type: ColumnType, n: number): ColumnValues {
  switch (type) {
    case 'float64': return new Float64Array(n);
    case 'float32': return new Float32Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': return new Uint8Array(n);
    case 'utf8': return new Int32Array(n);
    case 'float16': return new Uint16Array(n);
    case 'uint8': case 'kbit': return new Uint8Array(n);
  }
}

export function isColumnType(t: unknown): t is ColumnType {
  return typeof t === 'string' && (COLUMN_TYPES as readonly string[]).includes(t);
}
