// The cost model's formulas on fixed statistics.
import { describe, expect, it } from 'vitest';
import { addRatio, addRead, addRerun, addSample, addSums, choose, closeCall, ratioBand, refreshStageMs, emptySums, gamma, isFiniteList, isSums, solveLinear, solveNonNegative, solveRead, solveRerun, tRead, tRerunDnn, tRerunTrad, type ReadFeatures, type StageCost } from '../src/costmodel/index.js';

const st = (name: string, inputs: string[], execMs: number, output: 'table' | 'model' = 'table', readOpMs = 0): StageCost =>
  ({ name, inputs, output, execMs, readOpMs, readInputMs: 0, rows: null });

describe('cost model', () => {
  const stages = [st('src', [], 100), st('join', ['src'], 20), st('fit', ['join'], 5), st('model', ['fit'], 3000, 'model', 7), st('pred', ['model', 'join'], 40)];
  it('Eq. 5.2: sums the lineage and loads trained operators instead of retraining', () => {
    expect(tRerunTrad(stages, 'join')).toBe(120);
    expect(tRerunTrad(stages, 'pred')).toBe(40 + 7 + 20 + 100);
    expect(tRerunTrad(stages, 'model')).toBe(3000 + 5 + 20 + 100);
  });
  it('Eq. 5.3: load + input read + batches × forward time up to the layer', () => {
    const net = { loadMs: 50, inputReadMsPerRow: 0.01, batchSize: 100, layerMsPerBatch: { conv1: 2, dense2: 10 } };
    expect(tRerunDnn(net, 'conv1', 1000)).toBeCloseTo(50 + 10 + 20);
    expect(tRerunDnn(net, 'dense2', 50)).toBeCloseTo(50 + 0.5 + 5);
    expect(() => tRerunDnn(net, 'nope', 1)).toThrow(/no timing/);
  });
  it('Eq. 5.4 and Alg. 4: the read terms add up; read when stored and not slower', () => {
    const f: ReadFeatures = { blocks: 2, segments: 6, rawBytes: 4e6, storedBytes: 1e6, outBytes: 2e6 };
    expect(tRead(f, [0.5, 0.2, 0.1, 1, 2, 0.5])).toBeCloseTo(0.5 + 0.4 + 0.6 + 4 + 2 + 1, 12);
    // a scan decoded on 2 worker threads: per segment, per MB decoded and per MB on disk shared by the lanes
    expect(tRead({ ...f, lanes: 2 }, [0.5, 0.2, 0.1, 1, 2, 0.5])).toBeCloseTo(0.5 + 0.4 + 0.3 + 2 + 1 + 1, 12);
    expect(() => tRead(f, [1, 2, 3])).toThrow(/6 non-negative/);
    expect(() => tRead(f, [1, -1, 0, 0, 0, 0])).toThrow(/non-negative/);
    expect(choose(true, 10, 20)).toBe('read');
    expect(choose(true, 30, 20)).toBe('rerun');
    expect(choose(false, 1, 20)).toBe('rerun');
  });
  it('Eq. 5.5: γ in seconds saved per GB', () => {
    expect(gamma(3000, 1000, 10, 1e9)).toBeCloseTo(20);
    expect(gamma(1000, 3000, 10, 1e9)).toBeCloseTo(-20);
  });
  it('fits the six read terms from reads that vary each of them', () => {
    const coef = [0.4, 0.25, 0.05, 0.9, 1.2, 0.6];
    let sums;
    const one: ReadFeatures = { blocks: 1, segments: 1, rawBytes: 1e6, storedBytes: 5e5, outBytes: 1e6 };
    expect(solveRead(addRead(addRead(undefined, one, 3), one, 3))).toBeUndefined(); // two reads are not enough
    for (const [blocks, segments, raw, stored, out] of [[1, 100, 5e7, 3e7, 5e6], [1, 100, 5e7, 3e7, 5e7], [4, 400, 2e8, 1.2e8, 2e8], [1, 20, 5e7, 1.5e7, 5e7], [1, 1, 4e4, 3.6e4, 4e3], [10, 10, 4e5, 3.6e5, 4e5], [3, 6, 2e6, 1e6, 2e6], [2, 50, 3e6, 2e6, 3e6]] as const) {
      const f: ReadFeatures = { blocks, segments, rawBytes: raw, storedBytes: stored, outBytes: out };
      sums = addRead(sums, f, tRead(f, coef), 1);
    }
    const fit = solveRead(sums)!;
    for (let i = 0; i < 6; i++) expect(fit[i]).toBeCloseTo(coef[i]!, 6);
  });
  it('keeps the read terms non-negative, and lets small reads set the fixed cost (weights 1/ms²)', () => {
    // noise that a free fit would answer with a negative intercept
    let g;
    for (const b of [1e6, 2e6, 3e6]) g = addRead(g, { blocks: 1, segments: 1, rawBytes: b, storedBytes: b, outBytes: b }, b / 1e6 - 0.5, 1);
    expect(solveRead(g)!.every((c) => c >= 0)).toBe(true);
    // large reads growing faster than linearly do not drag a small read's estimate down
    let h;
    for (const [b, ms] of [[1e4, 2], [2e4, 2.1], [1e8, 250], [5e8, 1600]] as const) h = addRead(h, { blocks: 1, segments: 1, rawBytes: b, storedBytes: b, outBytes: b }, ms);
    expect(tRead({ blocks: 1, segments: 1, rawBytes: 1e4, storedBytes: 1e4, outBytes: 1e4 }, solveRead(h)!)).toBeCloseTo(2.0, 1);
  });
  it('estimates an undisturbed read: a read slower than predicted counts a quarter (interference only adds time)', () => {
    const coef = [0.2, 0.1, 0.05, 1, 0.5, 0.3];
    const fs: ReadFeatures[] = ([[1, 100, 5e7, 3e7, 5e6], [4, 400, 2e8, 1.2e8, 2e8], [1, 1, 4e4, 3.6e4, 4e3], [10, 10, 4e5, 3.6e5, 4e5], [3, 6, 2e6, 1e6, 2e6], [2, 50, 3e6, 2e6, 3e6]] as const)
      .map(([blocks, segments, rawBytes, storedBytes, outBytes]) => ({ blocks, segments, rawBytes, storedBytes, outBytes }));
    let sym, asym;
    for (let rep = 0; rep < 10; rep++) {
      fs.forEach((f, i) => {
        // every third read is disturbed: 60% slower
        const ms = tRead(f, coef) * ((rep + i) % 3 === 0 ? 1.6 : 1);
        sym = addRead(sym, f, ms);
        const c = solveRead(asym);
        asym = addRead(asym, f, ms, undefined, c ? tRead(f, c) : undefined);
      });
    }
    const worst = (c: number[]): number => Math.max(...fs.map((f) => Math.abs(tRead(f, c) / tRead(f, coef) - 1)));
    expect(worst(solveRead(asym)!)).toBeLessThan(worst(solveRead(sym)!));
    expect(worst(solveRead(asym)!)).toBeLessThan(0.1);
  });
  it('keeps what calibration separated when later reads vary one term only (the anchor is not decayed)', () => {
    const coef = [0.1, 0.05, 0.07, 0, 0.5, 0.6];
    const cal: ReadFeatures[] = ([[1, 100, 5e7, 3e7, 5e6], [4, 400, 2e8, 1.2e8, 2e8], [1, 1, 4e4, 3.6e4, 4e3], [4, 4, 1.6e5, 1.4e5, 1.6e5], [1, 1, 4e4, 3.6e4, 4e4]] as const)
      .map(([blocks, segments, rawBytes, storedBytes, outBytes]) => ({ blocks, segments, rawBytes, storedBytes, outBytes }));
    let anchor;
    for (const f of cal) anchor = addRead(anchor, f, tRead(f, coef), 1);
    // then two hundred reads of one RowBlock of a small intermediate, ±5% noise: fixed and per-RowBlock cost move together
    const one: ReadFeatures = { blocks: 1, segments: 1, rawBytes: 4e4, storedBytes: 3.6e4, outBytes: 1e4 };
    let sums;
    for (let i = 0; i < 200; i++) sums = addRead(sums, one, tRead(one, coef) * (i % 2 ? 1.05 : 0.95));
    const four: ReadFeatures = { blocks: 4, segments: 4, rawBytes: 1.6e5, storedBytes: 1.44e5, outBytes: 1.2e5 };
    expect(tRead(four, solveRead(sums, anchor)!) / tRead(four, coef)).toBeCloseTo(1, 1);
    expect(tRead(one, solveRead(sums, anchor)!) / tRead(one, coef)).toBeCloseTo(1, 1);
  });
  it('fits a layer\'s re-run line once two sizes are in, keeping load and slope non-negative', () => {
    let s = addRerun(undefined, 8, 20 + 3 * 8);
    expect(solveRerun(s)).toBeNull(); // one re-run
    s = addRerun(s, 8, 20 + 3 * 8);
    expect(solveRerun(s)).toBeNull(); // one size
    for (const b of [1, 32, 79]) s = addRerun(s, b, 20 + 3 * b);
    const fit = solveRerun(s)!;
    // the solver's tiny ridge (it keeps collinear terms solvable) moves the load by ~3e-5 ms
    expect(fit.a).toBeCloseTo(20, 3);
    expect(fit.b).toBeCloseTo(3, 5);
    expect(fit.n).toBe(4); // decayed: 0.9⁴ + 0.9³ + 0.9² + 0.9 + 1
    // a free fit would give a negative load: the slope is refitted through the origin
    let t = addRerun(undefined, 1, 1);
    t = addRerun(t, 10, 30);
    t = addRerun(t, 20, 62);
    const g = solveRerun(t)!;
    expect(g.a).toBe(0);
    expect(g.b).toBeGreaterThan(0);
  });
  it('keeps a re-run line\'s load and slope from calibration when queries ask one size, and leans to undisturbed runs', () => {
    let anchor;
    for (const b of [1, 8, 32, 79]) anchor = addRerun(anchor, b, 6 + 4 * b, 1);
    // forty queries of all rows, every other one disturbed (30% slower)
    let sums;
    for (let i = 0; i < 40; i++) {
      const ms = (6 + 4 * 79) * (i % 2 ? 1.3 : 1);
      const fit = solveRerun(sums, anchor)!;
      sums = addRerun(sums, 79, ms, undefined, fit.a + fit.b * 79);
    }
    const fit = solveRerun(sums, anchor)!;
    expect(fit.a + fit.b * 8).toBeGreaterThan((6 + 4 * 8) * 0.9);
    expect(fit.a + fit.b * 8).toBeLessThan((6 + 4 * 8) * 1.2);
    // the all-rows estimate stays nearer the undisturbed run than the mean of the runs (15% above it)
    expect((fit.a + fit.b * 79) / (6 + 4 * 79)).toBeLessThan(1.08);
    expect(solveRerun(undefined, anchor)!.b).toBeCloseTo(4, 5);
  });
  it('non-negative least squares: collinear terms still give the right predictions', () => {
    let s = emptySums(3);
    for (const x of [1, 2, 3, 5]) s = addSample(s, [1, x, x], 2 + 3 * x, 1); // the 2nd and 3rd feature always equal
    const c = solveNonNegative(s)!;
    expect(c.every((v) => v >= 0)).toBe(true);
    expect(c[0]! + 7 * (c[1]! + c[2]!)).toBeCloseTo(23, 6);
    expect(solveNonNegative(addSample(emptySums(2), [1, 1], 5, 1))).toBeUndefined(); // too few samples
  });

  it('moves a recorded stage time toward a re-run\'s, a slower run a quarter as far', () => {
    expect(refreshStageMs(100, 40)).toBe(70); // half way down
    expect(refreshStageMs(100, 180)).toBe(110); // a quarter of half way up
    expect(refreshStageMs(100, NaN)).toBe(100);
    let t = 150; // logged at its first (JIT-warming) run; re-runs take 50
    for (let i = 0; i < 6; i++) t = refreshStageMs(t, 50);
    expect(t).toBeCloseTo(51.6, 1);
  });

  it('keeps the last runs\' measured ÷ estimated ratios and states their band; a choice inside it is a close call', () => {
    let w: number[] = [];
    for (const [est, ms] of [[10, 8], [10, 12], [10, 10], [0, 5], [10, NaN], [10, Infinity]]) w = addRatio(w, est!, ms!);
    expect(w).toEqual([0.8, 1.2, 1]); // a run without a positive estimate or a finite time says nothing
    expect(ratioBand(w.slice(0, 2))).toBeNull(); // two runs are no spread
    expect(ratioBand(w)).toEqual({ runs: 3, low: 0.8, median: 1, high: 1.2 });
    // ten runs 1.0 … 1.9: nearest-rank 10th / 50th / 90th percentiles; the window keeps the last 32
    const ten = Array.from({ length: 10 }, (_, i) => 1 + i / 10);
    expect(ratioBand(ten)).toMatchObject({ low: 1, median: 1.4, high: 1.8 });
    let long: number[] = [];
    for (let i = 0; i < 40; i++) long = addRatio(long, 1, i + 1);
    expect(long).toHaveLength(32);
    expect(long[0]).toBe(9);
    // read 10 ms vs re-run 12 ms: with reads taking up to 1.3× their estimates, the re-run could win
    const reads = { runs: 10, low: 0.9, median: 1, high: 1.3 }, reruns = { runs: 10, low: 0.95, median: 1, high: 1.1 };
    expect(closeCall('read', 10, 12, reads, reruns)).toBe(true);
    expect(closeCall('read', 10, 20, reads, reruns)).toBe(false);
    expect(closeCall('read', 10, 12, null, null)).toBe(false); // no band: the estimates are all there is
    expect(closeCall('rerun', 14, 12, reads, reruns)).toBe(true); // 12 × 1.1 = 13.2 against 14 × 0.9 = 12.6
    expect(closeCall('rerun', 15, 12, reads, reruns)).toBe(false); // 13.2 against 13.5
  });
});

describe('cost model, edge by edge', () => {
  it('isSums / isFiniteList accept only running sums of the right size, as saved statistics must be to be used', () => {
    const good = addSample(emptySums(2), [1, 3], 5, 1);
    expect(isSums(good, 2)).toBe(true);
    expect(isSums(JSON.parse(JSON.stringify(good)), 2)).toBe(true);
    expect(isSums(good, 3)).toBe(false);
    for (const bad of [null, 7, 'x', [], { ...good, xtx: [1, 2, 3] }, { ...good, xty: [1, Number.NaN] }, { ...good, xtx: 'abcd' }, { ...good, count: -1 }, { ...good, yty: null }, { ...good, k: '2' }]) {
      expect(isSums(bad, 2), JSON.stringify(bad)).toBe(false);
    }
    expect(isFiniteList([1, 2.5, -3])).toBe(true);
    expect(isFiniteList([1, 2], 3)).toBe(false);
    expect(isFiniteList([1, null])).toBe(false);
    expect(isFiniteList([1, Infinity])).toBe(false);
    expect(isFiniteList('12')).toBe(false);
  });

  it('the ratio window leaves out runs without a positive, finite estimate and time, and keeps exactly the last `size`', () => {
    expect(addRatio(undefined, 10, 20)).toEqual([2]);
    for (const [e, m] of [[0, 5], [5, 0], [-1, 5], [Infinity, 5], [5, Infinity], [NaN, 5], [5, NaN]]) expect(addRatio([1], e!, m!)).toEqual([1]);
    expect(addRatio([1, 2], 1, 3, 3)).toEqual([1, 2, 3]);
    expect(addRatio([1, 2, 3], 1, 4, 3)).toEqual([2, 3, 4]);
    const band = ratioBand([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(band).toEqual({ runs: 10, low: 1, median: 5, high: 9 });
    expect(ratioBand([3, 1, 2])).toEqual({ runs: 3, low: 1, median: 2, high: 3 });
    expect(ratioBand([1, 2])).toBeNull();
  });

  it('a close call compares the chosen path\'s slow end with the other\'s fast end; equal is not close', () => {
    const band = (low: number, high: number) => ({ runs: 5, low, median: 1, high });
    expect(closeCall('read', 10, 12, null, null)).toBe(false);
    expect(closeCall('read', 10, 12, null, band(0.8, 1))).toBe(true); // the re-run may take 9.6
    expect(closeCall('read', 10, 12, null, band(1.5, 2))).toBe(false); // a band above 1 never makes the other faster
    expect(closeCall('read', 10, 12, band(0.5, 1.3), null)).toBe(true); // the read may take 13
    expect(closeCall('read', 10, 10, null, null)).toBe(false);
    expect(closeCall('rerun', 10, 10, null, null)).toBe(false);
    expect(closeCall('rerun', 12, 10, band(0.8, 1), null)).toBe(true);
    expect(closeCall('rerun', 12, 10, null, band(0.5, 1.3))).toBe(true); // the re-run may take 13
    expect(closeCall('rerun', 12, 10, null, null)).toBe(false);
  });

  it('running sums: a sample weighted and the past decayed; two sums add; a missing one is the other', () => {
    const s = addSample(addSample(emptySums(2), [1, 2], 3, 1), [1, 4], 5, 0.5, 0.5);
    expect(s).toEqual({ k: 2, count: 2, xtx: [0.5 + 0.5, 1 + 2, 1 + 2, 2 + 8], xty: [1.5 + 2.5, 3 + 10], yty: 4.5 + 12.5 });
    const t = addSample(emptySums(2), [2, 0], 1, 2);
    expect(addSums(s, t)).toEqual({ k: 2, count: 3, xtx: [1 + 8, 3, 3, 10], xty: [4 + 4, 13], yty: 17 + 2 });
    expect(addSums(undefined, t)).toBe(t);
    expect(addSums(s, undefined)).toBe(s);
    expect(addSums(undefined, undefined)).toBeUndefined();
    expect(() => addSums(s, emptySums(3))).toThrow(/sums of 2 and 3 features do not add/);
    expect(() => addSample(s, [1], 1, 1)).toThrow(/expected 2 features, got 1/);
  });

  it('solves a system that needs a row exchange; a singular or non-finite one has no solution', () => {
    expect(solveLinear([[0, 1], [1, 0]], [2, 3])).toEqual([3, 2]);
    const x = solveLinear([[1, 2], [3, 4]], [5, 6])!;
    expect(x[0]).toBeCloseTo(-4, 12);
    expect(x[1]).toBeCloseTo(4.5, 12);
    expect(solveLinear([[1, 2], [2, 4]], [1, 2])).toBeUndefined();
    expect(solveLinear([[1e-320, 0], [0, 1]], [1, 1])).toBeUndefined();
    expect(solveLinear([[1e-300, 0], [0, 1]], [1e300, 1])).toBeUndefined(); // 1e600 is not a number
  });

  it('a re-run line needs two sizes and two re-runs; γ of nothing stored is infinite; equal times read', () => {
    expect(solveRerun(addRerun(undefined, 4, 10))).toBeNull();
    expect(solveRerun(addRerun(addRerun(undefined, 4, 10), 4, 12))).toBeNull(); // one size: no slope
    const line = solveRerun(addRerun(addRerun(undefined, 1, 3), 3, 7));
    expect(line!.a).toBeCloseTo(1, 6);
    expect(line!.b).toBeCloseTo(2, 6);
    expect(line!.n).toBe(2);
    expect(gamma(100, 40, 3, 0)).toBe(Infinity);
    expect(gamma(100, 40, 3, -1)).toBe(Infinity);
    expect(gamma(100, 40, 3, 2e9)).toBeCloseTo(0.09, 12);
    expect(choose(true, 5, 5)).toBe('read');
    expect(choose(false, 1, 5)).toBe('rerun');
  });

  it('a stage time moves toward a faster re-run by `rate`, toward an equal one not at all, and ignores a run that is not a time', () => {
    expect(refreshStageMs(100, 50)).toBe(75);
    expect(refreshStageMs(100, 100)).toBe(100);
    expect(refreshStageMs(100, 0)).toBe(50);
    for (const bad of [-1, NaN, Infinity]) expect(refreshStageMs(100, bad)).toBe(100);
    expect(() => tRerunTrad([], 'x')).toThrow(/no stage x/);
    // a stage two others depend on counts once
    const stages: StageCost[] = [
      { name: 'a', inputs: [], output: 'table', readInputMs: 1, execMs: 2, readOpMs: 0, rows: null },
      { name: 'b', inputs: ['a'], output: 'table', readInputMs: 1, execMs: 3, readOpMs: 0, rows: null },
      { name: 'c', inputs: ['a', 'b'], output: 'table', readInputMs: 1, execMs: 4, readOpMs: 0, rows: null },
    ];
    expect(tRerunTrad(stages, 'c')).toBe(3 + 4 + 5);
  });
});

