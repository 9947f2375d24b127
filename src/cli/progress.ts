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

/**
 * Progress of work whose total is unknown (a stream): on a terminal one line rewritten at most every
 * 200 ms, off a terminal a plain line every LINE_MS — never silent for long, never a flood.
 */
export function counter(label: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): { set(status: string): void; stop(): void } {
  const every = stream.isTTY ? 200 : LINE_MS;
  const t0 = now();
  let last = t0, shown = '', current = '';
  const show = (): void => {
    const line = `${label}: ${current} after ${((now() - t0) / 1000).toFixed(0)} s`;
    stream.write(stream.isTTY ? `\r${line}\u001b[K` : `${line}\n`);
    shown = current;
  };
  return {
    set: (status) => {
      current = status;
      if (now() - last >= every) { last = now(); show(); }
    },
    stop: () => {
      if (last === t0) return; // ended before the first line: nothing shown, nothing to close
      if (shown !== current) show();
      if (stream.isTTY) stream.write('\n');
    },
  };
}

/**
 * For a command without a progress bar of its own (get, sql, diagnose, explain, rerun): once it has run
 * `afterMs` (2 s), a line on stderr says it is still working — on a terminal one line rewritten every
 * second and cleared at the end, off a terminal a plain line then one every LINE_MS — so no command over
 * ~2 s is silent, and one that ends sooner prints nothing. Returns stop().
 */
export function working(label: string, stream: NodeJS.WriteStream = process.stderr, afterMs = 2000, now: () => number = Date.now): () => void {
  const t0 = now();
  let shown = false, last = 0;
  const tick = (): void => {
    const ms = now() - t0;
    if (ms < afterMs || (!stream.isTTY && shown && now() - last < LINE_MS)) return;
    last = now();
    shown = true;
    const line = `${label}: working… ${(ms / 1000).toFixed(0)} s`;
    stream.write(stream.isTTY ? `\r${line}\u001b[K` : `${line}\n`);
  };
  const timer = setInterval(tick, stream.isTTY ? 1000 : 500);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (shown && stream.isTTY) stream.write('\r\u001b[K');
  };
}
