// The calibrations queries did not wait for (#23): a query whose choice a model this machine has not
// measured yet would inform decides from what is at hand and queues the timed reads and re-runs that
// measure it here. They run one at a time once the store is idle — IDLE_MS without an API call (the
// Store wraps its calls in enter/leave), no writer open — never during a call: one a call overlapped is
// thrown away without writing anything and queued again. `settled()` waits for the queue, `stop()` ends it.
import { AsyncLocalStorage } from 'node:async_hooks';

/** How long the store must go without a call before a queued calibration starts. */
const IDLE_MS = 200;

/** A calibration: true when done (or not worth retrying), false when `disturbed()` made it stop unwritten. */
export type CalibrationJob = (disturbed: () => boolean) => Promise<boolean>;

export class IdleCalibration {
  private readonly queue = new Map<string, CalibrationJob>();
  /** Calls of the store under way, and how many ever started. */
  private inFlight = 0;
  private started = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Set inside a calibration: the calls it makes itself (a re-run reads its input through a query) are its own work. */
  private readonly inside = new AsyncLocalStorage<boolean>();

  /** `busyElsewhere`: something besides calls keeps the store busy (open writers, unflushed data). */
  constructor(private readonly busyElsewhere: () => boolean = () => false) {}

  /** Whether the caller runs inside a calibration. */
  get calibrating(): boolean { return this.inside.getStore() === true; }

  /** A call of the store starts: no calibration starts while it runs, and one under way is thrown away. */
  enter(): void {
    if (this.calibrating) return;
    this.inFlight++;
    this.started++;
    this.clearTimer();
  }

  leave(): void {
    if (this.calibrating) return;
    this.inFlight--;
    this.whenIdle();
  }

  /** Queues a calibration (once per `what`). */
  defer(what: string, job: CalibrationJob): void {
    if (this.stopped || this.queue.has(what)) return;
    this.queue.set(what, job);
  }

  /** Resolves once the queued calibrations are done (now, without waiting to be idle). */
  async settled(): Promise<void> {
    this.clearTimer();
    while (this.queue.size > 0 || this.running) {
      if (this.running) await this.running;
      else if (this.inFlight > 0 || this.busyElsewhere()) await new Promise((r) => setTimeout(r, 5));
      else await this.run();
    }
  }

  /** The store closes: no calibration starts any more; one under way stops at its next timed run. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.queue.clear();
    await this.running;
  }

  private clearTimer(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }

  /** After a call: the queue starts once IDLE_MS pass without another (the timer keeps no process alive). */
  private whenIdle(): void {
    if (this.stopped || this.queue.size === 0 || this.inFlight > 0 || this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // writers still open: wait another idle period
      if (this.busyElsewhere()) this.whenIdle(); else void this.run();
    }, IDLE_MS);
    this.timer.unref();
  }

  /** Runs the queue one job at a time while nothing else runs; a job a call overlapped goes back in. */
  private run(): Promise<void> {
    this.running ??= (async () => {
      while (this.queue.size > 0 && !this.stopped && this.inFlight === 0 && !this.busyElsewhere()) {
        const [what, job] = this.queue.entries().next().value as [string, CalibrationJob];
        this.queue.delete(what);
        const started = this.started;
        const disturbed = (): boolean => this.stopped || this.started !== started || this.busyElsewhere();
        // a calibration that fails is not retried: the estimates stay as they are
        const done = await this.inside.run(true, () => job(disturbed)).catch(() => true);
        if (!done && !this.stopped) this.queue.set(what, job);
      }
    })().finally(() => { this.running = null; this.whenIdle(); });
    return this.running;
  }
}

/**
 * Wraps methods of a class's prototype in `enter`/`leave` of the IdleCalibration `idleOf` gives for an
 * instance: `asyncNames` around their promise, `syncNames` around the call.
 */
export function wrapCalls<T extends object>(proto: T, idleOf: (self: T) => IdleCalibration,
  asyncNames: readonly (keyof T)[], syncNames: readonly (keyof T)[]): void {
  for (const name of asyncNames) {
    const call = proto[name] as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(proto, name, {
      configurable: true, writable: true,
      value: async function (this: T, ...args: unknown[]): Promise<unknown> {
        const idle = idleOf(this);
        idle.enter();
        try { return await call.apply(this, args); } finally { idle.leave(); }
      },
    });
  }
  for (const name of syncNames) {
    const call = proto[name] as (...args: unknown[]) => unknown;
    Object.defineProperty(proto, name, {
      configurable: true, writable: true,
      value: function (this: T, ...args: unknown[]): unknown {
        const idle = idleOf(this);
        idle.enter();
        try { return call.apply(this, args); } finally { idle.leave(); }
      },
    });
  }
}
