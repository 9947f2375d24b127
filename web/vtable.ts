// A virtualised table: only the rows in view exist in the DOM (a few dozen of millions), pages of rows
// fetched on demand as the view scrolls and kept; scrolling stays smooth whatever the row count.
import { fmt, h } from './util.js';

export interface Page { rowIds: number[]; rows: (number | string | null)[][] }

const ROW = 24;
const PAGE = 100;

export function virtualTable(opts: { total: number; columns: string[]; fetchPage: (offset: number, limit: number) => Promise<Page>; height?: number; onRow?: (rowId: number) => void }): HTMLElement {
  const { total, columns } = opts;
  const view = h('div.vtable', { style: { height: `${Math.min(opts.height ?? 480, (total + 1) * ROW + 2)}px` }, role: 'grid', 'aria-rowcount': total });
  const width = `${Math.max(64, 96)}px`;
  const header = h('div.vrow.vhead', { style: { gridTemplateColumns: `72px repeat(${columns.length}, minmax(${width}, 1fr))` } }, h('span', null, 'row_id'), columns.map((c) => h('span', { title: c }, c)));
  const body = h('div.vbody', { style: { height: `${total * ROW}px` } });
  view.append(header, body);
  const pages = new Map<number, Page | Promise<void>>();
  const template = `72px repeat(${columns.length}, minmax(${width}, 1fr))`;
  let frame = 0;

  const load = (p: number): void => {
    if (pages.has(p)) return;
    pages.set(p, opts.fetchPage(p * PAGE, PAGE).then((page) => { pages.set(p, page); schedule(); }, () => { pages.delete(p); }));
  };
  const paint = (): void => {
    frame = 0;
    const first = Math.max(0, Math.floor(view.scrollTop / ROW) - 5);
    const last = Math.min(total, Math.ceil((view.scrollTop + view.clientHeight) / ROW) + 5);
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const p = Math.floor(i / PAGE);
      const page = pages.get(p);
      if (!page || page instanceof Promise) { load(p); rows.push(h('div.vrow.loading', { style: { top: `${i * ROW}px`, gridTemplateColumns: template } }, h('span', null, '…'))); continue; }
      const k = i - p * PAGE;
      const id = page.rowIds[k];
      if (id === undefined) continue;
      rows.push(h('div.vrow', { style: { top: `${i * ROW}px`, gridTemplateColumns: template }, 'data-row': id, onclick: opts.onRow ? () => opts.onRow!(id) : undefined },
        h('span.id', null, String(id)), page.rows[k]!.map((v) => h(typeof v === 'number' || v === null ? 'span.num' : 'span', { title: fmt(v) }, fmt(v)))));
    }
    body.replaceChildren(...rows);
  };
  const schedule = (): void => { if (!frame) frame = requestAnimationFrame(paint); };
  view.addEventListener('scroll', schedule, { passive: true });
  // the first page now, and paint once the table is in the document (its height is known then)
  load(0);
  requestAnimationFrame(paint);
  return view;
}
