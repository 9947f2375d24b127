// The cost model's formulas on fixed statistics.
import { describe, expect, it } from 'vitest';
import { addToFit, choose, gamma, solveFit, tRead, tRerunDnn, tRerunTrad, updateRho, type StageCost } from '../src/costmodel/index.js';

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
  it('Eq. 5.4 and Alg. 4: read when stored and not slower', () => {
    expect(tRead(1e6, 500)).toBe(2000);
    expect(tRead(1e6, 500, 1.5)).toBe(2001.5);
    expect(choose(true, 10, 20)).toBe('read');
    expect(choose(true, 30, 20)).toBe('rerun');
    expect(choose(false, 1, 20)).toBe('rerun');
  });
  it('Eq. 5.5: γ in seconds saved per GB; ρ_d follows measured reads', () => {
    expect(gamma(3000, 1000, 10, 1e9)).toBeCloseTo(20);
    expect(gamma(1000, 3000, 10, 1e9)).toBeCloseTo(-20);
    expect(updateRho(undefined, 1000, 2)).toBe(500);
    expect(updateRho(500, 1000, 1, 0.5)).toBe(750);
  });
  it('fits the fixed cost of a read and ρ_d from reads of different sizes', () => {
    // ms = 1.2 + bytes / 400 000 (400 MB/s)
    let f;
    expect(solveFit(addToFit(addToFit(addToFit(undefined, 1e6, 3.7), 1e6, 3.7), 1e6, 3.7))).toBeUndefined(); // one size cannot separate them
    for (const b of [1e5, 1e6, 4e6, 1e5, 2e6]) f = addToFit(f, b, 1.2 + b / 4e5);
    const line = solveFit(f)!;
    expect(line.fixedMs).toBeCloseTo(1.2, 6);
    expect(line.rho).toBeCloseTo(4e5, 0);
    // a negative intercept (noise) is refitted through the origin
    let g;
    for (const b of [1e6, 2e6, 3e6]) g = addToFit(g, b, b / 1e6 - 0.5);
    expect(solveFit(g)!.fixedMs).toBe(0);
    // weighted by 1/ms²: small reads set the fixed cost even when large reads grow faster than linearly
    // (an unweighted line through these four points has intercept −19 ms)
    let h;
    for (const [b, ms] of [[1e4, 2], [2e4, 2.1], [1e8, 250], [5e8, 1600]] as const) h = addToFit(h, b, ms);
    expect(solveFit(h)!.fixedMs).toBeCloseTo(2.0, 1);
  });
});
