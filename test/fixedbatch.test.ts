// A model exported without a dynamic batch axis (torch.onnx.export's default: batch 1, as many pretrained
// models are published) runs only on batches of exactly its size: logNetwork and re-runs use that size,
// a short last batch is padded with copies of its last example and its outputs trimmed back.
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { tempStore, thrownErrorAsync } from './helpers.js';

const { onnx } = onnxProto;
const DYNAMIC = fs.readFileSync(path.resolve(__dirname, '../datasets/fixtures/tiny_cnn.onnx'));

/** The fixture with its input's first dimension fixed to `b` (what an export without dynamic_axes gives). */
function fixedAt(b: number): Uint8Array {
  const m = onnx.ModelProto.decode(DYNAMIC);
  const dim = m.graph!.input![0]!.type!.tensorType!.shape!.dim![0]!;
  dim.dimParam = '';
  dim.dimValue = b;
  return onnx.ModelProto.encode(m).finish();
}

describe('a model of a fixed batch size', () => {
  const { x } = batches(loadSubset(), 10).next().value!;

  it('logs in batches of its size, the short last one padded: every layer as the unmodified model computes it, reads equal re-runs', async () => {
    const bytes = fixedAt(4);
    const direct = await ort.InferenceSession.create(DYNAMIC);
    const store = await tempStore();
    // 10 examples: batches of 4, 4 and 2 (padded to 4)
    const run = await store.logNetwork('fm.fixed', bytes, { x, shape: [1, 28, 28] });
    expect(run.examples).toBe(10);
    const last = run.layers[run.layers.length - 1]!.name;
    const logits = await store.getIntermediates(`fm.fixed.${last}.*`, { path: 'read' });
    expect([...logits.rowIds]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const want = (await direct.run({ [direct.inputNames[0]!]: new ort.Tensor('float32', x, [10, 1, 28, 28]) }))[direct.outputNames[0]!]!.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(Math.abs(logits.values[i]! - want[i]!)).toBeLessThan(1e-5);
    // a re-run of rows across the padded batch, in batches of 4 again
    const first = run.layers[0]!.name;
    const rows = [9, 0, 8, 5, 3];
    const read = await store.getIntermediates(`fm.fixed.${first}.*`, { rows, path: 'read' });
    const rerun = await store.getIntermediates(`fm.fixed.${first}.*`, { rows, path: 'rerun' });
    expect(rerun.sources[0]!.path).toBe('rerun');
    expect(Buffer.from(rerun.values.buffer, rerun.values.byteOffset, rerun.values.byteLength).equals(Buffer.from(read.values.buffer, read.values.byteOffset, read.values.byteLength))).toBe(true);
  });

  it('a batch size other than its own is one clear error that logs nothing', async () => {
    const store = await tempStore();
    const err = await thrownErrorAsync(() => store.logNetwork('fm.fixed1', fixedAt(1), { x, shape: [1, 28, 28] }, { batchSize: 8 }));
    expect(err).toMatch(/^BAD_OPTION: .*takes batches of exactly 1 example \(its input's first dimension is fixed\), not 8: leave batchSize out/);
    expect(store.list('fm.*')).toEqual([]);
    // without batchSize it logs, one example at a time
    const run = await store.logNetwork('fm.fixed1', fixedAt(1), { x: x.subarray(0, 3 * 784), shape: [1, 28, 28] });
    expect(run.examples).toBe(3);
  });

  it('a Transformer exported at batch 1 logs every layer, its attention and [tokens, 1, features] values as the example\'s rows; re-runs give them back', async () => {
    // tiny_encoder with both inputs fixed at batch 1, as torch.onnx.export gives without dynamic_axes
    const file = path.resolve(__dirname, '../datasets/fixtures/tiny_encoder.onnx');
    const m = onnx.ModelProto.decode(fs.readFileSync(file));
    for (const inp of m.graph!.input!) { const d = inp.type!.tensorType!.shape!.dim![0]!; d.dimParam = ''; d.dimValue = 1; }
    const one = onnx.ModelProto.encode(m).finish();
    const N = 5, T = 8;
    const ids = BigInt64Array.from({ length: N * T }, (_, i) => BigInt(1 + ((i * 7) % 49)));
    const mask = new BigInt64Array(N * T).fill(1n);
    const input = { inputs: { input_ids: { data: ids, shape: [T] }, attention_mask: { data: mask, shape: [T] } } };
    const store = await tempStore();
    const dyn = await store.logNetwork('nlp.dyn', file, input, { batchSize: 2 });
    const fixed = await store.logNetwork('nlp.one', one, input);
    // every layer output is the one example's: nothing left out
    expect(fixed.notPerExample).toEqual([]);
    expect(fixed.layers.length).toBe(dyn.layers.length + dyn.notPerExample.length);
    const shapeOf = Object.fromEntries(fixed.layers.map((l) => [l.name, l.shape]));
    expect(shapeOf).toMatchObject({ softmax1: [2, T, T], dense1: [T, 1, 48] });
    // the attention weights equal the dynamic-batch log's, example by example
    const a = await store.getIntermediates('nlp.one.softmax1.*', { path: 'read' });
    const b = await store.getIntermediates('nlp.dyn.softmax1.*', { path: 'read' });
    for (let i = 0; i < a.values.length; i++) expect(Math.abs(a.values[i]! - b.values[i]!)).toBeLessThanOrEqual(1e-5);
    for (const name of ['softmax1', 'dense1']) {
      const read = await store.getIntermediates(`nlp.one.${name}.*`, { rows: [4, 1], path: 'read' });
      const again = await store.rerunLayer('nlp.one', name, { rows: [4, 1] });
      expect(again.shape).toEqual(shapeOf[name]);
      expect([...again.values], name).toEqual([...read.values]);
    }
  });
});
