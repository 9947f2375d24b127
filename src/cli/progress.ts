// A progress bar on stderr for long work; silent when stderr is not a terminal (CI, pipes).
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total <= 0) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(24)} {bar} {percentage}% | {value}/{total} | {duration_formatted}`, stream, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}
