// I/O at the edges, on real file systems: a full disk (a small tmpfs) and a read-only mount. Both need
// mount(8), which root has here and in CI; elsewhere these tests are skipped, and say so.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MistiqueError, openStore, type Store } from '../src/index.js';
import { digestStored, expectedDigest, frameFor } from './workers/data.js';
import { snapshotFiles, tempDir } from './helpers.js';

const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0).reverse()) execFileSync('umount', ['-l', m]); // lazy: a failed test may leave a file open
});

function tryMount(args: string[], at: string): boolean {
  try {
    execFileSync('mount', [...args, at], { stdio: 'ignore' });
    mounts.push(at);
    return true;
  } catch {
    return false;
  }
}

const canMount = ((): boolean => {
  const d = tempDir();
  const ok = tryMount(['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs'], d);
  if (ok) execFileSync('umount', [mounts.pop()!]);
  return ok;
})();
if (!canMount) console.warn('io.test.ts: mount(8) is not allowed here (not root?): the full-disk and read-only tests are skipped');

describe.skipIf(!canMount)('a full disk', () => {
  it('is NO_SPACE, loses nothing acknowledged, and the same Store goes on once space is back', async () => {
    const fsDir = tempDir();
    expect(tryMount(['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs'], fsDir)).toBe(true);
    const dir = path.join(fsDir, 's');
    const s = await openStore(dir, { bufferpoolBytes: 8 << 20, flushBytes: 512 << 10, codec: 'arrow' });
    // leave about 2.5 MB free
    const filler = path.join(fsDir, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(3 << 20, 1));
    const acked: string[] = [];
    let err: unknown;
    for (let i = 0; i < 40 && !err; i++) {
      const key = `full.m.k${i}`;
      try {
        await s.log(key, frameFor(key, i), { durable: true });
        acked.push(key);
      } catch (e) {
        err = e;
      }
    }
    expect(err, 'the disk never filled').toBeInstanceOf(MistiqueError);
    expect((err as MistiqueError).code, (err as Error).message).toBe('NO_SPACE');
    expect((err as Error).message).toMatch(/disk is full/);
    expect(acked.length).toBeGreaterThan(0);
    // a reader sees exactly the acknowledged intermediates, whole
    const r = await openStore(dir, { create: false });
    expect(r.list().map((x) => x.key).sort()).toEqual([...acked].sort());
    for (const key of acked) expect(await digestStored(r, key)).toBe(expectedDigest(key, Number(key.split('.k')[1])));
    await r.close();
    // space is back: the same Store logs again
    fs.rmSync(filler);
    const more = 'full.m.k99';
    await s.log(more, frameFor(more, 99), { durable: true });
    await s.close();
    const again = await openStore(dir, { create: false });
    for (const key of [...acked, more]) expect(await digestStored(again, key), key).toBe(expectedDigest(key, Number(key.split('.k')[1])));
    await again.close();
  }, 60_000);
});

describe.skipIf(!canMount)('a read-only store', () => {
  it('opens for reading (ls, get, queries) and refuses writes with READ_ONLY, changing nothing', async () => {
    const src = path.join(tempDir(), 's');
    const w = await openStore(src);
    await w.log('ro.m.k0', frameFor('ro.m.k0', 0));
    await w.log('ro.m.k1', frameFor('ro.m.k1', 1));
    await w.close();
    const ro = tempDir();
    expect(tryMount(['--bind', src], ro)).toBe(true);
    execFileSync('mount', ['-o', 'remount,ro,bind', ro]);
    const before = snapshotFiles(ro);
    const s = await openStore(ro, { create: false });
    expect(s.list().map((x) => x.key)).toEqual(['ro.m.k0', 'ro.m.k1']);
    expect(await digestStored(s, 'ro.m.k1')).toBe(expectedDigest('ro.m.k1', 1));
    const err = await s.log('ro.m.k2', frameFor('ro.m.k2', 2)).catch((e: unknown) => e);
    expect((err as MistiqueError).code).toBe('READ_ONLY');
    await s.close();
    expect(snapshotFiles(ro)).toEqual(before);
  });
});

/** The calls a partition write makes: fs.promises.open and .rename, and a FileHandle's writev (all its segments at once) and sync. */
type WriteCall = 'open' | 'writev' | 'sync' | 'rename';

/** Makes the n-th call (from now) of a partition write's `fn`, or of fs.read (through its callback), fail with errno `code`, once. */
async function failOnce(fn: WriteCall | 'read', code: string, n: number): Promise<() => void> {
  const err = (): Error => Object.assign(new Error(`${code}: injected by the test, ${fn}`), { code });
  let calls = 0;
  if (fn === 'read') {
    const real = fs.read as (...a: unknown[]) => unknown;
    const spy = vi.spyOn(fs, 'read').mockImplementation(((...args: unknown[]) => {
      if (++calls !== n) return real.apply(fs, args);
      (args[args.length - 1] as (e: Error) => void)(err());
      return undefined;
    }) as never);
    return () => spy.mockRestore();
  }
  // a FileHandle's methods live on its prototype, reached through a handle
  const fh = await fs.promises.open(process.execPath, 'r');
  const target = (fn === 'open' || fn === 'rename' ? fs.promises : Object.getPrototypeOf(fh)) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  await fh.close();
  const real = target[fn]!;
  const spy = vi.spyOn(target, fn).mockImplementation(function (this: unknown, ...args: unknown[]) {
    return ++calls === n ? Promise.reject(err()) : real.apply(this, args);
  } as never);
  return () => spy.mockRestore();
}

describe('I/O errors injected at the file-system calls the store makes', () => {
  const cases: [WriteCall, string, string][] = [
    ['open', 'EIO', 'IO'], ['writev', 'EIO', 'IO'], ['writev', 'ENOSPC', 'NO_SPACE'], ['sync', 'EIO', 'IO'], ['rename', 'EIO', 'IO'],
  ];
  for (const [fn, errno, code] of cases) {
    it(`${errno} in ${fn} while writing: ${code}, nothing half-visible, and the same Store goes on`, async () => {
      const dir = path.join(tempDir(), 's');
      const s: Store = await openStore(dir, { flushMs: 3_600_000 });
      await s.log('io.m.k0', frameFor('io.m.k0', 0), { durable: true });
      const restore = await failOnce(fn, errno, 1);
      const err = await s.log('io.m.k1', frameFor('io.m.k1', 1), { durable: true }).catch((e: unknown) => e);
      restore();
      expect(err, `${fn} was never called`).toBeInstanceOf(MistiqueError);
      expect((err as MistiqueError).code, (err as Error).message).toBe(code);
      // another handle sees the durable one, whole, and not the one that failed
      const r = await openStore(dir, { create: false });
      expect(r.list().map((x) => x.key)).toEqual(['io.m.k0']);
      expect(await digestStored(r, 'io.m.k0')).toBe(expectedDigest('io.m.k0', 0));
      await r.close();
      expect(fs.readdirSync(path.join(dir, 'partitions')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // the fault is gone: the same Store writes what waited, and logs again
      await s.flush();
      await s.log('io.m.k2', frameFor('io.m.k2', 2), { durable: true });
      await s.close();
      const again = await openStore(dir, { create: false });
      for (const k of again.list().map((x) => x.key)) expect(await digestStored(again, k), k).toBe(expectedDigest(k, Number(k.split('.k')[1])));
      expect(again.list().map((x) => x.key)).toContain('io.m.k2');
      await again.close();
    });
  }

  it('EIO while reading a partition is IO naming the file, and the next read succeeds', async () => {
    const dir = path.join(tempDir(), 's');
    const w = await openStore(dir);
    await w.log('io.m.k1', frameFor('io.m.k1', 1));
    await w.close();
    const s = await openStore(dir, { create: false });
    const restore = await failOnce('read', 'EIO', 1);
    const err = await digestStored(s, 'io.m.k1').catch((e: unknown) => e);
    restore();
    expect((err as MistiqueError).code, String(err)).toBe('IO');
    expect((err as Error).message).toMatch(/p\d{8}\.lz4/);
    expect(await digestStored(s, 'io.m.k1')).toBe(expectedDigest('io.m.k1', 1));
    await s.close();
  });
});
