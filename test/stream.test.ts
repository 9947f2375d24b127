// Logging a framed stream from another process (#19 item 3; docs/STREAM.md): batches of several keys,
// interleaved, with and without row ids and schemes, read back as sent; every broken stream logs nothing;
// `mistique log --stream` on stdin, as python/mistique drives it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MistiqueError } from '../src/errors.js';
import { openStore } from '../src/index.js';
import { bytesOf, rng, tempStore } from './helpers.js';

const bin = path.join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'bin.js');

/** One message: length, JSON header, payload. */
function message(header: object, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length, 0);
  return Buffer.concat([len, h, payload]);
}

function batch(key: string, values: Float32Array, shape: number[], extra: { rowIds?: Int32Array; scheme?: string } = {}): Buffer {
  const payload = extra.rowIds ? Buffer.concat([bytesOf(values), bytesOf(extra.rowIds)]) : bytesOf(values);
  return message({ op: 'batch', key, dtype: 'float32', shape, bytes: payload.length, row_ids: extra.rowIds ? true : undefined, scheme: extra.scheme }, payload);
}

const END = message({ op: 'end' });

/** The stream cut into pieces of `size` bytes, as a pipe delivers it. */
async function* pieces(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

/** `bytes` written to a file, given to `f` as an open file descriptor. */
async function viaFd<T>(bytes: Buffer, f: (fd: number) => Promise<T>): Promise<T> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-stream-')), 'stream.bin');
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    return await f(fd);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

function values(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.max(0, r() * 4 - 1));
}

describe('log stream', () => {
  for (const via of ['pieces', 'fd'] as const) it(`stores interleaved batches of several keys as sent (${via}): row ids given or numbered on, a scheme per key`, async () => {
    const store = await tempStore();
    const a1 = values(3 * 4 * 6 * 6, 1), a2 = values(5 * 4 * 6 * 6, 2), b1 = values(3 * 10, 3), b2 = values(2 * 10, 4);
    const ids = Int32Array.from([100, 103, 106, 109, 112]);
    const stream = Buffer.concat([
      batch('p.m.conv', a1, [3, 4, 6, 6]),
      batch('p.m.logits', b1, [3, 10], { rowIds: Int32Array.from([7, 8, 9]), scheme: 'lp' }),
      batch('p.m.conv', a2, [5, 4, 6, 6]),
      batch('p.m.logits', b2, [2, 10], { rowIds: Int32Array.from([10, 11]), scheme: 'lp' }),
      batch('p.m.pooled', values(5 * 4 * 6 * 6, 5), [5, 4, 6, 6], { rowIds: ids, scheme: 'pool2' }),
      END,
    ]);
    let calls = 0;
    const onBatch = (): void => { calls++; };
    const r = await (via === 'pieces' ? store.logStream(pieces(stream, 777), { onBatch }) : viaFd(stream, (fd) => store.logStream({ fd }, { onBatch })));
    expect(calls).toBe(5);
    expect(r.batches).toBe(5);
    expect(r.intermediates.map((i) => [i.key, i.rows, i.scheme])).toEqual([['p.m.conv', 8, 'none'], ['p.m.logits', 5, 'lp'], ['p.m.pooled', 5, 'pool(2)']]);
    const conv = await store.getIntermediates('p.m.conv.*');
    expect(Array.from(conv.rowIds)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(conv.shape).toEqual([4, 6, 6]);
    const want = new Float32Array(a1.length + a2.length); want.set(a1); want.set(a2, a1.length);
    expect(bytesOf(conv.values).equals(bytesOf(want))).toBe(true);
    const logits = await store.getIntermediates('p.m.logits.*');
    expect(Array.from(logits.rowIds)).toEqual([7, 8, 9, 10, 11]);
    expect(Math.abs(logits.get(4, 9) - b2[19]!)).toBeLessThan(2e-3 * Math.max(1, b2[19]!)); // float16
    const pooled = await store.getIntermediates('p.m.pooled.*');
    expect(Array.from(pooled.rowIds)).toEqual(Array.from(ids));
    expect(pooled.shape).toEqual([4, 3, 3]);
  });

  for (const via of ['pieces', 'fd'] as const) it(`takes batches of no examples (${via}): checked like any batch, nothing stored; a key that only ever had those is not stored`, async () => {
    const store = await tempStore();
    const x = values(3 * 10, 1);
    const none = (key: string, example: number[], extra: { rowIds?: boolean; scheme?: string } = {}): Buffer =>
      message({ op: 'batch', key, dtype: 'float32', shape: [0, ...example], bytes: 0, row_ids: extra.rowIds, scheme: extra.scheme });
    const stream = Buffer.concat([none('p.m.head', [10]), batch('p.m.head', x, [3, 10]), none('p.m.head', [10], { rowIds: true }), none('p.m.empty', [4, 2], { scheme: 'lp' }), END]);
    const r = await (via === 'pieces' ? store.logStream(pieces(stream, 5)) : viaFd(stream, (fd) => store.logStream({ fd })));
    expect(r.batches).toBe(4);
    expect(r.intermediates.map((i) => [i.key, i.rows])).toEqual([['p.m.head', 3]]);
    expect(store.list().map((i) => i.key)).toEqual(['p.m.head']);
    expect(bytesOf((await store.getIntermediates('p.m.head.*')).values).equals(bytesOf(x))).toBe(true);
    // still checked: the key's per-example shape, and a key already stored
    for (const [bad, msg] of [[Buffer.concat([batch('p.m.a', x, [3, 10]), none('p.m.a', [5]), END]), /were \[10\] and are now \[5\]/], [Buffer.concat([none('p.m.head', [10]), END]), /p\.m\.head is already stored/]] as const) {
      expect(((await store.logStream(pieces(bad, 64)).catch((e: unknown) => e)) as Error).message).toMatch(msg);
    }
    expect(store.list().map((i) => i.key)).toEqual(['p.m.head']);
  });

  const broken: [string, () => Buffer, RegExp, string][] = [
    ['a header that is not JSON', () => Buffer.concat([message({ op: 'batch' }).subarray(0, 4), Buffer.from('{"op": bat'.padEnd(JSON.stringify({ op: 'batch' }).length))]), /message 2: its header is not JSON/, 'BAD_INPUT'],
    ['bytes that do not match the shape', () => Buffer.concat([message({ op: 'batch', key: 'p.m.x', dtype: 'float32', shape: [2, 3], bytes: 20 }, new Uint8Array(20)), END]), /"bytes" is 20 but 2 examples of shape \[3\] as float32 take 24/, 'BAD_INPUT'],
    ['a dtype other than float32', () => Buffer.concat([message({ op: 'batch', key: 'p.m.x', dtype: 'float64', shape: [1, 1], bytes: 8 }, new Uint8Array(8)), END]), /dtype "float64" is not supported/, 'BAD_INPUT'],
    ['a stream cut inside a payload', () => batch('p.m.x', values(40, 1), [4, 10]).subarray(0, 100), /ended inside the payload of message 2/, 'BAD_INPUT'],
    ['a stream without its end message', () => batch('p.m.x', values(40, 1), [4, 10]), /ended without its end message/, 'BAD_INPUT'],
    ['a per-example shape that changes', () => Buffer.concat([batch('p.m.x', values(40, 1), [4, 10]), batch('p.m.x', values(40, 1), [4, 5, 2]), END]), /were \[10\] and are now \[5, 2\]/, 'BAD_INPUT'],
    ['a scheme that changes', () => Buffer.concat([batch('p.m.x', values(40, 1), [4, 10], { scheme: 'lp' }), batch('p.m.x', values(40, 1), [4, 10], { scheme: 'kbit8' }), END]), /started with scheme lp/, 'BAD_INPUT'],
    ['a malformed key', () => Buffer.concat([batch('p.m', values(40, 1), [4, 10]), END]), /project\.model\.intermediate/, 'BAD_KEY'],
    ['a key already stored', () => Buffer.concat([batch('p.m.old', values(40, 1), [4, 10]), END]), /p\.m\.old is already stored/, 'EXISTS'],
    ['bytes that are not a stream', () => Buffer.from('a,b,c\n1,2,3\n'), /not a mistique stream/, 'BAD_INPUT'],
  ];
  // each through an async source of 64-byte pieces, and through a file descriptor read on a thread of its own
  for (const [what, make, msg, code] of broken) for (const via of ['pieces', 'fd'] as const) {
    it(`${what} (${via}): one clear error, and the store is as it was`, async () => {
      const store = await tempStore();
      await store.log('p.m.old', { v: Float64Array.from([1, 2]) });
      const good = batch('p.m.good', values(20, 9), [2, 10]); // a good batch first: it must not be kept either
      const bytes = Buffer.concat([good, make()]);
      const err = await (via === 'pieces' ? store.logStream(pieces(bytes, 64)) : viaFd(bytes, (fd) => store.logStream({ fd }))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MistiqueError);
      expect((err as MistiqueError).code).toBe(code);
      expect((err as MistiqueError).message).toMatch(msg);
      expect(store.list().map((i) => i.key)).toEqual(['p.m.old']);
      await store.flush();
      expect(store.list().map((i) => i.key)).toEqual(['p.m.old']);
    });
  }

  it('mistique log --stream takes batches larger than a pipe holds, several keys interleaved, as sent', async () => {
    const store = await tempStore();
    const dir = store.dir;
    await store.close();
    const sent = new Map<string, Float32Array[]>();
    const parts: Buffer[] = [];
    for (let b = 0; b < 12; b++) for (const [key, per] of [['w.m.conv', 3 * 32 * 32], ['w.m.fc', 10], ['w.m.wide', 70_000]] as const) {
      const x = values(8 * per, 100 * b + per);
      sent.set(key, [...(sent.get(key) ?? []), x]);
      parts.push(batch(key, x, [8, per]));
    }
    parts.push(END);
    const r = spawnSync(process.execPath, [bin, 'log', '--stream', '--store', dir], { input: Buffer.concat(parts), maxBuffer: 1 << 26 });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const again = await openStore(dir);
    try {
      for (const [key, xs] of sent) {
        const got = await again.getIntermediates(`${key}.*`);
        const want = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
        let at = 0;
        for (const x of xs) { want.set(x, at); at += x.length; }
        expect(got.rowIds.length).toBe(96);
        expect(bytesOf(got.values).equals(bytesOf(want))).toBe(true);
      }
    } finally {
      await again.close();
    }
  });

  it('mistique log --stream exits at once on a bad batch while the producer still holds the pipe open', async () => {
    const store = await tempStore();
    await store.log('k.m.old', { v: Float64Array.from([1]) });
    const dir = store.dir;
    await store.close();
    const child = spawn(process.execPath, [bin, 'log', '--stream', '--store', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const t0 = Date.now();
    child.stdin.write(batch('k.m.old', values(40, 1), [4, 10]));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin.destroy();
    expect(code).toBe(1);
    expect(stderr).toMatch(/k\.m\.old is already stored/);
    expect(Date.now() - t0).toBeLessThan(10_000); // not held by a read of the still-open pipe
  });

  it('mistique log --stream reads stdin, prints one JSON line, and exits 1 with nothing logged on a broken stream', async () => {
    const store = await tempStore();
    const dir = store.dir;
    await store.close();
    const x = values(6 * 8, 3);
    const ok = spawnSync(process.execPath, [bin, 'log', '--stream', '--scheme', 'lp', '--store', dir], { input: Buffer.concat([batch('q.m.h', x, [6, 8]), END]) });
    expect(ok.stderr.toString()).toBe('');
    expect(ok.status).toBe(0);
    const out = JSON.parse(ok.stdout.toString()) as { logged: { key: string; rows: number; shape: number[]; scheme: string }[]; batches: number };
    expect(out.logged).toEqual([expect.objectContaining({ key: 'q.m.h', rows: 6, shape: [8], scheme: 'lp' })]);
    const cut = spawnSync(process.execPath, [bin, 'log', '--stream', '--store', dir], { input: batch('q.m.g', x, [6, 8]) });
    expect(cut.status).toBe(1);
    expect(cut.stderr.toString()).toMatch(/^mistique log: the stream ended without its end message/);
    const usage = spawnSync(process.execPath, [bin, 'log', '--stream', 'x.npy', '--store', dir], { input: '' });
    expect(usage.status).toBe(1);
    expect(usage.stderr.toString()).toMatch(/takes no file or key/);
    const ls = spawnSync(process.execPath, [bin, 'ls', '--format', 'json', '--store', dir]);
    expect((JSON.parse(ls.stdout.toString()) as { key: string }[]).map((i) => i.key)).toEqual(['q.m.h']);
  });
});
