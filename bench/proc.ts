// What a benchmark reads about its own process.
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
