// The idle calibrations (#23) and the wrapper that tells them a Store's calls are under way: a deferred
// job starts only once no call has run for IDLE_MS, one a call overlaps is thrown away and queued again,
// and a job's own calls do not disturb it.
import { describe, expect, it } from 'vitest';
import { IdleCalibration, wrapCalls } from '../src/reader/idlecalibration.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Api {
  calls = 0;
  constructor(readonly idle: IdleCalibration) {}
  async call(ms = 0, fail = false): Promise<number> {
    this.calls++;
    await sleep(ms);
    if (fail) throw new Error('the call failed');
    return 7;
  }
  sync(): number { this.calls++; return 3; }
}
wrapCalls(Api.prototype, (a) => a.idle, ['call'], ['sync']);

/** A job that counts its runs, takes `ms`, and reports whether a call disturbed it. */
function job(ms: number, inside?: () => Promise<unknown>): { runs: number; disturbed: boolean[]; fn: (d: () => boolean) => Promise<boolean> } {
  const j = {
    runs: 0, disturbed: [] as boolean[],
    fn: async (d: () => boolean): Promise<boolean> => {
      j.runs++;
      await inside?.();
      await sleep(ms);
      j.disturbed.push(d());
      return !d();
    },
  };
  return j;
}

describe('idle calibration', () => {
  it('a deferred job starts once the store has been idle for 200 ms after a call, not before', async () => {
    const api = new Api(new IdleCalibration());
    const j = job(0);
    api.idle.defer('a', j.fn);
    api.idle.defer('a', job(0).fn); // once per what
    expect(await api.call()).toBe(7);
    await sleep(50);
    expect(j.runs).toBe(0);
    // calls keep coming for longer than 200 ms: each restarts the wait
    for (let i = 0; i < 6; i++) { await api.call(); await sleep(60); }
    expect(api.sync()).toBe(3);
    expect(j.runs).toBe(0);
    await sleep(250);
    expect(j.runs).toBe(1);
    expect(j.disturbed).toEqual([false]);
    await api.idle.stop();
  });

  it('a call during a job makes it stop unwritten and run again once idle; a failed call ends all the same', async () => {
    const api = new Api(new IdleCalibration());
    const j = job(400);
    api.idle.defer('a', j.fn);
    await expect(api.call(0, true)).rejects.toThrow('the call failed');
    await sleep(350); // the job is under way (from 200 ms to 600 ms)
    expect(j.runs).toBe(1);
    await api.call();
    await sleep(1200);
    expect(j.runs).toBe(2);
    expect(j.disturbed).toEqual([true, false]);
    await api.idle.stop();
  });

  it("a job's own calls are its work, not a disturbance; settled waits for it without being idle; busy elsewhere holds it", async () => {
    let busy = true;
    const api = new Api(new IdleCalibration(() => busy));
    const j = job(10, () => api.call());
    api.idle.defer('a', j.fn);
    await api.call();
    await sleep(300);
    expect(j.runs).toBe(0); // a writer is open
    busy = false;
    await api.idle.settled();
    expect(j.runs).toBe(1);
    expect(j.disturbed).toEqual([false]);
    expect(api.calls).toBe(2);
    await api.idle.stop();
  });

  it('after stop nothing is queued or started', async () => {
    const api = new Api(new IdleCalibration());
    await api.idle.stop();
    const j = job(0);
    api.idle.defer('a', j.fn);
    await api.call();
    await sleep(260);
    await api.idle.settled();
    expect(j.runs).toBe(0);
  });
});
