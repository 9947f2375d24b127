// Weighted least squares with non-negative coefficients, kept as decayed running sums (the normal
// equations), so that a cost model can fold in every measured query and be solved at any time.
// Pure: no I/O, no clocks.

/** Running sums of w·xxᵀ, w·x·y and w·y² over observed samples, older ones decayed. */
export interface LinearSums { k: number; count: number; xtx: number[]; xty: number[]; yty: number }

export function emptySums(k: number): LinearSums {
  return { k, count: 0, xtx: new Array<number>(k * k).fill(0), xty: new Array<number>(k).fill(0), yty: 0 };
}

/** Folds in one sample (features x, measured y) with weight w; what was there before is multiplied by `decay`. */
export function addSample(s: LinearSums, x: readonly number[], y: number, w: number, decay = 1): LinearSums {
  const k = s.k;
  if (x.length !== k) throw new RangeError(`expected ${k} features, got ${x.length}`);
  const xtx = s.xtx.map((v) => v * decay), xty = s.xty.map((v) => v * decay);
  for (let i = 0; i < k; i++) {
    xty[i]! += w * x[i]! * y;
    for (let j = 0; j < k; j++) xtx[i * k + j]! += w * x[i]! * x[j]!;
  }
  return { k, count: s.count + 1, xtx, xty, yty: s.yty * decay + w * y * y };
}

/** Two sets of running sums as one (e.g. a prior that never decays and the decayed recent samples); either may be missing. */
export function addSums(a: LinearSums | undefined, b: LinearSums | undefined): LinearSums | undefined {
  if (!a || !b) return a ?? b;
  if (a.k !== b.k) throw new RangeError(`sums of ${a.k} and ${b.k} features do not add`);
  return { k: a.k, count: a.count + b.count, xtx: a.xtx.map((v, i) => v + b.xtx[i]!), xty: a.xty.map((v, i) => v + b.xty[i]!), yty: a.yty + b.yty };
}

/** Solves the square system a·c = b (Gaussian elimination, partial pivoting); undefined when singular. */
export function solveLinear(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    // Stryker disable next-line EqualityOperator: between rows of equal magnitude either pivot is as good
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (!(Math.abs(m[p]![c]!) > 1e-300)) return undefined;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = m[r]![n]!;
    for (let j = r + 1; j < n; j++) v -= m[r]![j]! * x[j]!;
    x[r] = v / m[r]![r]!;
  }
  return x.every(Number.isFinite) ? x : undefined;
}

/**
 * The non-negative coefficients that minimize the weighted squared error, by trying every subset of
 * terms (k is small: a cost model has a handful) and keeping the best whose solution is ≥ 0. A tiny
 * ridge keeps collinear terms (two features that always move together) solvable: the weight goes to
 * whichever explains the data, not to a pair of huge opposite coefficients. Undefined with fewer
 * samples than `minSamples` or when nothing positive fits.
 */
export function solveNonNegative(s: LinearSums, minSamples = 3, ridge = 1e-9): number[] | undefined {
  const k = s.k;
  if (s.count < minSamples) return undefined;
  const trace = Array.from({ length: k }, (_, i) => s.xtx[i * k + i]!).reduce((a, b) => a + b, 0);
  let best: { c: number[]; err: number } | undefined;
  for (let mask = 1; mask < 1 << k; mask++) {
    const idx = Array.from({ length: k }, (_, i) => i).filter((i) => mask & (1 << i));
    const a = idx.map((i) => idx.map((j) => s.xtx[i * k + j]! + (i === j ? ridge * (trace / k + 1e-12) : 0)));
    const cs = solveLinear(a, idx.map((i) => s.xty[i]!));
    if (!cs || cs.some((v) => v < 0)) continue;
    const c = new Array<number>(k).fill(0);
    idx.forEach((i, t) => { c[i] = cs[t]!; });
    // weighted squared error: yᵀWy − 2 cᵀXᵀWy + cᵀXᵀWX c
    let err = s.yty;
    for (let i = 0; i < k; i++) {
      err -= 2 * c[i]! * s.xty[i]!;
      for (let j = 0; j < k; j++) err += c[i]! * s.xtx[i * k + j]! * c[j]!;
    }
    if (!best || err < best.err - 1e-12 * Math.abs(best.err)) best = { c, err };
  }
  return best && best.c.some((v) => v > 0) ? best.c : undefined;
}
