// Synthetic intermediates for timing a codec's reads when a store has nothing of its own to read yet
// (an adaptive store right after logging holds nothing: every intermediate can be re-created). The
// read model is calibrated on them in a scratch store of the same codec and settings, so that γ starts
// from reads timed on this machine instead of an assumed rate. Pure: the frames only.
import { DataFrame } from '../model/dataframe.js';

export interface ProbeFrame { name: string; frame: DataFrame }

/**
 * Four intermediates that span what a store holds, so the read model's terms separate (see
 * QueryPlanner.calibrate): a float64 table of noise (incompressible: the per-MB-on-disk cost), a float64
 * table of small codes with missing values (compressible, like a feature table), a float32 activation
 * tensor (half zeros, like ReLU output) and a small table (the fixed and per-RowBlock costs).
 */
export function probeFrames(rowBlockSize: number, seed = 1): ProbeFrame[] {
  let s = seed >>> 0;
  const rand = (): number => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  const n = 4 * rowBlockSize;
  const table = (rows: number, cols: number, value: (j: number) => number): DataFrame => {
    const frame: Record<string, Float64Array> = {};
    for (let j = 0; j < cols; j++) {
      const v = new Float64Array(rows);
      for (let i = 0; i < rows; i++) v[i] = value(j);
      frame[`c${j}`] = v;
    }
    return DataFrame.from(frame);
  };
  const noise = table(n, 16, () => rand() * 1e6 - 5e5);
  const codes = table(n, 48, (j) => (rand() < 0.3 ? NaN : Math.floor(rand() * (4 + 4 * j))));
  const C = 16, H = 4, W = 4;
  const act = new Float32Array(n * C * H * W);
  for (let i = 0; i < act.length; i++) { const x = rand() - 0.5; act[i] = x > 0 ? x * 4 : 0; }
  const tensor = DataFrame.fromTensor(act, [C, H, W]);
  const small = table(Math.min(n, 100), 2, () => Math.floor(rand() * 100));
  return [
    { name: 'noise', frame: noise },
    { name: 'codes', frame: codes },
    { name: 'activations', frame: tensor },
    { name: 'small', frame: small },
  ];
}
