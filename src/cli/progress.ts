// Progress of long work on stderr: a bar on a terminal; off a terminal (a log file, CI, a pipe) one plain
// line at most every LINE_MS — so a long `mistique log` is never silent — and none for work that ends sooner.
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

const LINE_MS = 10_000;

export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  if (total <= 0) return { tick() {}, stop() {} };
  if (!stream.isTTY) {
    const t0 = now();
    let done = 0, last = t0;
    const line = (): void => {
      const s = (now() - t0) / 1000;
      stream.write(`${label}: ${done}/${total} (${Math.floor((100 * done) / total)}%) after ${s.toFixed(0)} s\n`);
    };
    return {
      tick: (n = 1) => {
        done += n;
        if (now() - last >= LINE_MS) { last = now(); line(); }
      },
      stop: () => { if (last !== t0) line(); },
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(24)} {bar} {percentage}% | {value}/{total} | {duration_formatted}`, stream, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}
