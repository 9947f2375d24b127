// The compare page: two columns side by side (COL_DIFF: a scatter, how many rows differ, the rows that
// disagree most with their features or images), and SVCCA between the layers of two models or
// checkpoints as a matrix, its cells filled as they are computed.
import { imageCanvas, Plot } from '../charts.js';
import { api, errorBox, f32, fmt, h, link, ms, pageUrl, ready, table } from '../util.js';
import type { StoreData } from './store.js';

interface Cmp {
  a: string; b: string; compared: number; differ: number; meanAbsDiff: number | null; correlation: number | null; points: [number, number | null, number | null][]; sampledEvery: number;
  worst: { row: number; a: number | null; b: number | null }[]; features: { key: string; columns: string[]; more: number; values: ((number | string | null)[] | null)[] } | null;
  images: { shape: number[]; values: string[] } | null; sources: { key: string; path: string; ms: number }[];
}

export async function comparePage(main: HTMLElement, q: URLSearchParams): Promise<void> {
  const s = await api<StoreData>('store');
  const columnKeys = s.items.filter((i) => i.columns === 1 || (i.shape === null && i.columns <= 64)).map((i) => i.key);
  const list = h('datalist#keys', null, columnKeys.map((k) => h('option', { value: k })));
  const a = h('input', { value: q.get('a') ?? '', placeholder: 'project.model.intermediate[.column]', list: 'keys', size: 44, 'aria-label': 'a' });
  const b = h('input', { value: q.get('b') ?? '', placeholder: 'project.model.intermediate[.column]', list: 'keys', size: 44, 'aria-label': 'b' });
  const out = h('div#diff');
  const go = (): void => { history.replaceState(null, '', pageUrl('compare', { ...Object.fromEntries(new URL(location.href).searchParams), a: a.value, b: b.value })); void diff(a.value, b.value, out); };
  const models = s.models.filter((m) => m.kind === 'dnn').map((m) => `${m.project}.${m.model}`);
  const ma = h('select', { 'aria-label': 'model a' }, models.map((m) => h('option', { selected: m === q.get('ma') }, m)));
  const mb = h('select', { 'aria-label': 'model b' }, models.map((m, i) => h('option', { selected: q.get('mb') ? m === q.get('mb') : i === Math.min(1, models.length - 1) }, m)));
  const svOut = h('div#svcca');
  const sv = (): void => { history.replaceState(null, '', pageUrl('compare', { ...Object.fromEntries(new URL(location.href).searchParams), ma: ma.value, mb: mb.value })); void svccaMatrix(s, ma.value, mb.value, svOut); };
  main.replaceChildren(
    h('h1', null, 'Compare'),
    h('section', null, h('h2', null, 'Two columns (COL_DIFF)'), list,
      h('p.controls', null, a, ' vs ', b, ' ', h('button', { onclick: go }, 'compare')),
      h('p.muted', null, 'e.g. the predictions of two pipelines (zillow.P1_1.pred_test and zillow.P2_1.pred_test), or a logit at two checkpoints.'), out),
    h('section', null, h('h2', null, 'SVCCA between layers'),
      models.length ? h('p.controls', null, ma, ' vs ', mb, ' ', h('button', { onclick: sv }, 'compute')) : h('p.muted', null, 'no network in this store: log one with mistique log <checkpoint.onnx>'), svOut),
  );
  if (a.value && b.value) await diff(a.value, b.value, out);
  if (q.get('ma') && q.get('mb')) void svccaMatrix(s, ma.value, mb.value, svOut);
  ready('compare');
}

async function diff(a: string, b: string, out: HTMLElement): Promise<void> {
  out.replaceChildren(h('p.muted', null, 'reading…'));
  try {
    const c = await api<Cmp>('compare', { a, b, limit: 20 });
    const pts = c.points.filter((p) => p[1] !== null && p[2] !== null);
    const lo = Math.min(...pts.map((p) => Math.min(p[1]!, p[2]!))), hi = Math.max(...pts.map((p) => Math.max(p[1]!, p[2]!)));
    out.replaceChildren(
      h('div.stats', null, ...[['rows compared', c.compared], ['rows that differ', c.differ], ['mean |a − b|', c.meanAbsDiff], ['correlation', c.correlation]]
        .map(([l, v]) => h('div.stat', { 'data-stat': String(l) }, h('div.value', null, typeof v === 'number' ? fmt(+v.toPrecision(4)) : '–'), h('div.label', null, String(l))))),
      h('p.muted', null, c.sources.map((x) => `${x.key}: ${x.path === 'read' ? 'read' : 're-run'} in ${ms(x.ms)}`).join('; '), c.sampledEvery > 1 ? ` — the scatter shows every ${c.sampledEvery}th row` : ''),
      Plot.plot({
        width: 480, height: 420, grid: true, x: { label: c.a }, y: { label: c.b },
        marks: [Plot.line([[lo, lo], [hi, hi]], { stroke: '#aaa', strokeDasharray: '4,3' }), Plot.dot(pts, { x: (p: number[]) => p[1], y: (p: number[]) => p[2], r: 1.6, fill: '#3b6fb6', fillOpacity: 0.5, title: (p: number[]) => `row ${p[0]}: ${fmt(p[1])} vs ${fmt(p[2])}` })],
      }) as Element,
      h('h3', null, `The ${c.worst.length} rows where they disagree most`),
      table(['row_id', 'a', 'b', '|a − b|', ...(c.features ? c.features.columns : []), ...(c.images ? ['input'] : [])],
        c.worst.map((w, i) => [String(w.row), w.a ?? '–', w.b ?? '–', w.a !== null && w.b !== null ? +Math.abs(w.a - w.b).toPrecision(6) : '–',
          ...(c.features ? (c.features.values[i] ?? c.features.columns.map(() => null)).map((v) => typeof v === 'number' ? v : fmt(v)) : []),
          ...(c.images ? [c.images.values[i] ? imageCanvas(f32(c.images.values[i]!), c.images.shape, 1) : ''] : [])])),
      c.features ? h('p.muted', null, 'features from ', link(pageUrl('intermediate', { key: c.features.key }), c.features.key), c.features.more ? ` (${c.features.more} more columns there)` : '') : '',
    );
  } catch (e) { out.replaceChildren(errorBox(e)); }
}

/** The layers of model A × the layers of model B, one SVCCA request per cell, drawn as they arrive. */
async function svccaMatrix(s: StoreData, ma: string, mb: string, out: HTMLElement): Promise<void> {
  const layers = (m: string) => s.items.filter((i) => `${i.project}.${i.model}` === m && i.shape !== null && !/^relu\d*$/.test(i.name)).map((i) => i.key);
  const la = layers(ma), lb = layers(mb);
  if (!la.length || !lb.length) { out.replaceChildren(h('p.muted', null, 'no stored layers to compare')); return; }
  const cells: { a: string; b: string; v: number | null; forced: number }[] = [];
  const note = h('p.muted', null, `0 of ${la.length * lb.length} computed (SVCCA over the first 500 rows; ReLU layers left out)`);
  const caution = h('p.muted', null, '* more directions kept than 500 rows can separate: some correlations are 1 by dimension count alone, and the value says little');
  const chart = h('div');
  const draw = (): void => {
    chart.replaceChildren(Plot.plot({
      width: 120 + 46 * lb.length, height: 90 + 30 * la.length, marginLeft: 110, marginBottom: 80, padding: 0.04,
      x: { domain: lb.map(short), label: mb, tickRotate: -40 }, y: { domain: la.map(short), label: ma }, color: { type: 'linear', scheme: 'blues', domain: [0, 1], legend: true, label: 'mean canonical correlation' },
      marks: [
        Plot.cell(cells, { x: (d: { b: string }) => short(d.b), y: (d: { a: string }) => short(d.a), fill: (d: { v: number | null }) => d.v, title: (d: { a: string; b: string; v: number | null }) => `${d.a} × ${d.b}: ${d.v === null ? '…' : d.v.toFixed(4)}` }),
        Plot.text(cells, { x: (d: { b: string }) => short(d.b), y: (d: { a: string }) => short(d.a), text: (d: { v: number | null; forced: number }) => (d.v === null ? '' : `${d.v.toFixed(2)}${d.forced > 0 ? '*' : ''}`), fill: (d: { v: number | null }) => ((d.v ?? 0) > 0.6 ? 'white' : 'black'), fontSize: 10 }),
      ],
    }) as Element);
  };
  out.replaceChildren(note, chart);
  let done = 0;
  for (const a of la) for (const b of lb) {
    try {
      const r = await api<{ mean: number | null; forced: number }>('svcca', { a, b, rows: 500 });
      cells.push({ a, b, v: r.mean, forced: r.forced });
      if (r.forced > 0 && !caution.isConnected) out.append(caution);
    } catch (e) { out.append(errorBox(e)); return; }
    note.textContent = `${++done} of ${la.length * lb.length} computed (SVCCA over the first 500 rows; ReLU layers left out)`;
    if (done % 4 === 0 || done === la.length * lb.length) draw();
  }
  out.dataset.done = 'true';
}

function short(key: string): string { return key.split('.').slice(2).join('.'); }
