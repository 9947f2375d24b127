// What the planner keeps in the MetadataDB between sessions, on its own: the read model per codec and
// scheme family (readrates.ts), each layer's re-run line (rerunstats.ts) and the windows of measured ÷
// estimated (accuracy.ts) — each for this machine only, surviving a reopen, and forgotten on request.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { READ_TERMS, type ReadFeatures } from '../src/costmodel/index.js';
import { MetadataDB, type IntermediateRow } from '../src/metadata/metadatadb.js';
import { EstimateAccuracy } from '../src/reader/accuracy.js';
import { describeRate, machineId, machineMeta, ReadRates, schemeFamily } from '../src/reader/readrates.js';
import { RerunStats } from '../src/reader/rerunstats.js';
import { tempDir } from './helpers.js';

const newDb = (): MetadataDB => new MetadataDB(path.join(tempDir(), 'm.db'), { create: true });
const layer = (name: string): IntermediateRow => ({ project: 'p', model: 'm', name } as IntermediateRow);

describe('estimate accuracy windows', () => {
  it('a band once three runs are in, kept across handles, forgotten by prefix, another machine\'s ignored', () => {
    const db = newDb();
    const acc = new EstimateAccuracy(db);
    expect(acc.band('read:none')).toBeNull();
    for (const [est, got] of [[10, 20], [10, 10], [10, 5]] as const) acc.record('read:none', est, got);
    acc.record('rerun:p.m', 10, 30);
    acc.record('rerun:p.m', 0, 30); // no estimate: not a ratio
    const band = { runs: 3, low: 0.5, median: 1, high: 2 };
    expect(acc.band('read:none')).toEqual(band);
    expect(acc.band('rerun:p.m')).toBeNull();
    const again = new EstimateAccuracy(db);
    expect(again.all()).toEqual({ 'read:none': band }); // kinds with fewer than three runs have none
    again.record('rerun:p.m', 10, 10);
    again.record('rerun:p.m', 10, 10);
    expect(Object.keys(again.all())).toEqual(['read:none', 'rerun:p.m']); // sorted
    again.forget('rerun:');
    expect(new EstimateAccuracy(db).all()).toEqual({ 'read:none': band });
    db.setMeta('estimate_accuracy', JSON.stringify({ machine: 'elsewhere', windows: { 'read:none': [1, 1, 1] } }));
    expect(new EstimateAccuracy(db).all()).toEqual({});
  });
});

describe('re-run lines', () => {
  it('calibration runs build the anchor, queries the decayed sums; both kept for this machine only', () => {
    const db = newDb();
    const stats = new RerunStats(db);
    const r = layer('conv1');
    expect(stats.line(r)).toBeUndefined();
    stats.foldLayer(r, 1, 110, true);
    stats.foldLayer(r, 4, 140, true);
    const anchored = stats.line(r)!;
    expect(anchored.sums).toBeUndefined();
    expect(anchored.anchor).toMatchObject({ k: 2, count: 2 });
    stats.foldLayer(r, 2, 120);
    const line = stats.line(r)!;
    expect(line.anchor).toEqual(anchored.anchor);
    expect(line.sums?.k).toBe(2);
    expect(line.sums!.count).toBeGreaterThan(0);
    expect(stats.line(layer('conv2'))).toBeUndefined(); // lines are per layer
    expect(machineMeta(db, 'rerun_fit:p.m.conv1')).toMatchObject({ machine: machineId() });
    // another machine's line, an older form (five sums) or an empty one: measured again
    for (const v of [{ machine: 'elsewhere', anchor: anchored.anchor }, { machine: machineId(), sums: { ...line.sums!, k: 5 } }, { machine: machineId(), anchor: { ...anchored.anchor!, k: 5 } }, { machine: machineId() }]) {
      db.setMeta('rerun_fit:p.m.conv1', JSON.stringify(v));
      expect(stats.line(r), JSON.stringify(v)).toBeUndefined();
    }
  });
});

describe('read rates', () => {
  const f = (rawMB: number, blocks = 1): ReadFeatures => ({ blocks, segments: blocks, rawBytes: rawMB * 1e6, storedBytes: rawMB * 5e5, outBytes: rawMB * 1e6 });

  it('one model per codec and scheme family, set by calibration, moved by reads, kept across handles', () => {
    const db = newDb();
    const rates = new ReadRates(db, 'lz4');
    expect(rates.get('none')).toBeUndefined();
    const set = rates.set('none', [{ f: f(1), ms: 10 }, { f: f(2), ms: 20 }, { f: f(4), ms: 40 }]);
    expect(set.coef).toHaveLength(READ_TERMS.length);
    expect(set.reads).toBe(3);
    expect(set.anchor?.count).toBe(3);
    expect(rates.get('pool(2)')).toEqual(set); // pooling reads as stored: the same family
    expect(rates.get('lp')).toBeUndefined();
    const moved = rates.update('none', f(8), 80);
    expect(moved.reads).toBe(4);
    expect(moved.anchor).toEqual(set.anchor);
    rates.flush();
    expect(new ReadRates(db, 'lz4').get('none')).toEqual(moved);
    expect(new ReadRates(db, 'gzip').get('none')).toBeUndefined(); // another codec's model is not this one
    // a first read with no calibration: charged per MB decoded at its own rate
    const first = rates.update('kbit(8)', f(2), 30);
    expect(first.reads).toBe(1);
    expect(rates.get('kbit(4)')).toEqual(first);
    const adopted = rates.adopt('lp', set);
    expect(adopted).toMatchObject({ coef: set.coef, reads: 3, probed: true });
    expect(Object.keys(rates.all()).sort()).toEqual(['lz4|kbit', 'lz4|lp', 'lz4|none']);
    rates.forget();
    expect(new ReadRates(db, 'lz4').all()).toEqual({});
  });

  it('models of another machine or with other terms are dropped at open', () => {
    const db = newDb();
    const rates = new ReadRates(db, 'lz4');
    const good = rates.set('none', [{ f: f(1), ms: 10 }, { f: f(2), ms: 20 }, { f: f(4), ms: 40 }]);
    const saved = JSON.parse(db.getMeta('read_model_v2')!) as { machine: string; rates: Record<string, unknown> };
    db.setMeta('read_model_v2', JSON.stringify({ ...saved, rates: { ...saved.rates, 'lz4|lp': { ...good, coef: [1, 2, 3] } } }));
    expect(Object.keys(new ReadRates(db, 'lz4').all())).toEqual(['lz4|none']);
    db.setMeta('read_model_v2', JSON.stringify({ ...saved, machine: 'elsewhere' }));
    expect(new ReadRates(db, 'lz4').all()).toEqual({});
  });

  it('schemeFamily and describeRate', () => {
    expect(['none', 'pool(2)', 'pool(4,max)', 'lp', 'lp+pool(2)', 'kbit(8)', 'threshold(0.995)'].map(schemeFamily)).toEqual(['none', 'none', 'none', 'lp', 'lp', 'kbit', 'threshold']);
    expect(describeRate([0, 0, 0, 0, 0, 0])).toBe('0 ms');
    expect(describeRate([2, 0, 0.5, 12.345, 0, 0])).toBe('2.00 fixed ms + 0.500 ms per segment + 12.3 ms per MB decoded');
  });
});
