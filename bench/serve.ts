// bench:serve — #20's targets for `mistique serve`, in a real headless Chromium (Debian's, playwright-core):
// - every page renders in ≤ 1 s after load (the page's own `ready:<page>` mark, Performance API: from
//   navigation start to its content drawn, API calls included) on the bench:trad store and a bench:dnn
//   store, the bufferpool's decoded segments dropped before each load (the OS page cache stays warm);
// - a layer's heatmap grid for one example ≤ 150 ms server time for the widest layer, beside a cold
//   one-row read of the same layer in the same run (the floor: the endpoint adds the input image and the
//   encoding to that read).
// Rounds are interleaved across pages (round r loads every page once), median of --rounds (5) with min and max.
// Stores: --trad (default bench/out/trad-dedup, from npm run bench:trad) and --dnn (default
// bench/out/serve-dnn, made here once if missing: cnn and vgg at epochs 1 and 10 over --examples test images).
// Usage: npm run bench:serve [-- --rounds 5 --examples 1000 --trad DIR --dnn DIR]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { run } from '../src/cli/main.js';
import { openStore, type Store } from '../src/index.js';
import { serve } from '../src/serve/server.js';
import { saveResult, summary } from './proc.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' }, examples: { type: 'string', default: '1000' }, trad: { type: 'string', default: 'bench/out/trad-dedup' }, dnn: { type: 'string', default: 'bench/out/serve-dnn' },
    models: { type: 'string', default: 'datasets/models' }, chromium: { type: 'string', default: process.env.CHROMIUM ?? '/usr/bin/chromium' },
  },
});
const ROUNDS = Number(args.rounds);
const SHOTS = 'docs/screenshots';
const quiet = { out: () => undefined, err: (s: string) => process.stderr.write(s + '\n') };

async function dnnStore(dir: string): Promise<void> {
  if (fs.existsSync(path.join(dir, 'metadata.db'))) return;
  for (const m of ['cnn_e01', 'cnn_e10', 'vgg_e01', 'vgg_e10']) {
    const file = path.join(args.models, `${m}.onnx`);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run datasets:dnn first`);
    process.stderr.write(`bench:serve: logging ${m} over ${args.examples} test images into ${dir}\n`);
    if (await run(['log', file, '--model', `fm.${m}`, '--examples', args.examples, '--store', dir], quiet) !== 0) throw new Error(`logging ${m} failed`);
  }
}

/** The pages of a store to time: store, its largest intermediate (a layer: with a unit's top examples), compare, query. */
function pages(store: Store, kind: 'trad' | 'dnn'): { name: string; url: string; page: string }[] {
  const items = store.list();
  const q = (p: Record<string, string>) => new URLSearchParams(p).toString();
  if (kind === 'trad') {
    const tables = items.filter((i) => !i.shape && i.bytesStored > 0).sort((a, b) => b.rows * b.columns - a.rows * a.columns);
    const big = tables[0]!;
    const preds = items.filter((i) => /\.pred_test$/.test(i.key)).slice(0, 2);
    return [
      { name: 'store', url: '/store', page: 'store' },
      { name: `intermediate ${big.key}`, url: `/intermediate?${q({ key: big.key })}`, page: 'intermediate' },
      { name: 'compare preds', url: `/compare?${q({ a: preds[0]!.key, b: preds[1]!.key })}`, page: 'compare' },
      { name: 'query', url: `/query?${q({ key: `${preds[0]!.key}.*`, rows: '1-100', sql: 'SELECT * FROM mistique_models' })}`, page: 'query' },
    ];
  }
  const wide = widest(store);
  const logits = items.filter((i) => i.key.endsWith('.dense2'));
  return [
    { name: 'store', url: '/store', page: 'store' },
    { name: `intermediate ${wide} (maps, unit 3)`, url: `/intermediate?${q({ key: wide, row: '7', unit: '3' })}`, page: 'intermediate' },
    { name: 'compare logits', url: `/compare?${q({ a: `${logits[0]!.key}.9`, b: `${logits.at(-1)!.key}.9` })}`, page: 'compare' },
    { name: 'query', url: `/query?${q({ key: `${wide}.*`, rows: '1-10' })}`, page: 'query' },
  ];
}

function widest(store: Store): string {
  return store.list().filter((i) => i.shape).sort((a, b) => b.columns - a.columns || a.key.localeCompare(b.key))[0]!.key;
}

async function main(): Promise<void> {
  if (!fs.existsSync(args.chromium)) throw new Error(`no Chromium at ${args.chromium}: apt-get install chromium`);
  if (!fs.existsSync(path.join(args.trad, 'metadata.db'))) throw new Error(`${args.trad} is not a store: run npm run bench:trad first (it leaves bench/out/trad-dedup)`);
  await dnnStore(args.dnn);
  const browser = await chromium.launch({ executablePath: args.chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const result: Record<string, unknown> = { bench: 'serve', rounds: ROUNDS, examples: Number(args.examples) };
  const pageTimes: Record<string, ReturnType<typeof summary>> = {};
  for (const [kind, dir] of [['trad', args.trad], ['dnn', args.dnn]] as const) {
    const store = await openStore(dir, { create: false });
    const server = await serve(store, { port: 0 });
    const list = pages(store, kind);
    const times = new Map<string, number[]>(list.map((p) => [p.name, []]));
    // one load of each page first (the Chromium process and the store's metadata warm up), not counted
    const tab = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    for (const p of list) { await tab.goto(server.url + p.url); await tab.waitForSelector(`body[data-ready="${p.page}"]`, { timeout: 120_000 }); }
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of list) {
        store.dropCaches();
        await tab.goto(server.url + p.url);
        await tab.waitForSelector(`body[data-ready="${p.page}"]`, { timeout: 120_000 });
        times.get(p.name)!.push(await tab.evaluate((n) => performance.getEntriesByName(`ready:${n}`).at(-1)!.startTime, p.page));
      }
    }
    // a screenshot of each page for the README (docs/screenshots), the compare page of the network store
    // with SVCCA between the first and the last checkpoint of the cnn filled in
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const p of list) {
      const url = kind === 'dnn' && p.page === 'compare' ? `${p.url}&ma=fm.cnn_e01&mb=fm.cnn_e10` : p.url;
      await tab.goto(server.url + url);
      await tab.waitForSelector(`body[data-ready="${p.page}"]`, { timeout: 120_000 });
      if (url !== p.url) await tab.waitForSelector('#svcca[data-done="true"]', { timeout: 300_000 });
      await tab.waitForTimeout(300);
      await tab.screenshot({ path: path.join(SHOTS, `${kind}-${p.page}.png`), fullPage: p.page !== 'store' && p.page !== 'intermediate' });
    }
    await tab.close();
    for (const [name, xs] of times) pageTimes[`${kind}: ${name}`] = summary(xs);
    if (kind === 'dnn') {
      // the widest layer's heatmap: server time of the endpoint and a bare cold one-row read, interleaved, rows spread over the layer
      const wide = widest(store);
      const n = store.list(wide)[0]!.rows;
      const serverMs: number[] = [], readMs: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const row = Math.floor(((r * 2654435761) % 4294967296) / 4294967296 * n);
        store.dropCaches();
        const res = await fetch(`${server.url}/api/heatmap?key=${wide}&row=${row}`);
        serverMs.push(((await res.json()) as { serverMs: number }).serverMs);
        store.dropCaches();
        const t0 = performance.now();
        await store.getIntermediates(`${wide}.*`, { rows: [row] });
        readMs.push(performance.now() - t0);
      }
      const shape = store.list(wide)[0]!.shape!;
      result.heatmap = { layer: wide, shape, values: shape.reduce((a, b) => a * b, 1), serverMs: summary(serverMs), oneRowReadMs: summary(readMs), targetMs: 150, met: summary(serverMs).median <= 150 };
    }
    await server.close();
    await store.close();
  }
  await browser.close();
  const worst = Math.max(...Object.values(pageTimes).map((s) => s.median));
  result.pages = pageTimes;
  result.pageTarget = { ms: 1000, worstMedianMs: worst, met: worst <= 1000 };
  saveResult('serve', result);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
