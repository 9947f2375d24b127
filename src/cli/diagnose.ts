// `mistique diagnose <technique> …`: the diagnostics of src/diagnostics on what the store answers
// (read or re-run, as the cost model chooses), printed readably, with images where a picture helps.
import fs from 'node:fs';
import { CLASSES } from '../../datasets/fashion-mnist/load.js';
import { pixelConcepts } from '../../datasets/fashion-mnist/concepts.js';
import { colDiff, colDist, dissectionPng, heatmap, heatmapPng, knn, lookup, netdissect, pointq, predictedClass, rowDiff, svcca } from '../diagnostics/index.js';
import { MistiqueError } from '../errors.js';
import { layerGroups, type DnnSpec } from '../executor/onnx/dnnspec.js';
import type { Store } from '../mistique.js';
import type { Matrix } from '../model/matrix.js';
import { parseRows, withStore, type Io } from './commands.js';
import { formatTable, formatValue, rowLimit } from './format.js';

export const TECHNIQUES = ['pointq', 'topk', 'coldiff', 'coldist', 'rowdiff', 'knn', 'svcca', 'heatmap', 'netdissect'] as const;

export interface DiagnoseOptions {
  rows?: string; row?: string; k?: string; channel?: string; limit?: string; metric?: string; by?: string; variance?: string; alpha?: string;
  bins?: string; tolerance?: string; asc?: boolean; perChannel?: boolean; out?: string; json?: boolean; exact?: boolean;
  /** Names of the class values 0, 1, …: `fashion-mnist`, or a comma-separated list. */
  classes?: string;
}

/** A layer or intermediate key may leave out the column: p.m.i means p.m.i.* */
function full(key: string): string {
  return key.split('.').length === 3 ? `${key}.*` : key;
}

function num(name: string, v: string | undefined, dflt: number, integer = false): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new MistiqueError('BAD_OPTION', `--${name} ${JSON.stringify(v)}: give a${integer ? 'n integer' : ' number'}`);
  return x;
}

/** A result as one JSON line: typed arrays as arrays, NaN and ±Infinity as null. */
function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) && !(x instanceof DataView) ? Array.from(x as unknown as ArrayLike<number>, (n) => (Number.isFinite(n) ? n : null)) : typeof x === 'number' && !Number.isFinite(x) ? null : x));
}

/** --k is the k of knn and topk only; what other techniques show is --limit, pointq's channel --channel. */
function noK(o: DiagnoseOptions, technique: string, instead: '--limit' | '--channel'): void {
  if (o.k !== undefined) throw new MistiqueError('BAD_OPTION', `${technique} does not take --k (the k of knn and topk): use ${instead}`);
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new MistiqueError('BAD_OPTION', `missing ${what}: see mistique diagnose --help`);
  return v;
}

async function query(s: Store, key: string, rows?: string): Promise<Matrix> {
  const sel = rows !== undefined ? parseRows(rows) : undefined;
  return s.getIntermediates(full(key), sel ? { rows: sel } : {});
}

function source(m: Matrix): string {
  return m.sources.map((x) => `${x.key}: ${x.path === 'read' ? 'read' : 're-run'} in ${x.ms.toFixed(0)} ms${x.path === 'read' && x.loss !== 'none' ? ` (${x.loss})` : ''}`).join('; ');
}

/**
 * The class names `--classes` gives for values 0, 1, …: `fashion-mnist` (its ten), or names separated by
 * commas; none (the values as they are) without it — an integer label means a class of its own dataset,
 * not Fashion-MNIST's. Pure.
 */
export function classNames(spec: string | undefined): readonly string[] {
  if (spec === undefined) return [];
  if (spec.toLowerCase() === 'fashion-mnist') return CLASSES;
  const names = spec.split(',').map((x) => x.trim());
  if (names.length === 0 || names.some((x) => x === '')) throw new MistiqueError('BAD_OPTION', `--classes takes fashion-mnist or names separated by commas (cat,dog,…), got ${JSON.stringify(spec)}`);
  return names;
}

/** A class value with its name (`9 Ankle boot`) where `names` has one, else the value itself. */
function className(v: number | string | null, names: readonly string[]): string {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length) return `${v} ${names[v]}`;
  return formatValue(v);
}

export async function diagnose(dir: string, technique: string | undefined, args: string[], o: DiagnoseOptions, io: Io): Promise<void> {
  if (!technique || !(TECHNIQUES as readonly string[]).includes(technique)) {
    throw new MistiqueError('BAD_OPTION', `diagnose needs a technique: ${TECHNIQUES.join(', ')} (e.g. mistique diagnose svcca fm.cnn.dense2 fm.cnn.pool2)`);
  }
  const names = classNames(o.classes);
  await withStore(dir, async (s) => {
    const by = o.by ? await query(s, o.by, o.rows) : null;
    switch (technique) {
      case 'pointq': {
        const m = await query(s, need(args[0], 'the key'), need(o.row, '--row'));
        const r = pointq(m, num('row', o.row, 0, true));
        if (o.json) { io.out(json({ ...r, shape: m.shape })); return; }
        if (m.shape && m.shape.length === 3) {
          const [C, H, W] = m.shape as [number, number, number];
          noK(o, 'pointq', '--channel');
          const c = num('channel', o.channel, 0, true);
          if (c < 0 || c >= C) throw new MistiqueError('BAD_OPTION', `--channel selects the channel to print: 0…${C - 1}`);
          io.out(`row ${r.row}, channel ${c} of ${C} (${H}×${W}):`);
          for (let y = 0; y < H; y++) io.out(Array.from(r.values.subarray(c * H * W + y * W, c * H * W + (y + 1) * W), (v) => formatValue(+v.toPrecision(3)).padStart(8)).join(''));
        } else {
          io.out(formatTable(['column', 'value'], r.columns.map((c, j) => [c, formatValue(m.get(0, j))]), [false, true]));
        }
        io.out(source(m));
        return;
      }
      case 'topk': {
        const { matrix: m, ...t } = await s.topk(need(args[0], 'the column key (project.model.intermediate.column)'), num('k', o.k, 10, true), { order: o.asc ? 'asc' : 'desc', rows: o.rows === undefined ? undefined : parseRows(o.rows) });
        const extra = by ? lookup(by, t.rowIds) : null;
        if (o.json) { io.out(json({ ...t, by: extra })); return; }
        io.out(formatTable(['row_id', t.column, ...(extra?.columns ?? [])],
          Array.from(t.rowIds, (id, i) => [id, formatValue(t.values[i]!), ...(extra ? extra.rows[i]!.map((c) => className(c, names)) : [])]), [true, true]));
        if (t.nanSkipped) io.out(`${t.nanSkipped} ${t.nanSkipped === 1 ? 'row' : 'rows'} with NaN left out`);
        const c = t.chunks;
        io.out(m ? source(m) : c!.read < c!.total ? `read ${c!.read} of ${c!.total} chunks of the column: its zone maps (least and greatest value per chunk) ruled out the rest` : `read all ${c!.total} chunks of the column (their zone maps ruled none out)`);
        return;
      }
      case 'coldiff': {
        const a = await query(s, need(args[0], 'two column keys'), o.rows);
        const b = await query(s, need(args[1], 'two column keys'), o.rows);
        const d = colDiff(a, 0, b, 0, num('tolerance', o.tolerance, 0));
        noK(o, 'coldiff', '--limit');
        const limit = rowLimit(o.limit);
        if (o.json) { io.out(json(d)); return; }
        io.out(formatTable(['row_id', a.columns[0]!.key, b.columns[0]!.key], Array.from(d.rowIds.subarray(0, limit), (id, i) => [id, formatValue(d.a[i]!), formatValue(d.b[i]!)]), [true, true, true]));
        io.out(`${d.rowIds.length} of ${d.compared} shared rows differ${d.rowIds.length > limit ? ` (first ${limit} shown; --limit for more)` : ''}`);
        return;
      }
      case 'coldist': {
        const m = await query(s, need(args[0], 'the column key'), o.rows);
        const d = colDist(m, 0, num('bins', o.bins, 20, true));
        if (o.json) { io.out(json(d)); return; }
        io.out(`${d.column}: ${d.count} rows (${d.nan} NaN, ${d.posInf} +Infinity, ${d.negInf} -Infinity); mean ${formatValue(d.mean)}, std ${formatValue(d.std)}`);
        io.out(Object.entries(d.quantiles).map(([q, v]) => `${q} ${formatValue(v)}`).join('  '));
        const max = Math.max(1, ...d.counts);
        d.counts.forEach((c, i) => io.out(`${formatValue(d.edges[i]!).padStart(12)} ${'█'.repeat(Math.round((40 * c) / max)).padEnd(40)} ${c}`));
        return;
      }
      case 'rowdiff': {
        const ids = need(o.rows, '--rows A,B');
        const m = await query(s, need(args[0], 'the key'), ids);
        const two = (parseRows(ids) as number[]);
        if (two.length !== 2) throw new MistiqueError('BAD_ROWS', `rowdiff compares two rows: --rows A,B (got ${two.length})`);
        noK(o, 'rowdiff', '--limit');
        const r = rowDiff(m, two[0]!, two[1]!, rowLimit(o.limit));
        if (o.json) { io.out(json(r)); return; }
        io.out(formatTable(['column', `row ${two[0]}`, `row ${two[1]}`, 'difference'], r.columns.map((c, j) => [c, formatValue(r.a[j]!), formatValue(r.b[j]!), formatValue(r.diff[j]!)]), [false, true, true, true]));
        return;
      }
      case 'knn': {
        const key = need(args[0], 'the key');
        const metric = (o.metric ?? 'euclidean') as 'euclidean' | 'cosine';
        const row = num('row', need(o.row, '--row'), 0, true), k = num('k', o.k, 10, true);
        // a whole layer goes through the store (its vector index when one was built); chosen columns are searched exactly
        const parts = key.split('.');
        const layer = (parts.length === 3 || (parts.length === 4 && parts[3] === '*')) && !parts.slice(0, 3).some((x) => x.includes('*')) ? parts.slice(0, 3).join('.') : null;
        let m: Matrix | undefined, r: ReturnType<typeof knn>, how: string;
        if (layer) {
          const x = await s.knn(layer, row, { k, metric, exact: o.exact, rows: o.rows === undefined ? undefined : parseRows(o.rows) });
          ({ matrix: m } = x); r = x;
          how = x.path === 'index' ? `answered by ${layer}'s vector index (HNSW, ${metric}) in ${x.ms.toFixed(1)} ms; --exact searches every row` : source(x.matrix!);
        } else {
          if (o.exact) throw new MistiqueError('BAD_OPTION', '--exact applies to a whole layer (project.model.layer); chosen columns are always searched exactly');
          m = await query(s, key, o.rows);
          r = knn(m, row, { k, metric });
          how = source(m);
        }
        const extra = by ? lookup(by, [r.query, ...r.rowIds]) : null;
        if (o.json) { io.out(json({ ...r, metric, by: extra })); return; }
        io.out(formatTable(['', 'row_id', `${metric} distance`, ...(extra?.columns ?? [])],
          [[`query`, r.query, 0, ...(extra ? extra.rows[0]!.map((c) => className(c, names)) : [])],
            ...Array.from(r.rowIds, (id, i) => [`${i + 1}`, id, formatValue(r.distances[i]!), ...(extra ? extra.rows[i + 1]!.map((c) => className(c, names)) : [])])], [true, true, true]));
        if (r.skipped) io.out(`${r.skipped} rows with NaN or ±Infinity left out`);
        io.out(how);
        return;
      }
      case 'svcca': {
        const a = await query(s, need(args[0], 'two keys'), o.rows);
        const b = await query(s, need(args[1], 'two keys'), o.rows);
        const r = await svcca(a, b, { variance: num('variance', o.variance, 0.99) });
        if (o.json) { io.out(json(r)); return; }
        io.out(`SVCCA ${args[0]} ~ ${args[1]}: ${r.mean.toFixed(4)} (mean of ${r.correlations.length} canonical correlations over ${r.rows} examples${r.droppedRows ? `; ${r.droppedRows} rows with NaN/±Infinity left out` : ''})`);
        io.out(`kept directions (${(num('variance', o.variance, 0.99) * 100).toFixed(0)}% of the variance): ${r.a.kept} of ${r.a.columns} and ${r.b.kept} of ${r.b.columns}`);
        if (r.forced > 0) io.out(`caution: ${r.forced} of the ${r.correlations.length} correlations are 1 by dimension count alone (${r.a.kept} + ${r.b.kept} directions in the ${r.rows - 1} that ${r.rows} examples span), whatever the layers compute — this SVCCA says little about them; give it more examples than directions kept`);
        io.out(`correlations: ${Array.from(r.correlations.subarray(0, 10), (c) => c.toFixed(3)).join(' ')}${r.correlations.length > 10 ? ' …' : ''}`);
        io.out(`time (ms): ${Object.entries(r.ms).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        io.out(`${source(a)}; ${source(b)}`);
        return;
      }
      case 'heatmap': {
        if (!by) throw new MistiqueError('BAD_OPTION', 'heatmap needs the classes: --by <key of labels or predicted classes>, e.g. --by fm.data.labels.label');
        const m = await query(s, need(args[0], 'the layer key'), o.rows);
        // scores (a classifier's logits or probabilities: several numeric columns) give each row the class of its largest
        const scores = by.ncols > 1 && by.columns.every((c) => c.type !== 'utf8');
        if (scores) io.err(`--by ${o.by}: ${by.ncols} columns of scores; each example's class is the column of its largest (the predicted class)`);
        const h = heatmap(m, scores ? predictedClass(by) : by, { perChannel: o.perChannel ?? false });
        const out = o.out ?? 'vis.png';
        fs.writeFileSync(out, heatmapPng(h));
        if (o.json) { io.out(json({ ...h, png: out })); return; }
        const U = h.units.length;
        io.out(formatTable(['class', 'examples', 'most active unit', 'its mean'], h.classes.map((c, k) => {
          let best = 0;
          for (let u = 1; u < U; u++) if (h.values[k * U + u]! > h.values[k * U + best]!) best = u;
          return [className(c, names), h.counts[k]!, h.units[best]!, formatValue(h.values[k * U + best]!)];
        }), [false, true, false, true]));
        io.out(`wrote ${out}: ${h.classes.length} classes × ${U} ${o.perChannel ? 'channels' : 'units'} (each unit scaled to its range across classes)`);
        return;
      }
      case 'netdissect': {
        const key = need(args[0], 'the layer key (project.model.layer)');
        const [p, mname] = key.split('.');
        const wf = s.metadata.workflows.get(p ?? '', mname ?? '');
        if (wf?.kind !== 'dnn') throw new MistiqueError('BAD_KEY', `${key} is not a layer of a logged network: netdissect needs project.model.layer`);
        const spec = JSON.parse(wf.spec) as DnnSpec;
        const m = await query(s, key, o.rows);
        const groups = layerGroups(spec, key.split('.')[2] ?? '');
        if (groups.length !== 1) throw new MistiqueError('BAD_KEY', `${key} is over images of ${groups.length} shapes (${groups.map((g) => g.tag).join(', ')}): netdissect needs the images behind each row in one shape — a layer stored per input shape (its name ends in -<shape>)`);
        const images = await s.getIntermediates(`${groups[0]!.inputs[0]!.key}.*`, { rows: m.rowIds, path: 'read' });
        const concepts = pixelConcepts(images.values, images.rowIds);
        const r = netdissect(m, concepts, { alpha: num('alpha', o.alpha, 0.005) });
        if (o.json) { io.out(json(r)); return; }
        noK(o, 'netdissect', '--limit');
        const top = [...r.units].sort((a, b) => b.iou - a.iou).slice(0, rowLimit(o.limit));
        io.out(formatTable(['unit', 'concept', 'IoU', 'T_k'], top.map((u) => [u.unit, u.concept, u.iou.toFixed(3), formatValue(+u.threshold.toPrecision(4))]), [true, false, true, true]));
        const per = new Map<string, number>();
        for (const u of r.units) if (u.iou >= 0.04) per.set(u.concept, (per.get(u.concept) ?? 0) + 1);
        io.out(`${r.units.length} units over ${r.rows} images (α = ${r.alpha}); units with IoU ≥ 0.04 per concept: ${[...per].map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);
        io.out(`concepts are pixel masks made from each image (datasets/fashion-mnist/concepts.ts): ${r.concepts.join(', ')}`);
        const out = o.out ?? 'netdissect.png';
        fs.writeFileSync(out, dissectionPng(m, images, top.slice(0, 8)));
        io.out(`wrote ${out}: the ${Math.min(8, top.length)} best units (rows), each on the 6 images that excite it most, its mask in red`);
        return;
      }
    }
  }, false, io);
}
