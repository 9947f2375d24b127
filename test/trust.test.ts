// Trust: what the store acknowledged is what it returns — across a second handle, a second writer,
// readers in other processes, kill -9 at any point, flipped or truncated bytes, and bad row ids.
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MistiqueError, openStore, type CodecId, type VerifyReport } from '../src/index.js';
import { CODEC_IDS } from '../src/store/codecs/index.js';
import { run } from '../src/cli/main.js';
import { parsePipelineSpec } from '../src/executor/spec.js';
import { digestStored, expectedDigest, frameFor } from './workers/data.js';
import { rng, slow, snapshotFiles, tempDir } from './helpers.js';

const LOGGER = path.join(import.meta.dirname, 'workers', 'logger.ts');

interface Child { proc: ChildProcess; acks: string[]; exited: Promise<number | null> }

function startLogger(dir: string, codec: CodecId, prefix: string, count: number, lockTimeoutMs = 0): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', LOGGER, dir, codec, prefix, String(count), String(lockTimeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith('ack ')) acks.push(l.slice(4));
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`logger ${prefix} exited ${code}: ${err}\n`);
    resolve(code);
  }));
  return { proc, acks, exited };
}

/** Every intermediate a key list names reads back exactly as logged (i is the number after `.k`). */
async function expectExact(dir: string, keys: readonly string[]): Promise<void> {
  const s = await openStore(dir, { create: false });
  try {
    for (const key of keys) expect(await digestStored(s, key), key).toBe(expectedDigest(key, Number(/\.k(\d+)$/.exec(key)![1])));
  } finally {
    await s.close();
  }
}

describe('two handles, two writers, readers beside a writer', () => {
  it('opening a store beside a writer that has not flushed removes nothing of it, and shows only what is durable', async () => {
    const dir = path.join(tempDir(), 's');
    const w = await openStore(dir);
    await w.log('p.m.k0', frameFor('p.m.k0', 0));
    const r = await openStore(dir);
    expect(r.recovered).toEqual([]);
    expect(r.list().map((x) => x.key)).toEqual([]); // not durable yet: the reader does not see it
    expect(w.list().map((x) => x.key)).toEqual(['p.m.k0']); // its writer does
    await w.flush();
    expect(r.list().map((x) => x.key)).toEqual(['p.m.k0']);
    expect(await digestStored(r, 'p.m.k0')).toBe(expectedDigest('p.m.k0', 0));
    await w.close();
    await r.close();
    await expectExact(dir, ['p.m.k0']);
  });

  it('what is logged without durable becomes durable within flushMs, even while more logs keep coming', async () => {
    // the window a killed process may lose is counted from the oldest unwritten log, not the newest
    const dir = path.join(tempDir(), 's');
    const flushMs = 300;
    const w = await openStore(dir, { flushMs, flushBytes: 1 << 30 }); // only the timer writes (small frames fill no partition)
    const r = await openStore(dir);
    const frame = (i: number) => ({ x: Float64Array.from({ length: 256 }, (_, j) => i * 1000 + j) });
    // the timer ticks from the open on: log 200 ms into its first 300, so a window counted from the open would close at ~100 ms
    await new Promise((res) => setTimeout(res, 200));
    const t0 = Date.now();
    await w.log('p.m.k0', frame(0));
    let seenAt = -1;
    // a log every 50 ms for 2.5 s: a window restarted by each log would never close while they come
    for (let i = 1; Date.now() - t0 < 2500; i++) {
      await w.log(`p.m.k${i}`, frame(i));
      if (seenAt < 0 && r.list().some((x) => x.key === 'p.m.k0')) seenAt = Date.now() - t0;
      await new Promise((res) => setTimeout(res, 50));
    }
    // the timer looks every min(1 s, flushMs): written by ~2 × flushMs plus the write itself (~0.7 s here)
    expect(seenAt, 'p.m.k0 never became durable while logs kept coming').toBeGreaterThan(0);
    expect(seenAt).toBeLessThan(2000);
    expect(seenAt, 'written before it had waited flushMs').toBeGreaterThanOrEqual(flushMs);
    expect((await r.getIntermediates('p.m.k0.x')).column(0)).toEqual(frame(0).x);
    await w.close();
    await r.close();
  });

  it('a second writer gets LOCKED naming the holder, or waits for it with lockTimeoutMs', async () => {
    const dir = path.join(tempDir(), 's');
    const w = await openStore(dir);
    await w.log('p.m.k0', frameFor('p.m.k0', 0));
    const w2 = await openStore(dir);
    const err = await w2.log('p.m.k1', frameFor('p.m.k1', 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MistiqueError);
    expect((err as MistiqueError).code).toBe('LOCKED');
    expect((err as MistiqueError).message).toMatch(new RegExp(`process ${process.pid} .*another open Store`));
    await w.close();
    await w2.log('p.m.k1', frameFor('p.m.k1', 1)); // the lock is free once the first closes
    await w2.close();
    await expectExact(dir, ['p.m.k0', 'p.m.k1']);
  });

  it('two processes creating one store at the same moment: one writes, the other is told LOCKED — or, with --wait, writes after it — never another error', async () => {
    const bin = path.join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'bin.js');
    const stream = (key: string): Buffer => {
      const values = Buffer.from(Float32Array.from({ length: 8 }, (_, i) => i).buffer);
      const frame = (h: object, payload = Buffer.alloc(0)): Buffer => {
        const head = Buffer.from(JSON.stringify(h));
        const len = Buffer.alloc(4);
        len.writeUInt32LE(head.length);
        return Buffer.concat([len, head, payload]);
      };
      return Buffer.concat([frame({ op: 'batch', key, dtype: 'float32', shape: [2, 4], bytes: 32 }, values), frame({ op: 'end' })]);
    };
    const logger = (dir: string, key: string, wait: string[]): Promise<{ code: number | null; err: string }> => new Promise((resolve) => {
      const p = spawn(process.execPath, [bin, 'log', '--stream', '--store', dir, ...wait], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      p.on('exit', (code) => resolve({ code, err }));
      p.stdin!.end(stream(key));
    });
    // before, 5 rounds in 20 failed with "table meta already exists", "database is locked" or "not a mistique store"
    for (const wait of [[], ['--wait', '30']]) {
      for (let round = 0; round < 6; round++) {
        const dir = path.join(tempDir(), 's');
        const got = await Promise.all([logger(dir, 'c.a.x', wait), logger(dir, 'c.b.x', wait)]);
        const failed = got.filter((g) => g.code !== 0);
        // without --wait, the second is refused where the two overlap (the first holds the lock from its start)
        if (wait.length > 0) expect(failed).toEqual([]);
        else expect(failed.length).toBeLessThanOrEqual(1);
        for (const f of failed) expect(f.err).toMatch(/is being written by .*one writer at a time/);
        const s = await openStore(dir, { create: false });
        expect(s.list().map((i) => i.key).sort()).toEqual(['c.a.x', 'c.b.x'].filter((_, i) => got[i]!.code === 0));
        await s.close();
      }
    }
  });

  slow('two logging processes on one store: everything either acknowledged reads back; readers opening meanwhile see only complete intermediates', async () => {
    const dir = path.join(tempDir(), 's');
    (await openStore(dir, { codec: 'gzip' })).close();
    const a = startLogger(dir, 'gzip', 'two.a', 9, 60_000);
    const b = startLogger(dir, 'gzip', 'two.b', 9, 60_000);
    // a reader that keeps opening the store while they write
    let opens = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const s = await openStore(dir, { create: false });
        try {
          expect(s.recovered).toEqual([]);
          for (const it of s.list()) expect(await digestStored(s, it.key), it.key).toBe(expectedDigest(it.key, Number(/\.k(\d+)$/.exec(it.key)![1])));
        } finally {
          await s.close();
        }
        opens++;
      }
    })();
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    reading = false;
    await reader;
    expect(opens).toBeGreaterThan(0);
    expect(a.acks).toHaveLength(9);
    expect(b.acks).toHaveLength(9);
    await expectExact(dir, [...a.acks, ...b.acks]);
  });
});

describe('load', () => {
  slow('8 reader processes for a minute while writers log one after another: no error, every read equals what was logged', async () => {
    const dir = path.join(tempDir(), 's');
    await (await openStore(dir, { codec: 'gzip' })).close();
    const seconds = 60;
    const readers = Array.from({ length: 8 }, (_, i) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'workers', 'reader.ts'), dir, String(seconds), String(i + 1)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      return new Promise<{ code: number | null; out: string }>((resolve) => proc.on('exit', (code) => resolve({ code, out })));
    });
    const acked: string[] = [];
    const end = Date.now() + (seconds - 5) * 1000;
    for (let w = 0; Date.now() < end; w++) {
      const c = startLogger(dir, 'gzip', `load.w${w}`, 6, 30_000);
      expect(await c.exited).toBe(0);
      acked.push(...c.acks);
    }
    const results = await Promise.all(readers);
    for (const r of results) expect(r.code, r.out).toBe(0);
    const reads = results.reduce((a, r) => a + Number(/reads (\d+)/.exec(r.out)?.[1] ?? 0), 0);
    expect(reads).toBeGreaterThan(100);
    await expectExact(dir, acked);
  }, 120_000);
});

describe('kill -9 at 20 points', () => {
  const codecs: readonly CodecId[] = CODEC_IDS;
  slow('loses no durable intermediate, shows nothing half-written, and takes writes afterwards', async () => {
    const r = rng(20261204);
    let points = 0;
    let lostTotal = 0;
    for (let k = 0; k < 20; k++) {
      const codec = codecs[k % 3]!;
      const dir = path.join(tempDir(), `s${k}`);
      const child = startLogger(dir, codec, 'crash.m', 12);
      // kill after the n-th acknowledgement (1…11) plus 0–40 ms: inside the next log, flush or SQLite commit
      const afterAck = 1 + Math.floor(r() * 11);
      const extraMs = Math.floor(r() * 40);
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (child.acks.length >= afterAck) { clearInterval(t); setTimeout(resolve, extraMs); }
        }, 2);
        void child.exited.then(() => { clearInterval(t); resolve(); });
      });
      child.proc.kill('SIGKILL');
      await child.exited;
      const acked = [...child.acks];
      const s = await openStore(dir, { create: false });
      try {
        const visible = s.list().map((x) => x.key);
        for (const key of acked) expect(visible, `${codec} kill ${k}: acknowledged ${key} lost`).toContain(key);
        // whatever is visible is whole: acknowledged or not, it reads back bit-exactly
        for (const key of visible) expect(await digestStored(s, key), `${codec} kill ${k}: ${key}`).toBe(expectedDigest(key, Number(/\.k(\d+)$/.exec(key)![1])));
        lostTotal += s.recovered.length;
        await s.log('crash.after.k0', frameFor('crash.after.k0', 0), { durable: true });
        expect(await digestStored(s, 'crash.after.k0')).toBe(expectedDigest('crash.after.k0', 0));
      } finally {
        await s.close();
      }
      points++;
    }
    expect(points).toBe(20);
    expect(lostTotal).toBeGreaterThanOrEqual(0);
  }, 240_000);
});

describe('corruption', () => {
  for (const codec of CODEC_IDS) {
    slow(`detects 100 of 100 flipped bytes and truncations in ${codec} partitions, returning no wrong value`, async () => {
      const dir = path.join(tempDir(), 's');
      const keys = ['c.m.k0', 'c.m.k1', 'c.m.k2'];
      const w = await openStore(dir, { codec, segmentBytes: 16 << 10 });
      for (const [i, key] of keys.entries()) await w.log(key, frameFor(key, i));
      await w.close();
      const files = fs.readdirSync(path.join(dir, 'partitions')).map((f) => path.join(dir, 'partitions', f));
      const r = rng(7 + codec.length);
      let detected = 0;
      const s = await openStore(dir, { create: false });
      try {
        for (let t = 0; t < 100; t++) {
          const file = files[Math.floor(r() * files.length)]!;
          const orig = fs.readFileSync(file);
          const bad = Buffer.from(orig);
          const truncate = t % 5 === 4;
          let at = -1;
          if (truncate) fs.writeFileSync(file, bad.subarray(0, Math.floor(r() * bad.length)));
          else {
            at = Math.floor(r() * bad.length);
            bad[at] = bad[at]! ^ (1 + Math.floor(r() * 255));
            fs.writeFileSync(file, bad);
          }
          s.dropCaches();
          (s as unknown as { ds: { close(): void } }).ds.close(); // no file descriptor of the old bytes stays open
          let failed = false;
          for (const [i, key] of keys.entries()) {
            try {
              expect(await digestStored(s, key), `${codec} trial ${t}: wrong values returned`).toBe(expectedDigest(key, i));
            } catch (err) {
              if (!(err instanceof MistiqueError)) throw err;
              expect(err.code).toBe('CORRUPT');
              expect(err.message).toMatch(/p0000000\d\.\w+/);
              failed = true;
            }
          }
          if (failed) detected++;
          else {
            const pid = Number(/p(\d+)/.exec(path.basename(file))![1]);
            const segs = s.metadata.segments(pid);
            const sg = segs.find((x) => x.offset <= at && at < x.offset + x.length);
            console.log(`undetected: ${codec} trial ${t} ${path.basename(file)} at ${at} seg ${JSON.stringify(sg)} of ${segs.length} serves ${sg ? s.metadata.intermediatesOfSegment(pid, sg.seg) : ''}`);
          }
          fs.writeFileSync(file, orig);
        }
      } finally {
        await s.close();
      }
      expect(detected).toBe(100);
    }, 120_000);
  }

  slow('100 byte flips in metadata.db per codec: every failure is CORRUPT and no wrong value is returned (row checksums)', async () => {
    // (a flip that changes nothing a read depends on — free space, a statistic — is not detected: SQLite pages carry no checksum)
    const keys = ['c.m.k0', 'c.m.k1', 'c.m.k2', 'c.m.k3'];
    const tally = { harmless: 0, detected: 0 };
    for (const codec of CODEC_IDS) {
      const dir = path.join(tempDir(), codec);
      const w = await openStore(dir, { codec, segmentBytes: 16 << 10 });
      for (const [i, key] of keys.entries()) await w.log(key, frameFor(key, i));
      await w.flush();
      await digestStored(w, keys[0]!); // the read model is calibrated once, here, not in every trial
      await w.close();
      const orig = fs.readFileSync(path.join(dir, 'metadata.db'));
      const r = rng(31 + codec.length);
      for (let t = 0; t < 100; t++) {
        const trial = path.join(tempDir(), `t${t}`);
        fs.cpSync(dir, trial, { recursive: true });
        const bad = Buffer.from(orig);
        const at = Math.floor(r() * bad.length);
        bad[at] = bad[at]! ^ (1 + Math.floor(r() * 255));
        fs.writeFileSync(path.join(trial, 'metadata.db'), bad);
        let failed = false;
        try {
          const s = await openStore(trial, { create: false });
          try {
            // reads of every key, k0…k3 in order: a failed read must not leave anything that makes a later one wrong
            for (const [i, key] of keys.entries()) {
              try {
                expect(await digestStored(s, key), `${codec} flip at ${at}: wrong values for ${key}`).toBe(expectedDigest(key, i));
              } catch (err) {
                if (!(err instanceof MistiqueError)) throw err;
                expect(err.code, err.message).toMatch(/^(CORRUPT|NOT_FOUND)$/);
                failed = true;
              }
            }
          } finally {
            await s.close().catch(() => undefined);
          }
        } catch (err) {
          if (!(err instanceof MistiqueError)) throw err;
          expect(err.code, err.message).toBe('CORRUPT');
          failed = true;
        }
        if (failed) tally.detected++;
        else tally.harmless++;
        fs.rmSync(trial, { recursive: true, force: true });
      }
    }
    // a flip in free space, an index of no read path, or a statistic changes no value: it reads back right
    expect(tally.detected + tally.harmless).toBe(100 * CODEC_IDS.length);
    expect(tally.detected).toBeGreaterThan(30);
  }, 180_000);

  it("the cost model's saved statistics and the kept settings (not checksummed) changed into other JSON or values are measured again or defaulted, never a crash", async () => {
    const dir = tempDir();
    const s0 = await openStore(dir, { codec: 'lz4', policy: 'store_all' });
    await s0.log('v.m.t', { a: Float64Array.from({ length: 5000 }, (_, i) => Math.sin(i)) });
    await s0.flush();
    await s0.getIntermediates('v.m.t.*', { rows: [3], path: 'read' });
    await s0.getIntermediates('v.m.t.*', { path: 'read' });
    await s0.close();
    const db = new Database(path.join(dir, 'metadata.db'));
    const meta = (k: string): Record<string, unknown> => JSON.parse(db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(k) as string) as Record<string, unknown>;
    const put = (k: string, v: unknown): void => { db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(k, JSON.stringify(v)); };
    const rates = meta('read_model_v2');
    const machine = rates.machine;
    expect(Object.keys(rates.rates as object).length).toBeGreaterThan(0);
    // a byte flip that leaves JSON: a key renamed, a list become a string, a number become null, a whole entry another type
    const damaged = Object.fromEntries(Object.entries(rates.rates as Record<string, Record<string, unknown>>).map(([k, r]) => [k, { ...r, codf: r.coef, coef: undefined }]));
    for (const bad of [{ machine, rates: damaged }, { machine, rates: 7 }, { machine, rates: { 'lz4|none': { ...Object.values(rates.rates as object)[0], sums: { k: 6, count: 1, xtx: 'x', xty: [], yty: 0 } } } }]) {
      put('read_model_v2', bad);
      put('estimate_accuracy', { machine, windows: { read: 'flipped', rerun: [1, null, 2] } });
      put('rerun_fit:v.m.t', { machine, sums: { k: 2, count: 1, xtx: [1, 2], xty: [1, 1], yty: 1 } });
      // the kept settings too: a policy no open could have set, a γ_min that is no number
      db.prepare(`UPDATE meta SET value = 'stoge_all' WHERE key = 'policy'`).run();
      db.prepare(`INSERT INTO meta (key, value) VALUES ('gamma_min', '1e5x') ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run();
      const s = await openStore(dir, { create: false });
      expect([s.policy, s.gammaMin]).toEqual(['dedup', 100_000]);
      const m = await s.getIntermediates('v.m.t.*', { rows: [7], path: 'read' });
      expect(m.values[0]).toBe(Math.sin(7));
      expect((await s.explain('v.m.t.*'))[0]!.read!.ms).toBeGreaterThan(0);
      await s.close();
    }
    db.close();
  });

  it('a missing metadata.db is refused (never an empty store over the old partitions); a damaged one is CORRUPT, not a crash to recover', async () => {
    const dir = path.join(tempDir(), 's');
    const w = await openStore(dir);
    await w.log('c.m.k0', frameFor('c.m.k0', 0));
    await w.close();
    const db = path.join(dir, 'metadata.db');
    const saved = fs.readFileSync(db);
    fs.renameSync(db, db + '.away');
    const before = snapshotFiles(dir);
    const err = await openStore(dir).catch((e: unknown) => e);
    expect((err as MistiqueError).code).toBe('CORRUPT');
    expect((err as MistiqueError).message).toMatch(/no metadata\.db/);
    expect(snapshotFiles(dir)).toEqual(before);
    fs.writeFileSync(db, Buffer.concat([Buffer.from('this is not a database at all'), saved.subarray(29)]));
    const err2 = await openStore(dir).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(MistiqueError);
    expect(['CORRUPT', 'NOT_A_STORE']).toContain((err2 as MistiqueError).code);
    fs.writeFileSync(db, saved);
    await expectExact(dir, ['c.m.k0']);
  });
});

describe('mistique verify', () => {
  it('finds a bad segment, a stray file and a missing metadata.db; --repair drops only what cannot be read', async () => {
    const dir = path.join(tempDir(), 's');
    const w = await openStore(dir, { segmentBytes: 16 << 10 });
    for (const i of [0, 1, 2]) await w.log(`v.m.k${i}`, frameFor(`v.m.k${i}`, i));
    await w.close();
    const out: string[] = [];
    const io = { out: (x: string) => out.push(x), err: (x: string) => out.push(x) };
    expect(await run(['verify', '--store', dir], io)).toBe(0);
    expect(out.join('\n')).toMatch(/metadata\.db ok\nok$/);
    // one byte of the segment holding k1's first chunk, and a temp file a crash left
    const s0 = await openStore(dir, { create: false });
    const blob = s0.metadata.chunkPlacement(s0.metadata.intermediateId('v', 'm', 'k1')!)[0]!;
    const seg = s0.metadata.segment(blob.partition_id, blob.segment)!;
    const file = path.join(dir, 'partitions', s0.metadata.partition(blob.partition_id)!.file);
    await s0.close();
    const b = fs.readFileSync(file);
    b[seg.offset + 3] ^= 0x5a;
    fs.writeFileSync(file, b);
    fs.writeFileSync(path.join(dir, 'partitions', '.p00000042.gz.tmp'), 'half');
    out.length = 0;
    expect(await run(['verify', '--json', '--store', dir], io)).toBe(1);
    const r = JSON.parse(out.join('\n')) as VerifyReport;
    expect(r.badSegments).toHaveLength(1);
    expect(r.badSegments[0]!.error).toMatch(/checksum mismatch/);
    expect(r.unreadable).toEqual(['v.m.k1']);
    expect(r.orphanFiles).toEqual(['.p00000042.gz.tmp']);
    expect(await run(['verify', '--repair', '--store', dir], io)).toBe(0);
    out.length = 0;
    expect(await run(['verify', '--store', dir], io)).toBe(0);
    expect(out.join('\n')).toMatch(/ok$/);
    await expectExact(dir, ['v.m.k0', 'v.m.k2']);
    // a row that says where a chunk lies, changed behind mistique's back (its checksum not): CORRUPT, never other bytes
    const db = new Database(path.join(dir, 'metadata.db'));
    const bid = db.prepare(`SELECT c.blob_id FROM chunks c JOIN intermediates i ON i.id = c.intermediate_id WHERE i.name = 'k2' LIMIT 1`).pluck().get() as number;
    db.prepare(`UPDATE blobs SET byte_offset = byte_offset + 8 WHERE id = ?`).run(bid);
    db.close();
    const s1 = await openStore(dir, { create: false });
    const e1 = await digestStored(s1, 'v.m.k2').catch((e: unknown) => e);
    expect((e1 as MistiqueError).code).toBe('CORRUPT');
    expect((e1 as MistiqueError).message).toMatch(/a row of blobs \(blob \d+\) does not match its checksum/);
    await s1.close();
    out.length = 0;
    expect(await run(['verify', '--json', '--store', dir], io), out.join('\n')).toBe(1);
    if (!out.join("").startsWith("{")) throw new Error(out.join("\n"));
    const r2 = JSON.parse(out.join("\n")) as VerifyReport;
    expect(r2.damagedRows.map((d) => [d.table, d.intermediates])).toEqual([['blobs', ['v.m.k2']]]);
    expect(await run(['verify', '--repair', '--store', dir], io)).toBe(0);
    out.length = 0;
    expect(await run(['verify', '--store', dir], io)).toBe(0);
    await expectExact(dir, ['v.m.k0']);

    fs.renameSync(path.join(dir, 'metadata.db'), path.join(dir, 'metadata.db.away'));
    out.length = 0;
    expect(await run(['verify', '--store', dir], io)).toBe(3);
    expect(out.join('\n')).toMatch(/no metadata\.db/);
  });
});

describe('inputs at the edges', () => {
  it('a pipeline spec cannot read files outside its data directory', async () => {
    const data = tempDir();
    fs.writeFileSync(path.join(data, 'homes.csv'), 'id,sqft\n1,100\n');
    const s = await openStore(path.join(tempDir(), 's'));
    for (const [i, file] of ['../../../../etc/passwd', '/etc/passwd', '..', 'sub/../../x.csv'].entries()) {
      const spec = parsePipelineSpec(`project: z\nname: P${i}\nstages:\n  - name: props\n    op: ReadCSV\n    params: { file: ${JSON.stringify(file)} }\n`);
      const err = await s.logIntermediates(spec, { data }).catch((e: unknown) => e);
      expect((err as MistiqueError).code, file).toBe('BAD_SPEC');
      expect((err as MistiqueError).message).toMatch(/outside the data directory/);
    }
    expect(s.list()).toEqual([]);
    await s.close();
  });

  it('row ids beyond 32 bits are BAD_ROWS, never another row', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    await s.log('e.m.t', { v: Float64Array.from([1, 2, 3]) });
    for (const rows of [[2 ** 32], [2 ** 32 + 1], [-(2 ** 31) - 1], { start: 0, end: 2 ** 32 + 2 }]) {
      const err = await s.getIntermediates('e.m.t.v', { rows }).catch((e: unknown) => e);
      expect((err as MistiqueError).code, JSON.stringify(rows)).toBe('BAD_ROWS');
      expect((err as MistiqueError).message).toMatch(/32-bit/);
    }
    await s.close();
  });
});
