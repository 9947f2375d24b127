// The viewer's JSON API (`mistique serve`, docs/API.md): one function per endpoint under /api/, each a
// question to the Store answered as plain JSON. Tensor values travel as base64 little-endian float32
// (a layer's activation maps are 10 000s of values: JSON numbers would cost more than the read).
// Every failure is a MistiqueError, which the server turns into a 4xx with its message.
import { colDist, svcca } from '../diagnostics/index.js';
import { MistiqueError } from '../errors.js';
import { layerGroups, type DnnSpec } from '../executor/onnx/dnnspec.js';
import type { IntermediateRow } from '../metadata/rows.js';
import type { Store } from '../mistique.js';
import type { Matrix } from '../model/matrix.js';
import { tensorColumnNames } from '../model/dataframe.js';
import { parseKey } from '../model/key.js';
import { findIntermediate, intermediateByKey } from '../reader/resolve.js';
import { rowPositions } from './rowpos.js';

export type Params = URLSearchParams;

/** A float32 array as base64 of its little-endian bytes (what the browser decodes into a Float32Array). */
export function f32(values: ArrayLike<number>): string {
  const a = values instanceof Float32Array ? values : Float32Array.from(values);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** JSON for numbers that may be NaN or ±Infinity: null (as the CLI's JSON does). */
export function num(x: number | string | null | undefined): number | string | null {
  return typeof x === 'number' && !Number.isFinite(x) ? null : x ?? null;
}

function param(p: Params, name: string): string {
  const v = p.get(name);
  if (v === null || v === '') throw new MistiqueError('BAD_OPTION', `missing ?${name}=`);
  return v;
}

function intParam(p: Params, name: string, dflt: number, min: number, max: number): number {
  const v = p.get(name);
  if (v === null || v === '') return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min || x > max) throw new MistiqueError('BAD_OPTION', `?${name}=${v}: give an integer from ${min} to ${max}`);
  return x;
}

/** The stored intermediate a `project.model.intermediate` key names (BAD_KEY, NOT_FOUND otherwise). */
export function intermediateOf(store: Store, key: string): IntermediateRow {
  return intermediateByKey(store.metadata, key);
}

const keyOf = (r: IntermediateRow): string => `${r.project}.${r.model}.${r.name}`;
const shapeOf = (r: IntermediateRow): number[] | null => (r.shape ? (JSON.parse(r.shape) as number[]) : null);

function dnnSpec(store: Store, project: string, model: string): DnnSpec | null {
  const wf = store.metadata.workflows.get(project, model);
  return wf?.kind === 'dnn' ? (JSON.parse(wf.spec) as DnnSpec) : null;
}

/** What each stage or layer of a model is computed from (its lineage), by key. */
function lineage(store: Store, r: IntermediateRow): { op: string | null; inputs: string[] } {
  const wf = store.metadata.workflows.get(r.project, r.model);
  if (!wf) return { op: null, inputs: [] };
  const st = store.metadata.workflows.stages(wf.model_id).find((s) => s.name === r.name);
  if (!st) return { op: null, inputs: [] };
  const inputs = (JSON.parse(st.inputs) as string[]).map((i) => (i.includes('.') ? i : `${r.project}.${r.model}.${i}`));
  return { op: st.op, inputs };
}

/** The network input an intermediate of a DNN model was computed from (its images), if it is stored. */
function inputOf(store: Store, r: IntermediateRow): { key: string; shape: number[] } | null {
  const spec = dnnSpec(store, r.project, r.model);
  if (!spec) return null;
  // a layer stored per group of examples (one input shape) has its group's images; a layer over images
  // of several shapes has no one image per row to show beside it
  const groups = layerGroups(spec, r.name);
  if (groups.length !== 1) return null;
  const key = groups[0]!.inputs[0]!.key;
  const row = findIntermediate(store.metadata, key);
  return row ? { key, shape: shapeOf(row) ?? [] } : null;
}

function range(v: ArrayLike<number>): { min: number | null; max: number | null } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < v.length; i++) { const x = v[i]!; if (x < lo) lo = x; if (x > hi) hi = x; }
  return lo <= hi ? { min: lo, max: hi } : { min: null, max: null };
}

/** GET /api/store: totals, models, every intermediate, storage by scheme and by model, the cost model's bands. */
export function storePage(store: Store): unknown {
  const st = store.stats();
  const rows = new Map(store.metadata.intermediates().map((r) => [keyOf(r), r]));
  const items = st.items.map((i) => {
    const r = rows.get(i.key)!;
    return { ...i, project: r.project, model: r.model, name: r.name, chunks: r.n_chunks, chunksDeduplicated: r.n_chunks_dedup, logMs: r.t_log_ms };
  });
  const models = new Map<string, { project: string; model: string; kind: string | null; checkpoint: string | null; intermediates: number; rows: number; bytesRaw: number; bytesStored: number; queries: number }>();
  for (const i of items) {
    const k = `${i.project}.${i.model}`;
    let m = models.get(k);
    if (!m) {
      const wf = store.metadata.workflows.get(i.project, i.model);
      const spec = wf?.kind === 'dnn' ? (JSON.parse(wf.spec) as DnnSpec) : null;
      m = { project: i.project, model: i.model, kind: wf?.kind ?? null, checkpoint: spec?.checkpoint ?? null, intermediates: 0, rows: 0, bytesRaw: 0, bytesStored: 0, queries: 0 };
      models.set(k, m);
    }
    m.intermediates++; m.rows = Math.max(m.rows, i.rows); m.bytesRaw += i.bytesRaw; m.bytesStored += i.bytesStored; m.queries += i.queries;
  }
  const byScheme = new Map<string, { scheme: string; intermediates: number; bytesRaw: number; bytesStored: number }>();
  for (const i of items) {
    const s = byScheme.get(i.scheme) ?? { scheme: i.scheme, intermediates: 0, bytesRaw: 0, bytesStored: 0 };
    s.intermediates++; s.bytesRaw += i.bytesRaw; s.bytesStored += i.bytesStored;
    byScheme.set(i.scheme, s);
  }
  const { items: _items, ...totals } = st;
  return { ...totals, dir: undefined, name: st.dir.split(/[\\/]/).filter(Boolean).at(-1) ?? st.dir, models: [...models.values()], byScheme: [...byScheme.values()], accuracy: store.estimateAccuracy(), items };
}

/** GET /api/intermediate?key=p.m.i: its summary, schema, lineage and (a layer) the network input it came from. */
export function intermediatePage(store: Store, p: Params): unknown {
  const r = intermediateOf(store, param(p, 'key'));
  const summary = store.list(keyOf(r)).find((s) => s.key === keyOf(r))!;
  const shape = shapeOf(r);
  const columns = shape ? [] : store.metadata.columns(r.id).map((c) => ({ name: c.name ?? String(c.idx), type: c.type }));
  const blocks = store.metadata.rowblocks(r.id);
  return {
    ...summary, project: r.project, model: r.model, name: r.name, originalName: r.original_name, kind: shape ? 'tensor' : 'table', columnList: columns,
    // a loop, not Math.min(...): a store of 10⁸ rows has 10⁵ RowBlocks, too many arguments for a call
    firstRowId: blocks.length ? blocks.reduce((a, b) => Math.min(a, b.min_row_id), Infinity) : null, lastRowId: blocks.length ? blocks.reduce((a, b) => Math.max(a, b.max_row_id), -Infinity) : null,
    chunks: r.n_chunks, chunksDeduplicated: r.n_chunks_dedup, workflow: store.metadata.workflows.get(r.project, r.model)?.kind ?? null,
    lineage: lineage(store, r), input: inputOf(store, r),
  };
}

function cells(m: Matrix, i: number, c0: number, c1: number): (number | string | null)[] {
  const out: (number | string | null)[] = [];
  for (let j = c0; j < c1; j++) out.push(num(m.get(i, j)));
  return out;
}

/** GET /api/rows?key=p.m.i&offset=&limit=&col=&cols=: a page of rows by position (columns col … col+cols). */
export async function rowsPage(store: Store, p: Params): Promise<unknown> {
  const r = intermediateOf(store, param(p, 'key'));
  const offset = intParam(p, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(p, 'limit', 100, 1, 1000);
  const pos = await rowPositions(store, r);
  const ids = pos.slice(offset, offset + limit);
  const c0 = intParam(p, 'col', 0, 0, Math.max(0, r.n_cols - 1));
  const c1 = Math.min(r.n_cols, c0 + intParam(p, 'cols', 64, 1, 4096));
  // only the window's columns are read (a page of a 265 000-value layer is not 100 MB)
  const shape = shapeOf(r);
  const names = shape ? tensorColumnNames(shape).slice(c0, c1) : store.metadata.columns(r.id).slice(c0, c1).map((c) => c.name ?? String(c.idx));
  const t0 = performance.now();
  const m = ids.length ? await store.getIntermediates(names.map((n) => `${keyOf(r)}.${n}`), { rows: ids }) : null;
  return {
    key: keyOf(r), total: pos.length, offset, col: c0, columns: m ? m.columns.map((c) => ({ name: c.name, type: c.type })) : [],
    rowIds: Array.from(ids), rows: m ? Array.from({ length: m.nrows }, (_, i) => cells(m, i, 0, m.ncols)) : [], ms: performance.now() - t0, sources: m?.sources ?? [],
  };
}

/** One row of an intermediate; a row id it does not hold is NOT_FOUND (a 404), as a missing page is. */
async function oneRow(store: Store, key: string, id: number): Promise<Matrix> {
  try {
    const m = await store.getIntermediates(`${key}.*`, { rows: [id] });
    if (m.nrows === 0) throw new MistiqueError('NOT_FOUND', `row ${id} is not in ${key}`);
    return m;
  } catch (e) {
    if (e instanceof MistiqueError && e.code === 'BAD_ROWS') throw new MistiqueError('NOT_FOUND', e.message, { cause: e });
    throw e;
  }
}

/** GET /api/row?key=p.m.i&row=ID: one row by its id (POINTQ) — a tensor's values (base64 float32) and shape. */
export async function rowPage(store: Store, p: Params): Promise<unknown> {
  const r = intermediateOf(store, param(p, 'key'));
  const id = intParam(p, 'row', 0, -2147483648, 2147483647);
  const m = await oneRow(store, keyOf(r), id);
  const shape = shapeOf(r);
  if (shape) return { key: keyOf(r), row: id, shape, values: f32(m.values), ...range(m.values) };
  return { key: keyOf(r), row: id, columns: m.columns.map((c) => ({ name: c.name, type: c.type })), values: cells(m, 0, 0, m.ncols) };
}

/** GET /api/heatmap?key=p.m.layer&row=ID: one example's activation maps and, beside them, its input image. */
export async function heatmapPage(store: Store, p: Params): Promise<unknown> {
  const t0 = performance.now();
  const r = intermediateOf(store, param(p, 'key'));
  const shape = shapeOf(r);
  if (!shape) throw new MistiqueError('BAD_OPTION', `${keyOf(r)} is a table, not a tensor layer: heatmaps are of layers (see its rows instead)`);
  const id = intParam(p, 'row', 0, -2147483648, 2147483647);
  const input = inputOf(store, r);
  const [m, x] = await Promise.all([
    oneRow(store, keyOf(r), id),
    input && input.key !== keyOf(r) ? store.getIntermediates(`${input.key}.*`, { rows: [id] }).catch(() => null) : Promise.resolve(null),
  ]);
  const values = m.values as Float32Array;
  return {
    key: keyOf(r), row: id, shape, values: f32(values), ...range(values), path: m.sources[0]?.path, loss: m.sources[0]?.loss,
    input: x && x.nrows ? { key: input!.key, shape: input!.shape, values: f32(x.values), ...range(x.values) } : null,
    serverMs: performance.now() - t0,
  };
}

/** GET /api/coldist?key=p.m.i.column&bins=: a column's distribution (COL_DIST). */
export async function colDistPage(store: Store, p: Params): Promise<unknown> {
  const key = param(p, 'key');
  parseKey(key);
  if (/[*?]/.test(key)) throw new MistiqueError('BAD_KEY', `give one column, not a pattern: ${key}`);
  const m = await store.getIntermediates(key);
  const d = colDist(m, 0, intParam(p, 'bins', 30, 1, 500));
  return { ...d, min: num(d.min), max: num(d.max), mean: num(d.mean), std: num(d.std), edges: Array.from(d.edges), counts: Array.from(d.counts), sources: m.sources };
}

/** GET /api/topk?key=p.m.i.column&k=&order=desc|asc: the rows with the largest (smallest) values, and every column of them. */
export async function topkPage(store: Store, p: Params): Promise<unknown> {
  const key = param(p, 'key');
  const k = intParam(p, 'k', 10, 1, 1000);
  const o = p.get('order') ?? 'desc';
  if (o !== 'asc' && o !== 'desc') throw new MistiqueError('BAD_OPTION', `?order=${o}: give desc (the largest first) or asc`);
  const order: 'asc' | 'desc' = o;
  const t = await store.topk(key, k, { order });
  const [pr, mo, im] = key.split('.');
  const r = intermediateOf(store, `${pr}.${mo}.${im}`);
  const shape = shapeOf(r);
  // a table's rows with all their columns; a tensor's with the input images they came from
  let rows: unknown = null, images: unknown = null;
  if (!shape && t.rowIds.length) {
    const m = await store.getIntermediates(`${keyOf(r)}.*`, { rows: Array.from(t.rowIds) });
    const at = m.rowIndex();
    rows = { columns: m.columns.map((c) => c.name), values: Array.from(t.rowIds, (id) => cells(m, at.get(id)!, 0, m.ncols)) };
  } else if (shape && t.rowIds.length) images = await inputImages(store, r, t.rowIds);
  return { key: t.column, order, rowIds: Array.from(t.rowIds), values: Array.from(t.values, num), nanSkipped: t.nanSkipped, chunks: t.chunks ?? null, rows, images };
}

async function inputImages(store: Store, r: IntermediateRow, ids: ArrayLike<number>): Promise<{ key: string; shape: number[]; values: string[] } | null> {
  const input = inputOf(store, r);
  if (!input) return null;
  const x = await store.getIntermediates(`${input.key}.*`, { rows: Array.from(ids) });
  const at = x.rowIndex();
  return { key: input.key, shape: input.shape, values: Array.from(ids, (id) => { const i = at.get(id); return i === undefined ? '' : f32(x.row(i)); }) };
}

/**
 * GET /api/unit?key=p.m.layer&unit=U&k=: the examples that excite one unit most — a channel of a [C,H,W]
 * layer (by its map's largest value, as Netdissect ranks them) or one value position of a vector layer —
 * with the unit's map in each and the input images.
 */
export async function unitPage(store: Store, p: Params): Promise<unknown> {
  const t0 = performance.now();
  const r = intermediateOf(store, param(p, 'key'));
  const shape = shapeOf(r);
  if (!shape) throw new MistiqueError('BAD_OPTION', `${keyOf(r)} is a table: a unit is a channel or a value of a layer`);
  const units = shape.length >= 2 ? shape[0]! : shape.reduce((a, b) => a * b, 1);
  const u = intParam(p, 'unit', 0, 0, units - 1);
  const k = intParam(p, 'k', 9, 1, 100);
  let rowIds: number[], scores: number[], maps: string[] | null = null;
  if (shape.length >= 2) {
    const m = await store.getIntermediates(`${keyOf(r)}.${u}_*`);
    const w = m.ncols, v = m.values;
    const best = new Float64Array(m.nrows);
    for (let i = 0; i < m.nrows; i++) {
      let b = -Infinity;
      for (let j = i * w; j < (i + 1) * w; j++) { const x = v[j]!; if (x > b) b = x; }
      best[i] = b;
    }
    const order = Array.from({ length: m.nrows }, (_, i) => i).filter((i) => !Number.isNaN(best[i]!)).sort((a, b) => best[b]! - best[a]! || m.rowIds[a]! - m.rowIds[b]!).slice(0, k);
    rowIds = order.map((i) => m.rowIds[i]!); scores = order.map((i) => best[i]!);
    maps = order.map((i) => f32(m.row(i)));
  } else {
    const t = await store.topk(`${keyOf(r)}.${u}`, k);
    rowIds = Array.from(t.rowIds); scores = Array.from(t.values);
  }
  return { key: keyOf(r), unit: u, units, mapShape: shape.length >= 2 ? shape.slice(1) : null, rowIds, scores: scores.map(num), maps, images: await inputImages(store, r, rowIds), serverMs: performance.now() - t0 };
}

/** The one numeric column a compare side names: p.m.i.column, or p.m.i when it has one column. */
async function side(store: Store, key: string): Promise<Matrix> {
  const parts = key.split('.');
  const m = await store.getIntermediates(parts.length === 3 ? `${key}.*` : key);
  if (m.ncols !== 1) throw new MistiqueError('BAD_KEY', `${key} has ${m.ncols} columns: compare one column (add .column to the key)`);
  if (m.columns[0]!.type === 'utf8') throw new MistiqueError('BAD_KEY', `${key} holds strings: compare a numeric column`);
  return m;
}

/**
 * GET /api/compare?a=KEY&b=KEY&limit=&features=p.m.i: two columns over their shared rows (COL_DIFF): a
 * scatter (at most 5 000 points, evenly sampled), how many differ, and the rows where they disagree most
 * with their features (a table's columns) or images (a layer's input).
 */
export async function comparePage(store: Store, p: Params): Promise<unknown> {
  const a = param(p, 'a'), b = param(p, 'b');
  const limit = intParam(p, 'limit', 20, 1, 500);
  const [ma, mb] = await Promise.all([side(store, a), side(store, b)]);
  const bi = mb.rowIndex();
  const ids: number[] = [], xa: number[] = [], xb: number[] = [];
  for (let i = 0; i < ma.nrows; i++) {
    const j = bi.get(ma.rowIds[i]!);
    if (j === undefined) continue;
    ids.push(ma.rowIds[i]!); xa.push(ma.values[i]!); xb.push(mb.values[j]!);
  }
  const n = ids.length;
  let differ = 0, sad = 0, fin = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let i = 0; i < n; i++) {
    const x = xa[i]!, y = xb[i]!;
    if (!(x === y || (Number.isNaN(x) && Number.isNaN(y)))) differ++;
    if (Number.isFinite(x) && Number.isFinite(y)) { fin++; sad += Math.abs(x - y); sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y; }
  }
  const cov = sab / fin - (sa / fin) * (sb / fin), va = saa / fin - (sa / fin) ** 2, vb = sbb / fin - (sb / fin) ** 2;
  const step = Math.max(1, Math.ceil(n / 5000));
  const points = [];
  for (let i = 0; i < n; i += step) points.push([ids[i]!, num(xa[i]!), num(xb[i]!)]);
  const worst = Array.from({ length: n }, (_, i) => i).sort((i, j) => disagreement(xa[j]!, xb[j]!) - disagreement(xa[i]!, xb[i]!) || ids[i]! - ids[j]!).slice(0, limit);
  const worstIds = worst.map((i) => ids[i]!);
  // features: the key asked for, else a layer's input images, else the stage's first table input with these rows
  const [pa, ma2, ia] = a.split('.');
  const ra = intermediateOf(store, `${pa}.${ma2}.${ia}`);
  let features: unknown = null;
  const fkey = p.get('features') || null;
  const fr = fkey ? intermediateOf(store, fkey) : inputOf(store, ra) ? null : lineage(store, ra).inputs.map((k) => { try { return intermediateOf(store, k); } catch { return null; } }).find((x) => x && !x.shape) ?? null;
  if (fr && !fr.shape && worstIds.length) {
    const m = await store.getIntermediates(`${keyOf(fr)}.*`, { rows: worstIds });
    const at = m.rowIndex();
    const c1 = Math.min(m.ncols, 12);
    features = { key: keyOf(fr), columns: m.columns.slice(0, c1).map((c) => c.name), more: m.ncols - c1, values: worstIds.map((id) => { const i = at.get(id); return i === undefined ? null : cells(m, i, 0, c1); }) };
  }
  const images = !fr && worstIds.length ? await inputImages(store, ra, worstIds) : null;
  return {
    a: ma.columns[0]!.key, b: mb.columns[0]!.key, compared: n, differ, meanAbsDiff: num(sad / fin), correlation: num(cov / Math.sqrt(va * vb)),
    points, sampledEvery: step, worst: worst.map((i) => ({ row: ids[i]!, a: num(xa[i]!), b: num(xb[i]!) })), features, images,
    sources: [...ma.sources, ...mb.sources],
  };
}

function disagreement(x: number, y: number): number {
  const d = Math.abs(x - y);
  return Number.isNaN(d) ? (Number.isNaN(x) && Number.isNaN(y) ? -1 : Infinity) : d;
}

/** GET /api/svcca?a=p.m.layer&b=p.m.layer&rows=N: SVCCA of two layers over their first N shared rows (default 1 000). */
export async function svccaPage(store: Store, p: Params): Promise<unknown> {
  const ra = intermediateOf(store, param(p, 'a')), rb = intermediateOf(store, param(p, 'b'));
  const n = intParam(p, 'rows', 1000, 10, 100_000);
  const pos = await rowPositions(store, ra);
  const ids = pos.slice(0, n);
  const [ma, mb] = await Promise.all([store.getIntermediates(`${keyOf(ra)}.*`, { rows: ids }), store.getIntermediates(`${keyOf(rb)}.*`, { rows: ids })]);
  const t0 = performance.now();
  const s = await svcca(ma, mb);
  return { a: keyOf(ra), b: keyOf(rb), mean: num(s.mean), rows: s.rows, droppedRows: s.droppedRows, forced: s.forced, kept: [s.a.kept, s.b.kept], columns: [s.a.columns, s.b.columns], correlations: Array.from(s.correlations.subarray(0, 50), num), ms: performance.now() - t0 };
}

/** GET /api/query?key=PATTERN&rows=SPEC: the cost model's estimates and choice, then the result as it chose, timed. */
export async function queryPage(store: Store, p: Params, parseRows: (s: string) => number[] | undefined): Promise<unknown> {
  const key = param(p, 'key');
  const spec = p.get('rows');
  const rows = spec ? parseRows(spec) : undefined;
  const opts = rows ? { rows } : {};
  const estimates = await store.explain(key, opts);
  const t0 = performance.now();
  const m = await store.getIntermediates(key, opts);
  const ms = performance.now() - t0;
  const c1 = Math.min(m.ncols, 32), n = Math.min(m.nrows, 50);
  return {
    key, estimates, ms, sources: m.sources, shape: m.shape, nrows: m.nrows, ncols: m.ncols,
    columns: m.columns.slice(0, c1).map((c) => c.key), rowIds: Array.from(m.rowIds.subarray(0, n)), rows: Array.from({ length: n }, (_, i) => cells(m, i, 0, c1)),
  };
}

/** A value of a SQL result as JSON: a bigint as a number (or a string past 2^53), a list shortened to 16 values. */
function sqlCell(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return num(v);
  if (Array.isArray(v)) return v.length > 16 ? [...v.slice(0, 16).map(sqlCell), `… ${v.length} values`] : v.map(sqlCell);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
  return v;
}

/** GET /api/sql?q=SELECT…&limit=: one read-only statement, sandboxed (no file outside its scratch space). */
export async function sqlPage(store: Store, p: Params): Promise<unknown> {
  const q = param(p, 'q');
  const limit = intParam(p, 'limit', 200, 1, 10_000);
  // only the rows of the page become JavaScript values (the rest are counted)
  const r = await store.sql(q, { sandbox: true, limit });
  return { columns: r.columns, total: r.count, rows: r.rows.map((row) => r.columns.map((c) => sqlCell(row[c]))), reads: r.reads, ms: r.ms };
}
