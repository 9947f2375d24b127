// Weighted least squares with non-negative coefficients, kept as decayed running sums (the normal
// equations), so that a cost model can fold in every measured query and be solved at any time.
// Pure: no I/O, no clocks.

/** Running sums of w·xxᵀ, w·x·y and w·y² over observed samples, older ones decayed. */
export interface LinearSums { k: number; count: number; xtx: number[]; xty: number[]; yty: number }

export function emptySums(k: number): LinearSums {
  return { k, count: 0, xtx: new Array<number>(k * k).fill(0), xty: new Array<number>(k).fill(0), yty: 0 };
}

/** Whether `x` (parsed from a store's saved statistics, which a damaged file may have changed) is running sums of `k` features. */
export function isSums(x: unknown, k: number): x is LinearSums {
  const s = x as Partial<LinearSums> | null;
  return typeof s === 'object' && s !== null && s.k === k && isFiniteList(s.xtx, k * k) && isFiniteList(s.xty, k)
    && typeof s.count === 'number' && s.count >= 0 && Number.isFinite(s.count) && typeof s.yty === 'number' && Number.isFinite(s.yty);
}

/** Whether `x` is an array of `n` finite numbers (any length when n is undefined). */
export function isFiniteList(x: unknown, n?: number): x is number[] {
  return Array.isArray(x) && (n === undefined || x.length === n) && x.every((v) => typeof v === 'number' && Number.isFinite(v));
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
  const m = new Float64Array(n * (n + 1));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i * (n + 1) + j] = a[i]![j]!;
    m[i * (n + 1) + n] = b[i]!;
  }
  const x = new Float64Array(n);
  return eliminate(m, n, x) ? Array.from(x) : undefined;
}

/**
 * Gaussian elimination with partial pivoting on the augmented n × (n+1) matrix m (row-major, changed in
 * place), the solution into x[0, n): false when singular or not finite. Allocation-free: the read model
 * solves 63 of these after every read.
 */
function eliminate(m: Float64Array, n: number, x: Float64Array): boolean {
  const w = n + 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    // Stryker disable next-line EqualityOperator: between rows of equal magnitude either pivot is as good
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * w + c]!) > Math.abs(m[p * w + c]!)) p = r;
    if (!(Math.abs(m[p * w + c]!) > 1e-300)) return false;
    if (p !== c) {
      for (let j = 0; j < w; j++) {
        const t = m[c * w + j]!;
        m[c * w + j] = m[p * w + j]!;
        m[p * w + j] = t;
      }
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * w + c]! / m[c * w + c]!;
      for (let j = c; j <= n; j++) m[r * w + j]! -= f * m[c * w + j]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let v = m[r * w + n]!;
    for (let j = r + 1; j < n; j++) v -= m[r * w + j]! * x[j]!;
    x[r] = v / m[r * w + r]!;
  }
  for (let r = 0; r < n; r++) if (!Number.isFinite(x[r]!)) return false;
  return true;
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
  let trace = 0;
  for (let i = 0; i < k; i++) trace += s.xtx[i * k + i]!;
  const shift = ridge * (trace / k + 1e-12);
  // scratch for every subset: its terms, its augmented system, its solution, a candidate's coefficients
  const idx = new Int32Array(k), m = new Float64Array(k * (k + 1)), cs = new Float64Array(k), c = new Float64Array(k);
  let best: Float64Array | undefined, bestErr = 0;
  for (let mask = 1; mask < 1 << k; mask++) {
    let n = 0;
    for (let i = 0; i < k; i++) if (mask & (1 << i)) idx[n++] = i;
    for (let a = 0; a < n; a++) {
      const i = idx[a]!;
      for (let b = 0; b < n; b++) {
        const j = idx[b]!;
        m[a * (n + 1) + b] = s.xtx[i * k + j]! + (i === j ? shift : 0);
      }
      m[a * (n + 1) + n] = s.xty[i]!;
    }
    if (!eliminate(m, n, cs)) continue;
    let negative = false;
    for (let t = 0; t < n; t++) if (cs[t]! < 0) negative = true;
    if (negative) continue;
    c.fill(0);
    for (let t = 0; t < n; t++) c[idx[t]!] = cs[t]!;
    // weighted squared error: yᵀWy − 2 cᵀXᵀWy + cᵀXᵀWX c
    let err = s.yty;
    for (let i = 0; i < k; i++) {
      err -= 2 * c[i]! * s.xty[i]!;
      for (let j = 0; j < k; j++) err += c[i]! * s.xtx[i * k + j]! * c[j]!;
    }
    if (!best || err < bestErr - 1e-12 * Math.abs(bestErr)) {
      best = Float64Array.from(c);
      bestErr = err;
    }
  }
  return best && best.some((v) => v > 0) ? Array.from(best) : undefined;
}
