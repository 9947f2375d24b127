// KBIT_QT (paper §5.4.1): each value stored as a k-bit code (k = 8: one byte) and read back as its
// bin's representative. The paper takes 2^k quantile bins from a sample of the layer; the store builds a
// codebook per chunk instead (kbitBlock, below), so that no value outside a sample's range is clipped.
// The paper's sampled codebook survives only as bench:kbit's point of comparison (bench/kbitsample.ts).

/**
 * KBIT_QT of one chunk (the store's path since schema v6): a codebook of its own per chunk, so no value
 * is clipped to a sample's range. Bins are the union of 2^(k−1) uniform bins over the chunk's finite
 * [min, max] and quantile edges of a strided sample of it (the paper's quantile bins, where values are
 * dense); each bin reads back as the mean of the chunk's values in it, moved at most to within E of
 * both its ends, E = (max − min) / (2^k − 1). Uniform bins are at most 2E wide,
 * so every finite value reads back within E — one bin width of the chunk's range, hence of the
 * layer's — up to the float32 rounding of the value read back (half an ulp of it). NaN has the last
 * code; −Infinity and +Infinity get a bin of their own each and read back exactly (k ≥ 2; with k = 1
 * they share the one bin and read back as its value). One exception to E: with k = 2 and both
 * infinities in the chunk, the three codes go to −∞, +∞ and one bin of all finite values, which read
 * back within (max − min) / 2 (plus half a float32 ulp: the middle may not be a float32).
 */
export interface KbitBlock {
  codes: Uint8Array;
  /** Value read back for each code (2^k of them; the last is NaN). */
  book: Float32Array;
}

const SAMPLE = 4096;
const GRID = 4096;

export function kbitBlock(values: Float32Array, k = 8): KbitBlock {
  if (!Number.isInteger(k) || k < 1 || k > 8) throw new RangeError(`k must be an integer in 1…8, got ${k}`);
  const n = values.length;
  const nan = 2 ** k - 1;
  const book = new Float32Array(nan + 1);
  book[nan] = NaN;
  const codes = new Uint8Array(n);
  let lo = Infinity, hi = -Infinity, negInf = false, posInf = false;
  // Stryker disable next-line EqualityOperator: a step past the end reads undefined, which no comparison takes
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    // Stryker disable next-line EqualityOperator: a tie changes no minimum
    if (v < lo) { if (v === -Infinity) negInf = true; else lo = v; }
    // Stryker disable next-line EqualityOperator: a tie changes no maximum
    if (v > hi) { if (v === Infinity) posInf = true; else hi = v; }
  }
  // Stryker disable next-line ConditionalExpression,BlockStatement: with no finite value every code is NaN's or an infinity's, read back alike from any lo and hi
  if (lo > hi) { lo = 0; hi = 0; } // no finite value
  // edges: the code of v is the number of edges < v
  const bins = nan;
  // Stryker disable next-line ConditionalExpression: with k = 1 there is one bin, and no uniform or quantile edge either way
  const specials = k >= 2 ? (negInf ? 1 : 0) + (posInf ? 1 : 0) : 0;
  // with k = 2 and both infinities present, 2 uniform bins and 2 of ±Infinity do not fit in 3 codes:
  // the finite values then share one bin (and read back within half their range, not E)
  const uniform = Math.min(2 ** (k - 1), bins - specials);
  const edgeSet: number[] = [];
  if (k >= 2 && negInf) edgeSet.push(-Infinity);
  const width = (hi - lo) / uniform;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a zero width adds only edges equal to lo, which the Set merges and which move no code
  if (width > 0) for (let u = 1; u < uniform; u++) edgeSet.push(lo + u * width);
  const quantiles = Math.max(0, bins - 1 - (uniform - 1) - specials);
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: with hi = lo nothing lies strictly between them, and with no quantiles the loop adds none
  if (quantiles > 0 && hi > lo) {
    const step = Math.max(1, Math.floor(n / SAMPLE));
    // a typed array's own sort (numeric, no comparator call per pair): 14% of the whole encode at k = 8
    const taken = new Float64Array(Math.ceil(n / step));
    let m = 0;
    // Stryker disable next-line EqualityOperator: a step past the end reads undefined, which no comparison takes
    for (let i = 0; i < n; i += step) { const v = values[i]!; if (v > lo && v < hi) taken[m++] = v; }
    const s = taken.subarray(0, m).sort();
    // Stryker disable next-line ArithmeticOperator: the index is below s.length already; the bound is a guard
    for (let q = 1; q <= quantiles && s.length > 0; q++) edgeSet.push(s[Math.min(s.length - 1, Math.floor((q * s.length) / (quantiles + 1)))]!);
  }
  if (k >= 2 && posInf) edgeSet.push(hi);
  const edges = Float64Array.from(new Set(edgeSet)).sort();
  const E = edges.length;
  // a grid over [lo, hi] gives each value a first guess of its code, corrected by at most a step or two
  // Stryker disable all: the grid only speeds the search up — the two loops after the guess move any guess to the exact code, so a wrong one costs time, not codes
  const scale = hi > lo ? GRID / (hi - lo) : 0;
  const start = new Uint8Array(GRID + 1);
  for (let g = 0, c = 0; g <= GRID; g++) {
    const x = lo + g / (scale || 1);
    while (c < E && edges[c]! < x) c++;
    start[g] = c;
  }
  // the edges between −∞ and +∞: code c is right for v when padded[c] < v ≤ padded[c + 1]
  const padded = new Float64Array(E + 2);
  padded[0] = -Infinity;
  padded.set(edges, 1);
  padded[E + 1] = Infinity;
  // Stryker restore all
  const sum = new Float64Array(bins), cnt = new Float64Array(bins), inf = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== v) { codes[i] = nan; continue; }
    // Stryker disable all: the first guess (see the grid above) and one step up past an edge in its cell,
    // without a branch; the loops below correct any guess that is still off, so a wrong one costs time, not codes
    let g = ((v - lo) * scale) | 0;
    g = g < 0 ? 0 : g > GRID ? GRID : g;
    let c = v === -Infinity ? 0 : start[g]!;
    c += padded[c + 1]! < v ? 1 : 0;
    // Stryker restore all
    // the code is the number of edges < v (a value equal to an edge takes the bin below it); the loops
    // run only when the guess is off — a cell with two edges, rounding at a cell's end, ±Infinity
    // (1.6× the encode speed of running them for every value: their exits were unpredictable branches)
    if (!(padded[c]! < v && padded[c + 1]! >= v)) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator,LogicalOperator: a step past the last edge reads undefined and stops
      while (c < E && edges[c]! < v) c++;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: the guess is never above the code but by rounding
      while (c > 0 && edges[c - 1]! >= v) c--;
    }
    codes[i] = c;
    // Stryker disable next-line ConditionalExpression,UnaryOperator: −∞ summed into its own bin reads back −∞ all the same
    if (v === Infinity || v === -Infinity) { inf[c] = v; continue; }
    sum[c]! += v;
    cnt[c]! += 1;
  }
  const err = (hi - lo) / bins;
  // Stryker disable next-line EqualityOperator: one step more recomputes NaN's code as NaN
  for (let b = 0; b < bins; b++) {
    if (cnt[b]! === 0) { book[b] = inf[b]!; continue; } // a bin of ±Infinity, or empty (never read)
    const mean = sum[b]! / cnt[b]!;
    const bLo = b === 0 ? lo : Math.max(lo, edges[b - 1]!);
    const bHi = b < E ? Math.min(hi, edges[b]!) : hi;
    const e = Math.max(err, (bHi - bLo) / 2); // a bin wider than 2E is read back from its middle
    book[b] = roundWithin(Math.min(Math.max(mean, bHi - e), bLo + e), bLo, bHi, e);
  }
  return { codes, book };
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

// Stryker disable EqualityOperator: a tie at the interval's ends changes nothing, the nearer of the two candidates being kept
/**
 * x rounded to float32 without leaving [hi − err, lo + err] by the rounding: a step of one ulp back
 * when it did. Where no float32 lies in that interval, whichever of the two is nearer to both ends.
 */
export function roundWithin(x: number, lo: number, hi: number, err: number): number {
  f32[0] = x;
  const f0 = f32[0]!;
  if (f0 - lo <= err && hi - f0 <= err) return f0;
  step(f0 - lo > err ? -1 : 1);
  const f1 = f32[0]!;
  return Math.max(f1 - lo, hi - f1) < Math.max(f0 - lo, hi - f0) ? f1 : f0;
}

/** f32[0] to the next float32 up (+1) or down (−1). */
function step(dir: 1 | -1): void {
  const v = f32[0]!;
  // Stryker disable next-line ConditionalExpression,ArithmeticOperator,BlockStatement: without this case 0 steps by its bits, up to the smallest subnormal all the same or down to NaN, which is never nearer and so never kept
  if (v === 0) { f32[0] = dir * 1.4e-45; return; }
  i32[0] = i32[0]! + (v > 0 ? dir : -dir);
}
// Stryker restore EqualityOperator

/** Values of a chunk's codes through its codebook. */
export function kbitBlockDecode(codes: Uint8Array, book: Float32Array, out = new Float32Array(codes.length)): Float32Array {
  // Stryker disable next-line EqualityOperator: a step past the end writes nowhere
  for (let i = 0; i < codes.length; i++) out[i] = book[codes[i]!]!;
  return out;
}
