// What a benchmark reads about its own process.
import fs from 'node:fs';

/**
 * This process's peak RSS in bytes (VmHWM of /proc/self/status). Not getrusage's maxRSS: Linux carries
 * ru_maxrss across execve, so a child spawned by a large parent reports the parent's size at the fork.
 */
export function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}
