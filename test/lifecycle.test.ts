// A store's life cycle (#23): delete intermediates and whole models, re-log them, reclaim their space
// with gc — under every codec, with readers (in another handle) that cached where the data was.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { DataFrame, MistiqueError, openStore } from '../src/index.js';
import { CODEC_IDS } from '../src/store/codecs/index.js';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { digestStored, expectedDigest, frameFor } from './workers/data.js';
import { rng, slow, tempDir } from './helpers.js';

const GC_WORKER = path.join(import.meta.dirname, 'workers', 'gc.ts');

const FIXTURE = path.resolve(import.meta.dirname, '../datasets/fixtures/tiny_cnn.onnx');

function partitionBytes(dir: string): number {
  return fs.readdirSync(path.join(dir, 'partitions')).reduce((a, f) => a + fs.statSync(path.join(dir, 'partitions', f)).size, 0);
}

describe('delete and gc', () => {
  for (const codec of CODEC_IDS) {
    it(`deletes what is asked, and gc gives its space back while everything else reads exactly (${codec})`, async () => {
      const dir = path.join(tempDir(), 's');
      const s = await openStore(dir, { codec, policy: 'store_all' });
      // tables (column-major) and tensors (row-major), and a kbit tensor (a codebook per chunk), interleaved in partitions
      const keys = Array.from({ length: 6 }, (_, i) => `p.m${i % 2}.k${i}`);
      for (const [i, k] of keys.entries()) await s.log(k, frameFor(k, i));
      const x = Float32Array.from({ length: 300 * 4 * 8 * 8 }, (_, i) => Math.sin(i) * 3);
      const w = s.writer('p.q.kb', { scheme: 'kbit(8)', logicalType: 'float32', kbit: 8 });
      await w.append(DataFrame.fromTensor(x, [4, 8, 8]));
      await w.close();
      await s.flush();
      const kb = await s.getIntermediates('p.q.kb.*');
      // a reader in another handle caches where k1 lies
      const reader = await openStore(dir);
      expect(await digestStored(reader, 'p.m1.k1')).toBe(expectedDigest('p.m1.k1', 1));
      const before = partitionBytes(dir);
      const deletedBytes = s.list('p.m0.*').reduce((a, i) => a + i.bytesStored, 0);

      expect(s.delete('p.m0.k2', { dryRun: true })).toEqual(['p.m0.k2']);
      expect(s.delete('p.m0')).toEqual(['p.m0.k0', 'p.m0.k2', 'p.m0.k4']);
      expect(s.list().map((i) => i.key)).toEqual(['p.m1.k1', 'p.m1.k3', 'p.m1.k5', 'p.q.kb']);
      const r = await s.gc({ minDeadFraction: 0 });
      expect(r.rewritten).toBeGreaterThan(0); // the partition holds live data too: rewritten, not dropped
      const after = partitionBytes(dir);
      // what the deleted intermediates took, less what a rewritten segment's framing changes
      expect(before - after).toBeGreaterThan(deletedBytes * 0.9);
      expect(r.bytesBefore - r.bytesAfter).toBe(before - after);
      for (const [i, k] of keys.entries()) if (i % 2 === 1) expect(await digestStored(s, k), k).toBe(expectedDigest(k, i));
      const kb2 = await s.getIntermediates('p.q.kb.*');
      expect(Buffer.from(kb2.values.buffer).equals(Buffer.from(kb.values.buffer))).toBe(true);
      // the other handle's cached placements went stale: it reloads them and reads right. (Its open file
      // descriptor of the old partition would still read the old, identical bytes; as after its LRU closed
      // that descriptor, the old file is opened by name — and is gone.)
      (reader as unknown as { ds: { reads: { close(): void } } }).ds.reads.close();
      reader.dropCaches();
      expect(await digestStored(reader, 'p.m1.k1')).toBe(expectedDigest('p.m1.k1', 1));
      await expect(reader.getIntermediates('p.m0.k0.*')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await reader.close();
      const v = await s.verify();
      expect(v.ok, JSON.stringify(v)).toBe(true);
      expect(v.orphanBlobs.count).toBe(0);
      await s.close();
      // reopened: the same
      const again = await openStore(dir);
      for (const [i, k] of keys.entries()) if (i % 2 === 1) expect(await digestStored(again, k), k).toBe(expectedDigest(k, i));
      await again.close();
    });
  }

  it('after dropping half of a store and gc, it takes ≤ 1.1× the bytes of a store that never held that half (#23)', async () => {
    const dirA = path.join(tempDir(), 'a'), dirB = path.join(tempDir(), 'b');
    const a = await openStore(dirA, { policy: 'store_all' }), b = await openStore(dirB, { policy: 'store_all' });
    // interleaved: every partition holds both halves
    for (let i = 0; i < 8; i++) {
      const k = `p.m.k${i}`;
      await a.log(k, frameFor(k, i));
      if (i % 2 === 0) await b.log(k, frameFor(k, i));
    }
    await a.flush(); await b.flush();
    for (let i = 1; i < 8; i += 2) a.delete(`p.m.k${i}`);
    await a.gc();
    await a.close(); await b.close();
    expect(partitionBytes(dirA)).toBeLessThanOrEqual(1.1 * partitionBytes(dirB));
  });

  it('log with replace puts new data in the old one\'s place: another handle reads the old or the new, never neither', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    await s.log('p.m.a', frameFor('p.m.a', 0), { durable: true });
    const reader = await openStore(dir);
    expect(await digestStored(reader, 'p.m.a')).toBe(expectedDigest('p.m.a', 0));
    await expect(s.log('p.m.a', frameFor('p.m.b', 1))).rejects.toMatchObject({ code: 'EXISTS' });
    const info = await s.log('p.m.a', frameFor('p.m.b', 1), { replace: true });
    expect(info.key).toBe('p.m.a');
    expect(s.list().map((i) => [i.key, i.queries])).toEqual([['p.m.a', 0]]); // a replacement starts its statistics afresh
    expect(await digestStored(reader, 'p.m.a')).toBe(expectedDigest('p.m.b', 1));
    await reader.close();
    await s.close();
  });

  it('a deleted intermediate can be logged again; ids are never handed out twice', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    await s.log('p.m.a', frameFor('p.m.a', 0));
    await s.log('p.m.b', frameFor('p.m.b', 1));
    const idB = s.metadata.intermediateId('p', 'm', 'b')!;
    s.delete('p.m.b');
    await expect(s.getIntermediates('p.m.b.*')).rejects.toBeInstanceOf(MistiqueError);
    await s.log('p.m.b', frameFor('p.m.a', 0)); // other content under the same name
    expect(s.metadata.intermediateId('p', 'm', 'b')!).toBeGreaterThan(idB);
    expect(await digestStored(s, 'p.m.b')).toBe(expectedDigest('p.m.a', 0));
    await s.close();
  });

  it('deleting a network model removes its layers, workflow and checkpoint, and it can be logged again', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    const { x, rowIds } = batches(loadSubset(), 200).next().value!;
    await s.logNetwork('fm.tiny', FIXTURE, { x, shape: [1, 28, 28], rowIds }, { batchSize: 64 });
    expect(fs.readdirSync(path.join(dir, 'checkpoints'))).toEqual(['fm.tiny.onnx']);
    const layers = s.list('fm.tiny.*').map((i) => i.key);
    expect(s.delete('fm.tiny')).toEqual(expect.arrayContaining(layers));
    // the examples stay: every checkpoint of the project shares them
    expect(s.list().map((i) => i.key)).toEqual([expect.stringMatching(/^fm\.inputs\.x_/)]);
    expect(fs.readdirSync(path.join(dir, 'checkpoints'))).toEqual([]);
    expect(s.metadata.workflows.get('fm', 'tiny')).toBeUndefined();
    await s.gc();
    await s.logNetwork('fm.tiny', FIXTURE, { x, shape: [1, 28, 28], rowIds }, { batchSize: 64 });
    expect(s.list('fm.tiny.*').map((i) => i.key)).toEqual(layers);
    await s.close();
  });

  it('a network whose stored checkpoint is gone: verify says so and which layers are lost, reads go on, re-runs say why not', async () => {
    const dir = path.join(tempDir(), 's');
    const { x, rowIds } = batches(loadSubset(), 40).next().value!;
    const stored = await openStore(dir);
    await stored.logNetwork('fm.kept', FIXTURE, { x, shape: [1, 28, 28], rowIds });
    await stored.close();
    const s = await openStore(dir, { policy: 'adaptive', gammaMin: Infinity }); // fm.lazy: nothing stored
    await s.logNetwork('fm.lazy', FIXTURE, { x, shape: [1, 28, 28], rowIds });
    const lazy = s.list('fm.lazy.*').map((i) => i.key);
    const before = await s.getIntermediates('fm.kept.relu1.*', { rows: [rowIds[3]!] });
    for (const m of ['kept', 'lazy']) fs.rmSync(path.join(dir, 'checkpoints', `fm.${m}.onnx`));
    const v = await s.verify();
    // it had said "ok": every segment was fine
    expect(v.ok).toBe(false);
    expect(v.missingCheckpoints).toEqual([{ model: 'fm.kept', file: path.join('checkpoints', 'fm.kept.onnx'), notStored: [] }, { model: 'fm.lazy', file: path.join('checkpoints', 'fm.lazy.onnx'), notStored: [...lazy].sort() }]);
    expect(v.unreadable).toEqual([...lazy].sort());
    // a stored layer reads (the cost model may not choose a re-run it cannot do); one not stored says why it cannot be read
    const again = await s.getIntermediates('fm.kept.relu1.*', { rows: [rowIds[3]!] });
    expect(Array.from(again.values)).toEqual(Array.from(before.values));
    expect((await s.explain('fm.kept.relu1.*'))[0]).toMatchObject({ choice: 'read', reason: expect.stringMatching(/checkpoint is gone/) });
    const lost = /fm\.kept's checkpoint is gone from the store \(checkpoints\/fm\.kept\.onnx\): its layers cannot be re-run.*log the model again/;
    await expect(s.getIntermediates('fm.kept.relu1.*', { path: 'rerun' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(lost) });
    await expect(s.rerunLayer('fm.kept', 'relu1')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(lost) });
    await expect(s.getIntermediates(`${lazy[0]}.*`)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/fm\.lazy's checkpoint is gone/) });
    // the CLI names it
    const out: string[] = [];
    await s.close();
    expect(await run(['verify', '--store', dir], { out: (t) => out.push(t), err: (t) => out.push(t) })).toBe(1);
    expect(out.join('\n')).toMatch(/missing checkpoint checkpoints\/fm\.lazy\.onnx of fm\.lazy: its layers cannot be re-run, and the \d+ not stored cannot be read/);
  });

  it('refuses to delete an input layers left behind re-run from, naming them, unless forced or deleted together', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    const { x, rowIds } = batches(loadSubset(), 100).next().value!;
    await s.logNetwork('fm.tiny', FIXTURE, { x, shape: [1, 28, 28], rowIds }, { batchSize: 64 });
    const input = s.list('fm.inputs.*')[0]!.key;
    const before = s.list().map((i) => i.key);
    for (const dryRun of [true, false]) {
      expect(() => s.delete(input, { dryRun })).toThrow(expect.objectContaining({ code: 'IN_USE', message: expect.stringMatching(new RegExp(`${input.replace(/\./g, '\\.')} is the input fm\\.tiny's layers re-run from \\(13 stay in the store: fm\\.tiny\\.conv1`)) }));
    }
    // deleting a layer too is not enough; the CLI says the same and exits 1, deleting nothing
    expect(() => s.delete([input, 'fm.tiny.conv1'])).toThrow(expect.objectContaining({ code: 'IN_USE' }));
    expect(s.list().map((i) => i.key)).toEqual(before);
    await s.close();
    const err: string[] = [];
    expect(await run(['rm', input, '--store', dir], { out: () => undefined, err: (m) => err.push(m) })).toBe(1);
    expect(err.join('\n')).toMatch(/--force/);
    // the input with every layer that re-runs from it: allowed, all at once
    const again = await openStore(dir);
    expect(again.delete([input, 'fm.tiny'], { dryRun: true })).toEqual(expect.arrayContaining([input, 'fm.tiny.conv1']));
    // forced: the input goes, the stored layers still read, re-running them says what is missing
    expect(again.delete(input, { force: true })).toEqual([input]);
    expect((await again.getIntermediates('fm.tiny.dense2.*', { path: 'read' })).nrows).toBe(100);
    await expect(again.getIntermediates('fm.tiny.conv1.*', { rows: [rowIds[0]!], path: 'rerun' })).rejects.toThrow(expect.objectContaining({ code: expect.stringMatching(/NOT_FOUND|NOT_STORED|BAD_KEY/) }));
    await again.close();
  });

  it('refuses what it cannot do and changes nothing', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    await s.log('p.m.a', frameFor('p.m.a', 0));
    expect(() => s.delete('p.m.nothing')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => s.delete('p.m.a.x')).toThrow(expect.objectContaining({ code: 'BAD_KEY' }));
    expect(() => s.delete('')).toThrow(expect.objectContaining({ code: 'BAD_KEY' }));
    const w = s.writer('p.m.open');
    await w.append(frameFor('p.m.open', 0));
    await expect(s.gc()).rejects.toMatchObject({ code: 'BUSY' });
    w.abort();
    await s.gc();
    expect(await digestStored(s, 'p.m.a')).toBe(expectedDigest('p.m.a', 0));
    await s.close();
  });
});

describe('kill -9 during gc', () => {
  slow('loses nothing that was not dropped, at 12 points across the delete and the rewrite of every codec (#23)', async () => {
    const r = rng(23);
    let interrupted = 0;
    for (let k = 0; k < 12; k++) {
      const codec = CODEC_IDS[k % CODEC_IDS.length]!;
      const dir = path.join(tempDir(), `s${k}`);
      // many small partitions: the gc rewrites one after another, so a kill lands between or inside them
      const s = await openStore(dir, { codec, segmentBytes: 16 << 10, partitionBytes: 64 << 10 });
      for (let i = 0; i < 8; i++) await s.log(`g.m.k${i}`, frameFor(`g.m.k${i}`, i));
      await s.close();
      const proc = spawn(process.execPath, ['--import', 'tsx', GC_WORKER, dir, 'g.m', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
      // kill 0–30 ms after the deletes committed: inside the rewrite, its rename or its transaction
      const delay = Math.floor(r() * 30);
      await new Promise<void>((resolve) => {
        const t = setInterval(() => { if (out.includes('deleted')) { clearInterval(t); setTimeout(resolve, delay); } }, 1);
        void exited.then(() => { clearInterval(t); resolve(); });
      });
      proc.kill('SIGKILL');
      await exited;
      if (!out.includes('done')) interrupted++;
      const after = await openStore(dir, { create: false });
      try {
        // the even ones were never dropped: each is there and reads back bit-exactly
        for (let i = 0; i < 8; i += 2) expect(await digestStored(after, `g.m.k${i}`), `${codec} kill ${k} (${delay} ms)`).toBe(expectedDigest(`g.m.k${i}`, i));
        const v = await after.verify();
        expect(v.unreadable, `${codec} kill ${k}`).toEqual([]);
        // a stray file of a rewrite that never committed is removed by the next gc
        await after.gc({ minDeadFraction: 0 });
        expect((await after.verify()).ok).toBe(true);
      } finally {
        await after.close();
      }
    }
    // most kills land inside the gc, not after it
    expect(interrupted).toBeGreaterThanOrEqual(6);
  }, 180_000);
});

describe('mistique rm and gc', () => {
  it('rm lists (--dry-run), deletes, and gc reclaims; a pattern that matches nothing deletes nothing', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    for (const [i, k] of ['p.a.x', 'p.a.y', 'p.b.z'].entries()) await s.log(k, frameFor(k, i));
    await s.close();
    const cli = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
      const out: string[] = [], err: string[] = [];
      const code = await run([...argv, '--store', dir], { out: (t) => out.push(t), err: (t) => err.push(t) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    expect((await cli('rm', 'p.a', '--dry-run')).out).toBe('would delete 2: p.a.x, p.a.y');
    const bad = await cli('rm', 'p.b', 'p.nothing');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/p\.nothing.*matches nothing/);
    expect((await cli('ls')).out).toMatch(/p\.b\.z/);
    const del = await cli('rm', 'p.a.*');
    expect(del.out).toMatch(/^deleted 2: p\.a\.x, p\.a\.y/);
    const gc = await cli('gc', '--json');
    const r = JSON.parse(gc.out) as { dropped: number; rewritten: number; bytesBefore: number; bytesAfter: number };
    expect(r.bytesBefore).toBeGreaterThan(r.bytesAfter);
    expect((await cli('rm', 'p.b', '--gc')).out).toMatch(/deleted 1: p\.b\.z\ngc: /);
    expect((await cli('ls')).out).toMatch(/empty/);
    expect((await cli('rm', '--help')).out).toMatch(/usage: mistique rm/);
  });
});
