// The write lock, in one process: two handles on one store directory are two writers as far as the lock
// goes (trust.test takes it from other processes, killed ones included).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, WriteLock } from '../src/store/writelock.js';
import { tempDir, thrownError } from './helpers.js';

describe('write lock', () => {
  it('one holder at a time; the other is refused, or told who holds it and since when', () => {
    const dir = tempDir();
    const a = new WriteLock(dir), b = new WriteLock(dir);
    expect(a.held).toBe(false);
    expect(a.acquire(0)).toBe(true);
    expect(a.acquire(0)).toBe(true); // taken already
    expect(a.held).toBe(true);
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    const holder = JSON.parse(fs.readFileSync(path.join(dir, 'writer.lock.json'), 'utf8')) as { pid: number; host: string; since: string };
    expect(holder).toMatchObject({ pid: process.pid, host: os.hostname() });
    expect(Math.abs(Date.parse(holder.since) - Date.now())).toBeLessThan(60_000);
    expect(b.acquire(0, false)).toBe(false);
    expect(b.held).toBe(false);
    expect(thrownError(() => b.acquire(0))).toBe(`LOCKED: store ${dir} is being written by process ${process.pid} on ${os.hostname()} since ${holder.since} (this process: another open Store): one writer at a time (readers are fine). Wait until it closes the store (\`--wait <seconds>\` on the command line, { lockTimeoutMs } in the API, wait= in Python), or write into a store of its own`);
    const t0 = performance.now();
    expect(thrownError(() => b.acquire(120))).toMatch(/readers are fine\); waited 120 ms\. Wait until/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
    // another process's holder file: no "this process"; none at all: "another process"
    fs.writeFileSync(path.join(dir, 'writer.lock.json'), JSON.stringify({ pid: process.pid + 1, host: 'elsewhere', since: 'then' }));
    expect(thrownError(() => b.acquire(0))).toContain('is being written by process ' + (process.pid + 1) + ' on elsewhere since then: one writer');
    fs.rmSync(path.join(dir, 'writer.lock.json'));
    // none at all: it may be a probe between taking the lock and saying so, waited out (5 s), then "another process"
    expect(thrownError(() => b.acquire(0))).toContain('is being written by another process: one writer');
    a.release();
    expect(a.held).toBe(false);
    a.release(); // twice: nothing
    expect(b.acquire(0)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'writer.lock.json'), 'utf8'))).toMatchObject({ pid: process.pid });
    b.release();
    expect(fs.existsSync(path.join(dir, 'writer.lock.json'))).toBe(false);
    expect(a.acquire(0, false)).toBe(true);
    a.release();
  });

  it('a directory that is gone cannot be locked: READ_ONLY, or false when asked not to fail', () => {
    const dir = path.join(tempDir(), 'gone');
    const l = new WriteLock(dir);
    expect(l.acquire(0, false)).toBe(false);
    expect(thrownError(() => l.acquire(0))).toMatch(new RegExp(`^READ_ONLY: store ${dir} cannot be written: .* \\(it can still be read\\)$`));
    expect(l.held).toBe(false);
  });

  it('a writer waits out a probe (a reader taking the lock for a moment) instead of failing; a writer holding it fails it at once', async () => {
    for (const probe of [true, false]) {
      const dir = tempDir();
      // another process takes the lock — as a probe (orFail false: a reader recovering, indexing or materializing) or as a writer — for 400 ms
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
        import { WriteLock } from ${JSON.stringify(path.resolve(import.meta.dirname, '../src/store/writelock.ts'))};
        const l = new WriteLock(${JSON.stringify(dir)});
        l.acquire(0, ${probe ? 'false' : 'true'});
        process.stdout.write('held\\n');
        setTimeout(() => l.release(), 400);
      `], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      const writer = new WriteLock(dir);
      const t0 = performance.now();
      if (probe) {
        expect(writer.acquire(0)).toBe(true);
        expect(performance.now() - t0).toBeLessThan(4000);
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'writer.lock.json'), 'utf8'))).not.toHaveProperty('probe');
        writer.release();
      } else {
        expect(thrownError(() => writer.acquire(0))).toMatch(/^LOCKED: .* is being written by process \d+/);
        expect(performance.now() - t0).toBeLessThan(300);
        // and a probe never waits for anyone
        expect(new WriteLock(dir).acquire(0, false)).toBe(false);
      }
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('a store removed while a handle waits for its lock: the waiter is told so (false, or NOT_FOUND), never handed a lock on removed files', async () => {
    for (const orFail of [false, true]) {
      const dir = tempDir();
      // another process takes the lock, removes the store under it (as a failed first command removes the store it made) and lets go
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
        import { WriteLock } from ${JSON.stringify(path.resolve(import.meta.dirname, '../src/store/writelock.ts'))};
        import fs from 'node:fs';
        const l = new WriteLock(${JSON.stringify(dir)});
        l.acquire(0);
        process.stdout.write('held\\n');
        setTimeout(() => { fs.rmSync(${JSON.stringify(dir)}, { recursive: true, force: true }); l.release(); }, 400);
      `], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      const waiter = new WriteLock(dir);
      if (orFail) expect(thrownError(() => waiter.acquire(5000))).toMatch(new RegExp(`^(NOT_FOUND: store ${dir} was removed while this handle waited for its write lock: open it again|READ_ONLY: store ${dir} cannot be written)`));
      else expect(waiter.acquire(5000, false)).toBe(false);
      expect(waiter.held).toBe(false);
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
