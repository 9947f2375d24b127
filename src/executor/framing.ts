// The framing of a logging stream (docs/STREAM.md): each message is a 4-byte little-endian length, that
// many bytes of a JSON header, then the header's `bytes` of payload. A FrameSource hands logStream one
// header, then that batch's payload, in a buffer of its own; `byteFrames` frames any async byte source
// (a test's pieces, an API caller's stream), fdframes.ts a file descriptor read on a thread of its own.
import { MistiqueError } from '../errors.js';

/** Largest header accepted: a header is a few hundred bytes; a bigger length means the stream is not this framing. */
const MAX_HEADER = 1 << 20;
/** Largest payload of one batch (a producer cuts larger batches). */
const MAX_PAYLOAD = 1 << 30;

export interface BatchHeader { op: 'batch'; key: string; dtype: 'float32'; shape: number[]; bytes: number; row_ids?: boolean; scheme?: string }
export type Header = BatchHeader | { op: 'end' };

export interface FrameSource {
  /** The next message's header, checked (its payload's length agrees with its shape); null: the stream ended between messages. */
  header(): Promise<Header | null>;
  /** The payload of the batch whose header came last: exactly its `bytes`, in an ArrayBuffer of its own from offset 0. */
  payload(): Promise<Uint8Array>;
  /** Stops reading: the stream ended, or logging it failed. */
  close(): void;
}

/** What a FrameParser has framed, in stream order: a header (null: the stream ended between messages), a payload, or why it stopped. */
export type Framed = { header: Header | null } | { payload: Uint8Array } | { error: MistiqueError };

/**
 * Frames bytes as they come, whatever their pieces: `push` copies each piece straight into the message
 * part it belongs to (a payload into a buffer of its own), so a reader may hand it a buffer it reuses.
 * What it frames waits in `out` in stream order; an error is the last thing there, after the messages
 * before it, so that a consumer meets a message's own trouble (a key already stored) before a later
 * message's broken framing.
 */
export class FrameParser {
  readonly out: Framed[] = [];
  private part: 'length' | 'header' | 'payload' | 'done' = 'length';
  private buf = new Uint8Array(4);
  private got = 0;
  private n = 1;
  private batch: BatchHeader | null = null;

  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length && this.part !== 'done') {
      const take = Math.min(bytes.length - at, this.buf.length - this.got);
      this.buf.set(bytes.subarray(at, at + take), this.got);
      this.got += take;
      at += take;
      if (this.got === this.buf.length) this.complete();
    }
  }

  /** The source ended: the end of the stream between messages, or the error of one ended inside. */
  end(): void {
    if (this.part === 'done') return;
    if (this.part === 'length' && this.got === 0) this.out.push({ header: null });
    else {
      const what = this.part === 'length' ? 'a message length' : this.part === 'header' ? 'a header' : `the payload of message ${this.n} (${this.batch!.key})`;
      this.stop(new MistiqueError('BAD_INPUT', `the stream ended inside ${what} (${this.got} of ${this.buf.length} bytes): the producer stopped mid-message; nothing of the stream was logged`));
    }
    this.part = 'done';
  }

  /** Whether nothing more will be framed (the end message, or an error, is in `out`). */
  get done(): boolean {
    return this.part === 'done';
  }

  private complete(): void {
    try {
      if (this.part === 'length') {
        const hlen = new DataView(this.buf.buffer).getUint32(0, true);
        if (hlen === 0 || hlen > MAX_HEADER) throw bad(this.n, `a header of ${hlen} bytes: this is not a mistique stream (each message starts with the header's length, 4 bytes little-endian)`);
        this.next('header', hlen);
      } else if (this.part === 'header') {
        const h = parseHeader(this.buf, this.n);
        if (h.op === 'batch') payloadBytes(h, this.n);
        this.out.push({ header: h });
        if (h.op === 'end') { this.part = 'done'; return; }
        this.batch = h;
        this.next('payload', h.bytes);
        if (h.bytes === 0) this.complete();
      } else {
        this.out.push({ payload: this.buf });
        this.n++;
        this.next('length', 4);
      }
    } catch (err) {
      this.stop(err as MistiqueError);
    }
  }

  private next(part: 'length' | 'header' | 'payload', bytes: number): void {
    this.part = part;
    this.buf = new Uint8Array(bytes);
    this.got = 0;
  }

  private stop(err: MistiqueError): void {
    this.out.push({ error: err });
    this.part = 'done';
  }
}

/**
 * What was framed, taken in order as a FrameSource: `out` is a FrameParser's (or a queue of what another
 * thread framed), `more` waits until more is there; `tookPayload` runs as each payload is taken.
 */
export function framedSource(out: Framed[], more: () => Promise<void>, close: () => void, tookPayload: () => void = () => undefined): FrameSource {
  const take = async (): Promise<Framed> => {
    while (out.length === 0) await more();
    const f = out.shift()!;
    if ('error' in f) throw f.error;
    return f;
  };
  return {
    async header() {
      const f = await take();
      if (!('header' in f)) throw new MistiqueError('INTERNAL', 'a payload came where a header was due');
      return f.header;
    },
    async payload() {
      const f = await take();
      if (!('payload' in f)) throw new MistiqueError('INTERNAL', 'a header came where a payload was due');
      tookPayload();
      return f.payload;
    },
    close,
  };
}

/** The messages of an async byte source, as a FrameSource. */
export function byteFrames(input: AsyncIterable<Uint8Array>): FrameSource {
  const it = input[Symbol.asyncIterator]();
  const parser = new FrameParser();
  return framedSource(parser.out, async () => {
    if (parser.done) throw new MistiqueError('INTERNAL', 'read past the end of the stream');
    const r = await it.next();
    if (r.done) parser.end();
    else parser.push(r.value);
  }, () => { void it.return?.()?.catch?.(() => undefined); });
}

export function bad(n: number, msg: string): MistiqueError {
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
  // no examples at all is a batch too (a detector's head when an image has no detection): it stores nothing
  if (!Array.isArray(o.shape) || o.shape.length < 1 || !o.shape.every((d, i) => Number.isInteger(d) && (d as number) >= (i === 0 ? 0 : 1))) {
    throw bad(n, `"shape" must be [examples, …per-example dims]: a whole number of examples and positive per-example dims, got ${JSON.stringify(o.shape)}`);
  }
  if (!Number.isInteger(o.bytes) || (o.bytes as number) < 0) throw bad(n, `"bytes" must be the payload's length, got ${JSON.stringify(o.bytes)}`);
  if (o.row_ids !== undefined && typeof o.row_ids !== 'boolean') throw bad(n, '"row_ids" must be true or false');
  if (o.scheme !== undefined && typeof o.scheme !== 'string') throw bad(n, '"scheme" must be a string such as "pool2+lp"');
  return { op: 'batch', key: o.key, dtype: 'float32', shape: o.shape as number[], bytes: o.bytes as number, row_ids: o.row_ids as boolean | undefined, scheme: o.scheme as string | undefined };
}

/** The payload's length that a batch's shape (and row ids) take: its `bytes` must say the same, within MAX_PAYLOAD. */
export function payloadBytes(h: BatchHeader, n: number): number {
  const [rows, ...example] = h.shape as [number, ...number[]];
  const per = example.reduce((a, b) => a * b, 1);
  const want = rows * per * 4 + (h.row_ids ? rows * 4 : 0);
  if (h.bytes !== want) throw bad(n, `"bytes" is ${h.bytes} but ${rows} examples of shape [${example.join(', ')}] as float32${h.row_ids ? ' with their int32 row ids' : ''} take ${want}`);
  if (want > MAX_PAYLOAD) throw bad(n, `a batch of ${want} bytes is over the 1 GiB a message may carry: send smaller batches`);
  return want;
}
