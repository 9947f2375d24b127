// POOL_QT (paper §5.4.1): average (default) or max pooling over σ×σ windows of every channel map of
// every example. σ = 2 halves each side; σ = S (the map's side) keeps one value per channel. Edge
// windows that stick out are pooled over the part inside. NaN propagates (it is data).
export type PoolKind = 'avg' | 'max';

/** values: N × C × H × W; returns N × C × ceil(H/σ) × ceil(W/σ) and the new per-example shape. */
// Stryker disable next-line StringLiteral: any kind but 'max' averages
export function pool(values: Float32Array, shape: readonly number[], sigma: number, kind: PoolKind = 'avg'): { values: Float32Array; shape: number[] } {
  if (shape.length !== 3) throw new RangeError(`pooling needs a per-example shape [C, H, W], got [${shape.join(', ')}]`);
  const [C, H, W] = shape as [number, number, number];
  if (!Number.isInteger(sigma) || sigma < 1) throw new RangeError(`σ must be a positive integer, got ${sigma}`);
  const per = C * H * W;
  if (values.length % per !== 0) throw new RangeError(`${values.length} values are not a whole number of [${shape.join(', ')}] examples`);
  const N = values.length / per;
  const h = Math.ceil(H / sigma), w = Math.ceil(W / sigma);
  const out = new Float32Array(N * C * h * w);
  let o = 0;
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined and writes nowhere
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = n * per + c * H * W;
      for (let y = 0; y < h; y++) {
        const y0 = y * sigma, y1 = Math.min(H, y0 + sigma);
        for (let x = 0; x < w; x++) {
          const x0 = x * sigma, x1 = Math.min(W, x0 + sigma);
          let acc = kind === 'max' ? -Infinity : 0;
          for (let yy = y0; yy < y1; yy++) {
            const row = base + yy * W;
            for (let xx = x0; xx < x1; xx++) {
              const v = values[row + xx]!;
              // Stryker disable next-line EqualityOperator: a tie keeps the same maximum
              acc = kind === 'max' ? (v > acc || Number.isNaN(v) ? v : acc) : acc + v;
              // Stryker disable next-line ConditionalExpression: a NaN window stays NaN without the early stop (it only saves time)
              if (Number.isNaN(acc)) break;
            }
          }
          out[o++] = kind === 'max' ? acc : acc / ((y1 - y0) * (x1 - x0));
        }
      }
    }
  }
  return { values: out, shape: [C, h, w] };
}
