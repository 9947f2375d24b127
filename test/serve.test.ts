// mistique serve: the JSON API against the library's own answers, what a request cannot reach, and the
// four pages driven in a real headless Chromium (Debian's, through playwright-core): each page's numbers
// against the library, a click-through store → layer → heatmap → unit → compare, readable errors, and
// a screenshot of each page (test-results/screenshots). Page render times (Performance API) are written
// to test-results/serve-timings.json; bench:serve judges them against the 1 s target on the bench stores.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { colDiff, colDist } from '../src/diagnostics/index.js';
import { openStore, type Store } from '../src/index.js';
import { serve, type Server } from '../src/serve/server.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = path.resolve(__dirname, '../test-results');
let dir: string, store: Store, server: Server, browser: Browser;
const timings: Record<string, number> = {};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-serve-'));
  const quiet = { out: () => undefined, err: () => undefined };
  expect(await run(['demo', '--store', path.join(dir, 'demo')], quiet)).toBe(0);
  store = await openStore(path.join(dir, 'demo'), { create: false });
  server = await serve(store, { port: 0 });
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  fs.mkdirSync(path.join(OUT, 'screenshots'), { recursive: true });
}, 180_000);

afterAll(async () => {
  fs.writeFileSync(path.join(OUT, 'serve-timings.json'), JSON.stringify(timings, null, 1));
  await browser?.close();
  await server?.close();
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** GET a path of the server: status, parsed JSON (or text) and headers. */
function get(p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: any; text: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(server.url);
  return new Promise((resolve, reject) => {
    // a raw request path: no URL normalisation on the way (so ../ reaches the server as sent)
    const req = http.request({ host: u.hostname, port: u.port, path: p, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try { body = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, body, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a page and waits until it says it has rendered; returns its render time (Performance API, ms after navigation start). */
async function open(page: Page, url: string, name: string): Promise<number> {
  await page.goto(server.url + url);
  await page.waitForSelector(`body[data-ready="${name}"]`, { timeout: 30_000 });
  const t = await page.evaluate((n) => performance.getEntriesByName(`ready:${n}`).at(-1)!.startTime, name);
  timings[url] = t;
  return t;
}

describe('mistique serve: the JSON API', () => {
  it('answers what the library answers', async () => {
    const s = await get('/api/store');
    expect(s.status).toBe(200);
    const stats = store.stats();
    expect(s.body.intermediates).toBe(stats.intermediates);
    expect(s.body.bytesOnDisk).toBe(stats.bytesOnDisk);
    expect(s.body.items.map((i: { key: string }) => i.key)).toEqual(stats.items.map((i) => i.key));
    expect(s.body.byScheme.reduce((a: number, x: { bytesStored: number }) => a + x.bytesStored, 0)).toBe(stats.items.reduce((a, x) => a + x.bytesStored, 0));

    // a layer's heatmap: the very values a query returns, and the input image of the same row
    const h = await get('/api/heatmap?key=fmnist.tiny_e01.relu1&row=7');
    expect(h.status).toBe(200);
    const m = await store.getIntermediates('fmnist.tiny_e01.relu1.*', { rows: [7] });
    expect(Buffer.from(h.body.values, 'base64')).toEqual(Buffer.from((m.values as Float32Array).buffer, m.values.byteOffset, m.values.byteLength));
    expect(h.body.shape).toEqual([4, 28, 28]);
    expect(h.body.input.shape).toEqual([1, 28, 28]);
    expect(Number(h.headers['server-timing']!.match(/dur=([\d.]+)/)![1])).toBeGreaterThan(0);

    // COL_DIST and COL_DIFF as the diagnostics compute them
    const d = await get('/api/coldist?key=zillow.P1_1.valid.yearbuilt&bins=30');
    const lib = colDist(await store.getIntermediates('zillow.P1_1.valid.yearbuilt'), 0, 30);
    expect(d.body.counts).toEqual(Array.from(lib.counts));
    expect(d.body.nan).toBe(lib.nan);
    const c = await get('/api/compare?a=zillow.P1_1.pred_test&b=zillow.P2_1.pred_test&limit=5');
    const diff = colDiff(await store.getIntermediates('zillow.P1_1.pred_test.*'), 0, await store.getIntermediates('zillow.P2_1.pred_test.*'), 0);
    expect(c.body.differ).toBe(diff.rowIds.length);
    expect(c.body.compared).toBe(diff.compared);
    const gaps = Array.from(diff.a, (x, i) => Math.abs(x - diff.b[i]!)).sort((x, y) => y - x);
    expect(c.body.worst.map((w: { a: number; b: number }) => Math.abs(w.a - w.b))).toEqual(gaps.slice(0, 5));
    expect(c.body.features.key).toBe('zillow.P1_1.test_set');

    // TOPK and the unit view agree with a scan
    const t = await get('/api/topk?key=fmnist.tiny_e01.dense2.9&k=4');
    const logits = await store.getIntermediates('fmnist.tiny_e01.dense2.9');
    const best = Array.from(logits.values).map((v, i) => [v, logits.rowIds[i]!] as const).sort((x, y) => y[0] - x[0]).slice(0, 4);
    expect(t.body.rowIds).toEqual(best.map((b) => b[1]));
    const u = await get('/api/unit?key=fmnist.tiny_e01.relu1&unit=2&k=3');
    const ch = await store.getIntermediates('fmnist.tiny_e01.relu1.2_*');
    const peaks = Array.from({ length: ch.nrows }, (_, i) => [Math.max(...ch.row(i)), ch.rowIds[i]!] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, 3);
    expect(u.body.rowIds).toEqual(peaks.map((p) => p[1]));
    expect(u.body.images.values).toHaveLength(3);

    // paging by position, a row by id, SQL, explain
    const r = await get('/api/rows?key=zillow.P1_1.valid&offset=10&limit=5&col=0&cols=3');
    const all = await store.getIntermediates('zillow.P1_1.valid.*');
    expect(r.body.total).toBe(all.nrows);
    expect(r.body.rowIds).toEqual(Array.from(all.rowIds.subarray(10, 15)));
    expect(r.body.rows[0][0]).toBe(all.get(10, 0));
    const q = await get(`/api/query?key=${encodeURIComponent('zillow.P1_1.pred_test.*')}&rows=1-3`);
    expect(q.body.estimates[0].choice).toMatch(/read|rerun/);
    expect(q.body.rowIds).toEqual([1, 2, 3]);
    const sql = await get(`/api/sql?q=${encodeURIComponent('SELECT count(*) AS n FROM "zillow.P1_1.valid"')}`);
    expect(sql.body.rows).toEqual([[all.nrows]]);
    // a page of a statement's rows, and how many it returned
    const page = await get(`/api/sql?q=${encodeURIComponent('SELECT row_id FROM "zillow.P1_1.valid" ORDER BY row_id')}&limit=3`);
    expect([page.body.rows, page.body.total]).toEqual([[[all.rowIds[0]], [all.rowIds[1]], [all.rowIds[2]]], all.nrows]);
    expect((await get('/api')).body.endpoints['/api/heatmap']).toBeDefined();
  });

  it('gives a 4xx with a readable message for a bad key, a missing row or a bad option, never a stack trace', async () => {
    for (const [p, status, code] of [
      ['/api/intermediate?key=no.such.thing', 404, 'NOT_FOUND'],
      ['/api/heatmap?key=fmnist.tiny_e01.relu1&row=123456', 404, 'NOT_FOUND'],
      ['/api/row?key=zillow.P1_1.valid&row=999999', 404, 'NOT_FOUND'],
      ['/api/heatmap?key=zillow.P1_1.valid&row=1', 400, 'BAD_OPTION'],
      ['/api/rows?key=zillow.P1_1.valid&limit=-3', 400, 'BAD_OPTION'],
      ['/api/topk?key=zillow.P1_1.pred_test.pred&order=sideways', 400, 'BAD_OPTION'],
      ['/api/intermediate?key=..%2F..%2Fetc', 400, 'BAD_KEY'],
      ['/api/intermediate', 400, 'BAD_OPTION'],
      ['/api/compare?a=zillow.P1_1.valid&b=zillow.P2_1.valid', 400, 'BAD_KEY'],
      ['/api/sql?q=DROP%20TABLE%20x', 400, 'BAD_QUERY'],
      ['/api/nothing', 404, 'NOT_FOUND'],
    ] as const) {
      const r = await get(p);
      expect(r.status, p).toBe(status);
      expect(r.body.error.code, p).toBe(code);
      expect(r.body.error.message.length, p).toBeGreaterThan(10);
      expect(r.text, p).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    }
  });

  it('reads nothing outside the store: no path reaches a file, SQL touches no file, only GET, only loopback names', async () => {
    const secret = fs.readFileSync(path.resolve(__dirname, '../package.json'), 'utf8');
    for (const p of ['/assets/../package.json', '/assets/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/..%5c..%5cpackage.json', '/assets/app.js/../../../package.json',
      '/store/../../../../etc/passwd', '//etc/passwd', '/assets/%2e%2e%2f%2e%2e%2fsrc%2fmistique.ts', '/api/../package.json']) {
      const r = await get(p);
      expect(r.text, p).not.toContain('"name": "mistique"');
      expect(r.text, p).not.toContain('root:x:0');
      expect(r.text, p).not.toBe(secret);
    }
    for (const q of [`SELECT * FROM read_csv('/etc/passwd')`, `SELECT * FROM read_text('${path.join(dir, 'demo', 'metadata.db')}')`, `SELECT * FROM read_parquet('${dir}/*.parquet')`, `SELECT * FROM glob('/*')`]) {
      const r = await get(`/api/sql?q=${encodeURIComponent(q)}`);
      expect(r.status, q).toBe(400);
      expect(r.text, q).not.toContain('root:x:0');
    }
    expect((await get('/api/store', {}, 'POST')).status).toBe(405);
    expect((await get('/api/store', { host: 'evil.example.com' })).status).toBe(403);
    expect((await get('/api/store', { host: 'localhost:1234' })).status).toBe(200);
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
  });

  it('mistique serve binds to 127.0.0.1 unless --host is given, and refuses a bad port', async () => {
    const out: string[] = [], err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    const { serveCmd } = await import('../src/cli/serve.js');
    let stop!: () => void;
    const done = serveCmd(path.join(dir, 'demo'), { port: '0' }, io, new Promise<void>((r) => { stop = r; }));
    await expect.poll(() => out.length).toBe(1);
    expect(out[0]).toMatch(/http:\/\/127\.0\.0\.1:\d+\/store/);
    stop(); await done;
    const done2 = serveCmd(path.join(dir, 'demo'), { port: '0', host: '0.0.0.0' }, io, new Promise<void>((r) => { stop = r; }));
    await expect.poll(() => out.length).toBe(2);
    expect(err.join('\n')).toMatch(/anyone who can reach this machine/);
    stop(); await done2;
    expect(await run(['serve', '--store', path.join(dir, 'demo'), '--port', 'x'], io)).toBe(1);
    expect(err.at(-1)).toMatch(/--port "x"/);
  });
});

describe('mistique serve in Chromium', () => {
  it('renders the store page with the library\'s numbers, and clicks through store → layer → heatmap → unit → compare', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const t = await open(page, '/store', 'store');
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThan(5000);
    const stats = store.stats();
    expect(await page.textContent('[data-stat="intermediates"] .value')).toBe(String(stats.intermediates));
    expect(await page.locator('table.items tbody tr').count()).toBe(stats.intermediates);
    expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(2); // storage by scheme and by model
    await page.screenshot({ path: path.join(OUT, 'screenshots', 'store.png'), fullPage: true });

    // store → a layer (an in-app link: no page load)
    await page.fill('input[type=search]', '*.relu1');
    expect(await page.locator('table.items tbody tr').count()).toBe(1);
    await page.click('a:has-text("fmnist.tiny_e01.relu1")');
    await page.waitForSelector('body[data-ready="intermediate"]');
    expect(page.url()).toContain('/intermediate?key=fmnist.tiny_e01.relu1');
    expect(await page.locator('#maps figure.map').count()).toBe(4);
    expect(await page.locator('#maps figure.inputimg canvas').count()).toBe(1);
    expect(await page.textContent('[data-stat="rows"] .value')).toBe('500');
    // the heatmap's pixels are drawn (not a blank canvas)
    const distinct = await page.evaluate(() => {
      const c = document.querySelector('#maps figure.map canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      return new Set(Array.from({ length: d.length / 4 }, (_, i) => `${d[i * 4]},${d[i * 4 + 1]},${d[i * 4 + 2]}`)).size;
    });
    expect(distinct).toBeGreaterThan(10);
    // the virtual table holds a few dozen rows of 500
    await page.waitForSelector('#rows .vrow[data-row]');
    const shown = await page.locator('#rows .vrow[data-row]').count();
    expect(shown).toBeGreaterThan(5);
    expect(shown).toBeLessThan(60);
    // a channel → the examples that excite it most, and the URL says so
    await page.click('#maps figure.map[data-channel="2"]');
    await page.waitForSelector('#unit figure.example');
    expect(await page.locator('#unit figure.example').count()).toBe(12);
    expect(page.url()).toContain('unit=2');
    const u = await get('/api/unit?key=fmnist.tiny_e01.relu1&unit=2&k=12');
    expect(await page.locator('#unit figure.example').first().getAttribute('data-row')).toBe(String(u.body.rowIds[0]));
    await page.screenshot({ path: path.join(OUT, 'screenshots', 'intermediate-layer.png'), fullPage: true });
    // the shared URL opens the same view
    timings['/intermediate (layer, unit)'] = await open(page, new URL(page.url()).pathname + new URL(page.url()).search, 'intermediate');
    await page.waitForSelector('#unit figure.example');
    expect(await page.locator('#maps figure.map.selected').getAttribute('data-channel')).toBe('2');

    // → compare
    await page.click('header nav a:has-text("Compare")');
    await page.waitForSelector('body[data-ready="compare"]');
    await page.fill('input[aria-label=a]', 'zillow.P1_1.pred_test');
    await page.fill('input[aria-label=b]', 'zillow.P2_1.pred_test');
    await page.click('button:has-text("compare")');
    await page.waitForSelector('#diff [data-stat="rows that differ"]');
    const diff = colDiff(await store.getIntermediates('zillow.P1_1.pred_test.*'), 0, await store.getIntermediates('zillow.P2_1.pred_test.*'), 0);
    expect(await page.textContent('#diff [data-stat="rows that differ"] .value')).toBe(String(diff.rowIds.length));
    expect(await page.locator('#diff svg circle').count()).toBeGreaterThan(1000);
    await page.click('button:has-text("compute")');
    await page.waitForSelector('#svcca[data-done="true"]', { timeout: 60_000 });
    expect(await page.locator('#svcca svg rect').count()).toBeGreaterThanOrEqual(9);
    await page.screenshot({ path: path.join(OUT, 'screenshots', 'compare.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('renders a table intermediate, a column\'s distribution and top rows, and the query page with explain, timing and SQL', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    expect(await open(page, '/intermediate?key=zillow.P1_1.valid&col=yearbuilt', 'intermediate')).toBeLessThan(5000);
    await page.waitForSelector('#coldist table');
    const lib = colDist(await store.getIntermediates('zillow.P1_1.valid.yearbuilt'), 0, 30);
    const cells = await page.locator('#coldist table tbody td').allTextContents();
    expect(cells.slice(0, 2)).toEqual([String(lib.count), String(lib.nan)]);
    await page.waitForSelector('#topk table');
    const top = await store.topk('zillow.P1_1.valid.yearbuilt', 10);
    expect(await page.locator('#topk table tbody tr td:first-child').allTextContents()).toEqual(Array.from(top.rowIds, String));
    // the virtual table scrolls to the end and shows the last row
    await page.locator('#rows .vtable').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    const ids = await store.getIntermediates('zillow.P1_1.valid.logerror');
    await page.waitForSelector(`#rows .vrow[data-row="${ids.rowIds[ids.nrows - 1]}"]`);
    await page.screenshot({ path: path.join(OUT, 'screenshots', 'intermediate-table.png'), fullPage: true });

    const key = encodeURIComponent('zillow.P1_1.pred_test.*');
    const sql = encodeURIComponent('SELECT model, intermediates, bytes_stored FROM mistique_models ORDER BY model');
    expect(await open(page, `/query?key=${key}&rows=1-5&sql=${sql}`, 'query')).toBeLessThan(5000);
    expect(await page.textContent('#result table tbody tr td:nth-child(7)')).toMatch(/^(read|rerun)$/);
    expect(await page.textContent('#measured')).toMatch(/ms|s$/);
    expect(await page.locator('#result table').nth(1).locator('tbody tr').count()).toBe(5);
    const models = (await store.sql('SELECT model FROM mistique_models ORDER BY model')).rows.map((r) => r.model);
    expect(await page.locator('#sqlresult tbody tr td:first-child').allTextContents()).toEqual(models);
    await page.screenshot({ path: path.join(OUT, 'screenshots', 'query.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('shows a bad key or a missing row as a readable message on the page', async () => {
    const page = await browser.newPage();
    await open(page, '/intermediate?key=no.such.thing', 'error');
    expect(await page.textContent('.error')).toMatch(/404 NOT_FOUND no intermediate no\.such\.thing/);
    await open(page, '/intermediate?key=fmnist.tiny_e01.relu1&row=99999', 'intermediate');
    expect(await page.textContent('#maps .error')).toMatch(/404 NOT_FOUND.*99999/);
    await open(page, `/query?sql=${encodeURIComponent("SELECT * FROM read_csv('/etc/passwd')")}`, 'query');
    expect(await page.textContent('#sqlresult .error')).toMatch(/400 BAD_QUERY/);
    const html = await page.content();
    expect(html).not.toMatch(/\n\s+at |\.ts:\d+/);
    await page.goto(server.url + '/nowhere');
    expect(await page.textContent('body')).toMatch(/no page \/nowhere/);
    await page.close();
  }, 60_000);
});
