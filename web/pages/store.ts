// The store page: totals, models and checkpoints, every intermediate, storage by scheme and by model, and
// how far the cost model's estimates have been from the runs that followed them.
import { Plot } from '../charts.js';
import { api, bytes, fmt, h, link, pageUrl, ready, table } from '../util.js';

interface Item { key: string; project: string; model: string; name: string; rows: number; columns: number; shape: number[] | null; scheme: string; bytesRaw: number; bytesStored: number; queries: number; materialized: boolean; chunks: number; chunksDeduplicated: number }
interface Model { project: string; model: string; kind: string | null; checkpoint: string | null; intermediates: number; rows: number; bytesRaw: number; bytesStored: number; queries: number }
interface Band { runs: number; low: number; median: number; high: number }
export interface StoreData {
  name: string; codec: string; policy: string; intermediates: number; bytesLogged: number; bytesUnique: number; bytesOnDisk: number; dedupRatio: number; compressionRatio: number;
  partitions: number; chunks: number; models: Model[]; byScheme: { scheme: string; intermediates: number; bytesRaw: number; bytesStored: number }[]; accuracy: Record<string, Band>; items: Item[];
}

export async function storePage(main: HTMLElement): Promise<void> {
  const s = await api<StoreData>('store');
  document.getElementById('storename')!.textContent = s.name;
  const stat = (label: string, value: string, id: string) => h('div.stat', { 'data-stat': id }, h('div.value', null, value), h('div.label', null, label));
  const filter = h('input', { type: 'search', placeholder: 'filter: zillow.P1_1.*, *.conv1 …', 'aria-label': 'filter intermediates' });
  const list = h('div');
  const renderList = (): void => {
    const re = patternRe(filter.value.trim());
    const items = s.items.filter((i) => re.test(i.key));
    list.replaceChildren(items.length ? table(
      ['intermediate', 'rows', 'columns', 'shape', 'scheme', 'raw', 'stored', 'chunks (dedup)', 'queries'],
      items.map((i) => [link(pageUrl('intermediate', { key: i.key }), i.key), i.rows, i.columns, i.shape ? `[${i.shape.join('×')}]` : '', i.materialized ? i.scheme : `${i.scheme} (re-run)`, bytes(i.bytesRaw), bytes(i.bytesStored), `${i.chunks} (${i.chunksDeduplicated})`, i.queries]),
      { className: 'data items' },
    ) : h('p.muted', null, s.items.length ? 'nothing matches' : 'the store is empty: log something with mistique log'));
  };
  filter.addEventListener('input', renderList);
  renderList();
  main.replaceChildren(
    h('h1', null, `Store ${s.name}`),
    h('div.stats', null,
      stat('intermediates', String(s.intermediates), 'intermediates'), stat('logged', bytes(s.bytesLogged), 'logged'), stat('after de-duplication', bytes(s.bytesUnique), 'unique'),
      stat('on disk', bytes(s.bytesOnDisk), 'disk'), stat('de-duplication', `${s.dedupRatio.toFixed(2)}×`, 'dedup'), stat(`compression (${s.codec})`, `${s.compressionRatio.toFixed(2)}×`, 'compression'),
      stat('partitions', String(s.partitions), 'partitions'), stat('policy', s.policy, 'policy')),
    h('div.row2', null,
      h('section', null, h('h2', null, 'Storage by scheme'), storageChart(s.byScheme.map((x) => ({ name: x.scheme, raw: x.bytesRaw, stored: x.bytesStored })))),
      h('section', null, h('h2', null, 'Storage by model'), storageChart(s.models.map((m) => ({ name: `${m.project}.${m.model}`, raw: m.bytesRaw, stored: m.bytesStored }))))),
    h('section', null, h('h2', null, 'Models and checkpoints'), table(['project', 'model', 'kind', 'checkpoint', 'intermediates', 'rows', 'raw', 'stored', 'queries'],
      s.models.map((m) => [m.project, m.model, m.kind ?? 'logged', m.checkpoint ?? '', m.intermediates, m.rows, bytes(m.bytesRaw), bytes(m.bytesStored), m.queries]))),
    h('section', null, h('h2', null, 'Cost model accuracy'), accuracy(s.accuracy)),
    h('section', null, h('h2', null, 'Intermediates'), filter, list),
  );
  ready('store');
}

/** `zillow.*.pred` style patterns: * any run of name characters, ? one. */
export function patternRe(p: string): RegExp {
  if (!p) return /^/;
  const esc = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(p.includes('*') || p.includes('?') ? `^${esc}$` : esc, 'i');
}

function storageChart(data: { name: string; raw: number; stored: number }[]): Element {
  // raw bytes behind, stored bytes in front (stored ≤ raw once de-duplicated and compressed)
  const mb = (b: number) => b / 1048576;
  type D = { name: string; raw: number; stored: number };
  return Plot.plot({
    marginLeft: Math.min(220, 10 + 6.5 * Math.max(...data.map((d) => d.name.length), 4)), height: 40 + data.length * 22, width: 560,
    x: { label: 'MB', grid: true }, y: { label: null, domain: data.map((d) => d.name) },
    color: { legend: true, domain: ['raw', 'stored'], range: ['#c8c8c8', '#3b6fb6'] },
    marks: [
      Plot.barX(data, { y: 'name', x: (d: D) => mb(d.raw), fill: () => 'raw', title: (d: D) => `${d.name}: ${bytes(d.raw)} raw, ${bytes(d.stored)} stored` }),
      Plot.barX(data, { y: 'name', x: (d: D) => mb(d.stored), fill: () => 'stored', insetTop: 4, insetBottom: 4, title: (d: D) => `${d.name}: ${bytes(d.raw)} raw, ${bytes(d.stored)} stored` }),
      Plot.ruleX([0]),
    ],
  }) as Element;
}

function accuracy(bands: Record<string, Band>): HTMLElement {
  const kinds = Object.entries(bands);
  if (!kinds.length) return h('p.muted', null, 'No run has been compared with its estimate yet: the bands appear after three runs of a kind (mistique explain --run, or queries).');
  return h('div', null,
    h('p.muted', null, 'Measured ÷ estimated time of the last runs of each kind: the 10th percentile, the median and the 90th. 1 is a perfect estimate.'),
    Plot.plot({
      height: 40 + kinds.length * 28, width: 560, marginLeft: 120, x: { type: 'log', label: 'measured ÷ estimated', grid: true }, y: { label: null },
      marks: [
        Plot.ruleX([1], { stroke: '#888', strokeDasharray: '3,3' }),
        Plot.ruleY(kinds, { y: ([k]: [string, Band]) => k, x1: ([, b]: [string, Band]) => b.low, x2: ([, b]: [string, Band]) => b.high, strokeWidth: 3, stroke: '#3b6fb6' }),
        Plot.dot(kinds, { y: ([k]: [string, Band]) => k, x: ([, b]: [string, Band]) => b.median, fill: '#d2492a', r: 4, title: ([k, b]: [string, Band]) => `${k}: median ${fmt(b.median)} over ${b.runs} runs` }),
      ],
    }) as Element,
    table(['kind', 'runs', 'low', 'median', 'high'], kinds.map(([k, b]) => [k, b.runs, +b.low.toPrecision(3), +b.median.toPrecision(3), +b.high.toPrecision(3)])),
  );
}
