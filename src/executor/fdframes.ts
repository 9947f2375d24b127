// A logging stream read from a file descriptor (the CLI's stdin) on a thread of its own
// (fdframesworker.ts): that thread takes the pipe's reads, frames them and hands each batch's payload over
// whole, by transfer, so the main thread — which encodes, hashes and lays out what it logs — sees one
// message per batch, not one per 64 KB read. The thread reads at most `readAhead` payloads past what
// logStream has taken: memory stays bounded.
import { MistiqueError, type ErrorCode } from '../errors.js';
import { moduleWorker } from '../workers/spawn.js';
import { framedSource, type Framed, type FrameSource, type Header } from './framing.js';

/** What the reading thread sends: a header (null: the stream ended between messages), a payload, or why it stopped. */
export type FrameMessage = { header: Header | null } | { payload: ArrayBuffer } | { error: { code: ErrorCode; message: string } };

export function fdFrames(fd: number, readAhead: number): FrameSource {
  const worker = moduleWorker(import.meta.url, 'fdframesworker', { workerData: { fd, readAhead } });
  const out: Framed[] = [];
  let wake: (() => void) | null = null;
  const deliver = (f: Framed): void => {
    out.push(f);
    if (wake) { const w = wake; wake = null; w(); }
  };
  worker.on('message', (m: FrameMessage) => deliver('error' in m ? { error: new MistiqueError(m.error.code, m.error.message) } : 'payload' in m ? { payload: new Uint8Array(m.payload) } : m));
  worker.on('error', (err) => deliver({ error: new MistiqueError('INTERNAL', `the thread reading the stream failed (${err.message}); try again`) }));
  worker.on('exit', (code) => deliver({ error: new MistiqueError('INTERNAL', `the thread reading the stream stopped (exit code ${code}) before the stream's end`) }));
  return framedSource(out, () => new Promise<void>((r) => { wake = r; }), () => {
    worker.removeAllListeners('exit');
    void worker.terminate();
  }, () => worker.postMessage({ credit: 1 }));
}
