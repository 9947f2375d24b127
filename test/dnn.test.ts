// ONNX networks: graph rewrite, logging every layer (equal to a plain onnxruntime run), pooling,
// re-running up to a layer on a few rows with a truncated graph.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../src/index.js';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import onnxProto from 'onnx-proto';
import { examplesNotFirst, exposeLayers, exposeReduced, parseGraph, REDUCE_PREFIX, truncateAt } from '../src/executor/onnx/graph.js';
import { sameRows } from '../src/executor/onnx/blocks.js';
import { fromFloat16, pool, toFloat16 } from '../src/quantize/index.js';
import { CODEC_IDS } from '../src/store/codecs/index.js';
import { tempStore } from './helpers.js';

const { onnx } = onnxProto;
const FIXTURE = path.resolve(__dirname, '../datasets/fixtures/tiny_cnn.onnx');
const bytes = fs.readFileSync(FIXTURE);
const images = (n: number) => batches(loadSubset(), n).next().value!;

describe('ONNX graph rewrite', () => {
  it("onnxruntime's Cast to float16 (LP_QT in the graph) gives toFloat16's bits: rounding to nearest even, subnormals, overflow, NaN, ±Infinity", async () => {
    const m = onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: {
        name: 'cast', node: [onnx.NodeProto.create({ opType: 'Cast', input: ['x'], output: ['y'], attribute: [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: 10 })] })],
        input: [onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }] } } } })],
        output: [onnx.ValueInfoProto.create({ name: 'y', type: { tensorType: { elemType: 10, shape: { dim: [{ dimParam: 'n' }] } } } })],
      },
    });
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(m).finish());
    const bits = new Uint32Array(1 << 16);
    let seed = 1;
    for (let i = 0; i < bits.length; i++) bits[i] = seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const x = new Float32Array(bits.buffer);
    // ties at the half-ulp, the largest half, the first to overflow, the smallest subnormals and their halves
    [0, -0, Infinity, -Infinity, NaN, 65504, 65519.99, 65520, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 1e-8, 3e38].forEach((v, i) => { x[2 * i] = v; x[2 * i + 1] = -v; });
    const y = (await session.run({ x: new ort.Tensor('float32', x, [x.length]) })).y!.data as Uint16Array;
    expect(Array.from(y)).toEqual(Array.from(toFloat16(x)));
    await session.release();
  });

  it('reduces in the graph only what it knows how to: pools [N, C, H, W] float32 layers, casts to half floats what is left nothing to pool', async () => {
    const g = parseGraph(bytes);
    // the ranks onnxruntime infers (logNetwork reads them the same way)
    const probe = await ort.InferenceSession.create(exposeLayers(g));
    const known = new Map(probe.outputMetadata.map((m) => [m.name, m.isTensor ? m.shape.length : undefined]));
    await probe.release();
    const rank = (l: { original: string }): number | undefined => known.get(l.original);
    expect(g.layers.map(rank)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2]);
    const both = exposeReduced(g, { pool: 2, half: true }, known).outputs;
    for (const l of g.layers) {
      const o = both.get(l.original)!;
      expect([o.pooled, o.half], l.name).toEqual([rank(l) === 4, true]);
      expect(o.name.startsWith(REDUCE_PREFIX), l.name).toBe(true);
    }
    // a layer of unknown rank may need pooling in JavaScript: then it leaves the graph as float32, unpooled
    const unknown = exposeReduced(g, { pool: 2, half: true }, new Map()).outputs;
    for (const l of g.layers) expect(unknown.get(l.original), l.name).toEqual({ name: l.original, pooled: false, half: false });
    // with no pooling asked, every float32 layer is cast whatever its rank
    for (const o of exposeReduced(g, { half: true }, new Map()).outputs.values()) expect([o.pooled, o.half]).toEqual([false, true]);
    // an opset before 10 has no ceil_mode: nothing is pooled in the graph
    const old = onnx.ModelProto.decode(bytes);
    old.opsetImport = [onnx.OperatorSetIdProto.create({ domain: '', version: 9 })];
    const g9 = parseGraph(onnx.ModelProto.encode(old).finish());
    for (const o of exposeReduced(g9, { pool: 2 }, known).outputs.values()) expect(o.pooled).toBe(false);
  });

  it('names layers safely, keeps the original names, exposes every layer with the right shapes', async () => {
    const g = parseGraph(bytes);
    expect(g.layers.map((l) => l.name)).toEqual(['conv1', 'relu1', 'conv2', 'relu2', 'pool1', 'conv3', 'relu3', 'conv4', 'relu4', 'pool2', 'dense1', 'relu5', 'dense2']);
    expect(g.layers[0]!.original).toBe('/features/features.0/Conv_output_0');
    const s = await ort.InferenceSession.create(exposeLayers(g));
    const out = await s.run({ image: new ort.Tensor('float32', images(3).x, [3, 1, 28, 28]) });
    expect(out[g.layers[0]!.original]!.dims).toEqual([3, 4, 28, 28]);
    expect(out[g.layers[4]!.original]!.dims).toEqual([3, 4, 14, 14]);
    expect(out.logits!.dims).toEqual([3, 10]);
    expect(parseGraph(bytes, 'nodes').layers.map((l) => l.name)).toContain('flatten1');
  });
  it('a model in double precision logs its float64 layers as float32, and a read equals its re-run bit for bit; float16 is a clear error', async () => {
    // datasets/train.py --fixtures: Linear, Tanh, Linear in float64, input x [N, 6] float64
    const file = path.resolve(__dirname, '../datasets/fixtures/tiny_double.onnx');
    const x = Float64Array.from({ length: 9 * 6 }, (_, i) => Math.sin(i * 1.7) * 2);
    const store = await tempStore();
    const run = await store.logNetwork('p.dbl', file, { x, shape: [6] }, { batchSize: 4 });
    expect(run.layers.map((l) => `${l.name}[${l.shape.join(',')}]`)).toEqual(['dense1[5]', 'tanh1[5]', 'dense2[3]']);
    const plain = await ort.InferenceSession.create(file);
    const ref = (await plain.run({ x: new ort.Tensor('float64', x, [9, 6]) })).y!.data as Float64Array;
    const read = await store.getIntermediates('p.dbl.dense2.*', { path: 'read' });
    expect(Array.from(read.values)).toEqual(Array.from(ref, Math.fround));
    for (const l of run.layers) {
      const r = await store.getIntermediates(`p.dbl.${l.name}.*`, { rows: [7, 2], path: 'read' });
      const again = await store.rerunLayer('p.dbl', l.name, { rows: [7, 2] });
      expect(Array.from(again.values), l.name).toEqual(Array.from(r.values));
    }
    // half precision: a graph of float16 values has no layer mistique logs, and says what to do
    const f16 = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT16, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } });
    const half = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ version: 17 }], graph: onnx.GraphProto.create({ name: 'h', node: [onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['y'] })], input: [f16('x')], output: [f16('y')] }) })).finish();
    expect(() => parseGraph(half)).toThrow(/the ONNX graph computes in float16: mistique logs float32 layers — export the model in float32 \(PyTorch: model\.float\(\)/);
  });

  it('a truncated graph runs fewer nodes and stops at the layer', async () => {
    const g = parseGraph(bytes);
    const cut = truncateAt(g, g.layers[4]!);
    expect(cut.nodes).toBe(5);
    const s = await ort.InferenceSession.create(cut.bytes);
    expect(s.outputNames).toEqual([g.layers[4]!.original]);
  });
  it('a graph that computes its shapes at run time logs (#19): int64 values are not layers; hard-swish, Resize and ReLU6 are', async () => {
    // datasets/train.py --fixtures: Conv → HardSigmoid·Mul (hard-swish) → MaxPool → Resize → Conv → Clip (ReLU6) →
    // a flatten by the batch size read at run time (Shape → Gather → Unsqueeze → Concat → Reshape, int64) → Gemm
    const dyn = path.resolve(__dirname, '../datasets/fixtures/dynamic_net.onnx');
    const g = parseGraph(fs.readFileSync(dyn));
    expect(g.layers.map((l) => l.name)).toEqual(['conv1', 'hsigmoid1', 'hswish1', 'pool1', 'resize1', 'conv2', 'clip1', 'dense1']);
    const store = await tempStore();
    const { x } = images(70);
    const run = await store.logNetwork('fm.dyn', dyn, { x, shape: [1, 28, 28] }, { batchSize: 32 });
    expect(run.layers.map((l) => `${l.name}[${l.shape.join(',')}]`)).toEqual(['conv1[4,28,28]', 'hsigmoid1[4,28,28]', 'hswish1[4,28,28]', 'pool1[4,14,14]', 'resize1[4,28,28]', 'conv2[4,14,14]', 'clip1[4,14,14]', 'dense1[10]']);
    // every layer read equals its re-run through the truncated graph, bit for bit
    for (const l of run.layers) {
      const read = await store.getIntermediates(`fm.dyn.${l.name}.*`, { rows: [3, 69, 40], path: 'read' });
      const rerun = await store.rerunLayer('fm.dyn', l.name, { rows: [3, 69, 40] });
      expect(Buffer.from(read.values.buffer, read.values.byteOffset, read.values.byteLength).equals(Buffer.from(rerun.values.buffer, rerun.values.byteOffset, rerun.values.byteLength)), l.name).toBe(true);
    }
    // the last layer equals the unmodified model's output
    const plain = await ort.InferenceSession.create(dyn);
    const ref = (await plain.run({ image: new ort.Tensor('float32', x, [70, 1, 28, 28]) })).logits!.data as Float32Array;
    const logits = await store.getIntermediates('fm.dyn.dense1.*', { path: 'read' });
    for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[i]! - ref[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref[i]!)));
  });

  it('a model with two int64 inputs (token ids, attention mask) logs every layer, aligned by row, and re-runs (#19)', async () => {
    // datasets/train.py --fixtures: embedding, masked self-attention with a residual Add and LayerNorm, GELU, pooling
    const text = path.resolve(__dirname, '../datasets/fixtures/tiny_text.onnx');
    const N = 37, T = 8;
    const ids = new BigInt64Array(N * T), mask = new BigInt64Array(N * T);
    for (let i = 0; i < N; i++) {
      const len = 1 + (i % T); // sentences of 1…8 tokens, the rest padding
      for (let t = 0; t < T; t++) { ids[i * T + t] = t < len ? BigInt((i * 7 + t * 3) % 50) : 0n; mask[i * T + t] = t < len ? 1n : 0n; }
    }
    const rowIds = Int32Array.from({ length: N }, (_, i) => 1000 + i);
    const store = await tempStore();
    // one input given where the model takes two: a clear error naming them
    await expect(store.logNetwork('nlp.bad', text, { inputs: { input_ids: { data: ids, shape: [T] } }, rowIds })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/takes inputs input_ids \(int64\), attention_mask \(int64\); missing: attention_mask/) });
    await expect(store.logNetwork('nlp.bad', text, { x: new Float32Array(N * T), shape: [T] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/takes 2 inputs/) });
    const run = await store.logNetwork('nlp.tiny', text, { inputs: { input_ids: { data: ids, shape: [T] }, attention_mask: { data: mask, shape: [T] } }, rowIds }, { batchSize: 16 });
    const names = run.layers.map((l) => l.name);
    // torch 1.13 exports LayerNorm and GELU decomposed (ReduceMean…, Erf…): their last Adds are layers
    for (const want of ['embed1', 'softmax1', 'dense1']) expect(names).toContain(want);
    expect(names.some((n) => n.startsWith('add'))).toBe(true); // the residuals
    // the inputs are stored for re-runs, exactly
    const stored = store.list('nlp.inputs.*').map((i) => i.key);
    expect(stored).toHaveLength(2);
    const back = await store.getIntermediates(`${stored.find((k) => k.includes('input_ids'))}.*`, { rows: [1005] });
    expect(Array.from(back.values)).toEqual(Array.from(ids.subarray(5 * T, 6 * T), Number));
    // the last layer equals the unmodified model's output, and every layer's read equals its re-run bit for bit
    const plain = await ort.InferenceSession.create(text);
    const ref = (await plain.run({ input_ids: new ort.Tensor('int64', ids, [N, T]), attention_mask: new ort.Tensor('int64', mask, [N, T]) })).logits!.data as Float32Array;
    const last = run.layers.at(-1)!.name;
    const logits = await store.getIntermediates(`nlp.tiny.${last}.*`, { path: 'read' });
    expect(Array.from(logits.rowIds)).toEqual(Array.from(rowIds));
    for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[i]! - ref[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[i]!)));
    for (const l of run.layers) {
      const rows = [1036, 1000, 1017];
      const read = await store.getIntermediates(`nlp.tiny.${l.name}.*`, { rows, path: 'read' });
      const rerun = await store.rerunLayer('nlp.tiny', l.name, { rows });
      expect(Array.from(rerun.rowIds)).toEqual(rows);
      expect(Buffer.from(read.values.buffer, read.values.byteOffset, read.values.byteLength).equals(Buffer.from(rerun.values.buffer, rerun.values.byteOffset, rerun.values.byteLength)), l.name).toBe(true);
    }
    // the planner estimates and takes the re-run path too
    const viaRerun = await store.getIntermediates(`nlp.tiny.${last}.*`, { rows: [1001], path: 'rerun' });
    expect(viaRerun.sources[0]!.path).toBe('rerun');
  });

  it('recurrent layers (LSTM, GRU) log batch-major, one row per example, equal to onnxruntime; read = re-run bit for bit', async () => {
    // datasets/train.py --fixtures: PyTorch's batch_first LSTM (two layers) and bidirectional GRU, exported as ONNX's
    // time-major ops: Y is [seq, directions, batch, hidden], Y_h and Y_c [directions, batch, hidden]
    const file = path.resolve(__dirname, '../datasets/fixtures/tiny_rnn.onnx');
    const N = 9, T = 6;
    const ids = BigInt64Array.from({ length: N * T }, (_, i) => BigInt((i * 7 + (i >> 3)) % 50));
    const rowIds = Int32Array.from({ length: N }, (_, i) => 100 + i);
    const store = await tempStore();
    // batches of T examples: a time-major output then has as many leading rows as the batch has examples
    const run = await store.logNetwork('nlp.rnn', file, { inputs: { input_ids: { data: ids, shape: [T] } }, rowIds }, { batchSize: T });
    const shapes = Object.fromEntries(run.layers.map((l) => [l.name, l.shape]));
    expect(shapes).toMatchObject({ lstm1: [T, 1, 12], lstm1_h: [1, 12], lstm1_c: [1, 12], lstm2: [T, 1, 12], lstm2_h: [1, 12], lstm2_c: [1, 12], gru1: [T, 2, 6], gru1_h: [2, 6] });
    // onnxruntime's own outputs of the unmodified ops, transposed here to one row per example
    const m = onnx.ModelProto.decode(fs.readFileSync(file));
    const rec = run.layers.filter((l) => l.op === 'LSTM' || l.op === 'GRU');
    for (const l of rec) m.graph!.output!.push(onnx.ValueInfoProto.create({ name: l.original, type: { tensorType: { elemType: 1 } } }));
    const raw = await (await ort.InferenceSession.create(onnx.ModelProto.encode(m).finish())).run({ input_ids: new ort.Tensor('int64', ids, [N, T]) });
    for (const l of rec) {
      const t = raw[l.original]!;
      const dims = t.dims.map(Number);
      const data = t.data as Float32Array;
      // [seq, dirs, batch, hidden] or [dirs, batch, hidden]: the batch is the second to last axis
      const b = dims.length - 2, per = data.length / N, hidden = dims.at(-1)!;
      const want = new Float32Array(data.length);
      const outer = data.length / (N * hidden);
      for (let o = 0; o < outer; o++) for (let n = 0; n < N; n++) for (let h = 0; h < hidden; h++) want[n * per + o * hidden + h] = data[(o * N + n) * hidden + h]!;
      expect(dims[b]).toBe(N);
      const read = await store.getIntermediates(`nlp.rnn.${l.name}.*`, { path: 'read' });
      expect(Array.from(read.rowIds)).toEqual(Array.from(rowIds));
      for (let i = 0; i < want.length; i++) expect(Math.abs(read.values[i]! - want[i]!), `${l.name}[${i}]`).toBeLessThanOrEqual(1e-6);
      const rows = [108, 100, 103];
      const part = await store.getIntermediates(`nlp.rnn.${l.name}.*`, { rows, path: 'read' });
      const again = await store.rerunLayer('nlp.rnn', l.name, { rows });
      expect(again.shape).toEqual(shapes[l.name]);
      expect(Buffer.from(part.values.buffer, part.values.byteOffset, part.values.byteLength).equals(Buffer.from(again.values.buffer, again.values.byteOffset, again.values.byteLength)), l.name).toBe(true);
    }
    // the GRU's last step is what the classifier reads: the logits equal the unmodified model's
    const logits = await store.getIntermediates(`nlp.rnn.${run.layers.at(-1)!.name}.*`, { path: 'read' });
    const ref = (await (await ort.InferenceSession.create(file)).run({ input_ids: new ort.Tensor('int64', ids, [N, T]) })).logits!.data as Float32Array;
    for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[i]! - ref[i]!)).toBeLessThanOrEqual(1e-6);
    // pooled and half-float in the graph as any rank-4 layer, [N, seq, dirs, hidden]: the stored half floats are a
    // re-run's values (pooled as stored, at full precision) cast by toFloat16, bit for bit
    const pooled = await store.logNetwork('nlp.rnnp', file, { inputs: { input_ids: { data: ids, shape: [T] } }, rowIds }, { batchSize: 4, scheme: { pool: { sigma: 2 }, quantize: 'lp' } });
    expect(pooled.layers.find((l) => l.name === 'lstm2')!.shape).toEqual([T, 1, 6]);
    for (const name of ['lstm2', 'gru1', 'gru1_h']) {
      const sp = await store.getIntermediates(`nlp.rnnp.${name}.*`, { rows: [101, 107], path: 'read' });
      const sr = await store.getIntermediates(`nlp.rnnp.${name}.*`, { rows: [101, 107], path: 'rerun' });
      expect([...sp.values], name).toEqual([...fromFloat16(toFloat16(sr.values as Float32Array))]);
    }
  });

  it("the model's outputs are layers whatever computes them, and LogSoftmax is one: a classifier's log-probabilities and a squeezed score are logged", async () => {
    // x [N, 4] → MatMul → LogSoftmax → logp; the MatMul's scores → ReduceMax over the classes, kept [N] (a Squeeze-like output)
    const w = onnx.TensorProto.create({ name: 'W', dims: [4, 3], dataType: 1, floatData: [0.5, -1, 0.25, 2, 0.125, -0.5, -0.75, 1.5, 1, 0.3, -0.2, 0.1] });
    const axes = onnx.TensorProto.create({ name: 'axes', dims: [1], dataType: 7, int64Data: [1] });
    const vi = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } });
    const m = onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ version: 13 }], graph: onnx.GraphProto.create({
        name: 'heads', initializer: [w, axes], input: [vi('x')], output: [vi('logp'), vi('best')],
        node: [
          onnx.NodeProto.create({ opType: 'MatMul', input: ['x', 'W'], output: ['scores'] }),
          onnx.NodeProto.create({ opType: 'LogSoftmax', input: ['scores'], output: ['logp'], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })] }),
          onnx.NodeProto.create({ opType: 'ReduceMax', input: ['scores'], output: ['top'], attribute: [onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }), onnx.AttributeProto.create({ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] })] }),
          onnx.NodeProto.create({ opType: 'Unsqueeze', input: ['top', 'axes'], output: ['best'] }),
        ],
      }),
    });
    const file = onnx.ModelProto.encode(m).finish();
    expect(parseGraph(file).layers.map((l) => [l.name, l.original])).toEqual([['dense1', 'scores'], ['logsoftmax1', 'logp'], ['unsqueeze1', 'best']]);
    const N = 7;
    const x = Float32Array.from({ length: N * 4 }, (_, i) => Math.sin(i));
    const store = await tempStore();
    const run = await store.logNetwork('t.heads', file, { x, shape: [4] }, { batchSize: 3 });
    expect(run.layers.map((l) => [l.name, l.shape])).toEqual([['dense1', [3]], ['logsoftmax1', [3]], ['unsqueeze1', [1]]]);
    const ref = await (await ort.InferenceSession.create(file)).run({ x: new ort.Tensor('float32', x, [N, 4]) });
    expect([...(await store.getIntermediates('t.heads.logsoftmax1.*', { path: 'read' })).values]).toEqual([...(ref.logp!.data as Float32Array)]);
    expect([...(await store.getIntermediates('t.heads.unsqueeze1.*', { path: 'read' })).values]).toEqual([...(ref.best!.data as Float32Array)]);
    expect([...(await store.getIntermediates('t.heads.unsqueeze1.*', { rows: [5, 1], path: 'rerun' })).values]).toEqual([ref.best!.data[5], ref.best!.data[1]]);
  });

  it('takes as many examples a batch as 256 MB of layers hold when batchSize is not given (a DenseNet exposes 176 MB an example)', async () => {
    const { defaultBatch, BATCH_BYTES, MAX_BATCH } = await import('../src/executor/onnx/dnn.js');
    expect([defaultBatch(undefined), defaultBatch(1000), defaultBatch(176e6), defaultBatch(BATCH_BYTES / 32), defaultBatch(NaN)]).toEqual([MAX_BATCH, MAX_BATCH, 1, 32, MAX_BATCH]);
    // x [N, 4] → Tile ×2^18 → [N, 2^20] → Relu: 4 MB of layers an example, 64 examples a batch
    const reps = onnx.TensorProto.create({ name: 'reps', dims: [2], dataType: 7, int64Data: [1, 2 ** 18] });
    const vi = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } });
    const file = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ version: 13 }], graph: onnx.GraphProto.create({
        name: 'wide', initializer: [reps], input: [vi('x')], output: [vi('y')],
        node: [onnx.NodeProto.create({ opType: 'Tile', input: ['x', 'reps'], output: ['t'] }), onnx.NodeProto.create({ opType: 'Relu', input: ['t'], output: ['y'] })],
      }),
    })).finish();
    const N = 65;
    const x = Float32Array.from({ length: N * 4 }, (_, i) => Math.cos(i));
    const store = await tempStore();
    const run = await store.logNetwork('t.wide', file, { x, shape: [4] });
    expect(run.layers.map((l) => l.name)).toEqual(['relu1']); // (a Tile is no layer)
    expect(run.batchSize).toBe(64);
    expect(JSON.parse(store.metadata.workflows.get('t', 'wide')!.spec).batchSize).toBe(64); // re-runs take the same batches
    const last = await store.getIntermediates('t.wide.relu1.*', { rows: [64], path: 'read' }); // the second batch's one example
    expect(Array.from(last.values.subarray(0, 8))).toEqual(Array.from({ length: 8 }, (_, k) => Math.max(0, Math.fround(Math.cos(64 * 4 + (k % 4))))));
    // a batchSize given is kept
    expect((await (await tempStore()).logNetwork('t.wide', file, { x: x.subarray(0, 12), shape: [4] }, { batchSize: 5 })).batchSize).toBe(5);
    // examples of two shapes: the batch the larger one's layers allow (8 values tiled: 8 MB an example)
    const two = await (await tempStore()).logNetwork('t.wide', file, [{ x: x.subarray(0, 8), shape: [4] }, { x: x.subarray(0, 16), shape: [8] }]);
    expect(two.batchSize).toBe(32);
  });

  it("checks the examples' rank against the model's input before running: a model without a batch axis says what to do", async () => {
    // x [3, 4] (one example, no batch axis: as torchvision's detection models export) → Relu
    const vi = (name: string, dims?: (number | string)[]) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}) } } });
    const model = (dims: (number | string)[]) => onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ version: 13 }], graph: onnx.GraphProto.create({ name: 'r', input: [vi('x', dims)], output: [vi('y')], node: [onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['y'] })] }),
    })).finish();
    const store = await tempStore();
    const x = Float32Array.from({ length: 24 }, (_, i) => i - 12);
    // it had failed in onnxruntime: "Invalid rank for input: x Got: 3 Expected: 2"
    await expect(store.logNetwork('t.unbatched', model([3, 4]), { x, shape: [3, 4] })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/input x of the model takes one example of rank 2, without a batch axis .* export the model with a batch axis, or capture it from PyTorch with python\/mistique/) });
    await expect(store.logNetwork('t.rank', model(['n', 3, 4]), { x, shape: [12] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: 'input x of the model has rank 3: a batch axis and 2 per-example dimensions, but the examples given are [12] each (1 dimension): give them as the model takes them' });
    expect(store.list()).toEqual([]);
    // the same examples as the model takes them log
    expect((await store.logNetwork('t.rank', model(['n', 3, 4]), { x, shape: [3, 4] })).examples).toBe(2);
  });

  it('tells rows of one example from rows that interleave examples: sameRows within rounding, ±Infinity and NaN alike', () => {
    // example A alone: 2 rows [a0, a1]; A and B together, batch-major: [a0, a1, b0, b1]; time-major: [a0, b0, a1, b1]
    const a0 = [1, -Infinity, 3], a1 = [0.5, 2, NaN], b0 = [7, 8, 9], b1 = [4, 5, 6];
    const alone = Float32Array.from([...a0, ...a1]);
    expect(sameRows(alone, Float32Array.from([...a0, ...a1, ...b0, ...b1]))).toBe(true);
    expect(sameRows(alone, Float32Array.from([...a0, ...b0, ...a1, ...b1]))).toBe(false);
    // kernels chosen by the batch's shape round differently: within 1e-4 of the largest magnitude is the same row
    expect(sameRows(alone, Float32Array.from([1 + 1e-5, -Infinity, 3, 0.5, 2, NaN, ...b0, ...b1]))).toBe(true);
    expect(sameRows(alone, Float32Array.from([1.01, -Infinity, 3, 0.5, 2, NaN, ...b0, ...b1]))).toBe(false);
    expect(sameRows(alone, Float32Array.from([1, -Infinity, 3, 0.5, 2, 0, ...b0, ...b1]))).toBe(false); // NaN against a number
    expect(sameRows(alone, Float32Array.from([1, Infinity, 3, 0.5, 2, NaN, ...b0, ...b1]))).toBe(false);
  });

  it('refuses a time-major model (examples on axis 1, as nn.LSTM without batch_first exports) with an error that says so, and takes fixed-batch and dynamic-shape exports', async () => {
    const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
    const model = (dims: (number | string)[]) => onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ version: 14 }], graph: onnx.GraphProto.create({
        name: 'm', node: [onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['y'] })],
        input: [onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: dims.map(dim) } } } })],
        output: [onnx.ValueInfoProto.create({ name: 'y', type: { tensorType: { elemType: 1 } } })],
      }),
    })).finish();
    const store = await tempStore();
    await expect(store.logNetwork('t.tm', model([5, 'batch', 4]), { x: new Float32Array(3 * 5 * 4), shape: [5, 4] })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/x's examples are on axis 1 \('batch'\), its first dimension is fixed at 5: a time-major model .* export the model with its batch first/) });
    expect(store.list()).toEqual([]);
    // a fixed batch of 1 with a dynamic height and width, a fixed batch of 4 with a dynamic sequence: examples first
    expect(examplesNotFirst(parseGraph(model([1, 3, 'height', 'width'])))).toBeNull();
    expect(examplesNotFirst(parseGraph(model([4, 'seq'])))).toBeNull();
    expect(examplesNotFirst(parseGraph(model(['N', 'T', 4])))).toBeNull();
    expect(examplesNotFirst(parseGraph(model([7, 'batch_size'])))).toMatch(/axis 1/);
  });

  it('names a recurrent node as one layer of up to three outputs, transposed to batch-major unless its layout already is', () => {
    const g = parseGraph(fs.readFileSync(path.resolve(__dirname, '../datasets/fixtures/tiny_rnn.onnx')));
    const rec = g.layers.filter((l) => l.op === 'LSTM' || l.op === 'GRU');
    expect(rec.map((l) => [l.name, l.batchPerm])).toEqual([
      ['lstm1', [2, 0, 1, 3]], ['lstm1_h', [1, 0, 2]], ['lstm1_c', [1, 0, 2]],
      ['lstm2', [2, 0, 1, 3]], ['lstm2_h', [1, 0, 2]], ['lstm2_c', [1, 0, 2]],
      ['gru1', [2, 0, 1, 3]], ['gru1_h', [1, 0, 2]],
    ]);
    // layout = 1 (batch-first, which onnxruntime's CPU kernels do not run): already one row per example
    const m = onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ version: 14 }], graph: onnx.GraphProto.create({
        name: 'l1', node: [onnx.NodeProto.create({ opType: 'LSTM', input: ['x', 'W', 'R'], output: ['y', '', 'yc'], attribute: [onnx.AttributeProto.create({ name: 'hidden_size', type: onnx.AttributeProto.AttributeType.INT, i: 5 }), onnx.AttributeProto.create({ name: 'layout', type: onnx.AttributeProto.AttributeType.INT, i: 1 })] })],
        input: [onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1 } } })], output: [onnx.ValueInfoProto.create({ name: 'y', type: { tensorType: { elemType: 1 } } })],
      }),
    });
    expect(parseGraph(onnx.ModelProto.encode(m).finish()).layers.map((l) => [l.name, l.batchPerm])).toEqual([['lstm1', undefined], ['lstm1_c', undefined]]);
  });

  it('a model that takes uint8 images (as TensorFlow exports them) logs from uint8 examples, equal to onnxruntime, and re-runs; integers never feed a float input', async () => {
    // datasets/train.py --fixtures: uint8 [N, 1, 28, 28], cast and scaled by 1/255 inside the model
    const file = path.resolve(__dirname, '../datasets/fixtures/tiny_uint8.onnx');
    const { x } = images(20);
    const u8 = Uint8Array.from(x, (v) => Math.round(v * 255));
    const store = await tempStore();
    const run = await store.logNetwork('fm.u8', file, { x: u8, shape: [1, 28, 28] }, { batchSize: 8 });
    const plain = await ort.InferenceSession.create(file);
    const ref = (await plain.run({ image: new ort.Tensor('uint8', u8, [20, 1, 28, 28]) })).logits!.data as Float32Array;
    const last = run.layers.at(-1)!.name;
    const logits = await store.getIntermediates(`fm.u8.${last}.*`, { path: 'read' });
    expect(Array.from(logits.values)).toEqual(Array.from(ref));
    const rerun = await store.rerunLayer('fm.u8', last, { rows: [19, 3] });
    expect(Array.from(rerun.values)).toEqual([...ref.subarray(190, 200), ...ref.subarray(30, 40)]);
    // the same whole numbers as floats are fed as uint8 too; a fraction or 256 does not fit, and says so
    await store.logNetwork('fm.u8f', file, { x: Float32Array.from(u8), shape: [1, 28, 28] });
    expect(Array.from((await store.getIntermediates(`fm.u8f.${last}.*`)).values)).toEqual(Array.from(ref));
    const bad = Float32Array.from(u8);
    bad[5] = 0.5;
    await expect(store.logNetwork('fm.bad', file, { x: bad, shape: [1, 28, 28] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/image\[5\] = 0\.5 is not a uint8 value \(a whole number in 0…255\)/) });
    bad[5] = 256;
    await expect(store.logNetwork('fm.bad', file, { x: bad, shape: [1, 28, 28] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/image\[5\] = 256 is not a uint8 value/) });
    // uint8 images given to a float model: refused, with the scaling it likely lacks (a Uint8Array says it without `type`)
    await expect(store.logNetwork('fm.bad', bytes, { x: u8, shape: [1, 28, 28], type: 'uint8' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/holds uint8 values but the model takes float32: convert them to floats.*a \/ 255/) });
    await expect(store.logNetwork('fm.bad', bytes, { x: u8, shape: [1, 28, 28] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/holds Uint8Array values but the model takes float32/) });
    expect(store.list('fm.bad*')).toEqual([]);
  });

  it.each([
    ['tiny_resnet', 'conv1[8,28,28] relu1[8,28,28] conv2[8,28,28] relu2[8,28,28] conv3[8,28,28] add1[8,28,28] relu3[8,28,28] conv4[16,14,14] relu4[16,14,14] conv5[16,14,14] conv6[16,14,14] add2[16,14,14] relu5[16,14,14] gap1[16,1,1] dense1[10]'],
    ['tiny_mobilenet', 'conv1[16,14,14] clip1[16,14,14] conv2[16,14,14] clip2[16,14,14] conv3[8,14,14] conv4[48,14,14] clip3[48,14,14] conv5[48,7,7] clip4[48,7,7] conv6[8,7,7] conv7[48,7,7] clip5[48,7,7] conv8[48,7,7] clip6[48,7,7] conv9[8,7,7] add1[8,7,7] conv10[48,7,7] clip7[48,7,7] conv11[48,4,4] clip8[48,4,4] conv12[8,4,4] conv13[48,4,4] clip9[48,4,4] conv14[48,4,4] clip10[48,4,4] conv15[8,4,4] add2[8,4,4] conv16[64,4,4] clip11[64,4,4] gap1[64,1,1] dense1[10]'],
  ])('%s (torchvision blocks: residual Adds, depthwise convolutions, ReLU6) logs every layer and every read equals its re-run bit for bit (#19)', async (name, layers) => {
    // datasets/train.py --fixtures: torchvision's BasicBlock and MobileNetV2, BatchNorm folded into the convolutions
    const file = path.resolve(__dirname, `../datasets/fixtures/${name}.onnx`);
    const store = await tempStore();
    const { x } = images(50);
    const run = await store.logNetwork('fm.zoo', file, { x, shape: [1, 28, 28] }, { batchSize: 16 });
    expect(run.layers.map((l) => `${l.name}[${l.shape.join(',')}]`).join(' ')).toBe(layers);
    for (const l of run.layers) {
      // the re-run keeps the logged layers as outputs, so onnxruntime fuses the same kernels (a Conv before a
      // residual Add is fused with it only when its output is not a graph output): equal bit for bit
      const read = await store.getIntermediates(`fm.zoo.${l.name}.*`, { rows: [3, 49, 20], path: 'read' });
      const rerun = await store.rerunLayer('fm.zoo', l.name, { rows: [3, 49, 20] });
      expect(read.values).toBeInstanceOf(Float32Array);
      expect(read.shape).toEqual(l.shape);
      expect(Buffer.from(read.values.buffer, read.values.byteOffset, read.values.byteLength).equals(Buffer.from(rerun.values.buffer, rerun.values.byteOffset, rerun.values.byteLength)), l.name).toBe(true);
    }
    // lineage (SQL's mistique_lineage): each layer's nearest logged layers, a residual Add both of its branches
    const lin = await store.sql(`SELECT name, list(input ORDER BY input) AS inputs FROM mistique_lineage WHERE model = 'zoo' GROUP BY name`);
    const from = Object.fromEntries(lin.rows.map((r) => [r.name as string, r.inputs as string[]]));
    expect(from.conv1).toEqual([expect.stringMatching(/^fm\.inputs\./)]);
    if (name === 'tiny_resnet') {
      expect(from.add1).toEqual(['fm.zoo.conv3', 'fm.zoo.relu1']);
      expect(from.add2).toEqual(['fm.zoo.conv5', 'fm.zoo.conv6']);
      expect(from.conv6).toEqual(['fm.zoo.relu3']);
    }
    // the unmodified model fuses Conv+Add: its logits differ from the logged ones in the last bits only (README)
    const plain = await ort.InferenceSession.create(file);
    const ref = (await plain.run({ image: new ort.Tensor('float32', x, [50, 1, 28, 28]) })).logits!.data as Float32Array;
    const logits = await store.getIntermediates('fm.zoo.dense1.*', { path: 'read' });
    for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[i]! - ref[i]!)).toBeLessThanOrEqual(4e-6 * Math.max(1, Math.abs(ref[i]!)));
  });

  it('a Transformer encoder (nn.TransformerEncoder): attention weights are stored per example as [heads, tokens, tokens], values that are not example by example are not layers, read = re-run (#19)', async () => {
    // datasets/train.py --fixtures: torch exports the attention of nn.TransformerEncoder in [tokens, batch, features]
    const file = path.resolve(__dirname, '../datasets/fixtures/tiny_encoder.onnx');
    const N = 23, T = 8;
    const ids = new BigInt64Array(N * T), mask = new BigInt64Array(N * T);
    for (let i = 0; i < N; i++) for (let t = 0; t < 2 + (i % 7); t++) { ids[i * T + t] = BigInt(1 + ((i * 13 + t * 5) % 49)); mask[i * T + t] = 1n; }
    const input = { inputs: { input_ids: { data: ids, shape: [T] }, attention_mask: { data: mask, shape: [T] } } };
    const store = await tempStore();
    const run = await store.logNetwork('nlp.enc', file, input, { batchSize: 5 });
    const all = parseGraph(fs.readFileSync(file)).layers.length;
    expect(run.layers.length).toBeGreaterThan(10);
    expect(run.layers.length).toBeLessThan(all); // the [tokens, batch, …] values are left out
    // and said: every layer is logged or named as not one row per example
    expect(run.layers.length + run.notPerExample.length).toBe(all);
    expect(run.notPerExample.map((l) => l.name).sort()).toEqual(['add2', 'dense1', 'dense4']); // [tokens, batch, 3 × features], [tokens × batch, features]
    // the attention's [batch × heads, tokens, tokens] values are batch-major: one row of [heads, tokens, tokens] per example
    const shapeOf = Object.fromEntries(run.layers.map((l) => [l.name, l.shape]));
    expect(shapeOf).toMatchObject({ dense2: [2, T, T], add3: [2, T, T], softmax1: [2, T, T], dense3: [2, T, 8] });
    const weights = await store.getIntermediates('nlp.enc.softmax1.*', { rows: [9] });
    for (let r = 0; r < 2 * T; r++) expect(weights.values.subarray(r * T, (r + 1) * T).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // each example's rows are what the model gives that example alone
    const g = parseGraph(fs.readFileSync(file));
    const alone = await (await ort.InferenceSession.create(exposeLayers(g))).run({ input_ids: new ort.Tensor('int64', ids.slice(9 * T, 10 * T), [1, T]), attention_mask: new ort.Tensor('int64', mask.slice(9 * T, 10 * T), [1, T]) });
    for (const name of ['dense2', 'softmax1', 'dense3']) {
      const want = alone[g.layers.find((l) => l.name === name)!.original]!.data as Float32Array;
      const got = await store.getIntermediates(`nlp.enc.${name}.*`, { rows: [9], path: 'read' });
      expect(got.values.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got.values[i]! - want[i]!), `${name}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]!)));
    }
    for (const l of run.layers) {
      expect(l.shape[0] === T || l.shape.length === 1 || shapeOf[l.name]![0] === 2).toBe(true);
      const read = await store.getIntermediates(`nlp.enc.${l.name}.*`, { rows: [22, 0, 9], path: 'read' });
      const rerun = await store.rerunLayer('nlp.enc', l.name, { rows: [22, 0, 9] });
      expect(Buffer.from(read.values.buffer, read.values.byteOffset, read.values.byteLength).equals(Buffer.from(rerun.values.buffer, rerun.values.byteOffset, rerun.values.byteLength)), l.name).toBe(true);
    }
    const plain = await ort.InferenceSession.create(file);
    const ref = (await plain.run({ input_ids: new ort.Tensor('int64', ids, [N, T]), attention_mask: new ort.Tensor('int64', mask, [N, T]) })).logits!.data as Float32Array;
    const logits = await store.getIntermediates(`nlp.enc.${run.layers.at(-1)!.name}.*`, { path: 'read' });
    for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[i]! - ref[i]!)).toBeLessThanOrEqual(4e-6 * Math.max(1, Math.abs(ref[i]!)));
    // a batch as large as the token axis: which values follow the examples is known before the first batch, so the same layers log
    const eight = await store.logNetwork('nlp.enc8', file, input, { batchSize: T });
    expect(eight.layers.map((l) => `${l.name}[${l.shape}]`)).toEqual(run.layers.map((l) => `${l.name}[${l.shape}]`));
  });

  it('an onnxruntime failure while running is a MistiqueError naming the model and the input', async () => {
    const store = await tempStore();
    // 27×27 images into a model built for 28×28: its Reshape/Gemm fails at run time
    const err = await store.logNetwork('fm.bad', FIXTURE, { x: new Float32Array(4 * 27 * 27), shape: [1, 27, 27] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BAD_INPUT' });
    expect((err as Error).message).toMatch(/onnxruntime failed running fm\.bad on examples 0…3 \(image \[4, 1, 27, 27\] float32\)/);
    expect(store.list()).toEqual([]);
    // nothing left in the temporary directory: not the profiler's file of the run that failed (it had
    // left an empty one per failed log), nor onnxruntime's telemetry log (off: src/executor/onnx/ort.ts)
    const mine = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`mistique-profile-${process.pid}-`) || f === `mat-debug-${process.pid}.log`);
    expect(mine).toEqual([]);
  });

  it('rejects what is not an ONNX model', () => {
    expect(() => parseGraph(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(/not an ONNX model|no graph/);
  });
});

describe('logging a network', () => {
  // These tests check what the store holds, so they read (path: 'read'); the planner's own choice
  // between reading and re-running is tested in planner.test.ts.
  it('logs only the layers asked for (names, ONNX names, * patterns): they read as a full log does and re-run; a pattern that matches none is a clear error', async () => {
    const store = await tempStore();
    const { x } = images(40);
    const full = await store.logNetwork('fm.all', FIXTURE, { x, shape: [1, 28, 28] }, { batchSize: 16 });
    const some = await store.logNetwork('fm.some', FIXTURE, { x, shape: [1, 28, 28] }, { batchSize: 16, layers: ['relu*', 'dense2', full.layers[0]!.original] });
    expect(some.layers.map((l) => l.name)).toEqual(full.layers.filter((l) => /^relu/.test(l.name) || l.name === 'dense2' || l.name === 'conv1').map((l) => l.name));
    expect(store.list('fm.some.*').map((i) => i.key.split('.')[2]).sort()).toEqual(some.layers.map((l) => l.name).sort());
    for (const l of some.layers) {
      const a = await store.getIntermediates(`fm.all.${l.name}.*`, { rows: [3, 39], path: 'read' });
      const b = await store.getIntermediates(`fm.some.${l.name}.*`, { rows: [3, 39], path: 'read' });
      const r = await store.rerunLayer('fm.some', l.name, { rows: [3, 39] });
      expect([...b.values], l.name).toEqual([...a.values]);
      expect([...r.values], l.name).toEqual([...b.values]);
    }
    await expect(store.logNetwork('fm.none', FIXTURE, { x, shape: [1, 28, 28] }, { layers: ['relu*', 'lstm*'] })).rejects.toMatchObject({ code: 'BAD_OPTION', message: expect.stringMatching(/layers: lstm\* matches no layer; the layers are conv1, relu1, /) });
    expect(store.list('fm.none.*')).toEqual([]);
  });

  it('logs every layer equal to a plain onnxruntime run, logits within 1e-6 of the unmodified model', async () => {
    const store = await tempStore();
    const { x, rowIds } = images(300);
    const run = await store.logNetwork('fm.tiny_e01', FIXTURE, { x, shape: [1, 28, 28], rowIds }, { batchSize: 64 });
    expect(run.examples).toBe(300);
    const plain = await ort.InferenceSession.create(bytes);
    const ref = (await plain.run({ image: new ort.Tensor('float32', x, [300, 1, 28, 28]) })).logits!.data as Float32Array;
    const logits = await store.getIntermediates('fm.tiny_e01.dense2.*', { path: 'read' });
    expect(logits.values.length).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(logits.values[i]! - ref[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref[i]!)));
    const conv1 = await store.getIntermediates('fm.tiny_e01.conv1.*', { rows: [5, 299], path: 'read' });
    expect(conv1.shape).toEqual([4, 28, 28]);
    expect(store.list('fm.inputs.*')).toHaveLength(1); // the examples, stored once for re-runs
    // per-layer forward times for the cost model: one batch through each layer, cumulative along the graph
    const wf = store.metadata.workflows.get('fm', 'tiny_e01')!;
    const stages = store.metadata.workflows.stages(wf.model_id);
    expect(stages.map((st) => st.name)).toEqual(run.layers.map((l) => l.name));
    for (let k = 1; k < stages.length; k++) expect(stages[k]!.t_exec_ms).toBeGreaterThanOrEqual(stages[k - 1]!.t_exec_ms);
    expect(stages.at(-1)!.t_exec_ms).toBeGreaterThan(0);
  });

  it('pools activation maps (POOL_QT) and re-runs a layer on a few rows with a truncated graph', async () => {
    const store = await tempStore();
    const { x } = images(100);
    await store.logNetwork('fm.tiny_e02', bytes, { x, shape: [1, 28, 28] }, { batchSize: 32, scheme: { pool: { sigma: 2 } } });
    const pooled = await store.getIntermediates('fm.tiny_e02.relu1.*', { rows: [7, 42], path: 'read' });
    expect(pooled.shape).toEqual([4, 14, 14]);
    const r = await store.rerunLayer('fm.tiny_e02', 'relu1', { rows: [7, 42] });
    expect(r.shape).toEqual([4, 28, 28]);
    expect(r.nodes).toBeLessThan(r.totalNodes);
    expect([...r.rowIds]).toEqual([7, 42]);
    const want = pool(r.values, [4, 28, 28], 2).values;
    for (let i = 0; i < want.length; i++) expect(pooled.values[i]).toBeCloseTo(want[i]!, 5);
    // re-run to the logits equals the logged logits
    const logits = await store.rerunLayer('fm.tiny_e02', 'dense2', { rows: [3] });
    const logged = await store.getIntermediates('fm.tiny_e02.dense2.*', { rows: [3], path: 'read' });
    expect([...logits.values]).toEqual([...logged.values]);
  });

  it('onnxruntime pools (average) and casts to half floats in the graph: a re-run gives the stored values bit for bit, LP_QT keeps its exact bits', async () => {
    const { x } = images(64);
    const full = await tempStore();
    const fullRun = await full.logNetwork('fm.f', bytes, { x, shape: [1, 28, 28] }, { batchSize: 32 });
    const ref = new Map<string, Matrix>();
    for (const l of fullRun.layers) ref.set(l.name, await full.getIntermediates(`fm.f.${l.name}.*`, { path: 'read' }));
    const schemes = [{ pool: { sigma: 2 } }, { pool: { sigma: 'S' as const } }, { pool: { sigma: 2 }, quantize: 'lp' as const }, { quantize: 'lp' as const }, { pool: { sigma: 2, op: 'max' as const } }];
    for (const scheme of schemes) {
      const s = await tempStore();
      const run = await s.logNetwork('fm.g', bytes, { x, shape: [1, 28, 28] }, { batchSize: 32, scheme });
      const spec = JSON.parse(s.metadata.workflows.get('fm', 'g')!.spec) as { layers: { name: string; graphPool?: true }[] };
      const inGraph = scheme.pool !== undefined && scheme.pool.op !== 'max';
      for (const l of run.layers) {
        const what = `${JSON.stringify(scheme)} ${l.name}`;
        const want = ref.get(l.name)!;
        const maps = want.shape?.length === 3;
        // average pooling of [C, H, W] maps runs in the graph; max pooling (a NaN must survive it) in JavaScript
        expect(spec.layers.find((sl) => sl.name === l.name)!.graphPool === true, what).toBe(inGraph && maps);
        const stored = await s.getIntermediates(`fm.g.${l.name}.*`, { path: 'read' });
        const rows = [0, 9, 63];
        const [read, rerun] = await Promise.all([s.getIntermediates(`fm.g.${l.name}.*`, { rows, path: 'read' }), s.getIntermediates(`fm.g.${l.name}.*`, { rows, path: 'rerun' })]);
        const exact = scheme.pool ? (maps ? pool(want.values as Float32Array, want.shape!, scheme.pool.sigma === 'S' ? Math.max(want.shape![1]!, want.shape![2]!) : scheme.pool.sigma, scheme.pool.op).values : want.values as Float32Array) : want.values as Float32Array;
        if (scheme.quantize === 'lp') {
          // the stored half floats are the re-run's values (pooled as stored) cast by toFloat16, bit for bit
          expect([...read.values], what).toEqual([...fromFloat16(toFloat16(rerun.values as Float32Array))]);
          if (!scheme.pool) expect([...stored.values], what).toEqual([...fromFloat16(toFloat16(exact))]);
        } else {
          expect([...read.values], what).toEqual([...rerun.values]);
          if (!inGraph || !maps) expect([...stored.values], what).toEqual([...exact]);
        }
        if (!(inGraph && maps)) continue;
        // pooled by onnxruntime: the same averages as POOL_QT in JavaScript, up to float32 rounding of the sums
        let max = 0;
        for (const v of exact) max = Math.max(max, Math.abs(v));
        // (and half floats round by at most half a unit in the last place: 2^-11 relative, 2^-25 in the subnormals)
        const bound = (v: number): number => 1e-6 * max + (scheme.quantize === 'lp' ? Math.abs(v) * 2 ** -11 + 2 ** -25 : 0);
        for (let i = 0; i < exact.length; i++) if (Math.abs(stored.values[i]! - exact[i]!) > bound(exact[i]!)) expect(stored.values[i], `${what} value ${i}`).toBe(exact[i]);
      }
      await s.close();
    }
    await full.close();
  });

  it('the same checkpoint logged twice stores its layers once (exact dedup across checkpoints)', async () => {
    const store = await tempStore();
    const { x } = images(64);
    await store.logNetwork('fm.a', bytes, { x, shape: [1, 28, 28] });
    const u1 = store.stats().bytesUnique;
    await store.logNetwork('fm.b', bytes, { x, shape: [1, 28, 28] });
    expect(store.stats().bytesUnique).toBe(u1);
  });

  it('stores under LP_QT, KBIT_QT, THRESHOLD_QT and pool(2)+LP_QT and reads floats back', async () => {
    const { x } = images(128);
    const ref = new Map<string, Float32Array>();
    const full = await tempStore();
    await full.logNetwork('fm.full', bytes, { x, shape: [1, 28, 28] });
    for (const l of ['relu1', 'relu4', 'dense2']) ref.set(l, (await full.getIntermediates(`fm.full.${l}.*`, { path: 'read' })).values as Float32Array);
    const raw = (s: typeof full, layer: string) => s.list(`fm.*.${layer}`)[0]!.bytesRaw;

    const lp = await tempStore();
    await lp.logNetwork('fm.lp', bytes, { x, shape: [1, 28, 28] }, { scheme: { quantize: 'lp' } });
    const lpv = (await lp.getIntermediates('fm.lp.relu1.*', { path: 'read' })).values;
    expect(lpv).toBeInstanceOf(Float32Array);
    expect([...lpv.slice(0, 50)]).toEqual([...fromFloat16(toFloat16(ref.get('relu1')!.slice(0, 50)))]);
    expect(raw(lp, 'relu1')).toBeLessThan(raw(full, 'relu1') * 0.6);
    expect(lp.list('fm.lp.relu1')[0]!.scheme).toBe('lp');

    const kb = await tempStore();
    await kb.logNetwork('fm.kb', bytes, { x, shape: [1, 28, 28] }, { scheme: { quantize: { kbit: 8 } } });
    for (const l of ['relu4', 'dense2']) {
      const got = (await kb.getIntermediates(`fm.kb.${l}.*`, { path: 'read' })).values, want = ref.get(l)!;
      let err = 0, mag = 0;
      for (let i = 0; i < want.length; i++) { err += Math.abs(got[i]! - want[i]!); mag += Math.abs(want[i]!); }
      expect(err / mag).toBeLessThan(0.05);
    }
    expect(raw(kb, 'relu4')).toBeLessThan(raw(full, 'relu4') * 0.35);

    const th = await tempStore();
    await th.logNetwork('fm.th', bytes, { x, shape: [1, 28, 28] }, { scheme: { quantize: { threshold: 99.5 } } });
    const bits = (await th.getIntermediates('fm.th.relu1.*', { path: 'read' })).values;
    const ones = bits.reduce((a, b) => a + b, 0);
    expect(new Set(bits)).toEqual(new Set([0, 1]));
    expect(ones / bits.length).toBeGreaterThan(0.001);
    expect(ones / bits.length).toBeLessThan(0.02);

    const pl = await tempStore();
    await pl.logNetwork('fm.pl', bytes, { x, shape: [1, 28, 28] }, { scheme: { pool: { sigma: 2 }, quantize: 'lp' } });
    const m = await pl.getIntermediates('fm.pl.relu1.*', { rows: [0], path: 'read' });
    expect(m.shape).toEqual([4, 14, 14]);
    const want = fromFloat16(toFloat16(pool(ref.get('relu1')!.slice(0, 4 * 28 * 28), [4, 28, 28], 2).values));
    expect([...m.values]).toEqual([...want]);
    expect(pl.list('fm.pl.relu1')[0]!.scheme).toBe('pool(2)+lp');
  });

  it('quantized tensors round-trip through the Arrow IPC and Parquet codecs too', async () => {
    const { x } = images(40);
    const want = new Map<string, number[]>();
    const exactOf = new Map<string, Matrix>();
    for (const codec of CODEC_IDS) {
      const s = await tempStore({ codec });
      await s.logNetwork('fm.a', bytes, { x, shape: [1, 28, 28] }, { scheme: { quantize: 'lp' } });
      await s.logNetwork('fm.b', bytes, { x, shape: [1, 28, 28] }, { scheme: { quantize: { kbit: 4 } } });
      await s.logNetwork('fm.c', bytes, { x, shape: [1, 28, 28] }, { scheme: { quantize: { threshold: 90 } } });
      for (const k of ['fm.a.relu2.*', 'fm.b.dense1.*', 'fm.c.relu3.*']) {
        s.dropCaches();
        const m = await s.getIntermediates(k, { path: 'read' });
        // against the layer's full-precision values (a re-run), within what the scheme may lose
        const exact = exactOf.get(k) ?? (await s.getIntermediates(k, { path: 'rerun' }));
        exactOf.set(k, exact);
        expect(m.nrows).toBe(40);
        expect([...m.rowIds]).toEqual([...exact.rowIds]);
        const src = exact.values;
        let maxAbs = 0;
        for (const v of src) maxAbs = Math.max(maxAbs, Math.abs(v));
        for (let i = 0; i < src.length; i++) {
          const v = m.values[i]!, e = src[i]!;
          if (k.startsWith('fm.a')) expect(Math.abs(v - e), `${codec} ${k} [${i}]`).toBeLessThanOrEqual(Math.abs(e) * 2 ** -10 + 6e-8); // float16
          else if (k.startsWith('fm.b')) expect(Math.abs(v - e), `${codec} ${k} [${i}]`).toBeLessThanOrEqual(maxAbs); // within the range
          else expect(v === 0 || v === 1, `${codec} ${k} [${i}]`).toBe(true); // one bit per value
        }
        if (k.startsWith('fm.b')) {
          // 16 quantile bins: 16 values at most, each close to the values it stands for
          expect(new Set(m.values).size).toBeLessThanOrEqual(16);
          let err = 0, mag = 0;
          for (let i = 0; i < src.length; i++) { err += Math.abs(m.values[i]! - src[i]!); mag += Math.abs(src[i]!); }
          expect(err / mag).toBeLessThan(0.2); // 0.108 here; a codebook of one value gives ~1
        }
        // the same across codecs: bit for bit
        const got = [...m.values];
        if (!want.has(k)) want.set(k, got);
        expect(got).toEqual(want.get(k));
        // getTable: the same values, column by column
        const t = await s.getTable(k);
        expect(t.numRows).toBe(40);
        for (const j of [0, Math.floor(m.ncols / 2), m.ncols - 1]) {
          const col = t.getChildAt(j + 1)!.toArray() as Float32Array;
          for (let i = 0; i < 40; i++) expect(col[i], `${codec} ${k} getTable [${i}, ${j}]`).toBe(m.values[i * m.ncols + j]);
        }
      }
    }
  });
});
