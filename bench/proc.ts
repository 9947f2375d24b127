// What a benchmark reads about its own process.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This process's peak RSS in bytes (VmHWM of /proc/self/status). Not getrusage's maxRSS: Linux carries
 * ru_maxrss across execve, so a child spawned by a large parent reports the parent's size at the fork.
 */
export function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Prints a benchmark's JSON line and keeps it as bench/results/<name>.json (from dist/bench/ or bench/). */
export function saveResult(name: string, result: unknown): void {
  const line = JSON.stringify(result);
  console.log(line);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const out = path.resolve(here, path.basename(path.dirname(here)) === 'dist' ? '../../bench/results' : 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `${name}.json`), line + '\n');
}

/** Median (the mean of the two middle runs for an even count) with min, max and the number of runs, `digits` decimals. */
export function summary(xs: readonly number[], digits = 1): { median: number; min: number; max: number; runs: number } {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median: +m.toFixed(digits), min: +s[0]!.toFixed(digits), max: +s.at(-1)!.toFixed(digits), runs: s.length };
}

/**
 * Writes dirty pages out (`sync`, a child process) — once, before the cold reads of a run, not before
 * each: a fork leaves this process's pages copy-on-write, and the first touch of each afterwards faults,
 * which added ~0.6 ms to a one-row read measured right after it (a cost of the benchmark, not of the read).
 */
export function syncAll(): void {
  try { execFileSync('sync'); } catch { /* without sync only clean pages drop: what was written is fsynced already */ }
}

/** Drops the clean pages of the page cache so that a read comes from the disk; false where the machine does not allow it. */
export function dropOsCache(): boolean {
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
