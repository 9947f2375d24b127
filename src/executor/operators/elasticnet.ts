// Elastic-net linear regression by cyclic coordinate descent, with scikit-learn's objective:
//   1/(2n)·‖y − Xw − b‖² + α·l1_ratio·‖w‖₁ + α·(1 − l1_ratio)/2·‖w‖²
// `normalize` standardizes every feature first (coefficients are mapped back). Missing values are imputed
// with the feature's training mean (kept in the model for prediction). Stops when the largest
// coefficient change in a sweep is below tol × the largest coefficient, or after max_iter sweeps.
import { MistiqueError } from '../../errors.js';

export interface ENetParams { alpha: number; l1_ratio: number; tol: number; max_iter: number; normalize: boolean }
export interface ENetModel { coef: number[]; intercept: number; means: number[]; iterations: number }

export function trainElasticNet(X: Float64Array[], y: Float64Array, p: ENetParams): ENetModel {
  const n = y.length, F = X.length;
  if (n === 0) throw new MistiqueError('BAD_INPUT', 'ElasticNet needs at least one training row');
  const mean = new Float64Array(F), scale = new Float64Array(F).fill(1);
  const Z: Float64Array[] = X.map((c, j) => {
    let s = 0, k = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(c[i]!)) { s += c[i]!; k++; }
    mean[j] = k ? s / k : 0;
    const z = new Float64Array(n);
    let ss = 0;
    for (let i = 0; i < n; i++) { z[i] = Number.isNaN(c[i]!) ? 0 : c[i]! - mean[j]!; ss += z[i]! * z[i]!; }
    if (p.normalize) {
      const sd = Math.sqrt(ss / n);
      scale[j] = sd > 0 ? sd : 1;
      for (let i = 0; i < n; i++) z[i]! /= scale[j]!;
    }
    return z;
  });
  let ym = 0;
  for (let i = 0; i < n; i++) ym += y[i]!;
  ym /= n;
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = y[i]! - ym;
  const w = new Float64Array(F);
  const sq = Z.map((z) => { let s = 0; for (let i = 0; i < n; i++) s += z[i]! * z[i]!; return s / n; });
  const l1 = p.alpha * p.l1_ratio, l2 = p.alpha * (1 - p.l1_ratio);
  let it = 0;
  for (; it < p.max_iter; it++) {
    let maxDelta = 0, maxW = 0;
    for (let j = 0; j < F; j++) {
      if (sq[j] === 0) continue;
      const z = Z[j]!, wj = w[j]!;
      let rho = 0;
      for (let i = 0; i < n; i++) rho += z[i]! * r[i]!;
      rho = rho / n + sq[j]! * wj;
      const nw = Math.sign(rho) * Math.max(0, Math.abs(rho) - l1) / (sq[j]! + l2);
      const d = nw - wj;
      if (d !== 0) {
        for (let i = 0; i < n; i++) r[i]! -= d * z[i]!;
        w[j] = nw;
      }
      maxDelta = Math.max(maxDelta, Math.abs(d));
      maxW = Math.max(maxW, Math.abs(nw));
    }
    if (maxW === 0 || maxDelta < p.tol * maxW) { it++; break; }
  }
  const coef = Array.from(w, (v, j) => v / scale[j]!);
  let intercept = ym;
  for (let j = 0; j < F; j++) intercept -= coef[j]! * mean[j]!;
  return { coef, intercept, means: Array.from(mean), iterations: it };
}

export function predictElasticNet(m: ENetModel, X: Float64Array[], n: number): Float64Array {
  const out = new Float64Array(n).fill(m.intercept);
  m.coef.forEach((c, j) => {
    if (c === 0) return;
    const x = X[j]!, mu = m.means[j]!;
    for (let i = 0; i < n; i++) { const v = x[i]!; out[i]! += c * (Number.isNaN(v) ? mu : v); }
  });
  return out;
}
