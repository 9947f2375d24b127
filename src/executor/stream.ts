// Logging from another process (issue #19: capture straight from PyTorch). A producer — python/mistique's
// capture, or any program — writes a framed stream: each message is a 4-byte little-endian length, that
// many bytes of a JSON header, then the header's `bytes` of payload. Batches of float32 tensors become
// intermediates as they arrive, through the same scheme encoding (pooling, quantizing on the worker
// threads) and writers as logNetwork; a few messages are read ahead while earlier ones are encoded (at
// most IN_FLIGHT payloads held), so memory stays bounded whatever the stream's length. The framing is specified in docs/STREAM.md.
import { MistiqueError } from '../errors.js';
import { parseIntermediateKey } from '../model/key.js';
import type { MetadataDB } from '../metadata/metadatadb.js';
import { idRange } from '../reader/rowspec.js';
import { encodeBatch, parseScheme, schemeName, type DnnScheme } from '../quantize/scheme.js';
import type { IntermediateInfo, IntermediateWriter } from '../store/writer.js';

/** What the stream logger needs of a store (the Store provides it). */
export interface StreamSink {
  readonly metadata: MetadataDB;
  writer(key: string, opts: { scheme?: string; approximate?: boolean; rerunnable?: boolean; logicalType?: 'float32'; kbit?: number }): IntermediateWriter;
  flush(): Promise<void>;
}

export interface StreamOptions {
  /** The scheme of every intermediate whose first batch names none (default none). */
  scheme?: DnnScheme;
  /** After each batch: the key, its rows so far and the payload bytes read so far. */
  onBatch?: (key: string, rows: number, bytes: number) => void;
}

export interface StreamSummary {
  intermediates: (IntermediateInfo & { shape: number[]; scheme: string })[];
  batches: number;
  /** Payload bytes read. */
  bytes: number;
  ms: number;
}

/** Largest header accepted: a header is a few hundred bytes; a bigger length means the stream is not this framing. */
const MAX_HEADER = 1 << 20;
/** Largest payload of one batch (a producer cuts larger batches). */
const MAX_PAYLOAD = 1 << 30;

interface BatchHeader { op: 'batch'; key: string; dtype: 'float32'; shape: number[]; bytes: number; row_ids?: boolean; scheme?: string }
type Header = BatchHeader | { op: 'end' };

/** Batches read ahead while earlier ones are encoded and appended (memory: this many payloads at most). */
const IN_FLIGHT = 4;

interface Open { tail: Promise<void>; writer: IntermediateWriter; shape: number[]; per: number; nextRow: number; rows: number; scheme: DnnScheme; state: { threshold?: number }; storedShape: number[] }

/** Reads exactly n bytes at a time from an async byte source, holding at most one message and one chunk. */
class ByteReader {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private ended = false;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(input: AsyncIterable<Uint8Array>) {
    this.it = input[Symbol.asyncIterator]();
  }

  /** n bytes in a buffer of their own; null when the stream ended exactly here; an error when it ended inside them. */
  async read(n: number, what: string): Promise<Uint8Array | null> {
    while (this.size < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else if (r.value.length > 0) { this.chunks.push(r.value); this.size += r.value.length; }
    }
    if (this.size < n) {
      if (this.size === 0 && what === 'a message length') return null;
      throw new MistiqueError('BAD_INPUT', `the stream ended inside ${what} (${this.size} of ${n} bytes): the producer stopped mid-message; nothing of the stream was logged`);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - o);
      out.set(c.subarray(0, take), o);
      o += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    this.size -= n;
    return out;
  }
}

function bad(n: number, msg: string): MistiqueError {
  return new MistiqueError('BAD_INPUT', `stream message ${n}: ${msg}; see docs/STREAM.md — nothing of the stream was logged`);
}

function parseHeader(bytes: Uint8Array, n: number): Header {
  let h: unknown;
  try {
    h = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw bad(n, `its header is not JSON (${(err as Error).message})`);
  }
  if (!h || typeof h !== 'object' || Array.isArray(h)) throw bad(n, 'its header must be a JSON object');
  const o = h as Record<string, unknown>;
  if (o.op === 'end') return { op: 'end' };
  if (o.op !== 'batch') throw bad(n, `unknown op ${JSON.stringify(o.op)} (use "batch" or "end")`);
  if (typeof o.key !== 'string') throw bad(n, 'a batch needs "key": "project.model.intermediate"');
  if (o.dtype !== 'float32') throw bad(n, `dtype ${JSON.stringify(o.dtype)} is not supported: send float32 (little-endian)`);
  if (!Array.isArray(o.shape) || o.shape.length < 1 || !o.shape.every((d) => Number.isInteger(d) && (d as number) >= 1)) {
    throw bad(n, `"shape" must be [examples, …per-example dims] of positive integers, got ${JSON.stringify(o.shape)}`);
  }
  if (!Number.isInteger(o.bytes) || (o.bytes as number) < 0) throw bad(n, `"bytes" must be the payload's length, got ${JSON.stringify(o.bytes)}`);
  if (o.row_ids !== undefined && typeof o.row_ids !== 'boolean') throw bad(n, '"row_ids" must be true or false');
  if (o.scheme !== undefined && typeof o.scheme !== 'string') throw bad(n, '"scheme" must be a string such as "pool2+lp"');
  return { op: 'batch', key: o.key, dtype: 'float32', shape: o.shape as number[], bytes: o.bytes as number, row_ids: o.row_ids as boolean | undefined, scheme: o.scheme as string | undefined };
}

/**
 * Logs a framed stream (docs/STREAM.md) into the store. Every intermediate it names becomes durable
 * together at the end message; a bad message, or a stream that ends without one, logs nothing.
 */
export async function logStream(store: StreamSink, input: AsyncIterable<Uint8Array>, opts: StreamOptions = {}): Promise<StreamSummary> {
  const t0 = performance.now();
  const reader = new ByteReader(input);
  const open = new Map<string, Open>();
  let batches = 0, bytes = 0, n = 0;
  const inflight: Promise<void>[] = [];
  try {
    for (;;) {
      n++;
      const len = await reader.read(4, 'a message length');
      if (!len) throw new MistiqueError('BAD_INPUT', `the stream ended without its end message ({"op":"end"}) after ${batches} batches: the producer stopped early; nothing of the stream was logged`);
      const hlen = new DataView(len.buffer).getUint32(0, true);
      if (hlen === 0 || hlen > MAX_HEADER) throw bad(n, `a header of ${hlen} bytes: this is not a mistique stream (each message starts with the header's length, 4 bytes little-endian)`);
      const h = parseHeader((await reader.read(hlen, 'a header'))!, n);
      if (h.op === 'end') break;
      const [rows, ...example] = h.shape as [number, ...number[]];
      const per = example.reduce((a, b) => a * b, 1);
      const want = rows * per * 4 + (h.row_ids ? rows * 4 : 0);
      if (h.bytes !== want) throw bad(n, `"bytes" is ${h.bytes} but ${rows} examples of shape [${example.join(', ')}] as float32${h.row_ids ? ' with their int32 row ids' : ''} take ${want}`);
      if (want > MAX_PAYLOAD) throw bad(n, `a batch of ${want} bytes is over the 1 GiB a message may carry: send smaller batches`);
      let o = open.get(h.key);
      if (!o) o = start(store, h, example, per, opts, n);
      else {
        if (example.join(',') !== o.shape.join(',')) throw bad(n, `${h.key}'s examples were [${o.shape.join(', ')}] and are now [${example.join(', ')}]: an intermediate has one per-example shape`);
        if (h.scheme !== undefined && schemeName(parseScheme(h.scheme)) !== schemeName(o.scheme)) throw bad(n, `${h.key} was started with scheme ${schemeName(o.scheme)}; a later batch cannot change it`);
      }
      open.set(h.key, o);
      const payload = (await reader.read(want, `the payload of message ${n} (${h.key})`))!;
      const values = new Float32Array(payload.buffer, 0, rows * per);
      const ids = h.row_ids ? new Int32Array(payload.buffer, rows * per * 4, rows).slice() : idRange(o!.nextRow, rows);
      o.nextRow = ids.length ? Math.max(o.nextRow, ids[ids.length - 1]! + 1) : o.nextRow;
      // encoded on a worker while the next messages are read; appended in order per intermediate
      const key = h.key, oo = o;
      const encoded = encodeBatch(values, example.length ? example : [1], ids, o.scheme, o.state);
      oo.tail = oo.tail.then(async () => {
        const enc = await encoded;
        oo.storedShape = enc.shape;
        await oo.writer.append(enc.frame);
      });
      const done = oo.tail;
      done.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      inflight.push(done);
      o.rows += rows;
      batches++;
      bytes += want;
      opts.onBatch?.(key, o.rows, bytes);
      while (inflight.length >= IN_FLIGHT) await inflight.shift();
    }
    await Promise.all(inflight);
    const intermediates: StreamSummary['intermediates'] = [];
    for (const o of open.values()) intermediates.push({ ...(await o.writer.close()), shape: o.storedShape, scheme: schemeName(o.scheme) });
    await store.flush();
    return { intermediates, batches, bytes, ms: performance.now() - t0 };
  } catch (err) {
    await Promise.allSettled(inflight);
    for (const o of open.values()) o.writer.abort();
    throw err;
  }
}

function start(store: StreamSink, h: BatchHeader, example: number[], per: number, opts: StreamOptions, n: number): Open {
  const k = parseIntermediateKey(h.key);
  if (store.metadata.intermediateId(k.project, k.model, k.intermediate) !== undefined) {
    throw new MistiqueError('EXISTS', `stream message ${n}: ${h.key} is already stored: capture under a new model name (e.g. the next checkpoint) or delete it first (mistique rm ${h.key}); nothing of the stream was logged`);
  }
  const scheme = h.scheme !== undefined ? parseScheme(h.scheme) : opts.scheme ?? {};
  const q = scheme.quantize;
  const writer = store.writer(h.key, {
    scheme: schemeName(scheme), approximate: false, rerunnable: false,
    logicalType: q ? 'float32' : undefined, kbit: q && typeof q === 'object' && 'kbit' in q ? q.kbit : undefined,
  });
  return { tail: Promise.resolve(), writer, shape: example, per, nextRow: 0, rows: 0, scheme, state: {}, storedShape: example };
}
