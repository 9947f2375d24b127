// Reading numpy's .npy files (format 1.0–3.0): the header, the whole array, or its examples a batch at a
// time straight from the file — a .npy of activations may be far larger than memory (or than the 2 GiB
// a Node buffer holds), so `mistique log p.m.i x.npy` streams it into the store's writer.
import fs from 'node:fs';
import { MistiqueError } from '../errors.js';
import { DataFrame, exactInDouble } from '../model/dataframe.js';
import { fromFloat16 } from '../quantize/lowprecision.js';

const NPY_TYPES = {
  '<f4': Float32Array, '<f8': Float64Array, '<f2': Uint16Array, '<i8': BigInt64Array, '<i4': Int32Array, '<i2': Int16Array, '|i1': Int8Array,
  '<u4': Uint32Array, '<u2': Uint16Array, '|u1': Uint8Array, '|b1': Uint8Array,
} as const;
export type NpyDescr = keyof typeof NPY_TYPES;
type NpyValues = InstanceType<(typeof NPY_TYPES)[NpyDescr]>;
/** Every element type a .npy file read here may hold. */
export const NPY_DESCRS = Object.keys(NPY_TYPES) as NpyDescr[];

/** What a .npy file's header says, and where its data begins. */
export interface NpyHeader {
  /** The element type as read (little-endian: a big-endian file's values are swapped as they are read). */
  descr: NpyDescr;
  /** As the file says it (`>f4` for big-endian). */
  written: string;
  shape: number[];
  fortran: boolean;
  dataOffset: number;
  bytesPerValue: number;
}

/** The header of a .npy file from its first bytes (at least the header's), checked against `accept`. */
export function parseNpyHeader(bytes: Uint8Array, file: string, accept: readonly NpyDescr[]): NpyHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 10 || b.readUInt32BE(0) !== 0x934e554d) throw new MistiqueError('BAD_FRAME', `${file} is not a .npy file`);
  const major = b[6]!;
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (b.length < start + hlen) throw new MistiqueError('BAD_FRAME', `${file}: its header is cut short (${b.length} bytes, the header says ${start + hlen})`);
  const header = b.subarray(start, start + hlen).toString('latin1');
  const written = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '?';
  // big-endian arrays (numpy's '>f4', …) are read as their little-endian type, each value's bytes swapped
  const descr = written.startsWith('>') ? `<${written.slice(1)}` : written;
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const T = accept.includes(descr as NpyDescr) ? NPY_TYPES[descr as NpyDescr] : undefined;
  if (!T) {
    throw new MistiqueError('BAD_FRAME', `${file}: mistique reads .npy arrays of ${accept.join(', ')} here (got ${written} of shape ${shapeText(shape)}); convert with numpy.ascontiguousarray(a, dtype=numpy.float32)`);
  }
  if (shape.length < 1) throw new MistiqueError('BAD_FRAME', `${file} holds one value (shape ()): an intermediate needs an examples axis first, e.g. numpy.save(file, numpy.atleast_1d(a))`);
  if (shape[0] === 0) throw new MistiqueError('BAD_FRAME', `${file} holds no examples (shape ${shapeText(shape)}): there is nothing in it to log`);
  return { descr: descr as NpyDescr, written, shape, fortran, dataOffset: start + hlen, bytesPerValue: T.BYTES_PER_ELEMENT };
}

/**
 * The first `limit` examples of a .npy file (all when it holds fewer), read from the file without the
 * rest: their values (C order), the shape with its examples axis cut to them, and the element type.
 */
export function npyFirst(file: string, limit: number, accept: readonly NpyDescr[] = NPY_DESCRS): { values: NpyValues; shape: number[]; descr: NpyDescr } {
  const { fd, h } = openNpy(file, accept);
  try {
    const n = Math.min(h.shape[0]!, Math.max(0, limit));
    const per = valueCount(h.shape.slice(1));
    const all = h.fortran ? h.shape[0]! : n; // Fortran order: the examples axis varies fastest, read it whole
    const bytes = all * per * h.bytesPerValue;
    if (bytes >= 2 ** 31) throw new MistiqueError('BAD_FRAME', `${file}: ${all} examples are ${(bytes / 2 ** 30).toFixed(1)} GiB, past the 2 GiB a buffer holds; give fewer (--examples N)${h.fortran ? ', and save the array in C order (numpy.ascontiguousarray)' : ''}`);
    let values = npyValues(h, readAt(fd, h.dataOffset, bytes), file, all * per);
    if (h.fortran) values = cOrder(values, h.shape).subarray(0, n * per) as NpyValues;
    return { values, shape: [n, ...h.shape.slice(1)], descr: h.descr };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A .npy file opened, its header read (the first 64 KB, or more where a format 2.0+ header is longer) and
 * checked, and the bytes after it those its shape and type say; the file is closed again if not.
 */
function openNpy(file: string, accept: readonly NpyDescr[]): { fd: number; h: NpyHeader } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = readAt(fd, 0, Math.min(size, 1 << 16));
    const long = head.length >= 12 && head[6]! >= 2 ? head.readUInt32LE(8) + 12 : 0;
    const h = parseNpyHeader(long > head.length && long <= size ? readAt(fd, 0, long) : head, file, accept);
    const dataBytes = valueCount(h.shape) * h.bytesPerValue;
    if (size - h.dataOffset !== dataBytes) throw new MistiqueError('BAD_FRAME', `${file}: its header says shape ${shapeText(h.shape)} of ${h.written}, ${dataBytes} bytes, but ${size - h.dataOffset} bytes follow`);
    return { fd, h };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Batches of a .npy file read at a time: about this many bytes. */
export const NPY_BATCH_BYTES = 32 << 20;

/**
 * A .npy file as a tensor intermediate, batch by batch straight from the file (each ~NPY_BATCH_BYTES,
 * row ids 0…N−1 over the whole): float32 and float64 as they are, float16 as float32, integers and
 * booleans (labels, class ids: numpy's default int64) as float64 — exactly, within ±2^53. A Fortran-order
 * array (columns first) is read whole, so it must fit a buffer (2 GiB).
 */
export function npyFrames(file: string, batchBytes = NPY_BATCH_BYTES): { examples: number; example: number[]; frames(): AsyncGenerator<DataFrame>; close(): void } {
  const { fd, h } = openNpy(file, NPY_DESCRS);
  const n = h.shape[0]!;
  const per = valueCount(h.shape.slice(1));
  const example = h.shape.length === 1 ? [1] : h.shape.slice(1);
  const dataBytes = n * per * h.bytesPerValue;
  if (h.fortran && dataBytes >= 2 ** 31) {
    fs.closeSync(fd);
    throw new MistiqueError('BAD_FRAME', `${file}: a Fortran-order array (columns first) of ${dataBytes} bytes is read whole, and that is past the 2 GiB a buffer holds; save it in C order (numpy.save(file, numpy.ascontiguousarray(a)))`);
  }
  const rowsPer = h.fortran ? Math.max(1, n) : Math.max(1, Math.floor(batchBytes / Math.max(1, per * h.bytesPerValue)));
  let open = true;
  const close = (): void => { if (open) fs.closeSync(fd); open = false; };
  async function* frames(): AsyncGenerator<DataFrame> {
    try {
      for (let start = 0; start < n; start += rowsPer) {
        const rows = Math.min(rowsPer, n - start);
        const raw = readAt(fd, h.dataOffset + start * per * h.bytesPerValue, rows * per * h.bytesPerValue);
        let values = npyValues(h, raw, file, rows * per);
        if (h.fortran) values = cOrder(values, h.shape);
        yield DataFrame.fromTensor(asFloats(values, h.descr, file), example, Int32Array.from({ length: rows }, (_, i) => start + i));
      }
    } finally {
      close();
    }
  }
  return { examples: n, example, frames, close };
}

/** `length` bytes at `offset` of an open file, into a buffer of their own. */
function readAt(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const got = fs.readSync(fd, out, done, length - done, offset + done);
    if (got === 0) throw new MistiqueError('BAD_FRAME', `the .npy file ended after ${offset + done} bytes, its header promised more`);
    done += got;
  }
  return out;
}

/** The file's values as typed numbers (a copy of their own, swapped where the file is big-endian). */
function npyValues(h: NpyHeader, data: Uint8Array, file: string, count: number): NpyValues {
  if (data.length !== count * h.bytesPerValue) throw new MistiqueError('BAD_FRAME', `${file}: its header says shape ${shapeText(h.shape)} of ${h.written}, ${count * h.bytesPerValue} bytes, but ${data.length} bytes follow`);
  const buf = new ArrayBuffer(data.length);
  const raw = new Uint8Array(buf);
  raw.set(data);
  if (h.written.startsWith('>')) swapBytes(raw, h.bytesPerValue);
  return new NPY_TYPES[h.descr](buf) as NpyValues;
}

/** Values as a float tensor holds them: float32 and float64 as they are, float16 as float32, integers as exact float64. */
function asFloats(values: NpyValues, descr: NpyDescr, file: string): Float32Array | Float64Array {
  if (values instanceof Float32Array || values instanceof Float64Array) return values;
  if (descr === '<f2') return fromFloat16(values as Uint16Array);
  if (values instanceof BigInt64Array) {
    const v = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (!exactInDouble(x)) throw new MistiqueError('BAD_FRAME', `${file}: value ${x} (int64) is beyond ±2^53, which a float64 tensor would round; log it as a table column of text, or scale it`);
      v[i] = Number(x);
    }
    return v;
  }
  return Float64Array.from(values as ArrayLike<number>);
}

/** Reverses the bytes of every `size`-byte value in place (big-endian ⇄ little-endian). */
function swapBytes(b: Uint8Array, size: number): void {
  if (size === 2) Buffer.from(b.buffer, b.byteOffset, b.byteLength).swap16();
  else if (size === 4) Buffer.from(b.buffer, b.byteOffset, b.byteLength).swap32();
  else if (size === 8) Buffer.from(b.buffer, b.byteOffset, b.byteLength).swap64();
}

/** A Fortran-order (column-major) array's values in C order (row-major), as numpy.ascontiguousarray gives them. */
function cOrder<A extends NpyValues>(v: A, shape: readonly number[]): A {
  const out = new (v.constructor as new (n: number) => A)(v.length);
  const d = shape.length, idx = new Array<number>(d).fill(0);
  // Fortran strides: the first index varies fastest
  const stride = shape.map((_, k) => shape.slice(0, k).reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) {
    let off = 0;
    for (let k = 0; k < d; k++) off += idx[k]! * stride[k]!;
    (out as unknown as unknown[])[i] = (v as unknown as unknown[])[off];
    for (let k = d - 1; k >= 0; k--) { if (++idx[k]! < shape[k]!) break; idx[k] = 0; }
  }
  return out;
}

function valueCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A shape as numpy prints it: (5, 2), (2,), (). */
function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}
