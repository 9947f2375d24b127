// The viewer's small helpers: the API client, elements, numbers and bytes as people read them.

/** What the API answered instead of a result: its HTTP status, code and message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

/** GET /api/<path>?params: the JSON answer, or an ApiError carrying the server's message. */
export async function api<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const res = await fetch(`/api/${path}${q.size ? `?${q}` : ''}`);
  const body = await res.json().catch(() => null) as { error?: { code: string; message: string } } | null;
  if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body as T;
}

type Child = Node | string | number | null | undefined | false;

/** An element: h('div#id.card', { onclick }, 'text', child…). Attributes starting with "on" are listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K | `${K}.${string}` | `${K}#${string}`, attrs: Record<string, unknown> | null = null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const [head, ...classes] = tag.split('.');
  const [name, id] = head!.split('#');
  const el = document.createElement(name as K);
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A link inside the app (the router takes the click: no page load). */
export function link(href: string, ...children: (Child | Child[])[]): HTMLAnchorElement {
  return h('a', { href, 'data-app': '' }, ...children);
}

export function pageUrl(page: string, params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return `/${page}${q.size ? `?${q}` : ''}`;
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0, x = n;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return i === 0 ? `${x} B` : `${x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0)} ${u[i]}`;
}

/** A number with every digit it has (integers) or 6 significant digits; null as an em dash. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(4) : String(+v.toPrecision(6));
  if (Array.isArray(v)) return `[${v.map(fmt).join(', ')}]`;
  return String(v);
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v < 10 ? `${v.toFixed(2)} ms` : v < 1000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(2)} s`;
}

/** base64 of little-endian float32 (how the API sends tensors) → a Float32Array. */
export function f32(b64: string): Float32Array {
  const s = atob(b64);
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return new Float32Array(u.buffer);
}

/** A table: header cells and rows of cells (strings, numbers or nodes); numbers right-aligned. */
export function table(header: string[], rows: Child[][], opts: { className?: string } = {}): HTMLTableElement {
  return h(`table.${opts.className ?? 'data'}`, null,
    h('thead', null, h('tr', null, header.map((c) => h('th', null, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h(typeof c === 'number' ? 'td.num' : 'td', null, typeof c === 'number' ? fmt(c) : c))))));
}

/** A box saying what went wrong, readable (the API's message), never a stack trace. */
export function errorBox(err: unknown): HTMLElement {
  const e = err instanceof ApiError ? err : null;
  return h('div.error', { role: 'alert' }, h('strong', null, e ? `${e.status} ${e.code}` : 'error'), ' ', e ? e.message : err instanceof Error ? err.message : String(err));
}

/** Marks the page as rendered (what the browser tests time with the Performance API). */
export function ready(page: string): void {
  performance.mark(`ready:${page}`);
  document.body.dataset.ready = page;
}
