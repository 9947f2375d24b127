// The thread of fdframes.ts: reads a logging stream from a file descriptor into one reused 1 MB buffer,
// frames it (FrameParser copies each payload out once, into a buffer of its own) and posts each header and
// then its payload (transferred) to the main thread, at most `readAhead` payloads ahead of what it took.
import fs from 'node:fs';
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { MistiqueError } from '../errors.js';
import { FrameParser } from './framing.js';
import type { FrameMessage } from './fdframes.js';

const { fd, readAhead } = workerData as { fd: number; readAhead: number };
const port = parentPort!;
const parser = new FrameParser();
const READ_BYTES = 1 << 20;
let credits = readAhead;
let resume: (() => void) | null = null;

port.on('message', (m: { credit?: number }) => {
  credits += m.credit ?? 0;
  if (credits > 0 && resume) { const r = resume; resume = null; r(); }
});

/** Posts what the parser framed; whether reading should go on (credits left, and the stream not done). */
function send(): boolean {
  for (const f of parser.out.splice(0)) {
    if ('payload' in f) {
      credits--;
      const b = f.payload.buffer as ArrayBuffer;
      port.postMessage({ payload: b } satisfies FrameMessage, [b]);
    } else if ('error' in f) port.postMessage({ error: { code: f.error.code, message: f.error.message } } satisfies FrameMessage);
    else port.postMessage(f satisfies FrameMessage);
  }
  if (parser.done) { finish(); return false; }
  return credits > 0;
}

function failed(err: Error): void {
  const e = err instanceof MistiqueError ? err : new MistiqueError('IO', `reading the stream (file descriptor ${fd}) failed: ${err.message}`);
  port.postMessage({ error: { code: e.code, message: e.message } } satisfies FrameMessage);
  finish();
}

let finished = false;
let closeSource: () => void = () => undefined;
function finish(): void {
  if (finished) return;
  finished = true;
  closeSource();
  port.close();
}

/**
 * A pipe or socket: libuv's non-blocking reads into one reused buffer (a thread blocked in read(2) would
 * hold the process at its exit until the producer writes again; the descriptor is closed when the stream
 * is done, as a socket's is). Reading pauses while the main thread holds `readAhead` payloads untaken.
 */
function readSocket(): void {
  // onread (Node ≥ 15.8; not in @types/node's constructor options): reads land in one buffer, reused
  const socket = new net.Socket({
    fd, readable: true, writable: false,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BYTES),
      callback: (n: number, buf: Buffer) => {
        parser.push(buf.subarray(0, n));
        if (send()) return true;
        if (!finished) resume = () => socket.resume();
        return false;
      },
    },
  } as net.SocketConstructorOpts);
  closeSource = () => socket.destroy();
  socket.on('end', () => { parser.end(); send(); });
  socket.on('error', failed);
}

/** Anything else (a file): 1 MB reads one after another, its descriptor left open. */
async function readFile(): Promise<void> {
  const buf = Buffer.allocUnsafe(READ_BYTES);
  while (!finished) {
    if (credits <= 0) await new Promise<void>((r) => { resume = r; });
    const n = await new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, buf.length, null, (err, got) => (err ? reject(err) : resolve(got))));
    if (n === 0) parser.end();
    else parser.push(buf.subarray(0, n));
    send();
  }
}

try {
  const st = fs.fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) readSocket();
  else readFile().catch(failed);
} catch (err) {
  failed(err as Error);
}
