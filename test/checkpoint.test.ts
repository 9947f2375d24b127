// A checkpoint whose weights are kept in an external data file beside it (onnx.save_model(…,
// save_as_external_data=True), every model over 2 GB): logged, its stored checkpoint holds the weights,
// so re-runs work from any directory; bad references are clear errors that store nothing.
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { tempDir, tempStore, thrownErrorAsync } from './helpers.js';

const { onnx } = onnxProto;
const FIXTURE = fs.readFileSync(path.resolve(__dirname, '../datasets/fixtures/tiny_cnn.onnx'));

/** The fixture saved as `model.onnx` + `weights.data` (every initializer's bytes in the data file) in a new directory. */
function externalised(location = 'weights.data'): { dir: string; file: string; moved: number } {
  const dir = tempDir();
  const m = onnx.ModelProto.decode(FIXTURE);
  const parts: Buffer[] = [];
  let offset = 0, moved = 0;
  for (const t of m.graph!.initializer!) {
    if (!t.rawData || t.rawData.length === 0) continue;
    const raw = Buffer.from(t.rawData);
    parts.push(raw);
    t.externalData = [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(raw.length) }];
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
    offset += raw.length;
    moved++;
  }
  fs.writeFileSync(path.join(dir, 'weights.data'), Buffer.concat(parts));
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, onnx.ModelProto.encode(m).finish());
  return { dir, file, moved };
}

describe('a checkpoint with external data', () => {
  const { x } = batches(loadSubset(), 20).next().value!;

  it('logs as the same model does with its weights inside, and re-runs from the store alone', async () => {
    const ext = externalised();
    expect(ext.moved).toBeGreaterThan(0);
    const inside = await tempStore();
    await inside.logNetwork('fm.inside', FIXTURE, { x, shape: [1, 28, 28] });
    const store = await tempStore();
    const run = await store.logNetwork('fm.ext', ext.file, { x, shape: [1, 28, 28] });
    // the data file is gone: the stored checkpoint holds the weights
    fs.rmSync(ext.dir, { recursive: true, force: true });
    for (const l of run.layers) {
      const a = await store.getIntermediates(`fm.ext.${l.name}.*`, { path: 'read' });
      const b = await inside.getIntermediates(`fm.inside.${l.name}.*`, { path: 'read' });
      expect(Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength).equals(Buffer.from(b.values.buffer, b.values.byteOffset, b.values.byteLength)), l.name).toBe(true);
    }
    const first = run.layers[0]!.name;
    const rerun = await store.getIntermediates(`fm.ext.${first}.*`, { rows: [3, 17], path: 'rerun' });
    const read = await store.getIntermediates(`fm.ext.${first}.*`, { rows: [3, 17], path: 'read' });
    expect(rerun.sources[0]!.path).toBe('rerun');
    expect(Array.from(rerun.values)).toEqual(Array.from(read.values));
  });

  it('the same checkpoint logged under two names is one file on disk, and deleting one name leaves the other re-running', async () => {
    const store = await tempStore();
    await store.logNetwork('fm.train', FIXTURE, { x, shape: [1, 28, 28] });
    const run = await store.logNetwork('fm.test', FIXTURE, { x: x.subarray(0, 5 * 784), shape: [1, 28, 28] });
    const a = path.join(store.dir, 'checkpoints', 'fm.train.onnx'), b = path.join(store.dir, 'checkpoints', 'fm.test.onnx');
    expect(fs.statSync(a).ino).toBe(fs.statSync(b).ino);
    store.delete('fm.train');
    expect(fs.existsSync(a)).toBe(false);
    const first = run.layers[0]!.name;
    const rerun = await store.getIntermediates(`fm.test.${first}.*`, { rows: [4], path: 'rerun' });
    const read = await store.getIntermediates(`fm.test.${first}.*`, { rows: [4], path: 'read' });
    expect(Array.from(rerun.values)).toEqual(Array.from(read.values));
  });

  it('a missing data file, a reference outside the model\'s directory, or the model given as bytes: one clear error, nothing stored', async () => {
    const store = await tempStore();
    const gone = externalised();
    fs.rmSync(path.join(gone.dir, 'weights.data'));
    expect(await thrownErrorAsync(() => store.logNetwork('fm.a', gone.file, { x, shape: [1, 28, 28] }))).toMatch(/^NOT_FOUND: .*is kept in .*weights\.data, which cannot be read .*keep the model's external data files beside it/);
    const escape = externalised('../weights.data');
    expect(await thrownErrorAsync(() => store.logNetwork('fm.b', escape.file, { x, shape: [1, 28, 28] }))).toMatch(/^BAD_INPUT: .*external data "\.\.\/weights\.data" lies outside the model's directory/);
    const bytes = fs.readFileSync(externalised().file);
    expect(await thrownErrorAsync(() => store.logNetwork('fm.c', bytes, { x, shape: [1, 28, 28] }))).toMatch(/^BAD_INPUT: .*in external data files: give the model's path, not its bytes/);
    expect(store.list('fm.*')).toEqual([]);
  });
});
