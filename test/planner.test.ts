// The query planner: the read-or-re-run choice on real stores (Alg. 4), explain, equal results on both
// paths, ρ_d measured and re-calibrated, and adaptive materialization (Eq. 5.5).
import fs from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { generateZillow } from '../datasets/zillow/generate.js';
import { MistiqueError, openStore } from '../src/index.js';
import { machineId } from '../src/reader/readrates.js';
import { ratioBand } from '../src/costmodel/index.js';
import { isScan } from '../src/reader/chunkreader.js';
import { BLOCK_BYTES, tensorGeometry } from '../src/store/geometry.js';
import { tempDir, tempStore } from './helpers.js';

const FIXTURE = fs.readFileSync(path.resolve(__dirname, '../datasets/fixtures/tiny_cnn.onnx'));
const SPECS = path.resolve(__dirname, '../datasets/zillow/pipelines');

describe('read or re-run (DNN)', () => {
  it('takes the faster estimated path for a few rows of the first layer, reads all rows of the logits, and both paths agree', async () => {
    // 4 000 examples (the subset eight times). Tensor RowBlocks hold ~512 KB in an LZ4 store (store/geometry.ts): a read
    // of three rows of the first layer decodes three small blocks, close to re-running them, so the
    // choice for them is not pinned here — only that it follows the estimates
    const { x: x500 } = batches(loadSubset(), 500).next().value!;
    const x = new Float32Array(x500.length * 8);
    for (let k = 0; k < 8; k++) x.set(x500, k * x500.length);
    const store = await tempStore({ rowBlockSize: 4096 });
    const run = await store.logNetwork('fm.cnn', FIXTURE, { x, shape: [1, 28, 28] });
    const first = run.layers[0]!.name, last = run.layers[run.layers.length - 1]!.name;
    // explain measures nothing: before any query the read model is assumed and the re-run line is the
    // logging profile's, and the store's statistics are as logging left them
    const meta = (): unknown[] => {
      const db = new Database(path.join(store.dir, 'metadata.db'), { readonly: true });
      try { return db.prepare('SELECT key, value FROM meta ORDER BY key').all(); } finally { db.close(); }
    };
    const metaBefore = meta();
    const [unmeasured] = await store.explain(`fm.cnn.${last}.*`);
    expect(unmeasured!.read!.source).toBe('assumed');
    expect(unmeasured!.rerun!.terms.fromReruns).toBe(0);
    expect(meta()).toEqual(metaBefore);
    // a query decides from what is at hand and leaves measuring what it would have needed (a read of the
    // logits: its read model, and the re-run line it is compared with) for when the store is idle
    await store.getIntermediates(`fm.cnn.${last}.*`, { rows: [7] });
    await store.getIntermediates(`fm.cnn.${first}.*`, { rows: [7] });
    await store.calibrated();
    const [few] = await store.explain(`fm.cnn.${first}.*`, { rows: [7, 3300, 42] });
    expect(few!.choice).toBe(few!.rerun!.ms < few!.read!.ms ? 'rerun' : 'read');
    const [all] = await store.explain(`fm.cnn.${last}.*`);
    expect(all!.choice).toBe('read');
    expect(all!.read!.rawBytes).toBeGreaterThan(0);
    // the re-run line of a layer comes from timed re-runs on this machine (two, the first time it is planned)
    expect(all!.rerun!.terms.fromReruns).toBeGreaterThanOrEqual(2);
    expect(all!.rerun!.terms.layerMsPerBatch).toBeGreaterThan(0);

    // equal results either way (full precision store: exactly up to onnxruntime's batch-size noise)
    const a = await store.getIntermediates(`fm.cnn.${first}.*`, { rows: [7, 3300, 42], path: 'read' });
    // right after that read its three RowBlocks are decoded in the bufferpool, and reading their rows again
    // is the faster path (all of their rows: for the three rows alone both estimates are ~1 ms, a close call
    // either way on a busy machine)
    const { blockRows } = tensorGeometry(a.shape, 'float32', 4096, BLOCK_BYTES.lz4);
    const inBlocks = [7, 3300, 42].flatMap((r) => { const b0 = Math.floor(r / blockRows) * blockRows; return Array.from({ length: blockRows }, (_, i) => b0 + i); });
    const warmAll = (await store.explain(`fm.cnn.${first}.*`, { rows: inBlocks }))[0]!;
    expect(warmAll.read!.rawBytes).toBeLessThan(0.01 * warmAll.read!.cachedBytes); // their row ids only
    expect(warmAll.choice).toBe('read');
    store.dropCaches();
    const b = await store.getIntermediates(`fm.cnn.${first}.*`, { rows: [7, 3300, 42], path: 'rerun' });
    expect(b.sources[0]!.path).toBe('rerun');
    expect(a.sources[0]!.path).toBe('read');
    expect([...b.rowIds]).toEqual([7, 3300, 42]);
    expect(b.shape).toEqual(a.shape);
    for (let i = 0; i < a.values.length; i++) expect(Math.abs(a.values[i]! - b.values[i]!)).toBeLessThan(1e-4);

    // explain with run: the measured time is attached
    const [ran] = await store.explain(`fm.cnn.${last}.*`, { run: true });
    expect(ran!.measured!.path).toBe('read');
    expect(ran!.measured!.ms).toBeGreaterThan(0);
    // a measured read model for this codec and scheme is kept
    expect(Object.keys(await store.readRates())).toContain('lz4|none');
    // and how far its estimates were from the runs: after three reads and three re-runs, each estimate
    // carries the band of measured ÷ estimated
    for (let k = 0; k < 3; k++) {
      await store.explain(`fm.cnn.${last}.*`, { run: true, path: 'read' });
      await store.explain(`fm.cnn.${first}.*`, { rows: [7, 8], run: true, path: 'rerun' });
    }
    const [banded] = await store.explain(`fm.cnn.${last}.*`);
    // the bands are of the runs' own ratios: the last read run's measured ÷ estimated is the newest in its window
    const windows = (JSON.parse(store.metadata.getMeta('estimate_accuracy')!) as { windows: Record<string, number[]> }).windows;
    const lastRead = await store.explain(`fm.cnn.${last}.*`, { run: true, path: 'read' });
    const w = (JSON.parse(store.metadata.getMeta('estimate_accuracy')!) as { windows: Record<string, number[]> }).windows['read:lz4|none']!;
    expect(w.at(-1)).toBeCloseTo(lastRead[0]!.measured!.ms / lastRead[0]!.read!.ms, 9);
    for (const [b, kind] of [[banded!.read!.accuracy!, 'read:lz4|none'], [banded!.rerun!.accuracy!, 'rerun:dnn']] as const) {
      expect(b).toEqual(ratioBand(windows[kind]));
      expect(b.runs).toBeGreaterThanOrEqual(3);
    }
    // segments the bufferpool holds decoded cost no inflating: the same read right after is estimated cheaper
    store.dropCaches();
    const [cold] = await store.explain(`fm.cnn.${first}.*`, { rows: [7, 42] });
    await store.getIntermediates(`fm.cnn.${first}.*`, { rows: [7, 42], path: 'read' });
    const [warm] = await store.explain(`fm.cnn.${first}.*`, { rows: [7, 42] });
    expect(cold!.read!.cachedBytes).toBe(0);
    expect(warm!.read!.cachedBytes).toBeGreaterThan(0.9 * cold!.read!.rawBytes);
    expect(warm!.read!.rawBytes).toBeLessThan(0.1 * cold!.read!.rawBytes);
    expect(warm!.read!.ms).toBeLessThan(cold!.read!.ms);
  });

  it('a first query decides from what is at hand and calibrates once the store is idle, never during a query', async () => {
    const { x } = batches(loadSubset(), 300).next().value!;
    const store = await tempStore();
    const run = await store.logNetwork('fm.cnn', FIXTURE, { x, shape: [1, 28, 28] });
    const layer = `fm.cnn.${run.layers[2]!.name}.*`;
    // the first query: no timed re-run, no read model measured before it answers
    const q1 = await store.explain(layer, { rows: [1, 2, 3], run: true });
    expect(q1[0]!.read!.source).toBe('assumed');
    expect(q1[0]!.rerun!.terms.fromReruns).toBe(0);
    // queries keep coming: a calibration never starts while they do (each restarts the idle wait)
    for (let i = 0; i < 5; i++) { await store.getIntermediates(layer, { rows: [i] }); await new Promise((r) => setTimeout(r, 20)); }
    expect((await store.explain(layer, { rows: [1, 2, 3] }))[0]!.rerun!.terms.fromReruns).toBe(0);
    // idle: the deferred calibrations run; then the estimates are measured ones
    await store.calibrated();
    const [after] = await store.explain(layer, { rows: [1, 2, 3] });
    expect(after!.rerun!.terms.fromReruns).toBeGreaterThanOrEqual(2);
    expect(['calibrated', 'measured']).toContain(after!.read!.source);
    await store.close();
  });

  it('a query during a deferred calibration makes it start over, and close stops one under way', async () => {
    const { x } = batches(loadSubset(), 300).next().value!;
    const store = await tempStore();
    const run = await store.logNetwork('fm.cnn', FIXTURE, { x, shape: [1, 28, 28] });
    const a = `fm.cnn.${run.layers[1]!.name}.*`, b = `fm.cnn.${run.layers[3]!.name}.*`;
    await store.getIntermediates(a, { rows: [1] });
    // wait until the idle timer has started the calibrations, then query in the middle of them
    await new Promise((r) => setTimeout(r, 260));
    await store.getIntermediates(b, { rows: [2] });
    await store.calibrated();
    for (const k of [a, b]) expect((await store.explain(k, { rows: [1] }))[0]!.rerun!.terms.fromReruns, k).toBeGreaterThanOrEqual(2);
    // close while calibrations are queued or under way: it returns, and nothing half-measured is kept
    const s2 = await tempStore();
    await s2.logNetwork('fm.cnn', FIXTURE, { x, shape: [1, 28, 28] });
    await s2.getIntermediates(a, { rows: [1] });
    await new Promise((r) => setTimeout(r, 230));
    const t0 = performance.now();
    await s2.close();
    expect(performance.now() - t0).toBeLessThan(5000);
    await store.close();
  });

  it('calls a choice that past runs could reverse a close call, and says why', async () => {
    const dir = path.join(tempDir(), 's');
    let store = await openStore(dir);
    const { x } = batches(loadSubset(), 200).next().value!;
    const run = await store.logNetwork('fm.cnn', FIXTURE, { x, shape: [1, 28, 28] });
    const last = `fm.cnn.${run.layers[run.layers.length - 1]!.name}.*`;
    const [clear] = await store.explain(last);
    expect(clear!.choice).toBe('read');
    expect(clear!.reason).not.toMatch(/close call/);
    // a store whose reads on this machine took up to 1 000× their estimates (as a store left by earlier sessions would record them)
    store.metadata.setMeta('estimate_accuracy', JSON.stringify({ machine: machineId(), windows: { 'read:lz4|none': [1, 1000, 1000, 1000] } }));
    await store.close();
    store = await openStore(dir);
    const [close] = await store.explain(last);
    expect(close!.read!.accuracy).toMatchObject({ runs: 4, low: 1, high: 1000 });
    expect(close!.choice).toBe('read');
    expect(close!.reason).toMatch(/estimated [\d.]+× faster — a close call: reads here took 1\.00–1000\.00× of their estimates/);
    // re-measuring the read model drops the band of its old estimates
    await store.readRates({ recalibrate: true });
    expect((await store.explain(last))[0]!.read!.accuracy).toBeNull();
    await store.close();
  });

  it('adaptive stores quantized layers when logged (a re-run cannot become them) and registers full-precision ones', async () => {
    const { x } = batches(loadSubset(), 64).next().value!;
    for (const [scheme, stored] of [[{ quantize: { kbit: 8 } }, true], [{ quantize: 'lp' }, true], [{ pool: { sigma: 2 } }, false]] as const) {
      const store = await tempStore({ policy: 'adaptive', gammaMin: 1 });
      await store.logNetwork('fm.q', FIXTURE, { x, shape: [1, 28, 28] }, { scheme });
      const items = store.list('fm.q.*');
      expect(items.every((i) => i.materialized === stored), JSON.stringify(scheme)).toBe(true);
      const [e] = await store.explain('fm.q.relu1.*');
      if (stored) expect(e!.read!.ms).toBeGreaterThan(0); // a stored layer has a read to estimate
      else expect(e!.choice).toBe('rerun'); // registered only: re-running is the only path
      await store.close();
    }
  });

  it('re-running a pooled layer pools the same way; a quantized read states its loss', async () => {
    const { x } = batches(loadSubset(), 64).next().value!;
    const store = await tempStore();
    await store.logNetwork('fm.p', FIXTURE, { x, shape: [1, 28, 28] }, { scheme: { pool: { sigma: 2 }, quantize: 'lp' } });
    const r = await store.getIntermediates('fm.p.relu1.*', { rows: [1, 2], path: 'rerun' });
    const s = await store.getIntermediates('fm.p.relu1.*', { rows: [1, 2], path: 'read' });
    expect(r.shape).toEqual([4, 14, 14]);
    for (let i = 0; i < r.values.length; i++) expect(Math.abs(r.values[i]! - s.values[i]!)).toBeLessThanOrEqual(Math.abs(r.values[i]!) * 1e-3 + 1e-6);
    expect(s.sources[0]!.loss).toMatch(/float16/);
    expect(r.sources[0]!.loss).toMatch(/none/);
    // no rows asked: an empty result of the same columns and shape either way (nothing is run)
    const [er, es] = await Promise.all([store.getIntermediates('fm.p.relu1.*', { rows: [], path: 'rerun' }), store.getIntermediates('fm.p.relu1.*', { rows: [], path: 'read' })]);
    expect([er.nrows, er.ncols, er.shape]).toEqual([0, s.ncols, [4, 14, 14]]);
    expect([es.nrows, es.ncols, es.shape]).toEqual([0, s.ncols, [4, 14, 14]]);
  });

  it('a caller-logged intermediate cannot be re-run; forcing it says so', async () => {
    const store = await tempStore();
    await store.log('p.m.i', { a: new Float64Array([1, 2, 3]) });
    const [e] = await store.explain('p.m.i.a');
    expect(e!.choice).toBe('read');
    expect(e!.reason).toMatch(/no workflow/);
    await expect(store.getIntermediates('p.m.i.a', { path: 'rerun' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('a scan (more RowBlocks than one step) is estimated without the decoded segments it would not use', async () => {
    const store = await tempStore({ rowBlockSize: 64 });
    const r = Float64Array.from({ length: 2000 }, (_, i) => Math.cos(i));
    await store.log('p.m.t', { r, s: r.map((v) => v * 2) });
    await store.flush();
    await store.getIntermediates('p.m.t.*', { rows: [0, 1], path: 'read' }); // decodes RowBlock 0's segments
    const [few] = await store.explain('p.m.t.*', { rows: [0, 1] });
    const [all] = await store.explain('p.m.t.*');
    expect(few!.read!.cachedBytes).toBeGreaterThan(0);
    expect(all!.read!.blocks).toBe(32);
    expect(isScan(all!.read!.blocks)).toBe(true);
    expect(all!.read!.cachedBytes).toBe(0);
    expect(all!.read!.rawBytes).toBeGreaterThan(0);
  });

  it('re-calibrates ρ_d on request (a changed machine starts afresh)', async () => {
    const store = await tempStore();
    await store.log('p.m.i', { a: Float64Array.from({ length: 50_000 }, (_, i) => Math.sin(i)) });
    await store.flush();
    const rates = await store.readRates({ recalibrate: true });
    expect(rates['lz4|none']!.coef).toHaveLength(6);
    expect(rates['lz4|none']!.coef.every((c) => c >= 0)).toBe(true); // non-negative least squares
    // the re-measured model comes from this store's reads and predicts a real read within a factor of 10 (a
    // model of zeros would not; calibrated from this one 400 KB intermediate it is no closer than ~5× here:
    // two runs measured 0.2× and 5.9× of the estimate)
    // judged on the median of three measured reads, not one draw (other test files share the cores)
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push((await store.explain('p.m.i.a', { run: true, path: 'read' }))[0]!);
    for (const e of runs) {
      expect(['calibrated', 'measured']).toContain(e.read!.source);
      expect(e.read!.reads).toBeGreaterThanOrEqual(2);
      expect(e.read!.ms).toBeGreaterThan(0);
    }
    const ratios = runs.map((e) => e.measured!.ms / e.read!.ms).sort((a, b) => a - b);
    expect(ratios[1], `measured ÷ estimated: ${ratios.map((r) => r.toFixed(2)).join(', ')}`).toBeGreaterThan(0.1);
    expect(ratios[1]).toBeLessThan(10);
    await store.explain('p.m.i.a', { run: true }); // (a query: counted below)
    expect(store.list('p.m.i')[0]!.queries).toBe(4); // the four queries; calibration reads are not queries
  });
});

describe('read or re-run (TRAD) and adaptive materialization', () => {
  const data = (): string => { const d = path.join(tempDir(), 'zillow'); generateZillow(d, 2000); return d; };

  it('reads TRAD intermediates (re-running a pipeline costs its whole lineage) and both paths agree', async () => {
    const store = await tempStore();
    await store.logIntermediates(path.join(SPECS, 'P2_1.yaml'), { data: data() });
    const [e] = await store.explain('zillow.P2_1.pred_test.*', { rows: [1999, 3] });
    expect(e!.choice).toBe('read');
    expect(e!.rerun!.ms).toBeGreaterThan(e!.read!.ms);
    const r = await store.getIntermediates('zillow.P2_1.pred_test.*', { rows: [1999, 3], path: 'rerun' });
    const s = await store.getIntermediates('zillow.P2_1.pred_test.*', { rows: [1999, 3] });
    expect(s.sources[0]!.path).toBe('read');
    expect([...r.values]).toEqual([...s.values]);
    // categorical columns come back with the same strings
    const key = 'zillow.P2_1.properties.*';
    const rp = await store.getIntermediates(key, { rows: [5, 6, 7], path: 'rerun' });
    const sp = await store.getIntermediates(key, { rows: [5, 6, 7], path: 'read' });
    for (let i = 0; i < 3; i++) for (let j = 0; j < sp.ncols; j++) expect(rp.get(i, j)).toEqual(sp.get(i, j));
  });

  it('a pipeline re-run refreshes the stage times Eq. 5.2 sums, along the lineage only', async () => {
    const store = await tempStore();
    await store.logIntermediates(path.join(SPECS, 'P1_1.yaml'), { data: data() });
    const wf = store.metadata.workflows.get('zillow', 'P1_1')!;
    const before = new Map(store.metadata.workflows.stages(wf.model_id).map((s) => [s.name, s]));
    await store.getIntermediates('zillow.P1_1.test_set.*', { rows: [0], path: 'rerun' });
    const after = new Map(store.metadata.workflows.stages(wf.model_id).map((s) => [s.name, s]));
    for (const name of ['properties', 'test', 'test_joined', 'test_set']) expect(after.get(name)!.t_exec_ms).not.toBe(before.get(name)!.t_exec_ms);
    for (const name of ['train', 'model', 'pred_test']) expect(after.get(name)).toEqual(before.get(name)); // not in test_set's lineage
  });

  it('adaptive registers tables of any row count (the sampled size lays chunks out 8-byte aligned, as segments do)', async () => {
    // 301 homes: tables of odd row counts, whose int32 and bool chunks are not multiples of 8 bytes
    const d = path.join(tempDir(), 'zillow');
    generateZillow(d, 301);
    const store = await tempStore({ policy: 'adaptive', gammaMin: 1 });
    await store.logIntermediates(path.join(SPECS, 'P1_1.yaml'), { data: d });
    const items = store.list('zillow.P1_1.*');
    expect(items.length).toBeGreaterThan(5);
    expect(items.every((i) => !i.materialized)).toBe(true);
    const [e] = await store.explain('zillow.P1_1.test_set.*');
    expect(e!.read!.storedBytes).toBeGreaterThan(0); // what storing it would take, from its sampled first RowBlock
    expect(e!.choice).toBe('rerun');
  });

  it('adaptive: queries side by side materialize an intermediate once and keep every query counted', async () => {
    const store = await tempStore({ policy: 'adaptive', gammaMin: 1e-6 });
    await store.logIntermediates(path.join(SPECS, 'P1_1.yaml'), { data: data() });
    const key = 'zillow.P1_1.test_set.*';
    // the read model is probed first, so the three queries plan at once: a query that plans only after
    // another materialized the intermediate reads it (as it should), which is not what this test is about
    await store.explain(key, { measure: true });
    const runs = await Promise.all([0, 1, 2].map(() => store.explain(key, { run: true })));
    expect(runs.map((r) => r[0]!.choice)).toEqual(['rerun', 'rerun', 'rerun']);
    expect(runs.filter((r) => r[0]!.materializedNow).length).toBe(1);
    const [item] = store.list('zillow.P1_1.test_set');
    expect(item).toMatchObject({ materialized: true, queries: 3 });
    const read = await store.getIntermediates(key, { path: 'read' });
    const rerun = await store.getIntermediates(key, { path: 'rerun' });
    expect(read.values).toEqual(rerun.values);
  });

  it('adaptive: a handle that only queries lets the write lock go once what it materialized is durable; a writer logs meanwhile', async () => {
    const logged = await tempStore({ policy: 'adaptive', gammaMin: 1e-6 });
    await logged.logIntermediates(path.join(SPECS, 'P1_1.yaml'), { data: data() });
    const dir = logged.dir;
    await logged.close();
    const reader = await openStore(dir, { policy: 'adaptive', gammaMin: 1e-6 });
    try {
      const key = 'zillow.P1_1.test_set.*';
      await reader.explain(key, { measure: true });
      const [e] = await reader.explain(key, { run: true });
      expect(e!.materializedNow).toBe(true);
      // before, the querying handle kept the lock until closed: a serve process or a notebook blocked every writer
      const writer = await openStore(dir);
      await writer.log('t.m.labels', { label: Float64Array.from([1, 2, 3]) });
      await writer.close();
      expect(reader.list('zillow.P1_1.test_set')[0]!.materialized).toBe(true);
    } finally {
      await reader.close();
    }
    const again = await openStore(dir, { create: false });
    expect(again.list('t.m.labels').length).toBe(1);
    expect(again.list('zillow.P1_1.test_set')[0]!.materialized).toBe(true);
    await again.close();
  });

  it('adaptive stores nothing re-creatable at first, materializes after enough queries, then reads', async () => {
    const store = await tempStore({ policy: 'adaptive', gammaMin: 1 });
    await store.logIntermediates(path.join(SPECS, 'P2_1.yaml'), { data: data() });
    expect(store.list('zillow.P2_1.*').every((i) => !i.materialized)).toBe(true);
    expect(store.stats().bytesOnDisk).toBe(0);
    const key = 'zillow.P2_1.pred_test.*';
    const seen: boolean[] = [];
    let first: number[] | null = null;
    for (let q = 0; q < 6; q++) {
      const [e] = await store.explain(key, { run: true });
      seen.push(e!.materializedNow === true);
      const m = await store.getIntermediates(key);
      first ??= [...m.values];
      expect([...m.values]).toEqual(first);
      if (store.list('zillow.P2_1.pred_test')[0]!.materialized) break;
    }
    const item = store.list('zillow.P2_1.pred_test')[0]!;
    expect(item.materialized).toBe(true);
    expect(item.queries).toBeGreaterThan(1); // the statistics survived materialization
    expect(seen).toContain(true);
    const [after] = await store.explain(key);
    expect(after!.choice).toBe('read');
    expect(store.list('zillow.P2_1.properties')[0]!.materialized).toBe(false);
    // reads of a not-materialized intermediate are refused with the way out
    await expect(store.getIntermediates('zillow.P2_1.properties.*', { path: 'read' })).rejects.toBeInstanceOf(MistiqueError);
    // a reopened store keeps the materialization
    const dir = store.dir;
    await store.close();
    const { openStore } = await import('../src/index.js');
    const again = await openStore(dir, { policy: 'adaptive' });
    expect([...(await again.getIntermediates(key)).values]).toEqual(first);
    expect((await again.explain(key))[0]!.choice).toBe('read');
    await again.close();
  });

  it('adaptive: an empty store times its codec on a scratch store, estimates stored sizes from a sample, and keeps what it materializes decoded', async () => {
    const store = await tempStore({ policy: 'adaptive', gammaMin: 1 });
    await store.logIntermediates(path.join(SPECS, 'P2_1.yaml'), { data: data() });
    const files = (): string[] => fs.readdirSync(path.join(store.dir, 'partitions'));
    expect(files()).toEqual([]);
    const key = 'zillow.P2_1.test_set';
    // explain alone measures nothing (the read model is assumed); a query probes the codec
    const [unmeasured] = await store.explain(`${key}.*`);
    expect(unmeasured!.read!.source).toBe('assumed');
    // a read it refuses (not stored yet) on a forced path times nothing either: a forced path makes no choice
    await expect(store.getIntermediates(`${key}.*`, { path: 'read' })).rejects.toMatchObject({ code: 'NOT_STORED' });
    expect((await store.explain(`${key}.*`))[0]!.read!.source).toBe('assumed');
    // explain --measure times what the estimates need, as an auto query does
    const [e] = await store.explain(`${key}.*`, { measure: true });
    // nothing of its own to time a read on: the read model comes from the probe, on this machine
    expect(e!.read!.source).toBe('probed');
    expect(e!.read!.reads).toBeGreaterThanOrEqual(3);
    expect(e!.read!.ms).toBeGreaterThan(0);
    expect(files()).toEqual([]); // the store itself was left as it was
    const est = e!.read!.storedBytes;
    for (let q = 0; q < 6 && !store.list(key)[0]!.materialized; q++) await store.getIntermediates(`${key}.*`);
    const item = store.list(key)[0]!;
    expect(item.materialized).toBe(true);
    // the first RowBlock, encoded, predicted the stored size (the store-wide guess was 3×)
    expect(est / item.bytesStored).toBeGreaterThan(0.7);
    expect(est / item.bytesStored).toBeLessThan(1.4);
    // written through: a few rows are read from decoded segments; a scan of every RowBlock would not use them
    const ids = (await store.getIntermediates(`${key}.*`, { path: 'read' })).rowIds;
    const [few] = await store.explain(`${key}.*`, { rows: [ids[0]!, ids[1]!] });
    expect(few!.read!.cachedBytes).toBeGreaterThan(0);
    expect(few!.read!.rawBytes).toBe(0);
    const [all] = await store.explain(`${key}.*`);
    expect(all!.read!.blocks).toBeLessThanOrEqual(16); // 2 000 homes: not a scan, so decoded segments count
    expect(all!.read!.cachedBytes).toBeGreaterThan(0);
    // a real read replaces the probe's claim
    expect(all!.read!.source).toBe('measured');
    await store.close();
  });
});
