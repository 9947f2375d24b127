// I/O at the edges, on real file systems: a full disk (a small tmpfs) and a read-only mount. Both need
// mount(8), which root has here and in CI; elsewhere these tests are skipped, and say so.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MistiqueError, openStore } from '../src/index.js';
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
