// `mistique serve`: the web viewer's HTTP server (node:http). It serves the pages (one HTML shell; the
// browser app routes /store, /intermediate, /compare and /query), the app bundled at build time
// (dist/web: no CDN, works offline) and the JSON API under /api/ (api.ts, docs/API.md).
//
// What a request can reach: the API answers from the open Store only — keys name intermediates, never
// files — and SQL runs sandboxed (DuckDB touches no file outside its scratch space); static files are a
// fixed list read at start, so no URL maps to a path. Bound to 127.0.0.1 unless a host is given, and a
// loopback server answers only requests addressed to a loopback name (a web page elsewhere cannot
// reach it by DNS rebinding).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { MistiqueError, type ErrorCode } from '../errors.js';
import type { Store } from '../mistique.js';
import { packageRoot } from '../paths.js';
import { parseRows } from '../reader/rowspec.js';
import * as api from './api.js';

export interface ServeOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. Anything else exposes the store to the network: only when asked for by name. */
  host?: string;
  /** Where the built app is (default <package>/dist/web). */
  assets?: string;
}

export interface Server { url: string; close(): Promise<void> }

const PAGES = new Set(['/', '/store', '/intermediate', '/compare', '/query']);

/** Every endpoint, what it answers and its parameters (GET /api lists them; docs/API.md explains them). */
export const ENDPOINTS: Record<string, { params: string; answers: string }> = {
  '/api/store': { params: '', answers: 'totals, models (kind, checkpoint), every intermediate with rows, shape, scheme, raw and stored bytes, chunks and de-duplicated chunks, queries; storage by scheme; the cost model\'s accuracy bands' },
  '/api/intermediate': { params: 'key=p.m.i', answers: 'its summary, columns (a table) or shape (a tensor), row ids, lineage, the network input it came from' },
  '/api/rows': { params: 'key=p.m.i&offset=0&limit=100&col=0&cols=64', answers: 'a page of rows by position, columns col … col+cols' },
  '/api/row': { params: 'key=p.m.i&row=ID', answers: 'one row by id (POINTQ); a tensor\'s values as base64 float32' },
  '/api/coldist': { params: 'key=p.m.i.column&bins=30', answers: 'COL_DIST: count, NaN, ±Infinity, min, max, mean, std, quantiles, histogram' },
  '/api/topk': { params: 'key=p.m.i.column&k=10&order=desc|asc', answers: 'TOPK by zone maps: row ids and values, the rows\' columns (a table) or input images (a layer), chunks read' },
  '/api/heatmap': { params: 'key=p.m.layer&row=ID', answers: 'one example\'s activation maps (base64 float32, shape, min, max) and its input image; serverMs' },
  '/api/unit': { params: 'key=p.m.layer&unit=U&k=9', answers: 'the examples that excite a unit (channel: by its map\'s maximum) most, with its map in each and the input images' },
  '/api/compare': { params: 'a=p.m.i.column&b=p.m.i.column&limit=20&features=p.m.i', answers: 'COL_DIFF of two columns: a scatter (≤ 5 000 points), rows that differ, mean |a−b|, correlation, the rows that disagree most with their features or images' },
  '/api/svcca': { params: 'a=p.m.layer&b=p.m.layer&rows=1000', answers: 'SVCCA of two layers over their first rows: mean correlation, kept dimensions, correlations forced to 1 by too few rows' },
  '/api/query': { params: 'key=PATTERN&rows=1,5-8', answers: 'explain (read and re-run estimates with their bands, the choice, why) and the result as chosen, with its measured time' },
  '/api/sql': { params: 'q=SELECT…&limit=200', answers: 'one read-only SQL statement (DuckDB, sandboxed): columns, rows' },
};

/** HTTP status of a MistiqueError: what the caller asked for is wrong (4xx) or the store cannot answer now (503). */
export function statusOf(code: ErrorCode): number {
  if (code === 'NOT_FOUND' || code === 'NOT_STORED') return 404;
  if (code === 'STALE') return 409;
  if (code === 'LOCKED' || code === 'BUSY' || code === 'CLOSED') return 503;
  if (code.startsWith('BAD_') || code === 'UNSUPPORTED' || code === 'EXISTS' || code === 'READ_ONLY') return 400;
  return 500;
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : typeof x === 'bigint' ? x.toString() : ArrayBuffer.isView(x) && !(x instanceof DataView) ? Array.from(x as unknown as ArrayLike<number>, (n) => (Number.isFinite(n) ? n : null)) : x));
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

function shell(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mistique</title><link rel="stylesheet" href="/assets/app.css"><link rel="icon" href="data:,"></head>
<body><header><a href="/store" class="brand">mistique</a><nav><a href="/store">Store</a><a href="/compare">Compare</a><a href="/query">Query</a></nav><span id="storename"></span></header>
<main id="main"><p class="muted">loading…</p></main><script type="module" src="/assets/app.js"></script></body></html>`;
}

export async function serve(store: Store, opts: ServeOptions = {}): Promise<Server> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MistiqueError('BAD_OPTION', `port ${port}: give 0 … 65535 (0: any free port)`);
  const dir = opts.assets ?? path.join(packageRoot(), 'dist', 'web');
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [name, type] of [['app.js', 'text/javascript'], ['app.css', 'text/css']] as const) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new MistiqueError('NOT_FOUND', `the viewer's ${name} is not built (${file}): run npm run build`);
    assets.set(`/assets/${name}`, { body: fs.readFileSync(file), type: `${type}; charset=utf-8` });
  }
  const page = Buffer.from(shell());
  const loopbackOnly = LOOPBACK.test(host);

  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
      res.writeHead(status, {
        'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        ...extra,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const fail = (status: number, code: string, message: string, asJson: boolean): void => {
      if (asJson) send(status, 'application/json; charset=utf-8', json({ error: { code, message } }));
      else send(status, 'text/html; charset=utf-8', `<!doctype html><title>mistique: ${status}</title><p>${message.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)}</p><p><a href="/store">the store</a></p>`);
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      fail(400, 'BAD_OPTION', 'malformed URL', true); return;
    }
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (loopbackOnly && !LOOPBACK.test(hostName)) { fail(403, 'FORBIDDEN', `this server answers requests to localhost only (got Host: ${req.headers.host ?? 'none'})`, isApi); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { fail(405, 'BAD_OPTION', `${req.method} is not supported: the viewer only reads (GET)`, isApi); return; }
    if (!isApi) {
      const a = assets.get(url.pathname);
      if (a) send(200, a.type, a.body);
      else if (PAGES.has(url.pathname)) send(200, 'text/html; charset=utf-8', page);
      else fail(404, 'NOT_FOUND', `no page ${url.pathname}`, false);
      return;
    }
    const t0 = performance.now();
    route(store, url).then(
      (body) => send(200, 'application/json; charset=utf-8', json(body), { 'server-timing': `app;dur=${(performance.now() - t0).toFixed(1)}` }),
      (err: unknown) => {
        if (err instanceof MistiqueError) fail(statusOf(err.code), err.code, err.message, true);
        else fail(500, 'INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`, true);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new MistiqueError('BUSY', `port ${port} on ${host} is in use: pick another with --port (0: any free port)`) : new MistiqueError('IO', `cannot listen on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${loopbackOnly ? (addr.family === 'IPv6' ? '[::1]' : '127.0.0.1') : shown}:${addr.port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

async function route(store: Store, url: URL): Promise<unknown> {
  const p = url.searchParams;
  switch (url.pathname.replace(/\/+$/, '')) {
    case '/api': return { endpoints: ENDPOINTS };
    case '/api/store': return api.storePage(store);
    case '/api/intermediate': return api.intermediatePage(store, p);
    case '/api/rows': return api.rowsPage(store, p);
    case '/api/row': return api.rowPage(store, p);
    case '/api/coldist': return api.colDistPage(store, p);
    case '/api/topk': return api.topkPage(store, p);
    case '/api/heatmap': return api.heatmapPage(store, p);
    case '/api/unit': return api.unitPage(store, p);
    case '/api/compare': return api.comparePage(store, p);
    case '/api/svcca': return api.svccaPage(store, p);
    case '/api/query': return api.queryPage(store, p, parseRows);
    case '/api/sql': return api.sqlPage(store, p);
    default: throw new MistiqueError('NOT_FOUND', `no endpoint ${url.pathname}: GET /api lists them`);
  }
}
