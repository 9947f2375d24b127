// The Fashion-MNIST loader on the committed subset, and its error when the package is missing.
import { describe, expect, it } from 'vitest';
import { batches, loadFashionMnist, loadSubset } from '../datasets/fashion-mnist/load.js';
import { tempDir } from './helpers.js';

describe('Fashion-MNIST loader', () => {
  it('reads the committed subset as float32 NCHW batches with labels and row ids', () => {
    const s = loadSubset();
    expect(s.n).toBe(500);
    expect([...s.labels.slice(0, 5)]).toEqual([9, 2, 1, 1, 6]); // the first test labels of Fashion-MNIST
    const all = [...batches(s, 128)];
    expect(all.map((b) => b.labels.length)).toEqual([128, 128, 128, 116]);
    expect(all[1]!.x.length).toBe(128 * 784);
    expect(all[1]!.rowIds[0]).toBe(128);
    expect(Math.max(...all[0]!.x)).toBeLessThanOrEqual(1);
  });
  it('says how to install the dataset when the files are missing', () => {
    expect(() => loadFashionMnist('train', tempDir())).toThrow(/apt-get install dataset-fashion-mnist/);
  });
});
