// ONNX networks: graph rewrite, logging every layer (equal to a plain onnxruntime run), pooling,
// re-running up to a layer on a few rows with a truncated graph.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { exposeLayers, parseGraph, truncateAt } from '../src/executor/onnx/graph.js';
import { pool } from '../src/quantize/index.js';
import { tempStore } from './helpers.js';

const FIXTURE = path.resolve(__dirname, '../datasets/fixtures/tiny_cnn.onnx');
const bytes = fs.readFileSync(FIXTURE);
const images = (n: number) => batches(loadSubset(), n).next().value!;

describe('ONNX graph rewrite', () => {
  it('names layers safely, keeps the original names, exposes every layer with the right shapes', async () => {
    const g = parseGraph(bytes);
    expect(g.layers.map((l) => l.name)).toEqual(['conv1', 'relu1', 'conv2', 'relu2', 'pool1', 'conv3', 'relu3', 'conv4', 'relu4', 'pool2', 'flatten1', 'dense1', 'relu5', 'dense2']);
    expect(g.layers[0]!.original).toBe('/features/features.0/Conv_output_0');
    const s = await ort.InferenceSession.create(exposeLayers(g));
    const out = await s.run({ image: new ort.Tensor('float32', images(3).x, [3, 1, 28, 28]) });
    expect(out[g.layers[0]!.original]!.dims).toEqual([3, 4, 28, 28]);
    expect(out[g.layers[4]!.original]!.dims).toEqual([3, 4, 14, 14]);
    expect(out.logits!.dims).toEqual([3, 10]);
    expect(parseGraph(bytes, 'nodes').layers.length).toBeGreaterThanOrEqual(g.layers.length);
  });
  it('a truncated graph runs fewer nodes and stops at the layer', async () => {
    const g = parseGraph(bytes);
    const cut = truncateAt(g, g.layers[4]!);
    expect(cut.nodes).toBe(5);
    const s = await ort.InferenceSession.create(cut.bytes);
    expect(s.outputNames).toEqual([g.layers[4]!.original]);
  });
  it('rejects what is not an ONNX model', () => {
    expect(() => parseGraph(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(/not an ONNX model|no graph/);
  });
});

describe('logging a network', () => {
  it('logs every layer equal to a plain onnxruntime run, logits within 1e-6 of the unmodified model', async () => {
    const store = await tempStore();
    const { x, rowIds } = images(300);
    const run = await store.logNetwork('fm.tiny_e01', FIXTURE, { x, shape: [1, 28, 28], rowIds }, { batchSize: 64 });
    expect(run.examples).toBe(300);
    const plain = await ort.InferenceSession.create(bytes);
    const ref = (await plain.run({ image: new ort.Tensor('float32', x, [300, 1, 28, 28]) })).logits!.data as Float32Array;
    const logits = await store.getIntermediates('fm.tiny_e01.dense2.*');
    expect(logits.values.length).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[i]! - ref[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref[i]!)));
    const conv1 = await store.getIntermediates('fm.tiny_e01.conv1.*', { rows: [5, 299] });
    expect(conv1.shape).toEqual([4, 28, 28]);
    expect(store.list('fm.tiny_e01.*').map((i) => i.key.split('.')[2])).toContain('input');
  });

  it('pools activation maps (POOL_QT) and re-runs a layer on a few rows with a truncated graph', async () => {
    const store = await tempStore();
    const { x } = images(100);
    await store.logNetwork('fm.tiny_e02', bytes, { x, shape: [1, 28, 28] }, { batchSize: 32, scheme: { kind: 'pool', sigma: 2 } });
    const pooled = await store.getIntermediates('fm.tiny_e02.relu1.*', { rows: [7, 42] });
    expect(pooled.shape).toEqual([4, 14, 14]);
    const r = await store.rerunLayer('fm.tiny_e02', 'relu1', { rows: [7, 42] });
    expect(r.shape).toEqual([4, 28, 28]);
    expect(r.nodes).toBeLessThan(r.totalNodes);
    expect([...r.rowIds]).toEqual([7, 42]);
    const want = pool(r.values, [4, 28, 28], 2).values;
    for (let i = 0; i < want.length; i++) expect(pooled.values[i]).toBeCloseTo(want[i]!, 5);
    // re-run to the logits equals the logged logits
    const logits = await store.rerunLayer('fm.tiny_e02', 'dense2', { rows: [3] });
    const logged = await store.getIntermediates('fm.tiny_e02.dense2.*', { rows: [3] });
    expect([...logits.values]).toEqual([...logged.values]);
  });

  it('the same checkpoint logged twice stores its layers once (exact dedup across checkpoints)', async () => {
    const store = await tempStore();
    const { x } = images(64);
    await store.logNetwork('fm.a', bytes, { x, shape: [1, 28, 28] });
    const u1 = store.stats().bytesUnique;
    await store.logNetwork('fm.b', bytes, { x, shape: [1, 28, 28] });
    expect(store.stats().bytesUnique).toBe(u1);
  });
});
