// A network logged over examples of several input shapes (#19: a detector's images of each height × width)
// into one store: layers whose shape follows the input are stored per group of examples, layers of one
// shape for all (the pooled head, the logits) are one intermediate over every example; reads equal re-runs.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { npyHeader } from '../src/export/writers.js';
import { openStore } from '../src/index.js';
import { tempDir, tempStore } from './helpers.js';

// datasets/train.py --fixtures: TinyResNet (untrained) exported with the image's height and width as dynamic axes
const FILE = path.resolve(__dirname, '../datasets/fixtures/tiny_detector.onnx');

function images(n: number, h: number, w: number, seed: number): Float32Array {
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761 + seed * 97) % 1000) / 1000;
  return x;
}

const bytesOf = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

describe('a network over images of several shapes (#19)', () => {
  const groups = [
    { x: images(7, 24, 32, 1), shape: [1, 24, 32] },
    { x: images(5, 28, 28, 2), shape: [1, 28, 28] },
    { x: images(4, 16, 40, 3), shape: [1, 16, 40] },
  ];

  it('stores shape-dependent layers per group and shape-independent ones over all examples; every read equals its re-run', async () => {
    const store = await tempStore();
    const run = await store.logNetwork('det.tiny', FILE, groups, { batchSize: 3 });
    expect(run.examples).toBe(16);
    const byName = new Map(run.layers.map((l) => [l.name, l.shape]));
    // the first convolution per image shape, the pooled head and the logits once
    expect(byName.get('conv1-1x24x32')).toEqual([8, 24, 32]);
    expect(byName.get('conv1-1x28x28')).toEqual([8, 28, 28]);
    expect(byName.get('conv1-1x16x40')).toEqual([8, 16, 40]);
    expect(byName.get('relu5-1x16x40')).toEqual([16, 8, 20]);
    expect(byName.get('gap1')).toEqual([16, 1, 1]);
    expect(byName.get('dense1')).toEqual([10]);
    expect(byName.has('conv1')).toBe(false);
    expect(store.list('det.tiny.dense1').map((i) => i.rows)).toEqual([16]);
    expect(store.list('det.tiny.conv1-1x28x28').map((i) => i.rows)).toEqual([5]);

    // a group's layer has that group's row ids (the rows follow the groups' order: 0–6, 7–11, 12–15)
    const second = await store.getIntermediates('det.tiny.relu1-1x28x28.*', { path: 'read' });
    expect(Array.from(second.rowIds)).toEqual([7, 8, 9, 10, 11]);
    for (const l of run.layers) {
      const rows = l.name.endsWith('-1x24x32') ? [6, 0, 3] : l.name.endsWith('-1x28x28') ? [11, 7] : l.name.endsWith('-1x16x40') ? [12, 15] : [15, 0, 9, 3, 12];
      const read = await store.getIntermediates(`det.tiny.${l.name}.*`, { rows, path: 'read' });
      const rerun = await store.rerunLayer('det.tiny', l.name, { rows });
      expect(Array.from(rerun.rowIds), l.name).toEqual(rows);
      expect(rerun.shape, l.name).toEqual(l.shape);
      expect(bytesOf(read.values).equals(bytesOf(rerun.values)), l.name).toBe(true);
    }
    // the planner's re-run path over rows of every group, and a re-run of all rows in the logged order
    const viaRerun = await store.getIntermediates('det.tiny.dense1.*', { rows: [14, 2, 8], path: 'rerun' });
    expect(viaRerun.sources[0]!.path).toBe('rerun');
    const read = await store.getIntermediates('det.tiny.dense1.*', { rows: [14, 2, 8], path: 'read' });
    expect(bytesOf(viaRerun.values as Float32Array).equals(bytesOf(read.values as Float32Array))).toBe(true);
    const all = await store.rerunLayer('det.tiny', 'dense1');
    expect(Array.from(all.rowIds)).toEqual(Array.from({ length: 16 }, (_, i) => i));

    // the logged logits are the unmodified model's on each group of images (last bits: fused kernels, README)
    const plain = await ort.InferenceSession.create(FILE);
    const logits = await store.getIntermediates('det.tiny.dense1.*', { path: 'read' });
    let at = 0;
    for (const g of groups) {
      const n = g.x.length / (g.shape[1]! * g.shape[2]!);
      const ref = (await plain.run({ image: new ort.Tensor('float32', g.x, [n, ...g.shape]) })).logits!.data as Float32Array;
      for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[at + i]! - ref[i]!)).toBeLessThanOrEqual(4e-6 * Math.max(1, Math.abs(ref[i]!)));
      at += ref.length;
    }

    // lineage: a group's first layer comes from that group's images; the pooled head from every group's last map
    const lin = await store.sql(`SELECT name, list(input ORDER BY input) AS inputs FROM mistique_lineage WHERE model = 'tiny' GROUP BY name`);
    const from = Object.fromEntries(lin.rows.map((r) => [r.name as string, r.inputs as string[]]));
    expect(from['conv1-1x28x28']).toEqual([expect.stringMatching(/^det\.inputs\.x_/)]);
    expect(from.gap1).toEqual(['det.tiny.relu5-1x16x40', 'det.tiny.relu5-1x24x32', 'det.tiny.relu5-1x28x28']);
    expect(from.dense1).toEqual(['det.tiny.gap1']);
    // the three groups' images are three stored inputs; none can go while the layers need them
    const inputs = store.list('det.inputs.*');
    expect(inputs.map((i) => i.shape)).toEqual([[1, 24, 32], [1, 28, 28], [1, 16, 40]]);
    // (the layers named are that group's and those over every group, never another group's)
    const err = (() => { try { store.delete(inputs[1]!.key); } catch (e) { return e as Error & { code: string }; } })();
    expect(err?.code).toBe('IN_USE');
    expect(err?.message).toMatch(/\(15 stay in the store: det\.tiny\.gap1, det\.tiny\.dense1, det\.tiny\.conv1-1x28x28, /);
  });

  it('pooled in the graph, the layers are stored per group as unpooled (even where pooling to one value per map makes the groups alike), and reads equal re-runs', async () => {
    for (const sigma of [2, 'S'] as const) {
      const store = await tempStore();
      const run = await store.logNetwork('det.p', FILE, groups, { batchSize: 3, scheme: { pool: { sigma } } });
      const byName = new Map(run.layers.map((l) => [l.name, l.shape]));
      expect(byName.get('conv1-1x24x32'), String(sigma)).toEqual(sigma === 2 ? [8, 12, 16] : [8, 1, 1]);
      expect(byName.get('conv1-1x16x40'), String(sigma)).toEqual(sigma === 2 ? [8, 8, 20] : [8, 1, 1]);
      expect(byName.has('conv1'), String(sigma)).toBe(false);
      for (const l of run.layers) {
        const rows = l.name.endsWith('-1x24x32') ? [6, 0] : l.name.endsWith('-1x28x28') ? [11, 7] : l.name.endsWith('-1x16x40') ? [12, 15] : [15, 0, 9];
        const [read, rerun] = await Promise.all([store.getIntermediates(`det.p.${l.name}.*`, { rows, path: 'read' }), store.getIntermediates(`det.p.${l.name}.*`, { rows, path: 'rerun' })]);
        expect(bytesOf(read.values as Float32Array).equals(bytesOf(rerun.values as Float32Array)), `${sigma} ${l.name}`).toBe(true);
      }
      await store.close();
    }
  });

  it('explicit row ids per group; a repeated shape, a row id in two groups or a shape the model cannot take is one clear error and logs nothing', async () => {
    const store = await tempStore();
    const run = await store.logNetwork('det.ids', FILE, [
      { x: groups[0]!.x.subarray(0, 2 * 24 * 32), shape: [1, 24, 32], rowIds: Int32Array.from([100, 101]) },
      { x: groups[1]!.x.subarray(0, 2 * 28 * 28), shape: [1, 28, 28], rowIds: Int32Array.from([50, 51]) },
    ]);
    expect(run.examples).toBe(4);
    const logits = await store.getIntermediates('det.ids.dense1.*', { rows: [51, 100], path: 'rerun' });
    expect(Array.from(logits.rowIds)).toEqual([51, 100]);
    const before = store.list().map((i) => i.key);
    const refused = async (input: Parameters<typeof store.logNetwork>[2], message: RegExp) => {
      await expect(store.logNetwork('det.bad', FILE, input)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(message) });
      expect(store.list().map((i) => i.key)).toEqual(before);
      expect(fs.existsSync(path.join(store.dir, 'checkpoints', 'det.bad.onnx'))).toBe(false);
    };
    await refused([groups[0]!, { x: images(2, 24, 32, 9), shape: [1, 24, 32] }], /groups 0 and 1 have the same input shapes \(1x24x32\)/);
    await refused([
      { x: groups[0]!.x.subarray(0, 24 * 32), shape: [1, 24, 32], rowIds: Int32Array.from([3]) },
      { x: groups[1]!.x.subarray(0, 28 * 28), shape: [1, 28, 28], rowIds: Int32Array.from([3]) },
    ], /row id 3 is in two groups/);
    await refused([groups[0]!, { x: images(2, 20, 20, 4).subarray(0, 2 * 2 * 20 * 10), shape: [2, 20, 10] }], /group 1 \(2x20x10\): onnxruntime failed running det\.bad/);
    await refused([groups[0]!, { x: images(1, 20, 20, 4).subarray(0, 399), shape: [1, 20, 20] }], /group 1: input image: 399 values are not a whole number/);
    await refused([groups[0]!, { x: new Float32Array(0), shape: [1, 20, 20] }], /group 1: no examples/);
    // a bad later group is refused before anything of the first is logged
    await refused([groups[0]!, { x: images(3, 20, 20, 5), shape: [1, 20, 20] }, { x: images(2, 8, 8, 6).subarray(0, 2 * 64 - 1), shape: [1, 8, 8] }], /group 2: input image: 127 values/);
    await expect(store.logNetwork('det.none', FILE, [])).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('mistique log model.onnx --input a.npy --input b.npy: one group per file; name=file.npy for named int64 inputs; bad files are one clear error', async () => {
    const dir = tempDir();
    const npy = (name: string, descr: string, shape: number[], data: ArrayBufferView) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, Buffer.concat([npyHeader(descr, shape), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
      return f;
    };
    const a = npy('a.npy', '<f4', [7, 1, 24, 32], groups[0]!.x);
    const b = npy('b.npy', '<f8', [4, 1, 16, 40], Float64Array.from(groups[2]!.x));
    const cli = async (...argv: string[]) => {
      const out: string[] = [], err: string[] = [];
      const code = await run(argv, { out: (x) => out.push(x), err: (x) => err.push(x) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const store = path.join(dir, 'store');
    const r = await cli('log', FILE, '--model', 'det.cli', '--input', a, '--input', b, '--examples', '3', '--store', store);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/conv1-1x24x32 .*\[8,24,32\]/);
    expect(r.out).toMatch(/logged 28 layers of det\.cli over 6 examples/);
    const s = await openStore(store);
    try {
      expect(s.list('det.cli.dense1').map((i) => i.rows)).toEqual([6]);
      const conv = await s.getIntermediates('det.cli.conv1-1x16x40.*', { path: 'read' });
      expect(Array.from(conv.rowIds)).toEqual([3, 4, 5]);
    } finally {
      await s.close();
    }
    // a model of two int64 inputs, each from its own file
    const T = 8;
    const ids = new BigInt64Array(5 * T).map((_, i) => BigInt(1 + (i % 40)));
    const mask = new BigInt64Array(5 * T).fill(1n);
    const text = path.resolve(__dirname, '../datasets/fixtures/tiny_text.onnx');
    const named = await cli('log', text, '--model', 'nlp.cli', '--input', `input_ids=${npy('ids.npy', '<i8', [5, T], ids)},attention_mask=${npy('mask.npy', '<i8', [5, T], mask)}`, '--store', store);
    expect(named.code, named.err).toBe(0);
    expect(named.out).toMatch(/over 5 examples/);
    // the two inputs as one file: the error says how the CLI takes them; a Transformer's [tokens, batch, …] outputs are named as not logged
    const one = await cli('log', text, '--model', 'nlp.one', '--input', path.join(dir, 'ids.npy'), '--store', store);
    expect(one.err).toMatch(/--input input_ids=<file>\.npy,attention_mask=<file>\.npy/);
    const enc = await cli('log', path.resolve(__dirname, '../datasets/fixtures/tiny_encoder.onnx'), '--model', 'nlp.enc', '--input', `input_ids=${path.join(dir, 'ids.npy')},attention_mask=${path.join(dir, 'mask.npy')}`, '--store', store);
    expect(enc.code, enc.err).toBe(0);
    expect(enc.out).toMatch(/not logged: 3 layer outputs that are not one row per example .*dense4 \(/);
    const attention = await cli('log', path.resolve(__dirname, '../datasets/fixtures/tiny_encoder.onnx'), '--model', 'nlp.att', '--layers', 'softmax*, dense7', '--input', `input_ids=${path.join(dir, 'ids.npy')},attention_mask=${path.join(dir, 'mask.npy')}`, '--store', store);
    expect(attention.code, attention.err).toBe(0);
    expect(attention.out).toMatch(/^softmax1 .*\[2,8,8\]$/m);
    expect(attention.out).toMatch(/logged 2 layers of nlp\.att/);
    // bad input: a clear error, nothing logged
    const bad = await cli('log', FILE, '--model', 'det.bad', '--input', npy('u.npy', '<u2', [2, 1, 4, 4], new Uint16Array(32)), '--store', store);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/input image holds uint16 values but the model takes float32: convert them to floats/);
    const complex = await cli('log', FILE, '--model', 'det.bad', '--input', npy('c.npy', '<c8', [2, 1, 4, 4], new Float32Array(64)), '--store', store);
    expect(complex.err).toMatch(/c\.npy: mistique reads \.npy arrays of <f4, <f8, <f2, <i8, .* here \(got <c8 of shape \(2, 1, 4, 4\)\)/);
    // uint8 images for a model that takes them (TensorFlow's exports do)
    const u8 = await cli('log', path.resolve(__dirname, '../datasets/fixtures/tiny_uint8.onnx'), '--model', 'fm.u8', '--input', npy('u8.npy', '|u1', [3, 1, 28, 28], new Uint8Array(3 * 784).map((_, i) => i % 256)), '--store', store);
    expect(u8.code, u8.err).toBe(0);
    expect(u8.out).toMatch(/over 3 examples/);
    const both = await cli('log', FILE, '--model', 'det.bad', '--input', a, '--images', 'subset', '--store', store);
    expect(both.err).toMatch(/--images \(Fashion-MNIST\) or --input/);
    const s2 = await openStore(store);
    try { expect(s2.list('det.bad.*')).toEqual([]); } finally { await s2.close(); }
  });
});
