// Fuzzing (fast-check, fixed seeds): over 10 000 generated calls — keys, frames, tensors, row selections,
// pipeline YAML, ONNX bytes — every failure is a MistiqueError with a code, and a failed call leaves
// the store's files exactly as they were.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataFrame, MistiqueError, openStore, type Store } from '../src/index.js';
import { parsePipelineSpec } from '../src/executor/spec.js';
import { tempDir } from './helpers.js';

/** A hash of every file under dir, contents included (the WAL and its index aside: SQLite's own). */
function hashFiles(dir: string): string {
  const h = createHash('sha1');
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!/-(wal|shm)$/.test(e.name)) h.update(p).update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

interface Tally { ok: number; failed: number; codes: Map<string, number> }

/** Runs one call: success, or a MistiqueError with files unchanged. Anything else fails the property. */
async function typedOrOk(dir: string, t: Tally, call: () => Promise<unknown>): Promise<boolean> {
  const before = hashFiles(dir);
  try {
    await call();
    t.ok++;
    return true;
  } catch (err) {
    if (!(err instanceof MistiqueError)) throw new Error(`untyped error: ${(err as Error)?.stack ?? String(err)}`);
    expect(err.code).toMatch(/^[A-Z_]+$/);
    expect(hashFiles(dir), `${err.code}: ${err.message}`).toBe(before);
    t.failed++;
    t.codes.set(err.code, (t.codes.get(err.code) ?? 0) + 1);
    return false;
  }
}

const namePart = fc.oneof(
  fc.constantFrom('p', 'm', 'conv1', 'a_b', 'x-1', '*', '', ' ', '..', 'é', 'a/b', '../x', 'null', '0'),
  fc.string({ maxLength: 6 }),
);
const key = fc.oneof(
  { arbitrary: fc.nat({ max: 1_000_000 }).map((n) => `f.g.k${n}`), weight: 3 },
  { arbitrary: fc.array(namePart, { minLength: 0, maxLength: 5 }).map((p) => p.join('.')), weight: 1 },
  { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
);

const nRows = fc.integer({ min: 0, max: 40 });
/** A column as callers might hand one in: right, wrong, or absurd. */
const column = (n: number): fc.Arbitrary<unknown> => fc.oneof(
  fc.float64Array({ minLength: n, maxLength: n }),
  fc.float64Array({ minLength: n, maxLength: n }),
  fc.float32Array({ minLength: n, maxLength: n }),
  fc.int32Array({ minLength: n, maxLength: n }),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null)), { minLength: n, maxLength: n }),
  fc.array(fc.double(), { minLength: n, maxLength: n }),
  fc.array(fc.boolean(), { minLength: n, maxLength: n }),
  fc.array(fc.anything(), { maxLength: 5 }),
  fc.uint16Array({ minLength: n, maxLength: n }),
  fc.uint8Array({ maxLength: n + 2 }),
  fc.constantFrom(null, undefined, 5, 'x', {}, [], new Date(0), Symbol.iterator),
);
const rowIds = (n: number): fc.Arbitrary<unknown> => fc.oneof(
  fc.constant(undefined),
  fc.constant(undefined),
  fc.array(fc.integer({ min: -5, max: 50 }), { minLength: n, maxLength: n }),
  fc.array(fc.oneof(fc.double(), fc.constant(2 ** 32), fc.constant(NaN)), { minLength: 0, maxLength: n + 1 }),
  fc.int32Array({ minLength: n, maxLength: n }),
  fc.constantFrom(null, 'ids', 7),
);
const shape = fc.oneof(
  fc.constant(undefined),
  fc.constant(undefined),
  fc.constant(undefined),
  fc.array(fc.integer({ min: -2, max: 6 }), { minLength: 0, maxLength: 4 }),
  fc.constantFrom(null, [2.5], 'x', [Infinity]),
);
const frameCall = nRows.chain((n) => fc.record({
  key,
  cols: fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 'c', 'row_id', '', '*', 'x.y'), fc.string({ maxLength: 4 })), column(n), { minKeys: 1, maxKeys: 3 }),
  rowIds: rowIds(n),
  shape,
  whole: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constantFrom(null, undefined, 3, 'frame', [1, 2]), weight: 1 }),
}));
const tensorCall = fc.record({
  key,
  values: fc.oneof(
    fc.float32Array({ maxLength: 64 }), fc.float64Array({ maxLength: 64 }), fc.uint16Array({ maxLength: 8 }),
    fc.constantFrom(null, undefined, [1, 2, 3], 'v', new Float32Array(0)),
  ),
  shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 4 }), fc.constantFrom(null, undefined, [0], [NaN])),
  rowIds: rowIds(4),
});

async function smallStore(): Promise<{ dir: string; store: Store }> {
  const dir = path.join(tempDir(), 's');
  const store = await openStore(dir, { flushMs: 3_600_000 });
  await store.log('f.m.t', { a: Float64Array.from([1, 2, 3, 4]), s: ['x', null, 'y', 'x'] }, { durable: true });
  await store.log('f.m.img', DataFrame.fromTensor(new Float32Array(4 * 8), [2, 2, 2]), { durable: true });
  return { dir, store };
}

describe('fuzzing: every failure is a MistiqueError and a failed call changes no file', () => {
  it('logs 6 000 generated frames and tensors', async () => {
    const { dir, store } = await smallStore();
    const t: Tally = { ok: 0, failed: 0, codes: new Map() };
    await fc.assert(fc.asyncProperty(frameCall, async (c) => {
      const input = c.whole === false ? c.cols : c.whole;
      await typedOrOk(dir, t, () => store.log(c.key, input as never, { rowIds: c.rowIds as never, shape: c.shape as never }));
    }), { seed: 1204, numRuns: 4000 });
    await fc.assert(fc.asyncProperty(tensorCall, async (c) => {
      await typedOrOk(dir, t, async () => store.log(c.key, DataFrame.fromTensor(c.values as never, c.shape as never, c.rowIds as never)));
    }), { seed: 1205, numRuns: 2000 });
    expect(t.ok + t.failed).toBe(6000);
    expect(t.ok).toBeGreaterThan(100); // the generator reaches valid calls too (185 with these seeds)
    if (process.env.FUZZ_TALLY) console.log(`fuzz frames: ${t.ok} logged, ${t.failed} refused: ${JSON.stringify(Object.fromEntries(t.codes))}`);
    await store.close();
  }, 180_000);

  it('answers 3 000 generated queries (keys, row selections, paths, options)', async () => {
    const { dir, store } = await smallStore();
    const t: Tally = { ok: 0, failed: 0, codes: new Map() };
    const keys = fc.oneof(
      fc.constantFrom('f.m.t.a', 'f.m.t.*', 'f.m.img.*', 'f.m.*.*', '*.*.*.*', 'f.m.t', 'f.m.t.s', 'f.m.none.a', 'f.m.img.0_1_1'),
      key,
    );
    const rows = fc.oneof(
      fc.constant(undefined),
      fc.array(fc.oneof(fc.integer({ min: -3, max: 6 }), fc.double(), fc.constant(2 ** 40)), { maxLength: 6 }),
      fc.record({ start: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double()), end: fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constant(2 ** 33)) }),
      fc.constantFrom(null, 'all', 3, {}, new Int32Array([0, 2])),
    );
    const query = fc.record({
      keys: fc.oneof(keys, fc.array(keys, { maxLength: 3 }), fc.constantFrom(null, undefined, 5, [])),
      rows,
      path: fc.constantFrom(undefined, 'auto', 'read', 'rerun', 'fast', null),
      explain: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(query, async (q) => {
      const opts = { rows: q.rows as never, path: q.path as never };
      await typedOrOk(dir, t, () => (q.explain ? store.explain(q.keys as never, opts) : store.getIntermediates(q.keys as never, opts)));
    }), { seed: 1206, numRuns: 3000 });
    expect(t.ok).toBeGreaterThan(50);
    await store.close();
  }, 120_000);

  it('parses and logs 1 000 generated pipeline specs', async () => {
    const { dir, store } = await smallStore();
    const data = tempDir();
    fs.writeFileSync(path.join(data, 'homes.csv'), 'id,sqft\n1,100\n2,\n');
    const t: Tally = { ok: 0, failed: 0, codes: new Map() };
    const valid = 'project: z\nname: P\nstages:\n  - name: props\n    op: ReadCSV\n    params: { file: homes.csv }\n';
    const yaml = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.tuple(fc.nat({ max: valid.length }), fc.string({ maxLength: 12 })).map(([i, s]) => valid.slice(0, i) + s + valid.slice(i)),
      fc.constantFrom(
        valid.replace('homes.csv', '../../../../etc/passwd'), valid.replace('homes.csv', '/etc/passwd'),
        valid.replace('ReadCSV', 'Frobnicate'), valid.replace('name: P', 'name: ../P'), 'stages: []', '- 1\n- 2', '{', 'project: [1]',
      ),
    );
    await fc.assert(fc.asyncProperty(yaml, async (text) => {
      await typedOrOk(dir, t, async () => store.logIntermediates(parsePipelineSpec(text), { data }));
    }), { seed: 1207, numRuns: 1000 });
    await store.close();
  }, 120_000);

  it('logs 300 generated and mutated ONNX files', async () => {
    const { dir, store } = await smallStore();
    const model = fs.readFileSync(path.join(import.meta.dirname, '..', 'datasets', 'fixtures', 'tiny_cnn.onnx'));
    const t: Tally = { ok: 0, failed: 0, codes: new Map() };
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(fc.tuple(fc.nat({ max: model.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
        const b = Uint8Array.from(model);
        for (const [i, x] of flips) b[i] = b[i]! ^ x;
        return b;
      }),
      fc.nat({ max: model.length }).map((n) => Uint8Array.from(model.subarray(0, n))),
    );
    let k = 0;
    const x = new Float32Array(2 * 784).fill(0.5);
    await fc.assert(fc.asyncProperty(bytes, async (b) => {
      await typedOrOk(dir, t, () => store.logNetwork(`f.net${k++}`, b, { x, shape: [1, 28, 28] }));
    }), { seed: 1208, numRuns: 300 });
    await store.close();
  }, 180_000);
});
