// A LightGBM-style gradient-boosted tree regressor (L2 loss): features bucketed into quantile histograms,
// trees grown leaf-wise (always split the leaf with the largest gain) up to num_leaves, with
// min_data_in_leaf, L2 regularisation, feature_fraction (sub_feature) and bagging_fraction.
// Pure and seeded: same data and parameters, same trees. Missing values go to the left branch.
import { mulberry32 } from '../../../datasets/random.js';

export interface GBTParams {
  learning_rate: number;
  num_leaves: number;
  max_depth: number;
  min_data: number;
  sub_feature: number;
  bagging_fraction: number;
  lambda: number;
  num_rounds: number;
  max_bin: number;
  seed: number;
}

/** Trees in flat arrays: node k is a leaf when feature[k] < 0 (its value in value[k]). */
export interface GBTModel {
  base: number;
  trees: { feature: number[]; threshold: number[]; left: number[]; right: number[]; value: number[] }[];
}

/** Bin upper edges per feature from the sorted distinct values (quantiles when there are more than maxBin). */
export function binEdges(col: Float64Array, maxBin: number): Float64Array {
  const v = col.filter((x) => !Number.isNaN(x)).sort();
  const distinct: number[] = [];
  for (let i = 0; i < v.length; i++) if (i === 0 || v[i] !== v[i - 1]) distinct.push(v[i]!);
  if (distinct.length <= maxBin) return Float64Array.from(distinct);
  const edges: number[] = [];
  for (let b = 1; b <= maxBin; b++) {
    const e = v[Math.min(v.length - 1, Math.floor((b * v.length) / maxBin) - 1)]!;
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return Float64Array.from(edges);
}

/** bin 0 = missing; bin b ≥ 1 holds values in (edges[b−2], edges[b−1]]; values above the last edge go to the last bin. */
function binColumn(col: Float64Array, edges: Float64Array): Uint8Array {
  const out = new Uint8Array(col.length);
  const last = edges.length;
  for (let i = 0; i < col.length; i++) {
    const x = col[i]!;
    if (Number.isNaN(x)) continue;
    let lo = 0, hi = last - 1;
    while (lo < hi) { const m = (lo + hi) >> 1; if (edges[m]! < x) lo = m + 1; else hi = m; }
    out[i] = lo + 1;
  }
  return out;
}

interface Leaf { rows: Int32Array; depth: number; node: number; G: number; H: number; best: Split | null }
interface Split { gain: number; feature: number; bin: number; GL: number; HL: number }

export function trainGBT(X: Float64Array[], y: Float64Array, p: GBTParams): GBTModel {
  const n = y.length, F = X.length;
  const maxBin = Math.min(255, p.max_bin);
  const edges = X.map((c) => binEdges(c, maxBin));
  const bins = X.map((c, f) => binColumn(c, edges[f]!));
  let base = 0;
  for (let i = 0; i < n; i++) base += y[i]!;
  base = n ? base / n : 0;
  const pred = new Float64Array(n).fill(base);
  const g = new Float64Array(n);
  const rand = mulberry32(p.seed);
  const model: GBTModel = { base, trees: [] };
  const histG = new Float64Array(256), histH = new Float64Array(256);
  const lam = p.lambda;
  const score = (G: number, H: number): number => (G * G) / (H + lam);

  for (let round = 0; round < p.num_rounds; round++) {
    for (let i = 0; i < n; i++) g[i] = pred[i]! - y[i]!;
    // bagging: a seeded subset of rows; feature_fraction: a seeded subset of features, per tree
    let rows: Int32Array;
    if (p.bagging_fraction < 1) {
      const r: number[] = [];
      for (let i = 0; i < n; i++) if (rand() < p.bagging_fraction) r.push(i);
      rows = Int32Array.from(r);
    } else {
      rows = new Int32Array(n);
      for (let i = 0; i < n; i++) rows[i] = i;
    }
    const feats: number[] = [];
    for (let f = 0; f < F; f++) if (p.sub_feature >= 1 || rand() < p.sub_feature) feats.push(f);
    if (feats.length === 0) feats.push(Math.floor(rand() * F));

    const tree: GBTModel['trees'][number] = { feature: [], threshold: [], left: [], right: [], value: [] };
    const newNode = (): number => { tree.feature.push(-1); tree.threshold.push(0); tree.left.push(-1); tree.right.push(-1); tree.value.push(0); return tree.feature.length - 1; };
    const findSplit = (leaf: Leaf): Split | null => {
      if (leaf.rows.length < 2 * p.min_data || (p.max_depth > 0 && leaf.depth >= p.max_depth)) return null;
      let best: Split | null = null;
      const parent = score(leaf.G, leaf.H);
      for (const f of feats) {
        const b = bins[f]!, nb = edges[f]!.length + 1;
        histG.fill(0, 0, nb); histH.fill(0, 0, nb);
        for (let k = 0; k < leaf.rows.length; k++) { const i = leaf.rows[k]!; histG[b[i]!]! += g[i]!; histH[b[i]!]! += 1; }
        let GL = 0, HL = 0;
        for (let s = 0; s < nb - 1; s++) {
          GL += histG[s]!; HL += histH[s]!;
          const HR = leaf.H - HL;
          if (HL < p.min_data || HR < p.min_data) continue;
          const gain = score(GL, HL) + score(leaf.G - GL, HR) - parent;
          if (gain > 1e-12 && (!best || gain > best.gain)) best = { gain, feature: f, bin: s, GL, HL };
        }
      }
      return best;
    };
    const makeLeaf = (rws: Int32Array, depth: number): Leaf => {
      let G = 0;
      for (let k = 0; k < rws.length; k++) G += g[rws[k]!]!;
      const leaf: Leaf = { rows: rws, depth, node: newNode(), G, H: rws.length, best: null };
      tree.value[leaf.node] = -G / (rws.length + lam) * p.learning_rate;
      leaf.best = findSplit(leaf);
      return leaf;
    };
    const leaves = [makeLeaf(rows, 0)];
    while (leaves.length < p.num_leaves) {
      let bi = -1;
      for (let k = 0; k < leaves.length; k++) if (leaves[k]!.best && (bi < 0 || leaves[k]!.best!.gain > leaves[bi]!.best!.gain)) bi = k;
      if (bi < 0) break;
      const leaf = leaves[bi]!, s = leaf.best!;
      const b = bins[s.feature]!;
      const L: number[] = [], R: number[] = [];
      for (let k = 0; k < leaf.rows.length; k++) { const i = leaf.rows[k]!; (b[i]! <= s.bin ? L : R).push(i); }
      tree.feature[leaf.node] = s.feature;
      // bin s holds values ≤ edges[s−1]; bin 0 (missing) goes left with every threshold
      tree.threshold[leaf.node] = s.bin === 0 ? -Infinity : edges[s.feature]![s.bin - 1]!;
      const l = makeLeaf(Int32Array.from(L), leaf.depth + 1), r = makeLeaf(Int32Array.from(R), leaf.depth + 1);
      tree.left[leaf.node] = l.node; tree.right[leaf.node] = r.node;
      leaves.splice(bi, 1, l, r);
    }
    model.trees.push(tree);
    // update predictions of every row (not just the bagged ones)
    for (let i = 0; i < n; i++) pred[i]! += treeValue(tree, X, i);
  }
  return model;
}

function treeValue(t: GBTModel['trees'][number], X: Float64Array[], i: number): number {
  let k = 0;
  while (t.feature[k]! >= 0) {
    const x = X[t.feature[k]!]![i]!;
    k = Number.isNaN(x) || x <= t.threshold[k]! ? t.left[k]! : t.right[k]!;
  }
  return t.value[k]!;
}

export function predictGBT(m: GBTModel, X: Float64Array[], n: number): Float64Array {
  const out = new Float64Array(n).fill(m.base);
  for (const t of m.trees) for (let i = 0; i < n; i++) out[i]! += treeValue(t, X, i);
  return out;
}
