// Logging from another process (issue #19: capture straight from PyTorch). A producer — python/mistique's
// capture, or any program — writes a framed stream: each message is a 4-byte little-endian length, that
// many bytes of a JSON header, then the header's `bytes` of payload. Batches of float32 tensors become
// intermediates as they arrive, through the same scheme encoding (pooling, quantizing on the worker
// threads) and writers as logNetwork; a few messages are read ahead while earlier ones are encoded (at
// most IN_FLIGHT payloads held), so memory stays bounded whatever the stream's length. The framing is
// specified in docs/STREAM.md and read by framing.ts — from a file descriptor (the CLI's stdin) on a
// thread of its own (fdframes.ts), which hands over each batch's payload whole.
import { MistiqueError } from '../errors.js';
import { bad, byteFrames, type BatchHeader } from './framing.js';
import { fdFrames } from './fdframes.js';
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

/** Batches read ahead while earlier ones are encoded and appended (memory: this many payloads at most). */
const IN_FLIGHT = 4;
/** Payloads a file descriptor's reading thread holds beyond those (fdframes.ts). */
const READ_AHEAD = 2;

interface Open { tail: Promise<void>; writer: IntermediateWriter; shape: number[]; per: number; nextRow: number; rows: number; scheme: DnnScheme; state: { threshold?: number }; storedShape: number[] }

/**
 * Logs a framed stream (docs/STREAM.md) into the store. Every intermediate it names becomes durable
 * together at the end message; a bad message, or a stream that ends without one, logs nothing.
 */
export async function logStream(store: StreamSink, input: AsyncIterable<Uint8Array> | { fd: number }, opts: StreamOptions = {}): Promise<StreamSummary> {
  const t0 = performance.now();
  const frames = Symbol.asyncIterator in input ? byteFrames(input) : fdFrames(input.fd, READ_AHEAD);
  const open = new Map<string, Open>();
  let batches = 0, bytes = 0, n = 0;
  const inflight: Promise<void>[] = [];
  try {
    for (;;) {
      n++;
      const h = await frames.header();
      if (!h) throw new MistiqueError('BAD_INPUT', `the stream ended without its end message ({"op":"end"}) after ${batches} batches: the producer stopped early; nothing of the stream was logged`);
      if (h.op === 'end') break;
      const [rows, ...example] = h.shape as [number, ...number[]];
      const per = example.reduce((a, b) => a * b, 1);
      let o = open.get(h.key);
      if (rows === 0) {
        // nothing to store: checked as a first batch would be (or against the key's earlier ones), and skipped
        if (o) checkSame(o, h, example, n);
        else checkStart(store, h, n);
        await frames.payload();
        batches++;
        opts.onBatch?.(h.key, o?.rows ?? 0, bytes);
        continue;
      }
      if (!o) o = start(store, h, example, per, opts, n);
      else {
        checkSame(o, h, example, n);
      }
      open.set(h.key, o);
      const payload = await frames.payload();
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
      bytes += h.bytes;
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
  } finally {
    frames.close();
  }
}

/** A later batch of a key: the same per-example shape, and the scheme it was started with if it names one. */
function checkSame(o: Open, h: BatchHeader, example: number[], n: number): void {
  if (example.join(',') !== o.shape.join(',')) throw bad(n, `${h.key}'s examples were [${o.shape.join(', ')}] and are now [${example.join(', ')}]: an intermediate has one per-example shape`);
  if (h.scheme !== undefined && schemeName(parseScheme(h.scheme)) !== schemeName(o.scheme)) throw bad(n, `${h.key} was started with scheme ${schemeName(o.scheme)}; a later batch cannot change it`);
}

/** A key's first batch: a key of three names, not stored yet, and a scheme that parses. */
function checkStart(store: StreamSink, h: BatchHeader, n: number): void {
  const k = parseIntermediateKey(h.key);
  if (store.metadata.intermediateId(k.project, k.model, k.intermediate) !== undefined) {
    throw new MistiqueError('EXISTS', `stream message ${n}: ${h.key} is already stored: capture under a new model name (e.g. the next checkpoint) or delete it first (mistique rm ${h.key}); nothing of the stream was logged`);
  }
  if (h.scheme !== undefined) parseScheme(h.scheme);
}

function start(store: StreamSink, h: BatchHeader, example: number[], per: number, opts: StreamOptions, n: number): Open {
  checkStart(store, h, n);
  const scheme = h.scheme !== undefined ? parseScheme(h.scheme) : opts.scheme ?? {};
  const q = scheme.quantize;
  const writer = store.writer(h.key, {
    scheme: schemeName(scheme), approximate: false, rerunnable: false,
    logicalType: q ? 'float32' : undefined, kbit: q && typeof q === 'object' && 'kbit' in q ? q.kbit : undefined,
  });
  return { tail: Promise.resolve(), writer, shape: example, per, nextRow: 0, rows: 0, scheme, state: {}, storedShape: example };
}
