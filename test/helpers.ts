// Test helpers: real stores in temporary directories, and a seeded generator of frames.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { mulberry32 } from '../datasets/random.js';
import { MistiqueError, openStore, type Store, type StoreOptions } from '../src/index.js';

const dirs: string[] = [];
const stores: Store[] = [];

export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-test-'));
  dirs.push(d);
  return d;
}

export async function tempStore(opts: StoreOptions = {}, dir = path.join(tempDir(), 'store')): Promise<Store> {
  const s = await openStore(dir, opts);
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * `it` for a test too slow to run once per mutant (multi-process, minute-long, every codec × scheme):
 * skipped under MUTATION_FAST=1, which scripts/mutate-one.sh sets; always run by `npm test`.
 */
export const slow = process.env.MUTATION_FAST === '1' ? it.skip : it;

/** Deterministic PRNG (mulberry32). */
export const rng = mulberry32;

/** What f throws: a MistiqueError as its code (with `: message` when asked), anything else as
 *  "not a MistiqueError: …", and null when it throws nothing. One place for every suite's "what did it throw". */
function describeThrown(e: unknown, withMessage: boolean): string {
  if (!(e instanceof MistiqueError)) return `not a MistiqueError: ${String(e)}`;
  return withMessage ? `${e.code}: ${e.message}` : e.code;
}

/** The code of the MistiqueError f throws (null when it throws nothing; another error's text otherwise). */
export function thrownCode(f: () => unknown): string | null {
  try { f(); return null; } catch (e) { return describeThrown(e, false); }
}

/** As thrownCode, for a promise or an async function. */
export async function thrownCodeAsync(p: Promise<unknown> | (() => unknown)): Promise<string | null> {
  try { await (typeof p === 'function' ? p() : p); return null; } catch (e) { return describeThrown(e, false); }
}

/** "CODE: message" of the MistiqueError f throws (null when it throws nothing; another error's text otherwise). */
export function thrownError(f: () => unknown): string | null {
  try { f(); return null; } catch (e) { return describeThrown(e, true); }
}

/** As thrownError, for a promise or an async function. */
export async function thrownErrorAsync(p: Promise<unknown> | (() => unknown)): Promise<string | null> {
  try { await (typeof p === 'function' ? p() : p); return null; } catch (e) { return describeThrown(e, true); }
}

/** f throws a MistiqueError with code CORRUPT whose message contains `message` (or matches it, when a RegExp). */
export function expectCorrupt(f: () => unknown, message: string | RegExp): void {
  const t = thrownError(f);
  expect(t?.startsWith('CORRUPT: '), String(t)).toBe(true);
  const text = t!.slice('CORRUPT: '.length);
  if (typeof message === 'string') expect(text).toContain(message); else expect(text).toMatch(message);
}

export function bytesOf(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Every file under dir with its size: to show that a failed call wrote nothing. */
export function snapshotFiles(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('-wal') && !e.name.endsWith('-shm')) out[path.relative(dir, p)] = fs.statSync(p).size;
    }
  };
  walk(dir);
  return out;
}
