// The intermediate page: summary and lineage, paged rows (virtualised), a row by id, a column's
// distribution and top rows; for a layer, one example's activation maps beside its input image, and the
// examples that excite a unit most. Its state (row, unit, column) is in the URL, so a view can be shared.
import { legend, mapCanvas, mapGrid, imageCanvas, Plot } from '../charts.js';
import { api, bytes, errorBox, f32, fmt, h, link, ms, pageUrl, ready, table } from '../util.js';
import { virtualTable, type Page } from '../vtable.js';

interface Info {
  key: string; project: string; model: string; name: string; rows: number; columns: number; shape: number[] | null; scheme: string; bytesRaw: number; bytesStored: number; queries: number;
  materialized: boolean; kind: 'tensor' | 'table'; columnList: { name: string; type: string }[]; firstRowId: number | null; lastRowId: number | null; chunks: number; chunksDeduplicated: number;
  workflow: string | null; lineage: { op: string | null; inputs: string[] }; input: { key: string; shape: number[] } | null; originalName: string | null;
}
interface Heat { key: string; row: number; shape: number[]; values: string; min: number | null; max: number | null; path: string; loss: string; input: { key: string; shape: number[]; values: string } | null; serverMs: number }
interface Unit { unit: number; units: number; mapShape: number[] | null; rowIds: number[]; scores: (number | null)[]; maps: string[] | null; images: { shape: number[]; values: string[] } | null; serverMs: number }
interface Dist { column: string; count: number; nan: number; posInf: number; negInf: number; min: number | null; max: number | null; mean: number | null; std: number | null; quantiles: Record<string, number | null>; edges: number[]; counts: number[] }
interface TopK { key: string; rowIds: number[]; values: (number | null)[]; nanSkipped: number; chunks: { read: number; total: number } | null; rows: { columns: string[]; values: (number | string | null)[][] } | null; images: { shape: number[]; values: string[] } | null }

function setParam(name: string, value: string | number | undefined): void {
  const u = new URL(location.href);
  if (value === undefined || value === '') u.searchParams.delete(name); else u.searchParams.set(name, String(value));
  history.replaceState(null, '', u);
}

export async function intermediatePage(main: HTMLElement, q: URLSearchParams): Promise<void> {
  const key = q.get('key') ?? '';
  const info = await api<Info>('intermediate', { key });
  const isLayer = info.kind === 'tensor';
  const row0 = q.get('row') !== null ? Number(q.get('row')) : info.firstRowId ?? 0;
  main.replaceChildren(
    h('h1', null, info.key),
    h('p.crumbs', null, link('/store', 'store'), ' › ', `${info.project}.${info.model}`, info.workflow ? ` (${info.workflow})` : '', ' › ', info.name, info.originalName && info.originalName !== info.name ? h('span.muted', null, ` (${info.originalName})`) : ''),
    h('div.stats', null,
      ...[['rows', String(info.rows)], [isLayer ? 'shape' : 'columns', isLayer ? `[${info.shape!.join('×')}]` : String(info.columns)], ['scheme', info.materialized ? info.scheme : `${info.scheme} (re-run)`],
        ['raw', bytes(info.bytesRaw)], ['stored', bytes(info.bytesStored)], ['chunks (de-duplicated)', `${info.chunks} (${info.chunksDeduplicated})`], ['queries', String(info.queries)]]
        .map(([l, v]) => h('div.stat', { 'data-stat': l }, h('div.value', null, v), h('div.label', null, l)))),
    info.lineage.inputs.length || info.lineage.op ? h('p', null, 'computed by ', h('code', null, info.lineage.op ?? '?'), info.lineage.inputs.length ? ' from ' : '',
      ...info.lineage.inputs.flatMap((k, i) => [i ? ', ' : '', k.split('.').length === 3 ? link(pageUrl('intermediate', { key: k }), k) : k])) : '',
  );
  if (!isLayer) main.append(h('details#schema', null, h('summary', null, `Schema: ${info.columnList.length} columns`),
    table(['#', 'column', 'type'], info.columnList.map((c, j) => [String(j), c.name, c.type]))));
  // every section's first content drawn before the page counts as rendered (what bench:serve times)
  const loads: Promise<void>[] = [];
  if (isLayer) main.append(await mapsSection(info, row0, q.get('unit') !== null ? Number(q.get('unit')) : null));
  const rows = rowsSection(info), lookup = lookupSection(info, isLayer ? null : q.get('row') !== null ? row0 : null);
  main.append(rows.el, lookup.el);
  loads.push(rows.loaded, lookup.loaded);
  if (!isLayer || info.shape!.length === 1) {
    const col = columnSection(info, q.get('col') ?? (isLayer ? '0' : info.columnList.find((c) => c.type !== 'utf8')?.name ?? info.columnList[0]?.name ?? ''));
    main.append(col.el);
    loads.push(col.loaded);
  }
  await Promise.all(loads);
  ready('intermediate');
}

/** A layer: the activation maps of one example next to its input image, and a unit's top examples. */
async function mapsSection(info: Info, row: number, unit: number | null): Promise<HTMLElement> {
  const sec = h('section#maps', null, h('h2', null, 'Activation maps'));
  const input = h('input', { type: 'number', value: row, 'aria-label': 'example row id', style: { width: '7em' } });
  const body = h('div');
  const unitBox = h('div#unit');
  let current = row;
  const show = async (r: number, pick: number | null): Promise<void> => {
    current = r;
    setParam('row', r);
    try {
      const m = await api<Heat>('heatmap', { key: info.key, row: r });
      const v = f32(m.values);
      const lo = m.min ?? 0, hi = m.max ?? 1;
      body.replaceChildren(
        h('p.muted', null, `row ${m.row}: ${m.path === 'read' ? 'read' : 're-run'} in ${ms(m.serverMs)} on the server${m.loss && m.loss !== 'none' ? ` (${m.loss})` : ''}; one colour scale for all channels`),
        h('div.mapsrow', null,
          m.input ? h('figure.inputimg', null, imageCanvas(f32(m.input.values), m.input.shape, 4), h('figcaption', null, h('a', { href: pageUrl('intermediate', { key: m.input.key, row: r }), 'data-app': '' }, 'input'))) : '',
          h('div', null, legend(lo, hi, `${info.name} activation`), mapGrid(v, m.shape, lo, hi, (c) => { void showUnit(c); }, pick ?? undefined))),
      );
    } catch (e) { body.replaceChildren(errorBox(e)); }
  };
  const showUnit = async (c: number): Promise<void> => {
    setParam('unit', c);
    body.querySelectorAll('.map.selected').forEach((x) => x.classList.remove('selected'));
    body.querySelector(`.map[data-channel="${c}"]`)?.classList.add('selected');
    unitBox.replaceChildren(h('p.muted', null, `finding the examples that excite unit ${c} most…`));
    try {
      const u = await api<Unit>('unit', { key: info.key, unit: c, k: 12 });
      const [H, W] = u.mapShape ? [u.mapShape[0]!, u.mapShape.slice(1).reduce((a, b) => a * b, 1)] : [1, 1];
      let lo = Infinity, hi = -Infinity;
      const maps = u.maps?.map(f32) ?? [];
      for (const m of maps) for (const x of m) if (Number.isFinite(x)) { if (x < lo) lo = x; if (x > hi) hi = x; }
      unitBox.replaceChildren(
        h('h3', null, `Unit ${u.unit} of ${u.units}: the ${u.rowIds.length} examples that excite it most`, h('span.muted', null, ` (${ms(u.serverMs)} on the server${u.maps ? '; ranked by the largest value of its map' : ''})`)),
        h('div.topk', null, u.rowIds.map((id, i) => h('figure.example', { 'data-row': id },
          u.images ? imageCanvas(f32(u.images.values[i]!), u.images.shape, 2) : '',
          maps[i] ? mapCanvas(maps[i]!, 0, H, W, lo, hi, { zoom: Math.max(1, Math.floor(56 / Math.max(H, W))) }) : '',
          h('figcaption', null, link(pageUrl('intermediate', { key: info.key, row: id, unit: c }), `row ${id}`), h('br'), fmt(u.scores[i] ?? null))))),
      );
    } catch (e) { unitBox.replaceChildren(errorBox(e)); }
  };
  input.addEventListener('change', () => { void show(Number(input.value), null); });
  sec.append(h('p.controls', null, 'example (row id) ', input, h('button', { onclick: () => { input.value = String(current + 1); void show(current + 1, null); } }, 'next'), h('span.muted', null, ' click a channel for the examples that excite it most')), body, unitBox);
  await show(row, unit);
  if (unit !== null) await showUnit(unit);
  return sec;
}

/** Every row, paged and virtualised; a tensor's columns a window at a time. */
function rowsSection(info: Info): { el: HTMLElement; loaded: Promise<void> } {
  const sec = h('section#rows', null, h('h2', null, `Rows (${info.rows})`));
  const WINDOW = 32;
  const holder = h('div');
  let col = 0;
  const build = async (): Promise<void> => {
    const first = await api<{ columns: { name: string }[] } & Page>('rows', { key: info.key, offset: 0, limit: 100, col, cols: WINDOW });
    const cache = new Map<number, Page>([[0, first]]);
    holder.replaceChildren(virtualTable({
      total: info.rows, columns: first.columns.map((c) => c.name),
      fetchPage: async (offset, limit) => cache.get(offset) ?? api<Page>('rows', { key: info.key, offset, limit, col, cols: WINDOW }),
      onRow: (id) => { if (info.kind === 'tensor') location.assign(pageUrl('intermediate', { key: info.key, row: id })); },
    }));
  };
  let loaded: Promise<void>;
  if (info.columns > WINDOW) {
    const label = h('span', null);
    const move = (d: number): Promise<void> => { col = Math.max(0, Math.min(info.columns - 1, col + d)); label.textContent = ` columns ${col}…${Math.min(info.columns, col + WINDOW) - 1} of ${info.columns} `; return build(); };
    sec.append(h('p.controls', null, h('button', { onclick: () => { void move(-WINDOW); } }, '◀'), label, h('button', { onclick: () => { void move(WINDOW); } }, '▶')));
    loaded = move(0);
  } else loaded = build();
  sec.append(holder);
  return { el: sec, loaded: loaded.catch((e: unknown) => { holder.replaceChildren(errorBox(e)); }) };
}

/** One row by its id (a table: every column). */
function lookupSection(info: Info, row: number | null): { el: HTMLElement; loaded: Promise<void> } {
  const input = h('input', { type: 'number', placeholder: 'row id', 'aria-label': 'row id to look up', style: { width: '8em' }, value: row ?? undefined });
  const out = h('div#lookup');
  const go = async (): Promise<void> => {
    if (input.value === '') return;
    if (info.kind === 'tensor') { location.assign(pageUrl('intermediate', { key: info.key, row: input.value })); return; }
    setParam('row', input.value);
    try {
      const r = await api<{ row: number; columns: { name: string; type: string }[]; values: (number | string | null)[] }>('row', { key: info.key, row: input.value });
      out.replaceChildren(table(['column', 'type', 'value'], r.columns.map((c, j) => [c.name, c.type, fmt(r.values[j])])));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  };
  input.addEventListener('change', () => { void go(); });
  return { el: h('section', null, h('h2', null, 'Row lookup'), h('p.controls', null, 'row id ', input, h('button', { onclick: () => { void go(); } }, 'look up')), out), loaded: row !== null ? go() : Promise.resolve() };
}

/** A column: its distribution (COL_DIST) and the rows with its largest or smallest values (TOPK). */
function columnSection(info: Info, col: string): { el: HTMLElement; loaded: Promise<void> } {
  const names = info.kind === 'tensor' ? Array.from({ length: info.columns }, (_, j) => String(j)) : info.columnList.filter((c) => c.type !== 'utf8').map((c) => c.name);
  const select = h('select', { 'aria-label': 'column' }, names.map((n) => h('option', { value: n, selected: n === col }, n)));
  const k = h('input', { type: 'number', value: 10, min: 1, max: 1000, style: { width: '5em' }, 'aria-label': 'k' });
  const order = h('select', { 'aria-label': 'order' }, h('option', { value: 'desc' }, 'largest'), h('option', { value: 'asc' }, 'smallest'));
  const dist = h('div#coldist'), top = h('div#topk');
  const run = async (): Promise<void> => {
    const c = select.value;
    setParam('col', c);
    const ckey = `${info.key}.${c}`;
    dist.replaceChildren(h('p.muted', null, 'reading…'));
    top.replaceChildren();
    try {
      const [d, t] = await Promise.all([api<Dist>('coldist', { key: ckey, bins: 30 }), api<TopK>('topk', { key: ckey, k: k.value, order: order.value })]);
      const bins = d.counts.map((n, i) => ({ x1: d.edges[i]!, x2: d.edges[i + 1]!, n }));
      dist.replaceChildren(
        Plot.plot({ height: 220, width: 560, x: { label: c }, y: { label: 'rows', grid: true }, marks: [Plot.rectY(bins, { x1: 'x1', x2: 'x2', y: 'n', fill: '#3b6fb6', insetLeft: 0.5 }), Plot.ruleY([0])] }) as Element,
        table(['count', 'NaN', '+∞', '−∞', 'min', 'mean', 'std', 'p1', 'p50', 'p99', 'max'], [[d.count, d.nan, d.posInf, d.negInf, d.min ?? '–', d.mean ?? '–', d.std ?? '–', d.quantiles.p1 ?? '–', d.quantiles.p50 ?? '–', d.quantiles.p99 ?? '–', d.max ?? '–']].map((r) => r.map((v) => typeof v === 'number' ? +v.toPrecision(7) : v))),
      );
      top.replaceChildren(
        h('h3', null, `Top ${t.rowIds.length} by ${c} (${order.value === 'asc' ? 'smallest' : 'largest'})`, t.chunks ? h('span.muted', null, ` — zone maps: ${t.chunks.read} of ${t.chunks.total} chunks read`) : ''),
        t.rows
          ? table(['row_id', ...t.rows.columns.slice(0, 12)], t.rowIds.map((id, i) => [String(id), ...t.rows!.values[i]!.slice(0, 12).map((v) => typeof v === 'number' ? v : fmt(v))]))
          : h('div.topk', null, t.rowIds.map((id, i) => h('figure.example', null, t.images ? imageCanvas(f32(t.images.values[i]!), t.images.shape, 2) : '', h('figcaption', null, `row ${id}`, h('br'), fmt(t.values[i] ?? null))))),
      );
    } catch (e) { dist.replaceChildren(errorBox(e)); }
  };
  for (const el of [select, k, order]) el.addEventListener('change', () => { void run(); });
  return { el: h('section#column', null, h('h2', null, 'Column'), h('p.controls', null, 'column ', select, ' top ', k, ' ', order), dist, top), loaded: col ? run() : Promise.resolve() };
}
